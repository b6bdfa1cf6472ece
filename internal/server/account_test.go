package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kepu/kepu/internal/apptest"
)

func TestLogoutEndsSessionOnServer(t *testing.T) {
	t.Parallel()
	inst := apptest.Start(t)
	_, pw := inst.CreateUser("alice", "participant")
	c := inst.Login("alice", pw)
	apptest.Expect(t, c.Do("GET", "/api/v1/me", nil), 200, "me after login")
	old := c.Cookie("kepu_session")
	apptest.Expect(t, c.Do("POST", "/api/v1/auth/logout", nil), 204, "logout")
	// The old cookie must be dead on the server, not just cleared in the client.
	c2 := inst.Client()
	u, _ := url.Parse(inst.URL)
	c2.HTTP.Jar.SetCookies(u, []*http.Cookie{{Name: "kepu_session", Value: old}})
	apptest.Expect(t, c2.Do("GET", "/api/v1/me", nil), 401, "me with the cookie of an ended session")
}

// registration is a valid self-registration of an adult in 武陵区.
func registration(inst *apptest.Instance, username, nickname string) map[string]any {
	return map[string]any{"username": username, "password": "correct horse", "nickname": nickname,
		"region_id": inst.Seed.DistrictIDs["430702"], "age_band": "18_29"}
}

func TestRegisterLoginLogout(t *testing.T) {
	t.Parallel()
	inst := apptest.Start(t)
	c := inst.Client()
	r := c.Do("POST", "/api/v1/auth/register", registration(inst, "carol", "卡罗尔"))
	apptest.Expect(t, r, 201, "register")
	var me struct{ Username, Nickname, Role string }
	r = c.Do("GET", "/api/v1/me", nil)
	apptest.Expect(t, r, 200, "me after register")
	r.JSON(t, &me)
	if me.Username != "carol" || me.Nickname != "卡罗尔" || me.Role != "participant" {
		t.Errorf("me: got %+v, want carol/卡罗尔/participant", me)
	}
	apptest.Expect(t, c.Do("POST", "/api/v1/auth/register", registration(inst, "CAROL", "x")), 409, "same username, other case")
	apptest.Expect(t, c.Do("POST", "/api/v1/auth/logout", nil), 204, "logout")
	apptest.Expect(t, c.Do("GET", "/api/v1/me", nil), 401, "me after logout")
	apptest.Expect(t, c.Do("POST", "/api/v1/auth/login", map[string]string{"username": "Carol", "password": "correct horse"}), 200, "login (username case-insensitive)")
	apptest.Expect(t, c.Do("GET", "/api/v1/me", nil), 200, "me after login")

	// A minor registers only with a guardian's consent.
	minor := registration(inst, "kid", "小朋友")
	minor["age_band"] = "u14"
	r = inst.Client().Do("POST", "/api/v1/auth/register", minor)
	apptest.Expect(t, r, 400, "minor without consent")
	minor["guardian_consent"] = true
	apptest.Expect(t, inst.Client().Do("POST", "/api/v1/auth/register", minor), 201, "minor with consent")
}

func TestWrongPassword(t *testing.T) {
	t.Parallel()
	inst := apptest.Start(t)
	_, pw := inst.CreateUser("dave", "participant")
	for _, tt := range []struct{ lang, username, password, want string }{
		{"zh-CN", "dave", pw + "x", "用户名或密码错误"},
		{"en", "dave", "", "Wrong username or password"},
		{"zh-CN", "nobody-here", pw, "用户名或密码错误"},
	} {
		c := inst.Client()
		c.Lang = tt.lang
		r := c.Do("POST", "/api/v1/auth/login", map[string]string{"username": tt.username, "password": tt.password})
		apptest.Expect(t, r, 401, "login "+tt.username)
		if got := r.ErrorMessage(); !strings.Contains(got, tt.want) {
			t.Errorf("login %s (%s): got message %q, want %q", tt.username, tt.lang, got, tt.want)
		}
		if c.Cookie("kepu_session") != "" {
			t.Errorf("login %s: a failed login set a session cookie", tt.username)
		}
	}
}

// After 5 failures an account is closed for a while to browsers without a
// device cookie for it, with the same answer whether the username exists or
// not. (The clock stands still, so the first second of backoff never ends.)
func TestLoginLockout(t *testing.T) {
	t.Parallel()
	now := time.Now()
	inst := apptest.Start(t, apptest.Options{Now: func() time.Time { return now }})
	_, pw := inst.CreateUser("erin", "participant")
	for _, username := range []string{"erin", "no-such-user"} {
		c := inst.Client()
		for i := 1; i <= 5; i++ {
			r := c.Do("POST", "/api/v1/auth/login", map[string]string{"username": username, "password": "wrong-password"})
			apptest.Expect(t, r, 401, fmt.Sprintf("%s: failure %d", username, i))
		}
		r := c.Do("POST", "/api/v1/auth/login", map[string]string{"username": username, "password": pw})
		apptest.Expect(t, r, 429, username+": login after 5 failures, even with the right password")
		if msg := r.ErrorMessage(); !strings.Contains(msg, "登录失败次数过多") || !strings.Contains(msg, "1 秒") {
			t.Errorf("%s: got message %q, want the lock-out message with 1 second", username, msg)
		}
		if r.Header.Get("Retry-After") == "" {
			t.Errorf("%s: no Retry-After header on 429", username)
		}
		// Other accounts from the same address are not affected.
		if username == "erin" {
			_, fpw := inst.CreateUser("frank", "participant")
			inst.Login("frank", fpw)
		}
	}
}

// Logging in ends the session the client held before (no session fixation).
func TestSessionReplacedAtLogin(t *testing.T) {
	t.Parallel()
	inst := apptest.Start(t)
	_, apw := inst.CreateUser("gina", "participant")
	_, bpw := inst.CreateUser("hank", "participant")
	c := inst.Login("gina", apw)
	before := c.Cookie("kepu_session")
	apptest.Expect(t, c.Do("POST", "/api/v1/auth/login", map[string]string{"username": "hank", "password": bpw}), 200, "second login")
	after := c.Cookie("kepu_session")
	if after == "" || after == before {
		t.Fatalf("session cookie not replaced at login: before %q, after %q", before, after)
	}
	old := inst.Client()
	u, _ := url.Parse(inst.URL)
	old.HTTP.Jar.SetCookies(u, []*http.Cookie{{Name: "kepu_session", Value: before}})
	apptest.Expect(t, old.Do("GET", "/api/v1/me", nil), 401, "the cookie from before login")
	var me struct{ Username string }
	c.Do("GET", "/api/v1/me", nil).JSON(t, &me)
	if me.Username != "hank" {
		t.Errorf("after the second login: got %q, want hank", me.Username)
	}
}

// Sessions live in Postgres: a restarted server, or a second server behind
// the load balancer, knows them.
func TestSessionsSurviveRestart(t *testing.T) {
	t.Parallel()
	inst := apptest.Start(t)
	_, pw := inst.CreateUser("ivan", "participant")
	c := inst.Login("ivan", pw)
	other := inst.Login("ivan", pw)
	inst.Stop()
	restarted := apptest.Start(t, apptest.Options{Shared: inst})
	c.Base, other.Base = restarted.URL, restarted.URL
	apptest.Expect(t, c.Do("GET", "/api/v1/me", nil), 200, "me after the restart")

	second := apptest.Start(t, apptest.Options{Shared: restarted})
	apptest.Expect(t, c.Do("POST", "/api/v1/auth/logout", nil), 204, "logout on the restarted instance")
	c.Base = second.URL
	apptest.Expect(t, c.Do("GET", "/api/v1/me", nil), 401, "me on the second instance after logout on the first")
	other.Base = second.URL
	apptest.Expect(t, other.Do("GET", "/api/v1/me", nil), 200, "the user's other session on the second instance")
}

func TestSessionTimeouts(t *testing.T) {
	var offset atomic.Int64
	clock := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	inst := apptest.Start(t, apptest.Options{Now: clock,
		Env: map[string]string{"KEPU_SESSION_IDLE": "1h", "KEPU_SESSION_MAX": "4h"}})
	_, pw := inst.CreateUser("judy", "participant")
	advance := func(d time.Duration) { offset.Add(int64(d)) }

	t.Run("idle", func(t *testing.T) {
		c := inst.Login("judy", pw)
		advance(50 * time.Minute)
		apptest.Expect(t, c.Do("GET", "/api/v1/me", nil), 200, "after 50 idle minutes")
		advance(50 * time.Minute) // the request above reset the idle clock
		apptest.Expect(t, c.Do("GET", "/api/v1/me", nil), 200, "50 minutes after the last request")
		advance(61 * time.Minute)
		apptest.Expect(t, c.Do("GET", "/api/v1/me", nil), 401, "after 61 idle minutes")
	})
	t.Run("absolute", func(t *testing.T) {
		c := inst.Login("judy", pw)
		for i := 1; i <= 4; i++ {
			advance(55 * time.Minute)
			apptest.Expect(t, c.Do("GET", "/api/v1/me", nil), 200, fmt.Sprintf("active, %d×55 minutes after login", i))
		}
		advance(25 * time.Minute) // 4h05m after login, 25 minutes after the last request
		apptest.Expect(t, c.Do("GET", "/api/v1/me", nil), 401, "4h05m after login")
	})
}

// X-Forwarded-For is believed only from a trusted proxy: otherwise a client
// could pick a fresh "address" for every request and escape per-IP limits.
func TestForwardedForOnlyFromTrustedProxies(t *testing.T) {
	t.Parallel()
	spend := func(inst *apptest.Instance, xff string, n int) int {
		c := inst.Client()
		var last int
		for i := 0; i < n; i++ {
			forwarded := xff
			if forwarded == "" {
				forwarded = fmt.Sprintf("198.51.100.%d", i+1) // a new "address" each time
			}
			r := c.DoHeader("POST", "/api/v1/auth/register", map[string]any{"username": "x"},
				map[string]string{"X-Forwarded-For": forwarded})
			last = r.Status
		}
		return last
	}
	// Registration allows 20 attempts per address and hour.
	direct := apptest.Start(t)
	if got := spend(direct, "", 21); got != 429 {
		t.Errorf("untrusted peer, 21 attempts with changing X-Forwarded-For: got %d, want 429", got)
	}
	proxied := apptest.Start(t, apptest.Options{Env: map[string]string{"KEPU_TRUSTED_PROXIES": "127.0.0.1"}})
	if got := spend(proxied, "", 21); got != 400 {
		t.Errorf("trusted proxy, 21 clients: got %d, want 400 (each client has its own budget)", got)
	}
	if got := spend(proxied, "203.0.113.9", 21); got != 429 {
		t.Errorf("trusted proxy, one client 21 times: got %d, want 429", got)
	}
}

// Bad input gets a 4xx with a message in the user's language, never a 500.
func TestBadInput(t *testing.T) {
	t.Parallel()
	inst := apptest.Start(t)
	_, pw := inst.CreateUser("kim", "participant")
	tooLong := registration(inst, "lena", strings.Repeat("长", 21))
	tests := []struct {
		name        string
		path        string
		body        []byte
		contentType string
		status      int
		field       string
		zh, en      string
	}{
		{"malformed JSON", "/api/v1/auth/register", []byte(`{"username":`), "application/json", 400, "", "请求格式不正确", "not valid"},
		{"trailing data", "/api/v1/auth/login", []byte(`{"username":"kim","password":"x"} {}`), "application/json", 400, "", "请求格式不正确", "not valid"},
		{"wrong type", "/api/v1/auth/register", []byte(`{"username": 5}`), "application/json", 400, "username", "请求格式不正确", "not valid"},
		{"unknown field", "/api/v1/auth/register", []byte(`{"username":"lena","admin":true}`), "application/json", 400, "admin", "无法识别的字段：admin", "admin"},
		{"oversized body", "/api/v1/auth/register", []byte(`{"username":"` + strings.Repeat("a", 20<<10) + `"}`), "application/json", 413, "", "太大", "too large"},
		{"wrong content type", "/api/v1/auth/login", []byte(`username=kim&password=x`), "application/x-www-form-urlencoded", 415, "", "JSON", "JSON"},
		{"no content type", "/api/v1/auth/login", []byte(`{}`), "", 415, "", "JSON", "JSON"},
		{"over-long nickname", "/api/v1/auth/register", mustJSON(t, tooLong), "application/json", 400, "nickname", "昵称需要 1–20 个字", "1–20"},
		{"over-long username", "/api/v1/auth/register", mustJSON(t, registration(inst, strings.Repeat("u", 33), "x")), "application/json", 400, "username", "3–32", "3–32"},
	}
	for _, tt := range tests {
		for _, lang := range []string{"zh-CN", "en"} {
			c := inst.Client()
			c.Lang = lang
			r := c.DoRaw("POST", tt.path, tt.body, tt.contentType)
			var e struct {
				Error struct {
					Code      string `json:"code"`
					Message   string `json:"message"`
					Field     string `json:"field"`
					RequestID string `json:"request_id"`
				} `json:"error"`
			}
			if err := json.Unmarshal(r.Body, &e); err != nil {
				t.Errorf("%s (%s): body %q is not the error shape", tt.name, lang, r.Body)
				continue
			}
			want := map[string]string{"zh-CN": tt.zh, "en": tt.en}[lang]
			switch {
			case r.Status != tt.status:
				t.Errorf("%s (%s): got %d, want %d: %s", tt.name, lang, r.Status, tt.status, r.Body)
			case !strings.Contains(e.Error.Message, want):
				t.Errorf("%s (%s): got message %q, want it to contain %q", tt.name, lang, e.Error.Message, want)
			case e.Error.Field != tt.field:
				t.Errorf("%s (%s): got field %q, want %q", tt.name, lang, e.Error.Field, tt.field)
			case e.Error.RequestID == "" || e.Error.Code == "":
				t.Errorf("%s (%s): missing code or request_id: %s", tt.name, lang, r.Body)
			}
		}
	}

	// Markup in a nickname is kept as text and rendered escaped.
	c := inst.Login("kim", pw)
	profile := registration(inst, "", "<script>x</script>")
	delete(profile, "username")
	delete(profile, "password")
	r := c.Do("PATCH", "/api/v1/me", profile)
	apptest.Expect(t, r, 200, "nickname with a script tag")
	var me struct{ Nickname string }
	c.Do("GET", "/api/v1/me", nil).JSON(t, &me)
	if me.Nickname != "<script>x</script>" {
		t.Errorf("stored nickname %q, want the text as typed", me.Nickname)
	}
	for _, page := range []string{"/", "/profile"} {
		body := string(c.Do("GET", page, nil).Body)
		if strings.Contains(body, "<script>x</script>") || !strings.Contains(body, "&lt;script&gt;x&lt;/script&gt;") {
			t.Errorf("page %s does not escape the nickname", page)
		}
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestOpsEndpoints(t *testing.T) {
	t.Parallel()
	inst := apptest.Start(t)
	c := inst.Client()
	apptest.Expect(t, c.Do("GET", "/healthz", nil), 200, "healthz")
	r := c.Do("GET", "/readyz", nil)
	apptest.Expect(t, r, 200, "readyz")
	if !strings.Contains(string(r.Body), `"postgres":"ok"`) || !strings.Contains(string(r.Body), `"redis":"ok"`) {
		t.Errorf("readyz: got %s, want postgres and redis ok", r.Body)
	}
	r = c.Do("GET", "/metrics", nil)
	apptest.Expect(t, r, 200, "metrics from loopback")
	if !strings.Contains(string(r.Body), "kepu_http_requests_total") {
		t.Errorf("metrics: no kepu_http_requests_total")
	}
	r = c.DoHeader("GET", "/metrics", nil, map[string]string{"X-Forwarded-For": "203.0.113.1"})
	apptest.Expect(t, r, 403, "metrics through a proxy")
	// A peer that is not loopback (Fiber's test connection comes from 0.0.0.0).
	res, err := inst.App.Server.App.Test(httptest.NewRequest("GET", "/metrics", nil))
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 403 {
		t.Errorf("metrics from a remote peer: got %d, want 403", res.StatusCode)
	}
}

// State-changing API calls need the CSRF token, and an Origin, when sent,
// must be this site's.
func TestCSRF(t *testing.T) {
	t.Parallel()
	inst := apptest.Start(t)
	_, pw := inst.CreateUser("lily", "participant")
	c := inst.Login("lily", pw)
	body := []byte(`{"old_password":"x","new_password":"yyyyyyyy"}`)
	for _, tt := range []struct {
		name   string
		header map[string]string
		status int
		code   string
	}{
		{"no token", map[string]string{"X-CSRF-Token": ""}, 403, "csrf"},
		{"forged token", map[string]string{"X-CSRF-Token": "abc.def"}, 403, "csrf"},
		{"foreign origin", map[string]string{"Origin": "https://evil.example"}, 403, "csrf"},
		{"own origin", map[string]string{"Origin": inst.URL}, 400, "invalid_input"},
	} {
		r := c.DoHeader("POST", "/api/v1/me/password", body, tt.header)
		if r.Status != tt.status || r.ErrorCode() != tt.code {
			t.Errorf("%s: got %d %s, want %d %s: %s", tt.name, r.Status, r.ErrorCode(), tt.status, tt.code, r.Body)
		}
	}
}

func TestExportAndDeleteAccount(t *testing.T) {
	t.Parallel()
	inst := apptest.Start(t)
	_, pw := inst.CreateUser("mona", "participant")
	_, apw := inst.CreateUser("root-admin", "admin")
	c := inst.Login("mona", pw)
	r := c.Do("GET", "/api/v1/me/export", nil)
	apptest.Expect(t, r, 200, "export")
	var export struct {
		Profile  struct{ Username string } `json:"profile"`
		Sessions []struct{ IP string }     `json:"sessions"`
	}
	r.JSON(t, &export)
	if export.Profile.Username != "mona" || len(export.Sessions) != 1 {
		t.Errorf("export: got %+v, want mona's profile and one session", export)
	}
	apptest.Expect(t, c.Do("DELETE", "/api/v1/me", map[string]string{"password": "wrong"}), 400, "delete with a wrong password")
	apptest.Expect(t, c.Do("DELETE", "/api/v1/me", map[string]string{"password": pw}), 204, "delete")
	apptest.Expect(t, c.Do("GET", "/api/v1/me", nil), 401, "session after delete")
	apptest.Expect(t, inst.Client().Do("POST", "/api/v1/auth/login", map[string]string{"username": "mona", "password": pw}), 401, "login after delete")
	admin := inst.Login("root-admin", apw)
	if action, _ := lastAudit(t, admin); action != "account.delete" {
		t.Errorf("audit: got %s, want account.delete", action)
	}
	// The name is free again.
	apptest.Expect(t, inst.Client().Do("POST", "/api/v1/auth/register", registration(inst, "mona", "新莫娜")), 201, "register the freed name")
}
