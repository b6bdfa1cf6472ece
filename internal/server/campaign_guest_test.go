package server_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kepu/kepu/internal/apptest"
)

// joinGuest posts the guest form of campaign id and returns the response.
func joinGuest(c *apptest.Client, id int64, nickname string, region int64, header ...map[string]string) apptest.Response {
	body := map[string]any{"nickname": nickname, "region_id": region}
	path := fmt.Sprintf("/api/v1/campaigns/%d/guest", id)
	if len(header) > 0 {
		return c.DoHeader("POST", path, body, header[0])
	}
	return c.Do("POST", path, body)
}

// publish creates and publishes a campaign as the fixture's organizer.
func (f *campaignFixture) publish(t *testing.T, title string, audience []int64, rules map[string]any) int64 {
	t.Helper()
	id := f.create(t, map[string]any{"title": title, "starts_at": f.clock.Now().Add(-time.Hour), "ends_at": f.clock.Now().Add(24 * time.Hour),
		"audience": audience, "rules": rules})
	if res := f.org.Do("POST", fmt.Sprintf("/api/v1/manage/campaigns/%d/publish", id), nil); res.Status != 200 {
		t.Fatalf("publish: got %d %s", res.Status, res.Body)
	}
	return id
}

// TestCampaignGuestTakesCampaign: on a campaign that allows guests a
// visitor without an account joins with a nickname and a district, plays
// an attempt to the end over HTTP, and gets the result, the review, the
// history, the certificate and a place on the boards by nickname; the
// nickname is escaped on every page. Nobody can log in as the guest.
func TestCampaignGuestTakesCampaign(t *testing.T) {
	t.Parallel()
	f := newCampaign(t, map[string]any{"guests": true, "questions": 2, "scoring": "flat"})
	wuling := f.inst.Seed.DistrictIDs["430702"]
	v := f.inst.Client()
	page := func(c *apptest.Client, path string, wants ...string) string {
		t.Helper()
		res := c.Do("GET", path, nil)
		if res.Status != 200 {
			t.Fatalf("GET %s: got %d: %.300s", path, res.Status, res.Body)
		}
		for _, w := range wants {
			if !strings.Contains(string(res.Body), w) {
				t.Errorf("GET %s: page lacks %q", path, w)
			}
		}
		return string(res.Body)
	}
	page(v, "/campaigns", fmt.Sprintf(`data-testid="guests-%d">游客可参加<`, f.id))
	page(v, fmt.Sprintf("/campaigns/%d", f.id), "游客也可参加", "以游客身份参加", `id="guest-form"`, "所在区县（可不填）",
		fmt.Sprintf(`<option value="%d">武陵区</option>`, wuling), "登录后答题")

	const nick = `<b onclick=x>游客</b>`
	res := joinGuest(v, f.id, "  "+nick+" ", wuling)
	if res.Status != 201 {
		t.Fatalf("join as guest: got %d %s", res.Status, res.Body)
	}
	var u struct {
		ID       int64
		Username string
		Role     string
		Nickname string
		RegionID int64 `json:"region_id"`
	}
	res.JSON(t, &u)
	if u.Role != "guest" || u.Nickname != nick || u.RegionID != wuling || v.Cookie("kepu_session") == "" {
		t.Fatalf("guest: got %+v (session %q), want role guest, the trimmed nickname, Wuling, a session", u, v.Cookie("kepu_session"))
	}
	if res := v.Do("GET", "/api/v1/me", nil); res.Status != 200 || !strings.Contains(string(res.Body), `"role":"guest"`) {
		t.Errorf("/me of the guest: got %d %s", res.Status, res.Body)
	}
	escaped := "&lt;b onclick=x&gt;游客&lt;/b&gt;"
	body := page(v, fmt.Sprintf("/campaigns/%d", f.id), "data-start=", escaped)
	if strings.Contains(body, "<b onclick") {
		t.Error("campaign page: the guest's nickname is not escaped")
	}

	id := f.start(t, v)
	for seq := 1; seq <= 2; seq++ {
		current(t, v, id)
		f.clock.Add(3 * time.Second)
		answer(t, v, id, seq, f.rightChoice(t, id, seq), 200)
	}
	var result struct {
		Attempt struct{ Score int }
		Ranks   struct{ Overall, District int64 }
	}
	res = v.Do("GET", fmt.Sprintf("/api/v1/attempts/%d/result", id), nil)
	res.JSON(t, &result)
	if res.Status != 200 || result.Attempt.Score != 20 || result.Ranks.Overall != 1 || result.Ranks.District != 1 {
		t.Errorf("result: got %d %s, want 20 points, ranked 1 overall and in the district", res.Status, res.Body)
	}
	if res := v.Do("GET", fmt.Sprintf("/api/v1/attempts/%d/review", id), nil); res.Status != 200 || strings.Count(string(res.Body), `"seq"`) != 2 {
		t.Errorf("review: got %d %s", res.Status, res.Body)
	}
	if res := v.Do("GET", "/api/v1/me/attempts", nil); res.Status != 200 || !strings.Contains(string(res.Body), fmt.Sprintf(`"id":%d`, id)) {
		t.Errorf("history: got %d %s", res.Status, res.Body)
	}
	page(v, fmt.Sprintf("/attempts/%d/result", id), "答题成绩", "20 / 20")
	page(v, fmt.Sprintf("/attempts/%d/review", id), "回答正确！")
	page(v, "/me/history", "健康科普周", "20 / 20")
	page(v, fmt.Sprintf("/campaigns/%d/leaderboard", f.id), `data-board="district"`)
	cert := page(v, fmt.Sprintf("/attempts/%d/certificate", id), escaped)
	if strings.Contains(cert, "<b onclick") {
		t.Error("certificate page: the guest's nickname is not escaped")
	}
	// The boards show the nickname (JSON-escaped), nothing else of the guest.
	res = f.inst.Client().Do("GET", fmt.Sprintf("/api/v1/campaigns/%d/leaderboard", f.id), nil)
	if res.Status != 200 || !strings.Contains(string(res.Body), `\u003cb onclick=x\u003e游客\u003c/b\u003e`) || strings.Contains(string(res.Body), u.Username) {
		t.Errorf("leaderboard: got %d %s", res.Status, res.Body)
	}

	// Another visitor cannot see the guest's attempt; nobody can log in as
	// the guest; the guest manages nothing and is not made a guest twice.
	other := f.inst.Client()
	if res := joinGuest(other, f.id, "另一位游客", 0); res.Status != 201 {
		t.Fatalf("second guest without a district: got %d %s", res.Status, res.Body)
	}
	if res := other.Do("GET", fmt.Sprintf("/api/v1/attempts/%d", id), nil); res.Status != 404 {
		t.Errorf("another guest's view of the attempt: got %d, want 404", res.Status)
	}
	for _, pw := range []string{"", "password1"} {
		if res := f.inst.Client().Do("POST", "/api/v1/auth/login", map[string]string{"username": u.Username, "password": pw}); res.Status != 401 {
			t.Errorf("login as the guest with %q: got %d, want 401", pw, res.Status)
		}
	}
	if res := v.Do("GET", "/api/v1/manage/campaigns", nil); res.Status != 403 {
		t.Errorf("guest on the organizer API: got %d, want 403", res.Status)
	}
	if res := joinGuest(v, f.id, "再来一次", 0); res.Status != 409 {
		t.Errorf("joining again while a guest: got %d, want 409", res.Status)
	}
	if res := f.citizen(t, "citizen").Do("POST", fmt.Sprintf("/api/v1/campaigns/%d/guest", f.id), map[string]any{"nickname": "x"}); res.Status != 409 {
		t.Errorf("a logged-in citizen joining as a guest: got %d, want 409", res.Status)
	}
	// Registration cannot take a guest's kind of name.
	reg := map[string]any{"username": "guest-abc", "password": "kexue-2026!", "nickname": "x", "region_id": wuling, "age_band": "30_39"}
	if res := f.inst.Client().Do("POST", "/api/v1/auth/register", reg); res.Status != 409 {
		t.Errorf("register a guest-… username: got %d, want 409", res.Status)
	}
}

// TestCampaignGuestRefused: a campaign that does not allow guests keeps
// requiring an account: no guest form, the guest endpoint and a guest's
// start are 403 with a message, in the reader's language, that sends them
// to register or log in; the page tells a guest the same and lets them log
// in. An organizer cannot allow guests on a campaign only for schools.
func TestCampaignGuestRefused(t *testing.T) {
	t.Parallel()
	f := newCampaign(t, nil) // guests not allowed
	open := f.publish(t, "游客周", nil, map[string]any{"questions": 3, "guests": true})
	anon := f.inst.Client()
	body := string(anon.Do("GET", fmt.Sprintf("/campaigns/%d", f.id), nil).Body)
	if strings.Contains(body, "guest-form") || !strings.Contains(body, "需要注册账号并登录才能参加") || !strings.Contains(body, "登录后答题") {
		t.Error("the page of a campaign without guests offers the guest form or lacks the login rule")
	}
	res := joinGuest(anon, f.id, "路人", 0)
	if res.Status != 403 || !strings.Contains(res.ErrorMessage(), "请注册账号或登录") {
		t.Errorf("join a campaign without guests: got %d %s, want 403 asking to register or log in", res.Status, res.Body)
	}
	if res := anon.Do("POST", fmt.Sprintf("/api/v1/campaigns/%d/attempts", f.id), nil); res.Status != 401 {
		t.Errorf("anonymous start: got %d, want 401", res.Status)
	}

	g := f.inst.Client()
	if res := joinGuest(g, open, "游客甲", 0); res.Status != 201 {
		t.Fatalf("join the guest campaign: got %d %s", res.Status, res.Body)
	}
	if res := g.Do("POST", fmt.Sprintf("/api/v1/campaigns/%d/attempts", open), nil); res.Status != 201 {
		t.Fatalf("guest start of the guest campaign: got %d %s", res.Status, res.Body)
	}
	start := fmt.Sprintf("/api/v1/campaigns/%d/attempts", f.id)
	res = g.Do("POST", start, nil)
	if res.Status != 403 || res.ErrorCode() != "forbidden" || !strings.Contains(res.ErrorMessage(), "游客不能参加") {
		t.Errorf("guest start of a campaign without guests: got %d %s, want 403 in Chinese", res.Status, res.Body)
	}
	page := string(g.Do("GET", fmt.Sprintf("/campaigns/%d", f.id), nil).Body)
	if !strings.Contains(page, `data-testid="guest-refused"`) || strings.Contains(page, "data-start=") || !strings.Contains(page, `href="/register"`) {
		t.Error("a guest on a campaign without guests: want the refusal and the register link, no start button")
	}
	if res := g.Do("GET", fmt.Sprintf("/login?next=/campaigns/%d", f.id), nil); res.Status != 200 {
		t.Errorf("a guest on the login page: got %d, want 200 (a guest may log in)", res.Status)
	}
	g.Do("GET", "/lang/en?next=/", nil)
	res = g.Do("POST", start, nil)
	if res.Status != 403 || !strings.Contains(res.ErrorMessage(), "registered users only") || !strings.Contains(res.ErrorMessage(), "sign up or log in") {
		t.Errorf("guest start in English: got %d %s", res.Status, res.Body)
	}
	var n int
	f.inst.DB.Pool.QueryRow(context.Background(), `SELECT count(*) FROM campaign_attempts WHERE campaign_id = $1`, f.id).Scan(&n)
	if n != 0 {
		t.Errorf("attempts at the campaign without guests: %d, want 0", n)
	}

	// Guests and a school-only audience exclude each other.
	bad := map[string]any{"title": "校内", "starts_at": time.Now(), "ends_at": time.Now().Add(time.Hour),
		"rules": map[string]any{"guests": true, "schools": []int64{f.inst.Seed.SchoolIDs[0]}}}
	res = f.org.Do("POST", "/api/v1/manage/campaigns", bad)
	var e struct {
		Error struct{ Field, Message string }
	}
	res.JSON(t, &e)
	if res.Status != 400 || e.Error.Field != "rules.guests" || !strings.Contains(e.Error.Message, "游客不属于任何学校或班级") {
		t.Errorf("guests with a school-only audience: got %d %s, want 400 on rules.guests", res.Status, res.Body)
	}
}

// TestCampaignGuestNicknameAndDistrict: the guest's nickname follows the
// rules of every nickname (1–20 characters after folding spaces, no control
// or invisible characters) and the district must be one the campaign is
// open to (required when it names districts); each refusal is a 400 on
// its field with a localized message.
func TestCampaignGuestNicknameAndDistrict(t *testing.T) {
	t.Parallel()
	f := newCampaign(t, map[string]any{"guests": true})
	wuling, dingcheng := f.inst.Seed.DistrictIDs["430702"], f.inst.Seed.DistrictIDs["430703"]
	districts := f.publish(t, "武陵区游客周", []int64{wuling}, map[string]any{"questions": 3, "guests": true})
	tests := []struct {
		name     string
		campaign int64
		nickname string
		region   int64
		status   int
		field    string
		message  string // in the error, or the stored nickname
	}{
		{"empty", f.id, "", 0, 400, "nickname", "昵称需要 1–20 个字"},
		{"spaces only", f.id, "   ", 0, 400, "nickname", "昵称需要 1–20 个字"},
		{"21 characters", f.id, strings.Repeat("科", 21), 0, 400, "nickname", "昵称需要 1–20 个字"},
		{"a bidi override", f.id, "abc\u202edef", 0, 400, "nickname", "不可见字符"},
		{"a control character", f.id, "a\u0007b", 0, 400, "nickname", "控制字符"},
		{"the city as district", f.id, "小明", f.inst.Seed.CityID, 400, "region_id", "请从列表中选择"},
		{"an unknown region", f.id, "小明", 1 << 30, 400, "region_id", "请从列表中选择"},
		{"no district where districts are chosen", districts, "小明", 0, 400, "region_id", "请从列表中选择"},
		{"a district outside the audience", districts, "小明", dingcheng, 400, "region_id", "请从列表中选择"},
		{"20 characters", f.id, strings.Repeat("科", 20), 0, 201, "", strings.Repeat("科", 20)},
		{"spaces folded", f.id, "  小  明 ", dingcheng, 201, "", "小 明"},
		{"the chosen district", districts, "武陵游客", wuling, 201, "", "武陵游客"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := joinGuest(f.inst.Client(), tt.campaign, tt.nickname, tt.region)
			var out struct {
				Nickname string
				Error    struct{ Field, Message string }
			}
			res.JSON(t, &out)
			if res.Status != tt.status || out.Error.Field != tt.field {
				t.Fatalf("got %d on %q, want %d on %q: %s", res.Status, out.Error.Field, tt.status, tt.field, res.Body)
			}
			if got := out.Error.Message + out.Nickname; !strings.Contains(got, tt.message) {
				t.Errorf("got %q, want %q", got, tt.message)
			}
		})
	}
	if res := f.inst.Client().Do("POST", fmt.Sprintf("/api/v1/campaigns/%d/guest", f.id), map[string]any{"nickname": "x", "role": "admin"}); res.Status != 400 {
		t.Errorf("an unknown field: got %d, want 400", res.Status)
	}
	var n int
	f.inst.DB.Pool.QueryRow(context.Background(), `SELECT count(*) FROM users WHERE role = 'guest'`).Scan(&n)
	if n != 3 {
		t.Errorf("guests made: %d, want 3", n)
	}
}

// TestCampaignGuestRateLimit: one address may become a guest 30 times in
// 10 minutes (refused requests count too); then 429 with Retry-After and
// no guest is made, while other addresses still may.
func TestCampaignGuestRateLimit(t *testing.T) {
	t.Parallel()
	f := newCampaignOn(t, apptest.Options{Env: map[string]string{"KEPU_TRUSTED_PROXIES": "127.0.0.1"}}, map[string]any{"guests": true})
	from := func(ip string) map[string]string { return map[string]string{"X-Forwarded-For": ip} }
	c := f.inst.Client()
	for i := range 30 {
		if res := joinGuest(c, f.id, "", 0, from("203.0.113.7")); res.Status != 400 {
			t.Fatalf("request %d: got %d %s, want 400 (an empty nickname)", i+1, res.Status, res.Body)
		}
	}
	res := joinGuest(c, f.id, "第三十一位", 0, from("203.0.113.7"))
	if res.Status != 429 || res.Header.Get("Retry-After") == "" || !strings.Contains(res.ErrorMessage(), "秒") {
		t.Errorf("request 31: got %d %s (Retry-After %q), want 429 with a localized wait", res.Status, res.Body, res.Header.Get("Retry-After"))
	}
	var n int
	f.inst.DB.Pool.QueryRow(context.Background(), `SELECT count(*) FROM users WHERE role = 'guest'`).Scan(&n)
	if n != 0 {
		t.Errorf("guests made by the limited address: %d, want 0", n)
	}
	if res := joinGuest(f.inst.Client(), f.id, "隔壁的游客", 0, from("203.0.113.8")); res.Status != 201 {
		t.Errorf("another address: got %d %s, want 201", res.Status, res.Body)
	}
}
