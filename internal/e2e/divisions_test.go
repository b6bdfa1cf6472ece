package e2e_test

import (
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/kepu/kepu/internal/campaign"
	"github.com/kepu/kepu/internal/e2e"
)

// answerRight clicks the tile 乙 (campaignOf's key) and waits for the
// feedback: right, the right answer and the explanation.
func answerRight(t *testing.T, b *e2e.Browser) {
	t.Helper()
	clicked := e2e.Get(b, chromedp.Evaluate[bool](`(() => {
		const t = [...document.querySelectorAll('#q-tiles .tile')].find(x => x.textContent.includes('乙'));
		if (!t) return false; t.click(); return true })()`))
	if !clicked {
		t.Fatal("no tile 乙")
	}
	b.WaitText("[data-testid=verdict]", "回答正确！")
	b.WaitText("[data-testid=correct-answer]", "乙")
	b.WaitText("#res-explain", "因为乙是对的")
}

// A participant on a phone, in a campaign with divisions and a required
// practice round: the campaign page names their division and refuses the
// formal start until they practise; the practice (labelled 练习) shows
// right or wrong and the explanation after the question and ends without a
// rank; then the formal attempt ranks them on their division's board.
func TestDivisionsPracticeThenFormalOnPhone(t *testing.T) {
	t.Parallel()
	b := e2e.Start(t)
	id := campaignOf(t, b, "分组答题周", "小学组、成人组，先练习再正式答题", "published", 3, campaign.Rules{
		Questions: 2, TimeLimit: 30, PerDay: 3,
		Divisions: []campaign.Division{
			{Key: "primary", NameZh: "小学组", NameEn: "Primary", AgeBands: []string{"u14"}, GradeMin: 1, GradeMax: 6},
			{Key: "adult", NameZh: "成人组", NameEn: "Adults"},
		},
		Practice: campaign.Practice{Enabled: true, Questions: 1, Required: true},
	})
	b.LoginDemo("demo-citizen")

	t.Run("campaign page: division, practice required", func(t *testing.T) {
		b.Visit(fmt.Sprintf("/campaigns/%d", id))
		b.WaitText("[data-testid=my-division]", "您的组别：成人组")
		b.WaitText("[data-testid=rule-divisions]", "小学组、成人组")
		b.WaitText("[data-testid=practice-required]", "请先完成一次练习")
		b.Screenshot("divisions-campaign-phone")
		b.Do(chromedp.Click(chromedp.CSS("[data-testid=start]")))
		b.WaitText(".camp-actions .form-error:not([data-testid])", "请先完成一次练习，再开始正式答题")
	})

	t.Run("practice: feedback after the question, no rank", func(t *testing.T) {
		b.ClickNav("[data-testid=practice]")
		b.WaitText("[data-testid=practice-label]", "练习")
		b.WaitText("[data-testid=q-of]", "第 1 / 1 题")
		answerRight(t, b)
		b.Screenshot("divisions-practice-feedback-phone")
		b.ClickNav("[data-testid=next]")
		b.WaitText("h1", "答题成绩")
		b.WaitText("[data-testid=practice-unranked]", "练习不计入排行榜")
		if b.Visible("[data-testid=rank-overall]") || b.Visible("[data-testid=cert-link]") {
			t.Error("a practice result shows a rank or a certificate")
		}
		b.Screenshot("divisions-practice-result-phone")
	})

	t.Run("formal attempt on the division's board", func(t *testing.T) {
		b.ClickNav("[data-testid=to-formal]")
		b.ClickNav("[data-testid=start]")
		for seq := 1; seq <= 2; seq++ {
			b.WaitText("[data-testid=q-of]", fmt.Sprintf("第 %d / 2 题", seq))
			if b.Visible("[data-testid=practice-label]") {
				t.Error("the formal attempt is labelled 练习")
			}
			answerRight(t, b)
			if seq == 1 {
				b.Do(chromedp.Click(chromedp.CSS("[data-testid=next]")))
			}
		}
		b.WaitText("[data-testid=next]", "查看成绩")
		b.ClickNav("[data-testid=next]")
		b.WaitText("[data-testid=result-division]", "成人组")
		b.WaitText("[data-testid=rank-overall]", "1")
		b.Visit(fmt.Sprintf("/campaigns/%d/leaderboard", id))
		b.WaitText("[data-testid=lb-division-adult][aria-pressed=true]", "成人组")
		b.WaitText("[data-testid=lb-rows]", "科学爱好者")
		b.Screenshot("divisions-leaderboard-phone")
		b.Do(chromedp.Click(chromedp.CSS("[data-testid=lb-division-primary]")))
		b.WaitText("#lb-empty", "还没有人上榜")
	})
}
