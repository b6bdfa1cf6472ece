package e2e_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/kepu/kepu/internal/campaign"
	"github.com/kepu/kepu/internal/e2e"
)

// projector sets a 1920×1080 viewport for a screenshot and goes back to
// the phone.
func projector(b *e2e.Browser, name string) {
	b.Do(chromedp.EmulateViewport(1920, 1080))
	b.Screenshot(name + "-1920")
	b.Phone()
}

// Every question teaches, on a phone: when a question's time runs out the
// page shows the right answer and the explanation, as after a wrong
// answer; the result says how many were right of how many, the pass mark
// and offers another attempt while one remains today, and once none does
// it says to come back at 00:00 Beijing time. In Chinese, then English.
func TestCampaignTimeoutTeachesAndResultSaysWhatNext(t *testing.T) {
	t.Parallel()
	b := e2e.Start(t)
	id := campaignOf(t, b, "限时课堂", "每题五秒", "published", 2, campaign.Rules{Questions: 2, TimeLimit: 5, PerDay: 2})
	b.LoginDemo("demo-citizen")
	b.Visit(campaignPath(id))
	b.ClickNav("[data-testid=start]")
	b.WaitText("[data-testid=q-of]", "第 1 / 2 题")
	waitLesson(b, "时间到了") // after 5 s
	if !b.Visible("[data-testid=correct-answer]") || !b.Visible("#res-explain") {
		t.Error("the timeout lesson's answer or explanation is not visible")
	}
	b.Screenshot("teach-timeout-zh-phone")
	projector(b, "teach-timeout-zh")
	b.Do(chromedp.Click(chromedp.CSS("[data-testid=next]")))
	b.WaitText("[data-testid=q-of]", "第 2 / 2 题")
	clickTile(t, b, "甲") // wrong
	b.WaitText("[data-testid=verdict]", "回答错误")
	b.WaitText("[data-testid=correct-answer]", "乙")
	b.ClickNav("[data-testid=next]")
	b.WaitText("h1", "答题成绩")
	b.WaitText("[data-testid=right]", "答对 0 / 2")
	b.WaitText("[data-testid=pass-mark]", "60%")
	b.WaitText("[data-testid=again]", "您现在还可以答 1 次")
	b.WaitText("[data-testid=start]", "再答一次")
	b.Screenshot("teach-result-zh-phone")
	projector(b, "teach-result-zh")

	// English: another attempt from the result page, its timeout lesson,
	// then giving up: none left today.
	b.ClickNav("[data-testid=lang-switch]")
	b.WaitText("[data-testid=right]", "0 of 2 right")
	b.ClickNav("[data-testid=start]")
	b.WaitText("[data-testid=q-of]", "1")
	waitLesson(b, "Time is up")
	b.Screenshot("teach-timeout-en-phone")
	projector(b, "teach-timeout-en")
	b.ConfirmAll()
	b.ClickNav("[data-testid=give-up]")
	b.WaitText("[data-testid=right]", "0 of 2 right")
	b.WaitText("[data-testid=again-tomorrow]", "Come back tomorrow after 00:00 Beijing time")
	if b.Visible("[data-testid=start]") {
		t.Error("the result offers another attempt with none left today")
	}
	b.Screenshot("teach-result-en-phone")
	projector(b, "teach-result-en")
	b.ClickNav("[data-testid=lang-switch]")
	b.WaitText("[data-testid=again-tomorrow]", "请明天 00:00（北京时间）后再来")
	b.Screenshot("teach-result-tomorrow-zh-phone")
}

// waitLesson waits for the verdict and then the lesson: the right answer
// and the explanation (after a timeout, once the server has locked it: the
// question's limit plus the 2 s network credit).
func waitLesson(b *e2e.Browser, verdict string) {
	b.WaitText("[data-testid=verdict]", verdict)
	b.WaitText("[data-testid=correct-answer]", ". 乙")
	b.WaitText("#res-explain", "因为乙是对的")
}

func campaignPath(id int64) string { return fmt.Sprintf("/campaigns/%d", id) }

// On a phone, a multiple-choice question with a long stem keeps its
// submit button on the screen, pinned to the bottom, before any scrolling;
// a tapped tile keeps its colour (the tap leaves it hovered) and its letter.
func TestCampaignMultiSubmitPinnedTilesKeepColour(t *testing.T) {
	t.Parallel()
	b := e2e.Start(t)
	id := campaignOf(t, b, "多选题", "长题干", "published", 1, campaign.Rules{Questions: 1, TimeLimit: 60})
	if _, err := b.Inst.DB.Pool.Exec(context.Background(), `UPDATE question_versions SET type = 'multiple', answer = '{1,2}',
		stem = repeat('这是一道很长的多选题题干，用来把选项推到手机屏幕之外。', 12) WHERE stem LIKE '活动题%'`); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Inst.DB.Pool.Exec(context.Background(), `UPDATE questions SET type = 'multiple' WHERE stem_norm LIKE 'camp-e2e%'`); err != nil {
		t.Fatal(err)
	}
	b.LoginDemo("demo-citizen")
	b.Visit(campaignPath(id))
	b.ClickNav("[data-testid=start]")
	b.WaitText("[data-testid=q-of]", "第 1 / 1 题")
	b.Do(chromedp.WaitVisible(chromedp.CSS("[data-testid=submit]")))
	// Read from the top of the page (the stem), as a player scrolls back to it.
	onScreen := `(() => { scrollTo(0, 0); const r = document.querySelector('#q-submit').getBoundingClientRect();
		return r.height > 0 && r.top >= 0 && r.bottom <= innerHeight + 1 })()`
	if !e2e.Get(b, chromedp.Evaluate[bool](onScreen)) {
		t.Error("the submit button of a long multiple-choice question is below the phone's screen")
	}
	style := `(() => { const t = document.querySelector('#q-tiles .tile'); const s = getComputedStyle(t);
		return s.backgroundColor + ' ' + s.borderRadius + ' ' + t.querySelector('.shape').textContent })()`
	before := e2e.Get(b, chromedp.Evaluate[string](style))
	b.Do(chromedp.Click(chromedp.CSS("#q-tiles .tile"))) // a real tap: the tile stays hovered
	if e2e.Get(b, chromedp.Evaluate[string](`document.querySelector('#q-tiles .tile').getAttribute('aria-pressed')`)) != "true" {
		t.Fatal("the tapped tile is not chosen")
	}
	if after := e2e.Get(b, chromedp.Evaluate[string](style)); after != before {
		t.Errorf("the tapped tile's colour, shape and letter: got %q, want %q as before the tap", after, before)
	}
	if !e2e.Get(b, chromedp.Evaluate[bool](onScreen)) {
		t.Error("the submit button left the screen after a tap")
	}
	// What the phone's screen shows at the top of the page (a full-page
	// screenshot would stretch the screen to the page).
	shot := e2e.Get(b, chromedp.CaptureScreenshot())
	if err := os.WriteFile(filepath.Join(os.TempDir(), "kepu-e2e-teach-multi-zh-phone-screen.png"), shot, 0o644); err != nil {
		t.Fatal(err)
	}
	b.Do(chromedp.Click(chromedp.CSS("[data-testid=submit]")))
	b.WaitText("[data-testid=verdict]", "回答")
}
