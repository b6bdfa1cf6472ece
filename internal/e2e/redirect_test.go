package e2e_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/kepu/kepu/internal/e2e"
)

// After logging in, the login page follows ?next= only to a path on this
// site: a backslash or a tab (which browsers strip, leaving "//host") after
// the first slash keeps the user here. The page script's own check
// (app.js safeNext) is tested with the same attack strings as the
// server's.
func TestLoginNextStaysOnSite(t *testing.T) {
	t.Parallel()
	b := e2e.Start(t)
	pw := b.Inst.DemoPassword("demo-citizen")
	for _, next := range []string{"/%5Cevil.example", "/%09/evil.example", "/me/history"} {
		v := e2e.New(t, b.Inst)
		v.Visit("/login?next=" + next)
		v.Fill("#username", "demo-citizen")
		v.Fill("#password", pw)
		v.ClickNav(`main form button[type=submit]`)
		v.Do(chromedp.WaitVisible(chromedp.CSS("[data-testid=logout]")))
		want := b.URL("/")
		if next == "/me/history" {
			want = b.URL(next)
		}
		if got := e2e.Get(v, chromedp.Location()); got != want {
			t.Errorf("login with next=%s: at %s, want %s", next, got, want)
		}
	}

	// app.js safeNext, given what URLSearchParams hands it (decoded once).
	b.Visit("/login")
	cases := map[string]string{
		"/\\evil.example": "/", "/\t/evil.example": "/", "//evil.example": "/", "/%5Cevil.example": "/",
		"/%09/evil.example": "/", "/\r\nX: y": "/", "/%0d%0aX:y": "/", "/%250aX": "/", "https://evil.example/": "/",
		"javascript:alert(1)": "/", "/%2F/evil.example": "/", "/ /x": "/", "/%zz": "/", "": "/",
		"/campaigns?x=1#top": "/campaigns?x=1#top", "/bank?q=%E4%B8%AD": "/bank?q=%E4%B8%AD",
	}
	in, _ := json.Marshal(cases)
	js := fmt.Sprintf(`import(document.querySelector('script[src*="app"]').src).then(m => {
		const out = {}; for (const k of Object.keys(%s)) out[k] = m.safeNext(k); return JSON.stringify(out) })`, in)
	var got map[string]string
	if err := json.Unmarshal([]byte(e2e.Get(b, chromedp.Evaluate[string](js, chromedp.EvalAwaitPromise))), &got); err != nil {
		t.Fatal(err)
	}
	for next, want := range cases {
		if got[next] != want {
			t.Errorf("app.js safeNext(%q): got %q, want %q", next, got[next], want)
		}
	}
	if !strings.HasPrefix(b.URL("/"), "http://127.0.0.1") {
		t.Fatalf("instance URL %s", b.URL("/"))
	}
}
