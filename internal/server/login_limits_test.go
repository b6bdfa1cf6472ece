package server_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/kepu/kepu/internal/apptest"
)

// cheapHash is a valid argon2id PHC hash of password with tiny parameters:
// Verify reads the parameters from the hash, so thousands of test pupils
// log in without thousands of 19 MiB hashes.
func cheapHash(password string) string {
	salt := []byte("kepu-test-salt16")
	key := argon2.IDKey([]byte(password), salt, 1, 8, 1, 32)
	return fmt.Sprintf("$argon2id$v=%d$m=8,t=1,p=1$%s$%s", argon2.Version,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// bulkPupils inserts n pupils of the seed's first class, named
// c<class>-0001 …, all with one password (cheaply hashed), and returns
// their usernames and the password.
func bulkPupils(t *testing.T, inst *apptest.Instance, n int) ([]string, string) {
	t.Helper()
	const pw = "pupil-password"
	ctx := context.Background()
	classID := inst.Seed.ClassIDs[0]
	prefix := fmt.Sprintf("c%d-", classID)
	_, err := inst.App.DB.Exec(ctx, `INSERT INTO users (username, password_hash, role, nickname, region_id, age_band,
			occupation, school_id, class_id)
		SELECT $1 || lpad(i::text, 4, '0'), $2, 'participant', '学生' || i, s.region_id, 'u14', 'student', s.id, c.id
		FROM generate_series(1, $4::int) AS i, classes c JOIN schools s ON s.id = c.school_id WHERE c.id = $3`,
		prefix, cheapHash(pw), classID, n)
	if err != nil {
		t.Fatalf("insert pupils: %v", err)
	}
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("%s%04d", prefix, i+1)
	}
	return names, pw
}

// loginAs sends one login from client c (optionally from a forwarded address).
func loginAs(c *apptest.Client, username, password, xff string) apptest.Response {
	body := map[string]string{"username": username, "password": password}
	if xff == "" {
		return c.Do("POST", "/api/v1/auth/login", body)
	}
	return c.DoHeader("POST", "/api/v1/auth/login", body, map[string]string{"X-Forwarded-For": xff})
}

// parallel runs f(i) for i in [0, n) on workers goroutines.
func parallel(n, workers int, f func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				f(i)
			}
		}()
	}
	wg.Wait()
}

// A whole school of 2,000 pupils logs in within minutes from one address
// (its NAT), one in ten mistyping the password first: none is refused.
// (The old per-address budget of 120 attempts per 10 minutes refused the
// 121st.)
func TestSchoolBehindOneNATLogsIn(t *testing.T) {
	t.Parallel()
	inst := apptest.Start(t)
	const n = 2000
	names, pw := bulkPupils(t, inst, n)
	start := time.Now()
	var refused, typos atomic.Int64
	var firstErr atomic.Value
	parallel(n, 16, func(i int) {
		c := inst.Client()
		if i%10 == 0 {
			typos.Add(1)
			if r := loginAs(c, names[i], pw+"x", ""); r.Status != 401 {
				refused.Add(1)
				firstErr.CompareAndSwap(nil, fmt.Sprintf("%s typo: got %d %s, want 401", names[i], r.Status, r.Body))
				return
			}
		}
		if r := loginAs(c, names[i], pw, ""); r.Status != 200 {
			refused.Add(1)
			firstErr.CompareAndSwap(nil, fmt.Sprintf("%s: got %d %s, want 200", names[i], r.Status, r.Body))
		}
	})
	took := time.Since(start)
	if refused.Load() > 0 {
		t.Fatalf("%d of %d pupils refused from one address; first: %v", refused.Load(), n, firstErr.Load())
	}
	t.Logf("%d pupils (%d typos) logged in from one address in %v", n, typos.Load(), took.Round(time.Millisecond))
	if took > 50*time.Second {
		t.Errorf("2,000 logins took %v, want well under a minute", took)
	}
}

// A stranger on the school's address who sends many wrong passwords (for
// other usernames, existing or not) does not stop the pupils there.
func TestStrangerOnSchoolAddressDoesNotLockOutPupils(t *testing.T) {
	t.Parallel()
	inst := apptest.Start(t)
	names, pw := bulkPupils(t, inst, 130)
	parallel(len(names), 8, func(i int) {
		if r := loginAs(inst.Client(), names[i], pw, ""); r.Status != 200 {
			t.Errorf("%s, first login: got %d %s", names[i], r.Status, r.Body)
		}
	})
	stranger := inst.Client()
	for i := 0; i < 40; i++ {
		user := names[i]
		if i%2 == 1 {
			user = fmt.Sprintf("nobody-%d", i)
		}
		if r := loginAs(stranger, user, "guess-"+strconv.Itoa(i), ""); r.Status != 401 {
			t.Fatalf("stranger's wrong password %d: got %d %s, want 401", i+1, r.Status, r.Body)
		}
	}
	// Every pupil, on a new browser (no device cookie), still gets in.
	parallel(len(names), 8, func(i int) {
		if r := loginAs(inst.Client(), names[i], pw, ""); r.Status != 200 {
			t.Errorf("%s after the stranger's 40 wrong passwords: got %d %s, want 200", names[i], r.Status, r.Body)
		}
	})
}

// An attacker hammering a pupil's predictable username closes it to other
// browsers, but not to the pupil's own browser, which holds the device
// cookie of an earlier login. A stolen device cookie has its own small
// failure budget, and is bound to its username.
func TestDeviceCookieKeepsOwnerIn(t *testing.T) {
	t.Parallel()
	now := time.Now() // the clock stands still: no backoff ends by itself
	inst := apptest.Start(t, apptest.Options{Now: func() time.Time { return now }})
	names, pw := bulkPupils(t, inst, 2)
	pupil, other := names[0], names[1]
	owner := inst.Client()
	r := loginAs(owner, pupil, pw, "")
	apptest.Expect(t, r, 200, "owner's first login")
	var dev *http.Cookie
	for _, ck := range (&http.Response{Header: r.Header}).Cookies() {
		if ck.Name == "kepu_device" {
			dev = ck
		}
	}
	if dev == nil || !dev.HttpOnly || dev.SameSite != http.SameSiteLaxMode || dev.MaxAge < 364*24*3600 || dev.Path != "/" {
		t.Fatalf("device cookie: got %+v, want HttpOnly, SameSite=Lax, Path=/, Max-Age of a year", dev)
	}
	if strings.Contains(dev.Value, pupil) {
		t.Errorf("device cookie %q names the account", dev.Value)
	}
	apptest.Expect(t, owner.Do("POST", "/api/v1/auth/logout", nil), 204, "owner logs out")

	attacker := inst.Client()
	limited := 0
	for i := 0; i < 30; i++ {
		switch r := loginAs(attacker, pupil, fmt.Sprintf("guess-%d", i), ""); r.Status {
		case 401:
		case 429:
			limited++
		default:
			t.Fatalf("attacker's guess %d: got %d %s", i+1, r.Status, r.Body)
		}
	}
	if limited != 25 {
		t.Errorf("attacker: %d of 30 guesses refused, want the account closed after 5", limited)
	}
	apptest.Expect(t, loginAs(inst.Client(), pupil, pw, ""), 429, "right password from a new browser while the account is closed")
	apptest.Expect(t, loginAs(owner, pupil, pw, ""), 200, "owner's browser with its device cookie")
	apptest.Expect(t, owner.Do("GET", "/api/v1/me", nil), 200, "owner's session")

	// Stolen: a copy of the owner's cookie guesses at most 10 times, then
	// counts for nothing (the account's backoff applies again).
	u, _ := url.Parse(inst.URL)
	thief := inst.Client()
	thief.HTTP.Jar.SetCookies(u, []*http.Cookie{{Name: "kepu_device", Value: owner.Cookie("kepu_device")}})
	for i := 0; i < 5; i++ { // open the account's backoff again
		loginAs(inst.Client(), pupil, "x", "")
	}
	wrong := 0
	for i := 0; i < 14; i++ {
		if r := loginAs(thief, pupil, fmt.Sprintf("stolen-%d", i), ""); r.Status == 401 {
			wrong++
		}
	}
	if wrong != 10 {
		t.Errorf("stolen device cookie: %d guesses checked, want 10", wrong)
	}
	// Bound to its username: the owner's cookie does not open another
	// closed account.
	for i := 0; i < 5; i++ {
		loginAs(attacker, other, "x", "")
	}
	apptest.Expect(t, loginAs(owner, other, pw, ""), 429, "owner's device cookie for another, closed account")

	// The teacher's password reset opens the closed account at once.
	var uid int64
	if err := inst.App.DB.QueryRow(context.Background(), `SELECT id FROM users WHERE username = $1`, other).Scan(&uid); err != nil {
		t.Fatal(err)
	}
	teacher := inst.Login("demo-teacher", inst.DemoPassword("demo-teacher"))
	r = teacher.Do("POST", fmt.Sprintf("/api/v1/classes/%d/pupils/%d/password", inst.Seed.ClassIDs[0], uid), nil)
	apptest.Expect(t, r, 200, "teacher resets the pupil's password")
	var reset struct{ Password string }
	r.JSON(t, &reset)
	apptest.Expect(t, loginAs(inst.Client(), other, reset.Password, ""), 200, "new password from a new browser after the reset")
}

// For browsers without a device cookie, the wait after the 5th failure
// doubles with every further failure, up to 15 minutes, and a success
// ends it.
func TestLoginBackoffGrowsAndResets(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	inst := apptest.Start(t, apptest.Options{Now: clock})
	_, pw := inst.CreateUser("grace", "participant")
	retry := func(r apptest.Response) int {
		n, _ := strconv.Atoi(r.Header.Get("Retry-After"))
		return n
	}
	for _, user := range []string{"grace", "no-such-pupil"} {
		for i := 1; i <= 5; i++ {
			apptest.Expect(t, loginAs(inst.Client(), user, "wrong", ""), 401, fmt.Sprintf("%s: failure %d", user, i))
		}
		var waits []int
		for step := 0; step < 13; step++ {
			r := loginAs(inst.Client(), user, "wrong", "")
			apptest.Expect(t, r, 429, fmt.Sprintf("%s: attempt during the wait, step %d", user, step))
			waits = append(waits, retry(r))
			advance(time.Duration(retry(r))*time.Second + 100*time.Millisecond)
			apptest.Expect(t, loginAs(inst.Client(), user, "wrong", ""), 401, fmt.Sprintf("%s: failure after the wait, step %d", user, step))
		}
		want := []int{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900, 900}
		if fmt.Sprint(waits) != fmt.Sprint(want) {
			t.Errorf("%s: waits %v, want %v", user, waits, want)
		}
	}
	advance(15*time.Minute + time.Second)
	apptest.Expect(t, loginAs(inst.Client(), "grace", pw, ""), 200, "right password after the wait")
	for i := 1; i <= 5; i++ {
		apptest.Expect(t, loginAs(inst.Client(), "grace", "wrong", ""), 401, fmt.Sprintf("after a success, failure %d is free again", i))
	}
	apptest.Expect(t, loginAs(inst.Client(), "grace", pw, ""), 429, "after 5 new failures")
}

// Organizers register a school's public addresses; logins from them get
// the school-sized budget of failures (5,000 per 10 minutes), others 500.
func TestSchoolNetworksBudget(t *testing.T) {
	inst := apptest.Start(t, apptest.Options{Env: map[string]string{"KEPU_TRUSTED_PROXIES": "127.0.0.1"}})
	school := inst.Seed.SchoolIDs[0] // in 武陵区 (430702)
	path := fmt.Sprintf("/api/v1/schools/%d/networks", school)
	_, opw := inst.CreateUser("org-wuling", "organizer", inst.Seed.DistrictIDs["430702"])
	_, xpw := inst.CreateUser("org-dingcheng", "organizer", inst.Seed.DistrictIDs["430703"])
	_, tpw := inst.CreateUser("teacher-t", "teacher")
	org := inst.Login("org-wuling", opw)
	foreign := inst.Login("org-dingcheng", xpw)
	teacher := inst.Login("teacher-t", tpw)

	put := func(c *apptest.Client, nets ...string) apptest.Response {
		return c.Do("PUT", path, map[string]any{"networks": nets})
	}
	apptest.Expect(t, put(foreign, "203.0.113.0/28"), 403, "organizer of another district")
	apptest.Expect(t, foreign.Do("GET", path, nil), 403, "organizer of another district reads")
	apptest.Expect(t, put(teacher, "203.0.113.0/28"), 403, "teacher")
	apptest.Expect(t, put(inst.Client(), "203.0.113.0/28"), 401, "anonymous")
	apptest.Expect(t, org.Do("PUT", "/api/v1/schools/999999/networks", map[string]any{"networks": []string{}}), 404, "no such school")
	many := make([]string, 17)
	for i := range many {
		many[i] = fmt.Sprintf("198.51.100.%d", i+1)
	}
	for _, tt := range []struct {
		name string
		nets []string
	}{
		{"not an address", []string{"999.1.1.1"}},
		{"garbage", []string{"school"}},
		{"too large", []string{"10.0.0.0/8"}},
		{"too large v6", []string{"2001:db8::/32"}},
		{"loopback", []string{"127.0.0.1"}},
		{"unspecified", []string{"0.0.0.0/24"}},
		{"too many", many},
	} {
		r := put(org, tt.nets...)
		apptest.Expect(t, r, 400, tt.name)
		if r.ErrorMessage() == "" || strings.Contains(r.ErrorMessage(), "error.") {
			t.Errorf("%s: got message %q, want a localized one", tt.name, r.ErrorMessage())
		}
	}
	r := put(org, " 203.0.113.7/28 ", "2001:db8:1::/64", "203.0.113.0/28", "")
	apptest.Expect(t, r, 200, "register")
	var got struct{ Networks []string }
	r.JSON(t, &got)
	if fmt.Sprint(got.Networks) != "[203.0.113.0/28 2001:db8:1::/64]" {
		t.Errorf("registered: got %v, want canonical, merged [203.0.113.0/28 2001:db8:1::/64]", got.Networks)
	}
	r = org.Do("GET", path, nil)
	apptest.Expect(t, r, 200, "list")
	r.JSON(t, &got)
	if len(got.Networks) != 2 {
		t.Errorf("list: got %v, want 2 networks", got.Networks)
	}
	var audited int
	if err := inst.App.DB.QueryRow(context.Background(), `SELECT count(*) FROM audit_log
		WHERE action = 'school.networks' AND target = $1`, fmt.Sprintf("school:%d", school)).Scan(&audited); err != nil || audited != 1 {
		t.Errorf("audit log: got %d entries (%v), want 1", audited, err)
	}
	page := org.Do("GET", "/org", nil)
	apptest.Expect(t, page, 200, "org page")
	if !strings.Contains(string(page.Body), "203.0.113.0/28") || !strings.Contains(string(page.Body), path) {
		t.Errorf("org page does not show the registered networks and their form")
	}

	// 150 pupils mistype 4 times each (600 failures, no account closed)
	// from an unregistered address, and 150 others from a registered one;
	// then one more pupil logs in from each.
	const per = 150
	names, pw := bulkPupils(t, inst, 2*(per+1))
	for round, tt := range []struct {
		addr string
		want int
	}{{"198.51.100.20", 429}, {"203.0.113.9", 200}} {
		group := names[round*(per+1) : (round+1)*(per+1)]
		parallel(4*per, 8, func(i int) {
			if r := loginAs(inst.Client(), group[i/4], "typo", tt.addr); r.Status != 401 && r.Status != 429 {
				t.Errorf("%s: typo: got %d %s", tt.addr, r.Status, r.Body)
			}
		})
		r := loginAs(inst.Client(), group[per], pw, tt.addr)
		if r.Status != tt.want {
			t.Errorf("from %s after %d failures: got %d %s, want %d", tt.addr, 4*per, r.Status, r.Body, tt.want)
		}
	}
}

// Without Redis the login limits cannot be checked: the login answers 503
// with Retry-After (never 500, and never an unchecked attempt).
func TestLoginWithoutRedis(t *testing.T) {
	t.Parallel()
	inst := apptest.Start(t)
	_, pw := inst.CreateUser("heidi", "participant")
	c := inst.Client()
	c.CSRF()
	inst.App.Redis.Close()
	r := loginAs(c, "heidi", pw, "")
	if r.Status != 503 || r.Header.Get("Retry-After") == "" || r.ErrorCode() != "unavailable" {
		t.Errorf("login without Redis: got %d (Retry-After %q) %s, want 503 unavailable with Retry-After",
			r.Status, r.Header.Get("Retry-After"), r.Body)
	}
}

// Password checks of a logged-in user (change, deletion) have their own
// budget of 5 per 15 minutes: a stranger's wrong logins do not use it up,
// and a stolen session cannot guess the password through them.
func TestPasswordChecksLimited(t *testing.T) {
	t.Parallel()
	inst := apptest.Start(t)
	_, pw := inst.CreateUser("ivan", "participant")
	owner := inst.Login("ivan", pw)
	for i := 0; i < 5; i++ {
		loginAs(inst.Client(), "ivan", "wrong", "")
	}
	apptest.Expect(t, owner.Do("POST", "/api/v1/me/password", map[string]string{"old_password": pw, "new_password": "another good password"}),
		200, "owner's password change after a stranger's 5 wrong logins")
	pw = "another good password"
	for i := 1; i <= 3; i++ { // the change above was the 1st check
		apptest.Expect(t, owner.Do("POST", "/api/v1/me/password", map[string]string{"old_password": "guess", "new_password": "x-new-password"}),
			400, fmt.Sprintf("wrong old password %d", i))
	}
	for i := 1; i <= 2; i++ {
		r := owner.Do("DELETE", "/api/v1/me", map[string]string{"password": "guess"})
		if want := []int{0, 400, 429}[i]; r.Status != want {
			t.Errorf("deletion with a wrong password, check %d: got %d %s, want %d", 3+i, r.Status, r.Body, want)
		}
	}
	apptest.Expect(t, owner.Do("DELETE", "/api/v1/me", map[string]string{"password": pw}), 429, "deletion with the right password once the budget is spent")
}

// The browser that registers an account gets its device cookie: guesses
// at the new username do not lock it out there.
func TestRegistrationIssuesDeviceCookie(t *testing.T) {
	t.Parallel()
	now := time.Now() // the clock stands still: the backoff does not end
	inst := apptest.Start(t, apptest.Options{Now: func() time.Time { return now }})
	c := inst.Client()
	apptest.Expect(t, c.Do("POST", "/api/v1/auth/register", registration(inst, "judy", "朱迪")), 201, "register")
	apptest.Expect(t, c.Do("POST", "/api/v1/auth/logout", nil), 204, "logout")
	for i := 0; i < 6; i++ {
		loginAs(inst.Client(), "judy", "wrong", "")
	}
	apptest.Expect(t, loginAs(inst.Client(), "judy", "correct horse", ""), 429, "new browser while closed")
	apptest.Expect(t, loginAs(c, "judy", "correct horse", ""), 200, "the registering browser")
}
