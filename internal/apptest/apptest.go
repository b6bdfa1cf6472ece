// Package apptest runs a whole Kepu instance for integration and browser
// tests: its own Postgres database and Redis key prefix (from testenv), the
// real HTTP server on a random loopback port, and an HTTP client that keeps
// cookies and sends the CSRF token like a browser page does.
package apptest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kepu/kepu/internal/account"
	"github.com/kepu/kepu/internal/app"
	"github.com/kepu/kepu/internal/config"
	"github.com/kepu/kepu/internal/seed"
	"github.com/kepu/kepu/internal/testenv"
)

// Instance is one running Kepu server.
type Instance struct {
	App   *app.App
	URL   string // e.g. http://127.0.0.1:41234
	DB    *testenv.DB
	Redis *testenv.Redis
	Seed  seed.Result
	Log   *bytes.Buffer // everything the server logged
	t     testing.TB

	stop     func()
	stopOnce sync.Once
}

// Options change how an instance starts.
type Options struct {
	// Env overrides KEPU_* settings (the database, Redis and address are set by Start).
	Env map[string]string
	// Shared runs this instance on the database and Redis prefix of another
	// (several instances behind one load balancer).
	Shared *Instance
	// NoSeed skips the foundation seed (regions, schools, demo accounts).
	NoSeed bool
	// Now, when set, is the clock of the account service (session timeouts)
	// and of campaigns (question deadlines, days), installed before the
	// server starts.
	Now func() time.Time
	// Setup, when set, changes the services before the server is built
	// (e.g. shorter PK rounds).
	Setup func(a *app.App)
}

// Start runs a fresh instance, seeded with the foundation demo data, and
// stops it when the test ends.
func Start(t testing.TB, opts ...Options) *Instance {
	t.Helper()
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	inst := &Instance{t: t, Log: &bytes.Buffer{}}
	// A plain instance copies the package's seeded template (template.go).
	copied := template.enabled && o.Shared == nil && !o.NoSeed && o.Env == nil && o.Now == nil
	switch {
	case o.Shared != nil:
		inst.DB, inst.Redis, inst.Seed = o.Shared.DB, o.Shared.Redis, o.Shared.Seed
	case copied:
		name, res, err := seededTemplate()
		if err != nil {
			t.Fatalf("apptest: seeded template: %v", err)
		}
		inst.DB, inst.Seed = testenv.NewDBFrom(t, name), res
		inst.Redis = testenv.NewRedis(t)
	default:
		inst.DB = testenv.NewDB(t)
		inst.Redis = testenv.NewRedis(t)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("apptest: listen: %v", err)
	}
	addr := ln.Addr().String()
	inst.URL = "http://" + addr
	env := map[string]string{
		"KEPU_ADDR": addr, "KEPU_DATABASE_URL": inst.DB.URL, "KEPU_REDIS_URL": testenv.RedisURL(),
		"KEPU_REDIS_PREFIX": inst.Redis.Prefix, "KEPU_BASE_URL": inst.URL, "KEPU_LOG_LEVEL": "debug",
		"KEPU_MAX_HASHES": "8",
	}
	if o.Shared != nil {
		env["KEPU_ALLOWED_ORIGINS"] = o.Shared.URL
	}
	for k, v := range o.Env {
		env[k] = v
	}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("apptest: config: %v", err)
	}
	log := slog.New(slog.NewJSONHandler(&lockedWriter{mu: make(chan struct{}, 1), w: inst.Log}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.Open(ctx, cfg, log)
	if err != nil {
		cancel()
		t.Fatalf("apptest: open: %v", err)
	}
	inst.App = a
	cheapHashes(a)
	if o.Now != nil {
		a.Accounts.Now = o.Now
		a.Campaigns.Now = o.Now
	}
	if o.Shared == nil && !o.NoSeed && !copied {
		if inst.Seed, err = seed.Foundation(ctx, a.DB, a.Accounts, a.Org); err != nil {
			t.Fatalf("apptest: seed: %v", err)
		}
		if _, err := seed.Bank(ctx, a.DB, inst.Seed.CityID); err != nil {
			t.Fatalf("apptest: seed bank: %v", err)
		}
	}
	if o.Setup != nil {
		o.Setup(a)
	}
	if err := a.BuildServer(); err != nil {
		t.Fatalf("apptest: build server: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, ln) }()
	inst.stop = func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("apptest: serve: %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Errorf("apptest: server did not stop")
		}
		a.Close()
	}
	t.Cleanup(func() {
		inst.Stop()
		if t.Failed() {
			t.Logf("server log:\n%s", tail(inst.Log.String(), 8000))
		}
	})
	return inst
}

// cheapHashes makes the instance's new password hashes cost almost
// nothing (argon2id with 64 KiB and one pass instead of 19 MiB and two):
// the suite's logins and accounts otherwise spent most of its servers' CPU
// hashing. Stored hashes carry their cost, so logins work either way; the
// real cost is what production and the account package's own tests use.
func cheapHashes(a *app.App) {
	a.Accounts.Hasher.Memory, a.Accounts.Hasher.Time = 64, 1
}

// Stop shuts the server down gracefully (as on SIGTERM) and closes its
// connections; its database and Redis prefix stay until the test ends, so
// a new instance can start on them (Options{Shared: inst}), as after a
// restart. Stopping twice is harmless.
func (i *Instance) Stop() { i.stopOnce.Do(i.stop) }

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// CreateUser makes an account directly in the database and returns its
// password. role is participant, teacher, organizer or admin; organizers get
// the city as scope unless scopeRegionID is given.
func (i *Instance) CreateUser(username, role string, scopeRegionID ...int64) (int64, string) {
	i.t.Helper()
	pw := account.RandomPassword(12)
	scope := int64(0)
	if role == "organizer" {
		scope = i.Seed.CityID
		if len(scopeRegionID) > 0 {
			scope = scopeRegionID[0]
		}
	}
	region := i.Seed.DistrictIDs["430702"]
	id, err := i.App.Accounts.EnsureUser(context.Background(), account.NewUser{
		Username: username, Password: pw, Role: role, Nickname: username, RegionID: region,
		AgeBand: "30_39", ScopeRegionID: scope,
	})
	if err != nil {
		i.t.Fatalf("apptest: create user %s: %v", username, err)
	}
	return id, pw
}

// DemoPassword returns the password the seed gave demo account username.
func (i *Instance) DemoPassword(username string) string {
	i.t.Helper()
	for _, d := range i.Seed.Accounts {
		if d.Username == username {
			return d.Password
		}
	}
	i.t.Fatalf("apptest: no demo account %s", username)
	return ""
}

// Client is a browser-like HTTP client: a cookie jar, the CSRF header and
// an Accept-Language.
type Client struct {
	HTTP  *http.Client
	Base  string
	Lang  string
	csrf  string
	extra map[string]string
	t     testing.TB
}

// Client returns a new anonymous client of the instance.
func (i *Instance) Client() *Client { return NewClient(i.t, i.URL) }

// SameBrowser returns a client of the instance holding c's session and
// CSRF cookies: the browser's next request reaching another instance
// behind the load balancer.
func (i *Instance) SameBrowser(c *Client) *Client {
	o := i.Client()
	u, _ := url.Parse(i.URL)
	for _, name := range []string{"kepu_session", "kepu_csrf"} {
		if v := c.Cookie(name); v != "" {
			o.HTTP.Jar.SetCookies(u, []*http.Cookie{{Name: name, Value: v}})
		}
	}
	return o
}

// NewClient returns a new anonymous client of the server at base (an
// instance, or a load balancer in front of several).
func NewClient(t testing.TB, base string) *Client {
	jar, _ := cookiejar.New(nil)
	return &Client{HTTP: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		Base: base, Lang: "zh-CN", t: t}
}

// Login returns a client logged in as username.
func (i *Instance) Login(username, password string) *Client {
	i.t.Helper()
	c := i.Client()
	if r := c.Do("POST", "/api/v1/auth/login", map[string]string{"username": username, "password": password}); r.Status != 200 {
		i.t.Fatalf("apptest: login %s: got %d %s", username, r.Status, r.Body)
	}
	return c
}

// Response is a finished request.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v, failing the test on error.
func (r Response) JSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

// ErrorCode returns the error.code of an error response.
func (r Response) ErrorCode() string {
	var e struct {
		Error struct{ Code, Message string }
	}
	json.Unmarshal(r.Body, &e)
	return e.Error.Code
}

// ErrorMessage returns the error.message of an error response.
func (r Response) ErrorMessage() string {
	var e struct {
		Error struct{ Code, Message string }
	}
	json.Unmarshal(r.Body, &e)
	return e.Error.Message
}

// CSRF fetches (once) and returns the client's CSRF token.
func (c *Client) CSRF() string {
	if c.csrf == "" {
		var v struct{ Token string }
		r := c.do("GET", "/api/v1/csrf", nil, "")
		json.Unmarshal(r.Body, &v)
		c.csrf = v.Token
	}
	return c.csrf
}

// Do sends body (marshalled to JSON unless it is a string or []byte) and
// returns the response. Unsafe methods carry the CSRF token.
func (c *Client) Do(method, path string, body any) Response {
	c.t.Helper()
	var raw []byte
	switch b := body.(type) {
	case nil:
	case string:
		raw = []byte(b)
	case []byte:
		raw = b
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			c.t.Fatalf("apptest: marshal: %v", err)
		}
	}
	ct := ""
	if body != nil {
		ct = "application/json"
	}
	return c.DoRaw(method, path, raw, ct)
}

// DoHeader is Do with extra request headers (e.g. X-Forwarded-For).
func (c *Client) DoHeader(method, path string, body any, header map[string]string) Response {
	c.t.Helper()
	c.extra = header
	defer func() { c.extra = nil }()
	return c.Do(method, path, body)
}

// DoRaw sends raw bytes with the given content type.
func (c *Client) DoRaw(method, path string, raw []byte, contentType string) Response {
	c.t.Helper()
	if method != "GET" && method != "HEAD" {
		c.CSRF()
	}
	return c.do(method, path, raw, contentType)
}

func (c *Client) do(method, path string, raw []byte, contentType string) Response {
	var rd io.Reader
	if raw != nil {
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, c.Base+path, rd)
	if err != nil {
		c.t.Fatalf("apptest: request: %v", err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if c.csrf != "" {
		req.Header.Set("X-CSRF-Token", c.csrf)
	}
	req.Header.Set("Accept-Language", c.Lang)
	for k, v := range c.extra {
		req.Header.Set(k, v)
	}
	if !strings.HasPrefix(path, "/api/") {
		req.Header.Set("Accept", "text/html")
	}
	res, err := c.HTTP.Do(req)
	if err != nil {
		c.t.Fatalf("apptest: %s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return Response{Status: res.StatusCode, Header: res.Header, Body: b}
}

// Cookie returns the value of the named cookie the client holds.
func (c *Client) Cookie(name string) string {
	req, _ := http.NewRequest("GET", c.Base, nil)
	for _, ck := range c.HTTP.Jar.Cookies(req.URL) {
		if ck.Name == name {
			return ck.Value
		}
	}
	return ""
}

// Expect fails the test unless r has the wanted status.
func Expect(t testing.TB, r Response, status int, what string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("%s: got status %d, want %d; body %s", what, r.Status, status, r.Body)
	}
}

type lockedWriter struct {
	mu chan struct{}
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	if l.mu == nil {
		return l.w.Write(p)
	}
	l.mu <- struct{}{}
	defer func() { <-l.mu }()
	return l.w.Write(p)
}
