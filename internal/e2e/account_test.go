package e2e_test

import (
	"strconv"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/kepu/kepu/internal/e2e"
)

// A new user registers in Chinese, switches to English, logs out and logs
// back in, on a phone.
func TestRegisterSwitchLanguageLogin(t *testing.T) {
	t.Parallel()
	b := e2e.Start(t)
	district := strconv.FormatInt(b.Inst.Seed.DistrictIDs["430703"], 10)

	b.Visit("/register")
	for sel, want := range map[string]string{
		"h1": "注册新账号", `label[for=username]`: "用户名", `label[for=password]`: "密码",
		`label[for=nickname]`: "昵称", `label[for=region_id]`: "所在区县", `[data-testid=lang-switch]`: "English",
	} {
		if got := b.Text(sel); got != want {
			t.Errorf("register page %s: got %q, want %q", sel, got, want)
		}
	}
	b.Screenshot("register-phone")
	b.Do(
		chromedp.SendKeys(chromedp.CSS("#username"), "xiaoli"),
		chromedp.SendKeys(chromedp.CSS("#password"), "kexue-2026!"),
		chromedp.SendKeys(chromedp.CSS("#nickname"), "小李爱科学"),
		chromedp.SetValue(chromedp.CSS("#region_id"), district),
		chromedp.SetValue(chromedp.CSS("#age_band"), "18_29"),
	)
	b.Do(chromedp.Click(chromedp.CSS(`main form button[type=submit]`)))
	// The recovery codes are shown once before going on (recovery.js).
	b.Do(chromedp.WaitVisible(chromedp.CSS("[data-code-list] li")))
	b.ClickNav("[data-testid=codes-continue]")
	b.WaitText("[data-testid=hello]", "你好，小李爱科学！")
	if got := b.Text("[data-testid=logout]"); got != "退出登录" {
		t.Errorf("logout button: got %q, want 退出登录", got)
	}

	b.ClickNav("[data-testid=lang-switch]")
	b.WaitText("[data-testid=hello]", "Hello, 小李爱科学!")
	if got := b.Text("[data-testid=logout]"); got != "Log out" {
		t.Errorf("logout button in English: got %q, want Log out", got)
	}
	if got := b.Text("[data-testid=lang-switch]"); got != "中文" {
		t.Errorf("language switch in English: got %q, want 中文", got)
	}
	b.Screenshot("home-en-phone")

	b.ClickNav("[data-testid=logout]")
	b.WaitText("header nav", "Log in")

	b.Visit("/login")
	if got := b.Text("h1"); got != "Log in" {
		t.Errorf("login page after switching: got %q, want Log in", got)
	}
	if got := b.Text("label[for=username]"); got != "Username" {
		t.Errorf("login label: got %q, want Username", got)
	}
	// A wrong password first: the message appears in the form, in English.
	b.Do(
		chromedp.SendKeys(chromedp.CSS("#username"), "xiaoli"),
		chromedp.SendKeys(chromedp.CSS("#password"), "not-the-password"),
		chromedp.Click(chromedp.CSS(`main form button[type=submit]`)),
	)
	b.WaitText(".form-error", "Wrong username or password")
	b.Fill("#password", "kexue-2026!")
	b.ClickNav(`main form button[type=submit]`)
	b.WaitText("[data-testid=hello]", "Hello, 小李爱科学!")

	b.Desktop()
	b.Visit("/profile")
	if got := b.Text("[data-testid=username]"); got != "xiaoli" {
		t.Errorf("profile username: got %q, want xiaoli", got)
	}
}
