package e2e_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/kepu/kepu/internal/campaign"
	"github.com/kepu/kepu/internal/e2e"
)

// A citizen takes a short campaign on a phone in Chinese: list, rules,
// start, two questions with a countdown, right answers with the correct
// answer and explanation, the result with ranks, the review and the
// certificate. A leaderboard page open in a second browser shows the
// citizen's rank, highlighted, as soon as the attempt finishes.
func TestCampaignCitizenPlaysAndLeaderboardUpdates(t *testing.T) {
	b := e2e.Start(t)
	inst := b.Inst
	ctx := context.Background()
	db := inst.DB.Pool
	// Draws see only two questions whose answer is 乙.
	if _, err := db.Exec(ctx, `UPDATE questions SET status = 'retired' WHERE seed_key IS NOT NULL`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, `
		WITH q AS (
			INSERT INTO questions (owner_region_id, status, type, category, dimension, difficulty, stem_norm)
			SELECT $1, 'published', 'single', 'life', 'knowledge', 2, 'camp-e2e' || i FROM generate_series(1, 2) i RETURNING id)
		INSERT INTO question_versions (question_id, version, type, stem, options, answer, explanation, category, dimension, difficulty)
		SELECT id, 1, 'single', '活动题' || id || '：哪一项正确？', '["甲","乙","丙","丁"]', '{1}', '因为乙是对的', 'life', 'knowledge', 2 FROM q`,
		inst.Seed.CityID); err != nil {
		t.Fatalf("insert questions: %v", err)
	}
	in := campaign.Input{Title: "手机答题周", Description: "两道题的小活动", StartsAt: time.Now().Add(-time.Hour),
		EndsAt: time.Now().Add(24 * time.Hour), Rules: campaign.Rules{Questions: 2, TimeLimit: 30, PerDay: 3}}
	if err := in.Validate(); err != nil {
		t.Fatal(err)
	}
	var id int64
	if err := db.QueryRow(ctx, `INSERT INTO campaigns (title, description, region_id, status, starts_at, ends_at, settings)
		VALUES ($1, $2, $3, 'published', $4, $5, $6) RETURNING id`, in.Title, in.Description, inst.Seed.CityID,
		in.StartsAt, in.EndsAt, in.Rules).Scan(&id); err != nil {
		t.Fatal(err)
	}

	// The watcher: the same citizen's leaderboard page in another browser.
	board := e2e.New(t, inst)
	board.LoginDemo("demo-citizen")
	board.Visit(fmt.Sprintf("/campaigns/%d/leaderboard", id))
	board.WaitText("#lb-status", "实时更新中")
	board.WaitText("#lb-empty", "还没有人上榜")

	b.LoginDemo("demo-citizen")
	b.Visit("/campaigns")
	b.WaitText("[data-testid=camp-open]", "手机答题周")
	b.ClickNav(fmt.Sprintf("[data-testid=camp-%d]", id))
	b.WaitText("[data-testid=mine-left]", "还可以答 3 次")
	b.WaitText("main", "每题限时 30 秒")
	b.ClickNav("[data-testid=start]")
	for seq := 1; seq <= 2; seq++ {
		b.WaitText("[data-testid=q-of]", fmt.Sprintf("第 %d / 2 题", seq))
		b.WaitText("[data-testid=timer]", "秒")
		if seq == 1 {
			b.Screenshot("campaign-question-phone")
		}
		clicked := e2e.Get(b, chromedp.Evaluate[bool](`(() => {
			const t = [...document.querySelectorAll('#q-tiles .tile')].find(x => x.textContent.includes('乙'));
			if (!t) return false; t.click(); return true })()`))
		if !clicked {
			t.Fatalf("question %d: no tile 乙", seq)
		}
		b.WaitText("[data-testid=verdict]", "回答正确！")
		b.WaitText("[data-testid=correct-answer]", "乙")
		b.WaitText("#res-explain", "因为乙是对的")
		if seq == 1 {
			b.Do(chromedp.Click(chromedp.CSS("[data-testid=next]")))
		}
	}
	b.WaitText("[data-testid=next]", "查看成绩")
	b.ClickNav("[data-testid=next]")
	b.WaitText("h1", "答题成绩")
	b.WaitText("[data-testid=rank-overall]", "1")
	b.WaitText("[data-testid=passed]", "合格")
	b.Screenshot("campaign-result-phone")

	// The open leaderboard shows the new standing without a reload.
	board.WaitText("[data-testid=lb-rows]", "科学爱好者")
	board.WaitText("[data-testid=my-rank]", "我的名次：1")
	if !board.Visible("#lb-rows tr.me") {
		t.Error("the viewer's own line is not highlighted")
	}
	board.Screenshot("campaign-leaderboard-phone")

	result := e2e.Get(b, chromedp.Evaluate[string](`location.pathname`))
	b.ClickNav("[data-testid=review-link]")
	b.WaitText("main", "因为乙是对的")
	b.Visit(result)
	b.WaitText("h1", "答题成绩")
	b.ClickNav("[data-testid=cert-link]")
	b.WaitText("[data-testid=cert-nickname]", "科学爱好者")
	code := b.Text("[data-testid=cert-code]")
	b.Screenshot("campaign-certificate-phone")
	guest := e2e.New(t, inst)
	guest.Visit("/certificates/" + code[len(code)-12:])
	guest.WaitText("[data-testid=verify-ok]", "此证书真实有效")
	guest.WaitText("[data-testid=verify-nickname]", "科学爱好者")
}
