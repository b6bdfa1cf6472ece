// Package e2e drives Kepu's real pages in headless Chromium (Debian's
// /usr/bin/chromium, installed by scripts/browser.sh) through
// github.com/chromedp/chromedp, against a full server from internal/apptest.
//
// A browser test looks like this:
//
//	func TestSomething(t *testing.T) {
//		b := e2e.Start(t)          // server (seeded) + fresh browser, phone-sized
//		b.Visit("/login")          // relative to the instance URL
//		b.Do(
//			chromedp.SendKeys(chromedp.CSS("#username"), "demo-citizen"),
//			chromedp.Click(chromedp.CSS(`main form button[type=submit]`)),
//		)
//		b.WaitText("[data-testid=hello]", "你好")   // CSS selector, expected text
//		if got := b.Text("h1"); got != "…" { t.Errorf("got %q, want …", got) }
//		b.Screenshot("something-phone") // /tmp/kepu-e2e-something-phone.png with KEPU_E2E_SHOTS=1
//	}
//
// chromedp here is v0.23 with the generic API: an action returns its value
// (chromedp.Run(ctx, chromedp.Title()) → string), steps without a value go
// to Do, and the selector's type picks the lookup (chromedp.CSS, chromedp.ID;
// a plain string is a DevTools search). b.Ctx is the tab's context for
// anything the helpers lack; run it through b.Timed for a deadline.
//
// What the helper takes care of:
//   - One Chromium per test process is started with the flags the team
//     agreed on (headless, no sandbox, no GPU, no QUIC, no first-run, no
//     background networking, component updates or sync); every Browser is a
//     fresh browser context in it, so tests share no cookies or storage and
//     can run in parallel (t.Parallel).
//   - Screenshot writes PNGs only when KEPU_E2E_SHOTS is set; a failing
//     test's last page is always saved as /tmp/kepu-e2e-failed-<test>.png.
//   - When Chromium is missing the test is skipped with a message saying how
//     to install it, but only outside CI: when the CI environment variable is
//     set (`make test` / .ci/run), a missing browser fails the test.
//   - Every Do has a timeout (Timeout, default 30s) and fails the test with
//     the page URL on error. Uncaught JavaScript exceptions fail the test at
//     cleanup; console.error lines are logged.
//   - Phone (390×844, touch, device scale 2) and Desktop (1280×900) set the
//     viewport; Start begins on Phone, since pages are mobile-first.
//     PrintMedia switches to the print styles; Visible tells whether an
//     element is rendered; Fill types into an input after emptying it.
//   - ClickNav clicks and waits for the next page's load: use it whenever a
//     click leaves the page, or the following steps may act on stale nodes.
//   - Login signs in through the login page; LoginDemo as a seeded demo
//     account (demo-admin, demo-organizer, demo-teacher, demo-citizen);
//     ConfirmAll answers yes to window.confirm on the current page.
//   - Use Start(t, apptest.Options{…}) for server options, or New(t, inst) for
//     a second browser (another user) on the same instance.
//
// Prefer selectors on data-testid attributes or ids over texts, and check
// texts through the locale files' words you expect the user to see.
package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/kepu/kepu/internal/apptest"
)

// ChromiumPath is where Debian's chromium package installs the browser.
const ChromiumPath = "/usr/bin/chromium"

// Viewport sizes.
const (
	PhoneWidth, PhoneHeight     = 390, 844
	DesktopWidth, DesktopHeight = 1280, 900
)

// Browser is one Chromium with one tab, pointed at one Kepu instance.
type Browser struct {
	Ctx     context.Context // the tab's context: pass it to chromedp.Run for anything the helpers lack
	Inst    *apptest.Instance
	Timeout time.Duration // per Run; default 30s

	t          testing.TB
	mu         sync.Mutex
	exceptions []string
}

// Start runs a seeded Kepu instance (see apptest.Start) and a browser on it.
func Start(t testing.TB, opts ...apptest.Options) *Browser {
	t.Helper()
	RequireChromium(t)
	return New(t, apptest.Start(t, opts...))
}

// RequireChromium skips the test when Chromium is missing outside CI, and
// fails it in CI (env CI set), where the browser tests must run.
func RequireChromium(t testing.TB) {
	t.Helper()
	if _, err := os.Stat(ChromiumPath); err == nil {
		return
	}
	msg := fmt.Sprintf("e2e: %s not found; run scripts/browser.sh (or `make browser`) to install Chromium", ChromiumPath)
	if os.Getenv("CI") != "" {
		t.Fatal(msg + " (CI is set: browser tests may not be skipped)")
	}
	t.Skip(msg)
}

// New opens a fresh browser on inst, with a phone viewport: its own
// browser context (an incognito-like profile: no cookies, storage or cache
// shared with any other Browser) in the test process's one Chromium. It is
// closed when the test ends.
func New(t testing.TB, inst *apptest.Instance) *Browser {
	t.Helper()
	RequireChromium(t)
	root, err := chromium()
	if err != nil {
		t.Fatalf("e2e: %v", err)
	}
	ctx, cancelTab := chromedp.NewContext(root, chromedp.WithNewBrowserContext())
	b := &Browser{Ctx: ctx, Inst: inst, Timeout: 30 * time.Second, t: t}
	// Console starts the browser and subscribes before any page loads.
	console := chromedp.Console(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range console {
			if err != nil {
				return
			}
			switch {
			case m.IsException():
				b.mu.Lock()
				b.exceptions = append(b.exceptions, m.String())
				b.mu.Unlock()
			case m.Type == chromedp.ConsoleError && m.Source == "":
				t.Logf("e2e: console.error: %s", m.Text)
			}
		}
	}()
	t.Cleanup(func() {
		if t.Failed() {
			b.capture("failed-" + strings.NewReplacer("/", "-", " ", "_").Replace(t.Name()))
		}
		cancelTab()
		<-done
		b.mu.Lock()
		for _, e := range b.exceptions {
			t.Errorf("e2e: uncaught JavaScript exception: %s", e)
		}
		b.mu.Unlock()
	})
	b.Phone()
	b.PrintMedia(false)
	return b
}

// Timed returns the tab's context with the Timeout as deadline.
func (b *Browser) Timed() (context.Context, context.CancelFunc) {
	return context.WithTimeout(b.Ctx, b.Timeout)
}

// Do runs steps in the tab and fails the test on error or timeout.
func (b *Browser) Do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := b.Timed()
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.fail(err)
	}
}

func (b *Browser) fail(err error) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.Ctx, 2*time.Second)
	defer cancel()
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	b.t.Fatalf("e2e: at %s: %v", loc, err)
}

// Get runs one action that returns a value, failing the test on error.
func Get[T any](b *Browser, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := b.Timed()
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.fail(err)
	}
	return v
}

// URL returns the absolute URL of path on the instance.
func (b *Browser) URL(path string) string { return b.Inst.URL + path }

// Visit opens path (e.g. "/login") and waits for the page's body.
func (b *Browser) Visit(path string) {
	b.t.Helper()
	b.Do(chromedp.Navigate(b.URL(path)), chromedp.WaitReady(chromedp.CSS("body")))
}

// Phone sets a 390×844 touch viewport (an ordinary phone).
func (b *Browser) Phone() {
	b.t.Helper()
	b.Do(chromedp.EmulateViewport(PhoneWidth, PhoneHeight, chromedp.EmulateScale(2), chromedp.EmulateMobile, chromedp.EmulateTouch))
}

// PrintMedia makes the page use its print styles (on) or its screen styles
// (off), to check print layouts such as join cards without a printer. The
// tab always prefers reduced motion: pages then scroll at once instead of
// smoothly, so a click is never aimed at a page still moving under it.
func (b *Browser) PrintMedia(on bool) {
	b.t.Helper()
	media := ""
	if on {
		media = "print"
	}
	b.Do(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: media,
			Features: []*emulation.MediaFeature{{Name: "prefers-reduced-motion", Value: "reduce"}}})
		return err
	}))
}

// Visible reports whether the first element matching the CSS selector is
// rendered (it exists and has a layout box).
func (b *Browser) Visible(sel string) bool {
	b.t.Helper()
	return Get(b, chromedp.Evaluate[bool](fmt.Sprintf(`(() => { const e = document.querySelector(%q); return !!e && e.getClientRects().length > 0 })()`, sel)))
}

// ClickNav clicks the element matching the CSS selector and waits until the
// page it leads to has loaded. Use it for links, and for buttons whose script
// moves to another page (login, logout, language switch): acting on the old
// page's nodes while the new one loads fails at random.
func (b *Browser) ClickNav(sel string) {
	b.t.Helper()
	Get(b, chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(chromedp.CSS(sel))))
}

// Login signs in through the login page as a user would and waits for the
// page that follows (a logged-in page with the logout button).
func (b *Browser) Login(username, password string) {
	b.t.Helper()
	b.Visit("/login")
	b.Fill("#username", username)
	b.Fill("#password", password)
	b.ClickNav(`main form button[type=submit]`)
	b.Do(chromedp.WaitVisible(chromedp.CSS("[data-testid=logout]")))
}

// LoginDemo signs in as one of the seeded demo accounts (demo-admin,
// demo-organizer, demo-teacher, demo-citizen).
func (b *Browser) LoginDemo(username string) {
	b.t.Helper()
	for _, d := range b.Inst.Seed.Accounts {
		if d.Username == username {
			b.Login(username, d.Password)
			return
		}
	}
	b.t.Fatalf("e2e: no demo account %q", username)
}

// ConfirmAll makes window.confirm answer yes on the current page, for
// buttons that ask before they act.
func (b *Browser) ConfirmAll() {
	b.t.Helper()
	Get(b, chromedp.Evaluate[bool](`(window.confirm = () => true, true)`))
}

// Desktop sets a 1280×900 viewport.
func (b *Browser) Desktop() {
	b.t.Helper()
	b.Do(chromedp.EmulateViewport(DesktopWidth, DesktopHeight))
}

// Fill replaces the value of the input or textarea matching the CSS
// selector sel with value, typed with key events as a user would.
// (chromedp.Clear only resets the value attribute, not what the user typed.)
func (b *Browser) Fill(sel, value string) {
	b.t.Helper()
	b.Do(chromedp.WaitVisible(chromedp.CSS(sel)))
	js := fmt.Sprintf(`(() => { const e = document.querySelector(%q); if (!e) return false; e.value = ''; return true })()`, sel)
	if !Get(b, chromedp.Evaluate[bool](js)) {
		b.t.Fatalf("e2e: Fill: no element %s", sel)
	}
	if value != "" {
		b.Do(chromedp.SendKeys(chromedp.CSS(sel), value))
	}
}

// Text returns the visible text of the first element matching the CSS
// selector, waiting for it to be visible.
func (b *Browser) Text(sel string) string {
	b.t.Helper()
	b.Do(chromedp.WaitVisible(chromedp.CSS(sel)))
	return strings.TrimSpace(Get(b, chromedp.Text(chromedp.CSS(sel))))
}

// WaitText waits until the element matching sel contains want, and fails
// the test with what it does contain otherwise.
func (b *Browser) WaitText(sel, want string) {
	b.t.Helper()
	ctx, cancel := b.Timed()
	defer cancel()
	var got string
	for {
		text, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS(sel), chromedp.AtLeast(0)))
		if err == nil {
			got = strings.Join(strings.Fields(text), " ")
			if strings.Contains(got, want) {
				return
			}
		}
		select {
		case <-ctx.Done():
			b.t.Fatalf("e2e: %s: got text %q, want it to contain %q", sel, got, want)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// ShotsEnv names the environment variable that makes Screenshot write its
// PNGs: `KEPU_E2E_SHOTS=1 go test ./internal/e2e/ -run TestX` when a human
// is going to look at the pages. Without it Screenshot does nothing (a
// full-page PNG of a long page at device scale 2 costs Chromium a good part
// of a second, and make test takes over a hundred), and only a failing
// test's last page is saved, as kepu-e2e-failed-<test>.png.
const ShotsEnv = "KEPU_E2E_SHOTS"

// Screenshot saves a full-page PNG of the page as /tmp/kepu-e2e-<name>.png,
// for a human to look at, when KEPU_E2E_SHOTS is set (ShotsEnv).
func (b *Browser) Screenshot(name string) {
	b.t.Helper()
	if os.Getenv(ShotsEnv) == "" {
		return
	}
	b.capture(name)
}

// capture writes /tmp/kepu-e2e-<name>.png, logging rather than failing when
// it cannot (it also runs while a failed test ends).
func (b *Browser) capture(name string) {
	b.t.Helper()
	ctx, cancel := b.Timed()
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Logf("e2e: screenshot %s: %v", name, err)
		return
	}
	path := filepath.Join(os.TempDir(), "kepu-e2e-"+name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Logf("e2e: screenshot: %v", err)
		return
	}
	b.t.Logf("e2e: screenshot %s", path)
}

// The test process's one Chromium, started by the first Browser: every
// Browser is a browser context in it (New), which keeps tests as isolated as
// separate browsers at a fraction of the start-up cost. Shutdown stops it.
var shared struct {
	once   sync.Once
	ctx    context.Context
	err    error
	dir    string
	cancel func()
}

func chromium() (context.Context, error) {
	shared.once.Do(func() {
		dir, err := os.MkdirTemp("", "kepu-chromium-")
		if err != nil {
			shared.err = fmt.Errorf("profile dir: %w", err)
			return
		}
		opts := []chromedp.ExecAllocatorOption{
			chromedp.ExecPath(ChromiumPath),
			chromedp.Flag("headless", true),
			chromedp.Flag("no-sandbox", true),
			chromedp.Flag("disable-gpu", true),
			chromedp.Flag("disable-quic", true),
			chromedp.Flag("no-first-run", true),
			chromedp.Flag("no-default-browser-check", true),
			chromedp.Flag("disable-background-networking", true),
			chromedp.Flag("disable-component-update", true),
			chromedp.Flag("disable-sync", true),
			chromedp.Flag("disable-dev-shm-usage", true),
			chromedp.Flag("lang", "zh-CN"),
			chromedp.Flag("accept-lang", "zh-CN,zh"), // a phone set to Chinese, like most users
			chromedp.UserDataDir(dir),
			chromedp.WindowSize(PhoneWidth, PhoneHeight),
		}
		actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), append(chromedp.DefaultExecAllocatorOptions[:], opts...)...)
		ctx, cancelBrowser := chromedp.NewContext(actx, chromedp.WithLogf(func(string, ...any) {}))
		shared.dir, shared.cancel = dir, func() { cancelBrowser(); cancelAlloc() }
		// The first run starts the browser, bounded: a Chromium that does not
		// answer fails every browser test instead of hanging the package.
		started := make(chan error, 1)
		go func() { started <- chromedp.Do(ctx) }()
		select {
		case err = <-started:
		case <-time.After(60 * time.Second):
			err = errors.New("no answer in 60s")
		}
		if err != nil {
			shared.cancel()
			shared.err = fmt.Errorf("starting %s: %w", ChromiumPath, err)
			return
		}
		shared.ctx = ctx
	})
	return shared.ctx, shared.err
}

// Shutdown stops the shared Chromium, if one started; TestMain calls it
// after the tests.
func Shutdown() {
	if shared.cancel != nil {
		shared.cancel()
		os.RemoveAll(shared.dir)
	}
}
