package server_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/kepu/kepu/internal/apptest"
)

// nextAttacks are ?next= values that must never leave the site or add a
// header (each already percent-encoded for a URL query).
var nextAttacks = []string{
	"/%0d%0aSet-Cookie:%20kepu_session=x;%20Path=/",
	"/%0aSet-Cookie:%20kepu_csrf=x;%20Path=/",
	"/%0dSet-Cookie:%20kepu_session=x",
	"/%250d%250aSet-Cookie:%20kepu_session=x",
	"/%5Cevil.example",
	"/%09/evil.example",
	"//evil.example",
	"https://evil.example/",
	"/%2F/evil.example",
}

// checkRedirect fails unless res is a 303 to want without a cookie the
// attacker wrote.
func checkRedirect(t *testing.T, what string, res apptest.Response, want string) {
	t.Helper()
	if res.Status != 303 || res.Header.Get("Location") != want {
		t.Errorf("%s: got %d to %q, want 303 to %q", what, res.Status, res.Header.Get("Location"), want)
	}
	for _, ck := range res.Header.Values("Set-Cookie") {
		if strings.HasPrefix(ck, "kepu_session=x") || strings.HasPrefix(ck, "kepu_csrf=x") {
			t.Errorf("%s: injected header Set-Cookie: %s", what, ck)
		}
	}
	for k := range res.Header {
		if strings.Contains(strings.ToLower(k), "kepu") {
			t.Errorf("%s: injected header %q", what, k)
		}
	}
}

// postForm posts a URL-encoded form as a page without JavaScript does: the
// CSRF token (if any) as the _csrf field, not as a header.
func postForm(t *testing.T, c *apptest.Client, path string, form url.Values, header map[string]string) apptest.Response {
	t.Helper()
	req, _ := http.NewRequest("POST", c.Base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "text/html")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := c.HTTP.Do(req)
	if err != nil {
		t.Fatalf("post %s: %v", path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return apptest.Response{Status: res.StatusCode, Header: res.Header, Body: b}
}

// TestRedirectTargetsStayOnSite: /lang and /login (logged in) answer every
// hostile next with a plain redirect to "/", and keep a same-site one.
func TestRedirectTargetsStayOnSite(t *testing.T) {
	t.Parallel()
	inst := apptest.Start(t)
	_, pw := inst.CreateUser("nina", "participant")
	anon := inst.Client()
	user := inst.Login("nina", pw)
	token := user.CSRF()
	for _, next := range nextAttacks {
		checkRedirect(t, "GET /lang/zh-CN?next="+next, anon.Do("GET", "/lang/zh-CN?next="+next, nil), "/")
		checkRedirect(t, "GET /login (logged in) ?next="+next, user.Do("GET", "/login?next="+next, nil), "/")
		raw, err := url.QueryUnescape(next)
		if err != nil {
			t.Fatal(err)
		}
		res := postForm(t, user, "/lang", url.Values{"lang": {"zh-CN"}, "next": {raw}, "_csrf": {token}}, nil)
		checkRedirect(t, "POST /lang next="+next, res, "/")
	}
	checkRedirect(t, "GET /lang same-site", anon.Do("GET", "/lang/en?next=/campaigns%3Fx%3D1", nil), "/campaigns?x=1")
	checkRedirect(t, "GET /login same-site", user.Do("GET", "/login?next=/me/history", nil), "/me/history")
	checkRedirect(t, "POST /lang same-site", postForm(t, user, "/lang",
		url.Values{"lang": {"en"}, "next": {"/campaigns?x=1"}, "_csrf": {token}}, nil), "/campaigns?x=1")

	// The login page hands the checked target to its script.
	page := string(anon.Do("GET", "/login?next=/%5Cevil.example", nil).Body)
	if !strings.Contains(page, `data-next="/"`) {
		t.Errorf("login page with a hostile next: data-next is not \"/\"")
	}
	// A page behind the login sends there with its whole address as one
	// encoded next parameter.
	res := anon.Do("GET", "/me/history?a=1&b=2", nil)
	if loc := res.Header.Get("Location"); res.Status != 303 || loc != "/login?next="+url.QueryEscape("/me/history?a=1&b=2") {
		t.Errorf("login redirect: got %d %q", res.Status, loc)
	}
}

// TestLanguageSwitch: the saved language changes only through the
// CSRF-protected POST /lang; GET /lang/:lang sets only this browser's cookie.
func TestLanguageSwitch(t *testing.T) {
	t.Parallel()
	inst := apptest.Start(t)
	_, pw := inst.CreateUser("omar", "participant")
	c := inst.Login("omar", pw)
	token := c.CSRF()
	savedLang := func() string {
		var me struct{ Lang string }
		r := c.Do("GET", "/api/v1/me", nil)
		apptest.Expect(t, r, 200, "me")
		r.JSON(t, &me)
		return me.Lang
	}
	if got := savedLang(); got != "zh-CN" {
		t.Fatalf("saved language at start: got %q, want zh-CN", got)
	}

	checkRedirect(t, "GET /lang/en", c.Do("GET", "/lang/en?next=/", nil), "/")
	if got := c.Cookie("kepu_lang"); got != "en" {
		t.Errorf("cookie after GET /lang/en: got %q, want en", got)
	}
	if got := savedLang(); got != "zh-CN" {
		t.Errorf("saved language after GET /lang/en: got %q, want zh-CN (a GET saves nothing)", got)
	}

	for _, tt := range []struct {
		name   string
		form   url.Values
		header map[string]string
	}{
		{"no token", url.Values{"lang": {"en"}, "next": {"/"}}, nil},
		{"forged token", url.Values{"lang": {"en"}, "next": {"/"}, "_csrf": {"abc.def"}}, nil},
		{"foreign origin", url.Values{"lang": {"en"}, "next": {"/"}, "_csrf": {token}}, map[string]string{"Origin": "https://evil.example"}},
	} {
		if res := postForm(t, c, "/lang", tt.form, tt.header); res.Status != 403 {
			t.Errorf("POST /lang, %s: got %d, want 403", tt.name, res.Status)
		}
	}
	if got := savedLang(); got != "zh-CN" {
		t.Errorf("saved language after refused posts: got %q, want zh-CN", got)
	}
	checkRedirect(t, "POST /lang", postForm(t, c, "/lang", url.Values{"lang": {"en"}, "next": {"/profile"}, "_csrf": {token}}, nil), "/profile")
	if got := savedLang(); got != "en" {
		t.Errorf("saved language after POST /lang: got %q, want en", got)
	}

	// The switcher in every page is that form, usable without JavaScript.
	page := string(c.Do("GET", "/campaigns", nil).Body)
	for _, want := range []string{`<form class="lang-form" method="post" action="/lang">`, `name="_csrf" value="` + token + `"`,
		`name="next" value="/campaigns"`, `<button type="submit" class="link" name="lang" value="zh-CN"`} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %s", want)
		}
	}
}
