package e2e_test

import (
	"bytes"
	"image/png"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/kepu/kepu/internal/certificate/certtest"
	"github.com/kepu/kepu/internal/e2e"
)

// scanCard reads the QR code of the n-th printed card as a phone camera
// would: from the pixels on screen, trying again for a few seconds as a
// camera does (on a loaded machine the first frame may come before the
// code is painted).
func scanCard(t *testing.T, b *e2e.Browser, n int) string {
	t.Helper()
	sel := `#cards .qr-card:nth-child(` + strconv.Itoa(n) + `) svg.qr`
	var err error
	for try := 0; try < 10; try++ {
		if try > 0 {
			time.Sleep(300 * time.Millisecond)
		}
		shot := e2e.Get(b, chromedp.Screenshot(chromedp.CSS(sel)))
		img, derr := png.Decode(bytes.NewReader(shot))
		if derr != nil {
			t.Fatal(derr)
		}
		var text string
		if text, err = certtest.DecodeQR(img); err == nil {
			return text
		}
	}
	t.Fatalf("card %d: %v", n, err)
	return ""
}

// A teacher prints QR login cards for the class (zh-CN, then en; phone and
// projector sizes); a pupil scans one with a phone and lands on the start
// page logged in, the token gone from the address bar; a replaced card
// shows a clear message instead.
func TestJoinCardQRLogin(t *testing.T) {
	t.Parallel()
	b := e2e.Start(t)
	b.LoginDemo("demo-teacher")
	class := b.Inst.Seed.ClassIDs[0]
	page := "/classes/" + strconv.FormatInt(class, 10)
	b.Visit(page)
	b.Do(chromedp.WaitVisible(chromedp.CSS("#names")))
	b.Do(
		chromedp.SendKeys(chromedp.CSS("#names"), "小明\n小红\n欧阳小刚\n"),
		chromedp.Click(chromedp.CSS(`#add-pupils button[type=submit]`)),
	)
	b.WaitText("#cards-status", "已创建 3 个学生账号")
	b.ConfirmAll()
	b.Do(chromedp.Click(chromedp.CSS("#qr-print-all")))
	b.WaitText("#cards-status", "已生成 3 张扫码登录卡")
	if n := e2e.Get(b, chromedp.Evaluate[int](`document.querySelectorAll('#cards .qr-card svg.qr path[d^="M"]').length`)); n != 3 {
		t.Fatalf("QR cards: got %d codes, want 3", n)
	}
	b.WaitText("#cards", "欧阳小刚")
	b.WaitText("[data-testid=roster]", "有效")
	oldCard := scanCard(t, b, 1)
	if !strings.HasPrefix(oldCard, b.Inst.URL+"/card#") {
		t.Fatalf("scanned %q, want %s/card#<token>", oldCard, b.Inst.URL)
	}
	b.Screenshot("qr-cards-zh-phone")
	b.Do(chromedp.EmulateViewport(1920, 1080))
	b.Screenshot("qr-cards-zh-1920")
	b.PrintMedia(true)
	if !b.Visible("#cards .qr-card svg.qr") || b.Visible("#qr-print-all") {
		t.Error("printing: want the cards with their codes and without the buttons")
	}
	b.Screenshot("qr-cards-zh-print")
	b.PrintMedia(false)

	// In English: printing again replaces the cards.
	b.Visit("/lang/en?next=" + page)
	b.WaitText("h2#qr-title", "QR login cards")
	b.ConfirmAll()
	b.Do(chromedp.Click(chromedp.CSS("#qr-print-all")))
	b.WaitText("#cards-status", "3 QR login cards made")
	b.Screenshot("qr-cards-en-1920")
	b.Phone()
	b.Screenshot("qr-cards-en-phone")
	card := scanCard(t, b, 1)
	if card == oldCard {
		t.Fatal("reprinting gave the same card")
	}

	// The pupil scans the new card on a phone.
	pupil := e2e.New(t, b.Inst)
	pupil.Phone()
	pupil.Do(chromedp.Navigate(card))
	pupil.Do(chromedp.WaitVisible(chromedp.CSS("[data-testid=logout]")))
	pupil.WaitText("[data-testid=hello]", "小明")
	if href := e2e.Get(pupil, chromedp.Evaluate[string](`location.href`)); href != b.Inst.URL+"/" {
		t.Errorf("after the card login: at %q, want the start page without the token", href)
	}
	pupil.Screenshot("qr-card-login-phone")

	// The replaced card, scanned in another browser.
	stale := e2e.New(t, b.Inst)
	stale.Phone()
	stale.Do(chromedp.Navigate(oldCard))
	stale.WaitText("#card-error", "作废")
	if href := e2e.Get(stale, chromedp.Evaluate[string](`location.href`)); strings.Contains(href, "#") {
		t.Errorf("the token stayed in the address bar: %q", href)
	}
	stale.Screenshot("qr-card-replaced-phone")
}
