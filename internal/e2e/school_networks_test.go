package e2e_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/kepu/kepu/internal/e2e"
)

// An organizer registers a school's public addresses on /org: the form
// saves them, a bad entry is explained, and the page shows them canonical.
func TestOrganizerRegistersSchoolNetworks(t *testing.T) {
	t.Parallel()
	b := e2e.Start(t)
	b.LoginDemo("demo-organizer")
	b.Visit("/org")
	sel := `section.school details.school-networks`
	b.Do(chromedp.Click(chromedp.CSS(sel + " summary")))
	b.Do(chromedp.WaitVisible(chromedp.CSS(sel + " textarea")))
	b.Do(
		chromedp.SendKeys(chromedp.CSS(sel+" textarea"), "10.0.0.0/8\n"),
		chromedp.Click(chromedp.CSS(sel+" button[type=submit]")),
	)
	b.WaitText(sel+" .form-error", "网段")
	b.Do(
		chromedp.SetValue(chromedp.CSS(sel+" textarea"), "203.0.113.7/28\n198.51.100.9"),
		chromedp.Click(chromedp.CSS(sel+" button[type=submit]")),
	)
	b.WaitText(sel+" .form-ok", "地址已保存")
	b.Phone()
	b.Visit("/org")
	b.Do(chromedp.Click(chromedp.CSS(sel + " summary")))
	got := e2e.Get(b, chromedp.Value(chromedp.CSS(sel+" textarea")))
	if got != "198.51.100.9/32\n203.0.113.0/28" {
		t.Errorf("registered networks after reload: got %q, want the canonical list", got)
	}
	if s := b.Text(sel + " summary"); !strings.Contains(s, "已登记 2 个") {
		t.Errorf("summary: got %q, want the count", s)
	}
	b.Screenshot("org-networks-phone")
}
