package e2e_test

import (
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/kepu/kepu/internal/campaign"
	"github.com/kepu/kepu/internal/e2e"
)

// An admin names the certificate issuer on /admin/certificate (phone and
// projector, both languages), and an organizer's campaign form offers the
// question language, whose choice the campaign's rules then state.
func TestIssuerAndLanguagePages(t *testing.T) {
	t.Parallel()
	b := e2e.Start(t)
	b.LoginDemo("demo-admin")
	b.Visit("/admin/certificate")
	b.Fill("[data-testid=issuer-name]", "常德市科学技术协会")
	b.Do(chromedp.Click(chromedp.CSS(`main form button[type=submit]`)))
	b.WaitText(".form-ok", "已保存")
	noOverflow(t, b, "issuer page")
	b.Screenshot("issuer-zh-phone")
	b.Visit("/lang/en?next=/admin/certificate")
	if got := b.Text("h1"); got != "Certificate issuer" {
		t.Errorf("issuer page in English: got %q", got)
	}
	b.Desktop()
	b.Screenshot("issuer-en-projector")

	id := campaignOf(t, b, "双语周", "", campaign.StatusPublished, 3, campaign.Rules{Questions: 1, Lang: "both"})
	b.Visit(fmt.Sprintf("/lang/zh-CN?next=/campaigns/%d", id))
	b.WaitText("[data-testid=rule-lang]", "题目中英双语")
	b.Visit(fmt.Sprintf("/manage/campaigns/%d", id))
	if got := e2e.Get(b, chromedp.Evaluate[string](`document.getElementById('qlang').value`)); got != "both" {
		t.Errorf("manage form language: got %q, want both", got)
	}
	b.Screenshot("manage-lang-zh-projector")
	b.Phone()
	b.Visit(fmt.Sprintf("/lang/en?next=/campaigns/%d", id))
	b.WaitText("[data-testid=rule-lang]", "Questions in Chinese and English")
	noOverflow(t, b, "campaign page")
	b.Screenshot("campaign-lang-en-phone")
}
