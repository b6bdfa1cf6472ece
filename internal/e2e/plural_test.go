package e2e_test

import (
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/kepu/kepu/internal/e2e"
)

// In English, counts that the pages' scripts write take the singular for
// one: a teacher who adds one pupil reads "1 pupil account created" (the
// roster's translator), an organizer whose search finds one school reads
// "1 school" (the campaign pages' translator); more than one is plural.
func TestEnglishCountsSayOnePupilOneSchool(t *testing.T) {
	t.Parallel()
	b := e2e.Start(t)
	b.LoginDemo("demo-teacher")
	b.ClickNav("[data-testid=lang-switch]")
	b.WaitText("[data-testid=logout]", "Log out")
	b.Visit("/org")
	b.ClickNav("a.class-link")
	// The tab prefers reduced motion (e2e.Start), so the roster jumps to
	// the new cards instead of scrolling smoothly while the next click is
	// aimed (under a loaded suite clicks landed on the moving page).
	if !e2e.Get(b, chromedp.Evaluate[bool](`matchMedia('(prefers-reduced-motion: reduce)').matches`)) {
		t.Fatal("the tab does not prefer reduced motion")
	}
	add := func(names, want string) {
		t.Helper()
		b.Do(chromedp.WaitVisible(chromedp.CSS("#names")),
			chromedp.SendKeys(chromedp.CSS("#names"), names),
			chromedp.Click(chromedp.CSS(`#add-pupils button[type=submit]`)))
		b.WaitText("#cards-status", want)
		if got := b.Text("#cards-status"); got != want {
			t.Errorf("after adding %q: got %q, want %q", names, got, want)
		}
	}
	add("Amy\n", "1 pupil account created")
	add("Ben\nCai\n", "2 pupil accounts created")

	b.ClickNav("[data-testid=logout]")
	b.LoginDemo("demo-organizer")
	if got := b.Text("[data-testid=logout]"); got != "Log out" {
		b.ClickNav("[data-testid=lang-switch]")
	}
	b.Visit("/manage/campaigns/new")
	b.Fill("#aud-q", "鼎城")
	b.WaitText("#aud-count", "1 school")
	if got := b.Text("#aud-count"); got != "1 school" {
		t.Errorf("one school found: got %q, want %q", got, "1 school")
	}
	b.Fill("#aud-q", "演示")
	b.WaitText("#aud-count", "schools")
	b.Screenshot("plural-en-audience-phone")
}
