package e2e_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/kepu/kepu/internal/calibrate/calibtest"
	"github.com/kepu/kepu/internal/e2e"
	"github.com/kepu/kepu/internal/irt"
)

// An organizer's item analysis shows the IRT parameters beside the
// classical ones and suggests retiring a miskeyed question, with a link to
// it in the bank, in both languages, on a projector and a phone; the
// campaign form offers parallel forms for assessments only.
func TestItemCalibrationPages(t *testing.T) {
	t.Parallel()
	b := e2e.Start(t)
	ctx := context.Background()
	d := newDashData(t, b, "科学素质测评", 6)
	camp, q2 := d.campaign, d.q2
	_, err := calibtest.Store(ctx, b.Inst.DB.Pool, map[int64]irt.Item{d.v1: {A: 1.25, B: -0.4}, d.v2: {A: -0.7, B: 0.9}})
	d.must(err)

	b.LoginDemo("demo-organizer")
	b.Do(chromedp.EmulateViewport(1920, 1080))
	page := "/dash/campaigns/" + strconv.FormatInt(camp, 10)
	b.Visit(page + "#sec-items")
	b.WaitText("[data-testid=table-items]", "建议停用")
	b.WaitText("[data-testid=table-items]", "1.25 / -0.40 · 拟合良好")
	b.WaitText("[data-testid=table-items]", "区分度为负")
	b.WaitText("[data-testid=table-items]", "拟合良好")
	b.WaitText("[data-testid=irt-explain]", "难度 b")
	href := e2e.Get(b, chromedp.Evaluate[string](`document.querySelector('[data-testid=irt-retire-`+strconv.FormatInt(q2, 10)+`] a').getAttribute('href')`))
	if want := "/bank/" + strconv.FormatInt(q2, 10); href != want {
		t.Errorf("bank link: got %q, want %q", href, want)
	}
	shot(t, b, "#sec-items", "calibrate-items-projector-zh")
	b.Phone()
	b.Visit(page + "#sec-items")
	b.WaitText("[data-testid=table-items]", "建议停用")
	b.Screenshot("calibrate-items-phone-zh")

	b.ClickNav("[data-testid=lang-switch]")
	b.Visit(page + "#sec-items")
	b.WaitText("[data-testid=table-items]", "Consider retiring")
	b.WaitText("[data-testid=table-items]", "Negative discrimination")
	b.Screenshot("calibrate-items-phone-en")
	b.Do(chromedp.EmulateViewport(1920, 1080))
	b.Visit(page + "#sec-items")
	b.WaitText("[data-testid=table-items]", "Open in the bank")
	shot(t, b, "#sec-items", "calibrate-items-projector-en")

	// The campaign form: parallel forms only once the scoring is an assessment.
	b.Visit("/manage/campaigns/new")
	if b.Visible("[data-testid=parallel-forms]") {
		t.Error("parallel forms offered for speed scoring")
	}
	e2e.Get(b, chromedp.Evaluate[bool](`(() => { const s = document.querySelector('#scoring'); s.value = 'assessment';
		return s.dispatchEvent(new Event('change')) })()`))
	if !b.Visible("[data-testid=parallel-forms]") {
		t.Error("parallel forms not offered for an assessment")
	}
	shot(t, b, "#parallel-box", "calibrate-form-projector-en")
}

// shot saves the full page (Screenshot) and, beside it, the element sel
// alone as /tmp/kepu-e2e-<name>-part.png, to look at a section of a long page.
func shot(t *testing.T, b *e2e.Browser, sel, name string) {
	t.Helper()
	b.Screenshot(name)
	png := e2e.Get(b, chromedp.Screenshot(chromedp.CSS(sel)))
	path := filepath.Join(os.TempDir(), "kepu-e2e-"+name+"-part.png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
}
