package e2e_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/kepu/kepu/internal/campaign"
	"github.com/kepu/kepu/internal/e2e"
)

// A citizen takes a short campaign on a phone in Chinese: list, rules,
// start, two questions with a countdown, right answers with the correct
// answer and explanation, the next question without a second request (it
// came with the answer), the result with ranks, the review and the
// certificate. A leaderboard page open in a second browser shows the
// citizen's rank, highlighted, as soon as the attempt finishes.
func TestCampaignCitizenPlaysAndLeaderboardUpdates(t *testing.T) {
	t.Parallel()
	b := e2e.Start(t)
	inst := b.Inst
	id := campaignOf(t, b, "手机答题周", "两道题的小活动", "published", 2, campaign.Rules{Questions: 2, TimeLimit: 30, PerDay: 3})

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
			// From here on count the page's requests to the attempt
			// (resource timings), once the first question's
			// acknowledgment is back.
			e2e.Get(b, chromedp.Poll[bool](`performance.getEntriesByType('resource').some(e => e.name.endsWith('/seen'))`))
			e2e.Get(b, chromedp.Evaluate[bool](`(performance.clearResourceTimings(), true)`))
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
			b.WaitText("[data-testid=next]", "下一题（计时中，剩")
			b.Screenshot("campaign-explanation-phone")
			b.Do(chromedp.Click(chromedp.CSS("[data-testid=next]")))
			b.WaitText("[data-testid=q-of]", "第 2 / 2 题")
			reqs := e2e.Get(b, chromedp.Evaluate[[]string](`performance.getEntriesByType('resource')
				.map(e => new URL(e.name).pathname).filter(p => p.startsWith('/api/v1/attempts/'))`))
			if len(reqs) != 1 || !strings.HasSuffix(reqs[0], "/answers") {
				t.Errorf("requests from answering question 1 to showing question 2: got %v, want only the answer", reqs)
			}
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

// An organizer creates a campaign in the form, is told which quota the
// bank cannot fill when publishing, fixes it and publishes; a citizen then
// lets the first question's countdown run out (timeout, next question
// after the server locks it) and answers the second.
func TestCampaignOrganizerPublishesAndTimeout(t *testing.T) {
	t.Parallel()
	org := e2e.Start(t)
	inst := org.Inst
	org.LoginDemo("demo-organizer")
	org.Visit("/manage/campaigns")
	org.ClickNav("[data-testid=new-campaign]")
	org.Fill("#title", "限时五秒挑战")
	org.Fill("#questions", "100")
	org.Fill("#time_limit", "5")
	org.Do(chromedp.Click(chromedp.CSS("[data-testid=add-quota]")))
	e2e.Get(org, chromedp.Evaluate[bool](`(() => {
		const row = document.querySelector('#quotas [data-quota]');
		row.querySelector('[data-q=category]').value = 'health';
		row.querySelector('[data-q=type]').value = 'multiple';
		row.querySelector('[data-q=count]').value = '90';
		return true })()`))
	org.ClickNav("[data-testid=save]")
	org.WaitText("[data-testid=form-status]", "草稿")
	org.Do(chromedp.WaitVisible(chromedp.CSS("#quotas [data-quota]"))) // the saved quota is back in the form
	if v := e2e.Get(org, chromedp.Evaluate[string](`document.querySelector('#quotas [data-q=count]').value`)); v != "90" {
		t.Fatalf("quota count after save: got %q, want 90", v)
	}
	org.Do(chromedp.Click(chromedp.CSS("[data-testid=form-publish]")))
	org.Do(chromedp.Click(chromedp.CSS("[data-testid=confirm-ok]"))) // the page's confirm dialog
	org.WaitText("[data-testid=form-error]", "第 1 条配额（分类：健康与医学，维度：不限，题型：多选题）")
	if !org.Visible("#quotas .quota-short") {
		t.Error("the short quota's row is not marked")
	}
	org.Screenshot("campaign-publish-error-phone")
	org.Fill("#questions", "2")
	e2e.Get(org, chromedp.Evaluate[bool](`(() => { document.querySelector('#quotas [data-q=count]').value = '1'; return true })()`))
	org.Do(chromedp.Click(chromedp.CSS("[data-testid=form-publish]")))
	org.ClickNav("[data-testid=confirm-ok]")
	org.WaitText("h1", "活动管理")
	org.WaitText("[data-testid=notice]", "已发布「限时五秒挑战」")
	org.WaitText("main", "已发布")

	var id int64
	if err := inst.DB.Pool.QueryRow(context.Background(), `SELECT id FROM campaigns WHERE title = '限时五秒挑战'`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	p := e2e.New(t, inst)
	p.LoginDemo("demo-citizen")
	p.Visit(fmt.Sprintf("/campaigns/%d", id))
	p.ClickNav("[data-testid=start]")
	p.WaitText("[data-testid=q-of]", "第 1 / 2 题")
	p.WaitText("[data-testid=verdict]", "时间到了") // after 5 s
	p.Do(chromedp.Click(chromedp.CSS("[data-testid=next]")))
	p.WaitText("[data-testid=q-of]", "第 2 / 2 题") // once the server has locked question 1 (5 s + 2 s credit)
	p.Do(chromedp.Click(chromedp.CSS("#q-tiles .tile")))
	// A multiple-choice question needs the submit button.
	e2e.Get(p, chromedp.Evaluate[bool](`(() => { const b = document.querySelector('#q-submit'); if (!b.hidden) b.click(); return true })()`))
	p.WaitText("[data-testid=next]", "查看成绩")
	p.ClickNav("[data-testid=next]")
	p.WaitText("h1", "答题成绩")
	var timedOut bool
	if err := inst.DB.Pool.QueryRow(context.Background(), `SELECT a.timed_out FROM campaign_answers a
		JOIN campaign_attempts t ON t.id = a.attempt_id WHERE t.campaign_id = $1 AND a.seq = 1`, id).Scan(&timedOut); err != nil || !timedOut {
		t.Errorf("question 1: timed_out %v (%v), want true", timedOut, err)
	}
}
