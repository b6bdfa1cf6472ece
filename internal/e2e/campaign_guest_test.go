package e2e_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/kepu/kepu/internal/campaign"
	"github.com/kepu/kepu/internal/e2e"
)

// An organizer allows guests in the campaign form; a visitor on a phone,
// without an account, chooses 「以游客身份参加」, gives a nickname and a
// district, plays the one question and sees the result and their line on
// the leaderboard; the menu offers to register instead of a profile.
func TestCampaignGuestPlaysOnPhone(t *testing.T) {
	t.Parallel()
	org := e2e.Start(t)
	inst := org.Inst
	ctx := context.Background()
	db := inst.DB.Pool
	id := campaignOf(t, org, "游客也能答", "", "paused", 1, campaign.Rules{Questions: 1, TimeLimit: 30})

	org.LoginDemo("demo-organizer")
	org.Visit(fmt.Sprintf("/manage/campaigns/%d", id))
	org.WaitText("[data-testid=form-status]", "已暂停")
	org.Do(chromedp.Focus(chromedp.CSS("[data-testid=guests]")), chromedp.KeyEvent(" "))
	org.Do(chromedp.Click(chromedp.CSS("[data-testid=form-publish]")))
	org.ClickNav("[data-testid=confirm-ok]") // the page's confirm dialog
	org.WaitText("main", "已发布")
	var guests bool
	if err := db.QueryRow(ctx, `SELECT (settings->>'guests')::bool FROM campaigns WHERE id = $1`, id).Scan(&guests); err != nil || !guests {
		t.Fatalf("guests allowed after the form: %v (%v), want true", guests, err)
	}

	v := e2e.New(t, inst)
	v.Visit(fmt.Sprintf("/campaigns/%d", id))
	v.WaitText("[data-testid=rule-login]", "游客也可参加")
	v.Do(chromedp.Click(chromedp.CSS("[data-testid=guest-open]")))
	v.Fill("[data-testid=guest-nickname]", "路过的小明")
	e2e.Get(v, chromedp.Evaluate[bool](fmt.Sprintf(`(() => { document.querySelector('[data-testid=guest-region]').value = '%d'; return true })()`,
		inst.Seed.DistrictIDs["430702"])))
	v.Screenshot("campaign-guest-form-phone")
	v.ClickNav("[data-testid=guest-start]")
	v.WaitText("[data-testid=q-of]", "第 1 / 1 题")
	clicked := e2e.Get(v, chromedp.Evaluate[bool](`(() => {
		const t = [...document.querySelectorAll('#q-tiles .tile')].find(x => x.textContent.includes('乙'));
		if (!t) return false; t.click(); return true })()`))
	if !clicked {
		t.Fatal("no tile 乙")
	}
	v.WaitText("[data-testid=verdict]", "回答正确！")
	v.ClickNav("[data-testid=next]")
	v.WaitText("h1", "答题成绩")
	v.WaitText("[data-testid=rank-district]", "1")
	if !v.Visible("[data-testid=nav-register]") || v.Visible("[data-testid=nav-profile]") {
		t.Error("a guest's menu: want the register link, not the profile")
	}
	v.Visit(fmt.Sprintf("/campaigns/%d/leaderboard", id))
	v.WaitText("[data-testid=lb-rows]", "路过的小明")
	v.WaitText("[data-testid=my-rank]", "我的名次：1")
	v.Screenshot("campaign-guest-leaderboard-phone")
}
