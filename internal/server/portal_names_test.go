package server_test

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kepu/kepu/internal/apptest"
	"github.com/kepu/kepu/internal/bank"
	"github.com/kepu/kepu/internal/dashboard"
	"github.com/kepu/kepu/internal/dashboard/dashtest"
	"github.com/kepu/kepu/internal/i18n"
	"github.com/kepu/kepu/internal/seed"
	"github.com/kepu/kepu/web"
)

// optionTexts are the texts of the options of the <select> with id in body, in order.
func optionTexts(t *testing.T, body, id string) []string {
	t.Helper()
	i := strings.Index(body, `<select id="`+id+`"`)
	if i < 0 {
		t.Fatalf("no select #%s", id)
	}
	sel := body[i : i+strings.Index(body[i:], "</select>")]
	var out []string
	for _, m := range regexp.MustCompile(`<option value="[^"]+"[^>]*>([^<]*)</option>`).FindAllStringSubmatch(sel, -1) {
		out = append(out, m[1])
	}
	return out
}

func districtNames() []string {
	var want []string
	for _, d := range seed.Districts {
		want = append(want, d.Name)
	}
	return want
}

// TestPortalDistrictOrder: every list of districts is in the city's
// official order (seed.Districts), not by id as text ("/1/10/" sorted
// before "/1/2/" put the development zones first).
func TestPortalDistrictOrder(t *testing.T) {
	t.Parallel()
	f := newDashFixture(t)
	inst := f.inst
	want := districtNames()
	same := func(what string, got []string) {
		t.Helper()
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("%s: got %v, want official order %v", what, got, want)
		}
	}
	anon := inst.Client()
	same("register page", optionTexts(t, string(anon.Do("GET", "/register", nil).Body), "region_id"))

	var regions struct{ Regions []struct{ Kind, Name string } }
	anon.Do("GET", "/api/v1/regions", nil).JSON(t, &regions)
	var got []string
	for i, r := range regions.Regions {
		if r.Kind == "district" {
			got = append(got, r.Name)
		}
		if r.Kind == "township" && regions.Regions[i-1].Name != "武陵区" && regions.Regions[i-1].Kind != "township" {
			t.Errorf("township %s does not follow its district 武陵区", r.Name)
		}
	}
	same("GET /api/v1/regions", got)

	_, pw := inst.CreateUser("order-admin", "admin")
	admin := inst.Login("order-admin", pw)
	same("profile page", optionTexts(t, string(admin.Do("GET", "/profile", nil).Body), "region_id"))
	body := string(admin.Do("GET", "/manage/campaigns/new", nil).Body)
	same("campaign form audience picker", optionTexts(t, body, "aud-district"))

	// The dashboard's district breakdown: six participants in 武陵区, two
	// in 鼎城区 and (added here) seven in 桃源县: official order, not the
	// most participants first.
	ctx, db := context.Background(), inst.DB.Pool
	for i := range 7 {
		uid, err := dashtest.User(ctx, db, fmt.Sprintf("order-p%d", i), inst.Seed.DistrictIDs["430725"], 0, 0, "30_39", "other")
		if err != nil {
			t.Fatal(err)
		}
		a := dashtest.Answer{VersionID: f.v1, Choice: 0, Correct: true, MS: 3000}
		if _, err := dashtest.Attempt(ctx, db, f.campaign, uid, time.Now().Add(-20*time.Minute), true, a); err != nil {
			t.Fatal(err)
		}
	}
	foldAll(t, db, f.campaign)
	var tab dashboard.Table
	admin.Do("GET", fmt.Sprintf("/api/v1/dash/campaigns/%d/views/region", f.campaign), nil).JSON(t, &tab)
	var names []string
	for _, r := range tab.Rows {
		names = append(names, fmt.Sprint(r[0]))
	}
	if strings.Join(names, " ") != "武陵区 鼎城区 桃源县" {
		t.Errorf("dashboard districts: got %v, want 武陵区 鼎城区 桃源县 (official order)", names)
	}
}

// switchLang chooses lang with the language switch of every page (POST /lang).
func switchLang(t *testing.T, c *apptest.Client, lang string) {
	t.Helper()
	r := c.DoRaw("POST", "/lang", []byte(url.Values{"lang": {lang}, "next": {"/login"}}.Encode()), "application/x-www-form-urlencoded")
	if r.Status != 303 && r.Status != 302 {
		t.Fatalf("POST /lang: got %d %s", r.Status, r.Body)
	}
	c.Lang = lang
}

// TestPortalLoginLanguage: choosing English on the login page survives the
// login (and is saved with the account); without a choice the account's
// own language stands.
func TestPortalLoginLanguage(t *testing.T) {
	t.Parallel()
	inst := apptest.Start(t)
	_, pw := inst.CreateUser("lang-user", "participant")
	form := func(c *apptest.Client, lang string) { switchLang(t, c, lang) }
	htmlLang := func(c *apptest.Client, path string) string {
		t.Helper()
		m := regexp.MustCompile(`<html lang="([^"]+)"`).FindStringSubmatch(string(c.Do("GET", path, nil).Body))
		if m == nil {
			t.Fatalf("%s: no <html lang>", path)
		}
		return m[1]
	}
	meLang := func(c *apptest.Client) string {
		var me struct{ Lang string }
		c.Do("GET", "/api/v1/me", nil).JSON(t, &me)
		return me.Lang
	}

	c := inst.Client()
	form(c, "en")
	if got := htmlLang(c, "/login"); got != "en" {
		t.Fatalf("login page after choosing English: got lang %s, want en", got)
	}
	apptest.Expect(t, c.Do("POST", "/api/v1/auth/login", map[string]string{"username": "lang-user", "password": pw}), 200, "login")
	if got := htmlLang(c, "/"); got != "en" {
		t.Errorf("home after login: got lang %s, want en (the choice made on the login page)", got)
	}
	if got := meLang(c); got != "en" {
		t.Errorf("account language after login: got %s, want en", got)
	}
	// Saved with the account: another browser, no choice made, gets English.
	other := inst.Login("lang-user", pw)
	if got := htmlLang(other, "/"); got != "en" {
		t.Errorf("another browser after login: got lang %s, want en", got)
	}
	// A visitor who made no choice gets the account's language, even on a
	// browser that showed the login page in English.
	form(other, "zh-CN") // the account goes back to Chinese, from a logged-in page
	c2 := inst.Client()
	c2.Lang = "en"
	if got := htmlLang(c2, "/login"); got != "en" {
		t.Fatalf("login page with Accept-Language en: got %s", got)
	}
	apptest.Expect(t, c2.Do("POST", "/api/v1/auth/login", map[string]string{"username": "lang-user", "password": pw}), 200, "login without a choice")
	if got := meLang(c2); got != "zh-CN" {
		t.Errorf("login without a choice: got account language %s, want zh-CN (the account's)", got)
	}
	if got := htmlLang(c2, "/"); got != "zh-CN" {
		t.Errorf("home after login without a choice: got %s, want zh-CN", got)
	}

	// Registration after choosing English.
	r := inst.Client()
	form(r, "en")
	apptest.Expect(t, r.Do("POST", "/api/v1/auth/register", registration(inst, "lang-new", "Lang New")), 201, "register")
	if got := meLang(r); got != "en" {
		t.Errorf("registered after choosing English: got %s, want en", got)
	}
	if got := htmlLang(r, "/"); got != "en" {
		t.Errorf("home after registration: got %s, want en", got)
	}
}

// TestPortalCategoryNames: categories and dimensions have one name each
// (bank.category.*, bank.dimension.*) on every page and in every
// dashboard table, in both languages; /contests/new showed raw codes.
func TestPortalCategoryNames(t *testing.T) {
	t.Parallel()
	b, err := i18n.Load(web.Locales)
	if err != nil {
		t.Fatal(err)
	}
	for _, lang := range []string{"zh-CN", "en"} {
		for _, pre := range []string{"dash.category.", "dash.dimension."} {
			if m := b.Messages(lang, pre); len(m) > 0 {
				t.Errorf("%s: a second set of names %s*: %v", lang, pre, m)
			}
		}
	}
	f := newDashFixture(t)
	_, tpw := f.inst.CreateUser("names-teacher", "teacher")
	_, apw := f.inst.CreateUser("names-admin", "admin")
	teacher := f.inst.Login("names-teacher", tpw)
	admin := f.inst.Login("names-admin", apw)
	for _, lang := range []string{"zh-CN", "en"} {
		switchLang(t, teacher, lang)
		switchLang(t, admin, lang)
		name := func(key string) string { return b.T(lang, key, nil) }
		var cats, dims []string
		for _, c := range bank.Categories {
			cats = append(cats, name("bank.category."+c))
		}
		for _, d := range bank.Dimensions {
			dims = append(dims, name("bank.dimension."+d))
		}
		body := string(teacher.Do("GET", "/contests/new", nil).Body)
		if got := optionTexts(t, body, "category"); strings.Join(got, "|") != strings.Join(cats, "|") {
			t.Errorf("%s /contests/new categories: got %v, want %v", lang, got, cats)
		}
		if got := optionTexts(t, body, "pick-category"); strings.Join(got, "|") != strings.Join(cats, "|") {
			t.Errorf("%s /contests/new bank filter: got %v, want %v", lang, got, cats)
		}
		if got := optionTexts(t, body, "dimension"); strings.Join(got, "|") != strings.Join(dims, "|") {
			t.Errorf("%s /contests/new dimensions: got %v, want %v", lang, got, dims)
		}
		body = string(admin.Do("GET", "/bank", nil).Body)
		if got := optionTexts(t, body, "f-category"); strings.Join(got, "|") != strings.Join(cats, "|") {
			t.Errorf("%s /bank categories: got %v, want %v", lang, got, cats)
		}
		// The dashboard names them the same way.
		base := fmt.Sprintf("/api/v1/dash/campaigns/%d/views/", f.campaign)
		for view, want := range map[string][]string{
			"dimensions": {name("bank.dimension.knowledge"), name("bank.dimension.method")},
			"categories": {name("bank.category.health"), name("bank.category.safety")},
		} {
			var tab dashboard.Table
			admin.Do("GET", base+view, nil).JSON(t, &tab)
			var got []string
			for _, r := range tab.Rows {
				got = append(got, fmt.Sprint(r[0]))
			}
			for _, w := range want {
				if !strings.Contains(strings.Join(got, "|"), w) {
					t.Errorf("%s dashboard %s: got %v, want the name %q", lang, view, got, w)
				}
			}
		}
		var items dashboard.Table
		admin.Do("GET", base+"items", nil).JSON(t, &items)
		if len(items.Rows) != 2 || fmt.Sprint(items.Rows[1][2]) != name("bank.category.health") {
			t.Errorf("%s item analysis category: got %v, want %q", lang, items.Rows, name("bank.category.health"))
		}
	}
}
