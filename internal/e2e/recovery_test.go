package e2e_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"strconv"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/kepu/kepu/internal/campaign"
	"github.com/kepu/kepu/internal/e2e"
)

// On a phone a new user registers and is shown ten recovery codes once;
// logged out, they set a new password on the forgot-password page with one
// code (Chinese), which then fails a second time (English); the profile
// counts the codes left. Their certificate page, in both languages, has
// the one title, the issuing organization with its seal and the share card.
func TestRecoveryAndCertificatePhone(t *testing.T) {
	t.Parallel()
	b := e2e.Start(t)
	ctx := context.Background()
	district := strconv.FormatInt(b.Inst.Seed.DistrictIDs["430703"], 10)

	b.Visit("/register")
	b.Do(
		chromedp.SendKeys(chromedp.CSS("#username"), "xiaowang"),
		chromedp.SendKeys(chromedp.CSS("#password"), "kexue-2026!"),
		chromedp.SendKeys(chromedp.CSS("#nickname"), "小王"),
		chromedp.SetValue(chromedp.CSS("#region_id"), district),
		chromedp.SetValue(chromedp.CSS("#age_band"), "18_29"),
		chromedp.Click(chromedp.CSS(`main form button[type=submit]`)),
	)
	b.Do(chromedp.WaitVisible(chromedp.CSS("[data-code-list] li")))
	if got := b.Text("[data-testid=recovery-codes] h2"); got != "你的恢复码" {
		t.Errorf("codes title: got %q", got)
	}
	codes := e2e.Get(b, chromedp.Evaluate[[]string](`[...document.querySelectorAll('[data-code-list] code')].map(c => c.textContent)`))
	if len(codes) != 10 || len(codes[0]) != 19 {
		t.Fatalf("codes shown after registering: got %q", codes)
	}
	if b.Visible("main form") {
		t.Error("the registration form is still shown next to the codes")
	}
	noOverflow(t, b, "recovery codes")
	b.Screenshot("recovery-codes-zh-phone")
	b.ClickNav("[data-testid=codes-continue]")
	b.WaitText("[data-testid=hello]", "你好，小王！")
	b.ClickNav("[data-testid=logout]")

	b.Visit("/login")
	b.ClickNav("[data-testid=forgot-link]")
	if got := b.Text("h1"); got != "用恢复码找回密码" {
		t.Errorf("forgot page: got %q", got)
	}
	b.Fill("#username", "xiaowang")
	b.Fill("#code", codes[2])
	b.Fill("#new_password", "xin-mima-2026")
	b.Do(chromedp.Click(chromedp.CSS(`main form button[type=submit]`)))
	b.WaitText("[data-recover-ok]", "新密码已设置，你已登录。还剩 9 个恢复码。")
	noOverflow(t, b, "forgot page")
	b.Screenshot("forgot-done-zh-phone")

	// The same code again, in English: refused, on the field.
	b.Visit("/lang/en?next=/forgot")
	b.Fill("#username", "xiaowang")
	b.Fill("#code", codes[2])
	b.Fill("#new_password", "another-pass-1")
	b.Do(chromedp.Click(chromedp.CSS(`main form button[type=submit]`)))
	b.WaitText(".form-error", "Wrong username or recovery code, or the code has been used already.")
	b.Screenshot("forgot-used-en-phone")
	b.Visit("/profile")
	b.WaitText("[data-testid=codes-left]", "9 unused recovery codes left.")
	noOverflow(t, b, "profile")
	b.Screenshot("profile-codes-en-phone")

	// A passing result with an issuer and a seal.
	id := campaignOf(t, b, "健康科普周", "", campaign.StatusPublished, 2, campaign.Rules{Questions: 1, Scoring: "flat"})
	var seal bytes.Buffer
	img := image.NewNRGBA(image.Rect(0, 0, 160, 160))
	for y := 0; y < 160; y++ {
		for x := 0; x < 160; x++ {
			if d := (x-80)*(x-80) + (y-80)*(y-80); d < 6400 && d > 4600 {
				img.Set(x, y, color.NRGBA{0xD0, 0x10, 0x10, 0xFF})
			}
		}
	}
	png.Encode(&seal, img)
	db := b.Inst.DB.Pool
	if _, err := db.Exec(ctx, `UPDATE cert_issuer SET name = '常德市科学技术协会', seal = $1, seal_type = 'image/png', version = version + 1`, seal.Bytes()); err != nil {
		t.Fatal(err)
	}
	var att int64
	if err := db.QueryRow(ctx, `INSERT INTO campaign_attempts (campaign_id, user_id, finished_at, score, max_score, passed, questions, answered,
		cert_code, cert_nickname, cert_campaign) SELECT $1, id, now(), 10, 10, true, 1, 1, 'E2ECERT1', nickname, '健康科普周'
		FROM users WHERE username = 'xiaowang' RETURNING id`, id).Scan(&att); err != nil {
		t.Fatal(err)
	}
	for _, lang := range []string{"zh-CN", "en"} {
		b.Visit(fmt.Sprintf("/lang/%s?next=/attempts/%d/certificate", lang, att))
		want := map[string]string{"zh-CN": "科学素质答题证书", "en": "Science Literacy Quiz Certificate"}[lang]
		b.WaitText("h1.cert-title", want)
		issued := map[string]string{"zh-CN": "发证单位：常德市科学技术协会", "en": "Issued by 常德市科学技术协会"}[lang]
		if got := b.Text("[data-testid=cert-issuer] p"); got != issued {
			t.Errorf("%s issuer: got %q, want %q", lang, got, issued)
		}
		if !b.Visible("img.cert-seal") || !b.Visible("[data-testid=cert-share]") {
			t.Errorf("%s: the seal or the share card link is missing", lang)
		}
		loaded := e2e.Get(b, chromedp.Evaluate[bool](`document.querySelector('img.cert-seal').complete && document.querySelector('img.cert-seal').naturalWidth === 160`))
		if !loaded {
			t.Errorf("%s: the seal image did not load", lang)
		}
		noOverflow(t, b, "certificate "+lang)
		b.Screenshot("certificate-" + lang + "-phone")
	}
}
