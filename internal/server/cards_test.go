package server_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kepu/kepu/internal/apptest"
)

type printed struct {
	Cards []struct {
		ID       int64
		Username string
		Nickname string
		URL      string
		QR       struct {
			Side int
			Path string
		}
	}
}

// cardToken returns the token of a card's URL (after /card#).
func cardToken(t *testing.T, u string) string {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil || p.Path != "/card" || len(p.Fragment) != 22 {
		t.Fatalf("card URL %q: want <base>/card#<22-character token>", u)
	}
	return p.Fragment
}

func printCards(t *testing.T, c *apptest.Client, classID int64, ids ...int64) printed {
	t.Helper()
	r := c.Do("POST", fmt.Sprintf("/api/v1/classes/%d/cards", classID), map[string]any{"user_ids": append([]int64{}, ids...)})
	apptest.Expect(t, r, 201, "print cards")
	var p printed
	r.JSON(t, &p)
	return p
}

// madePupils is the answer of creating pupils in a class.
type madePupils struct {
	Pupils []struct {
		ID                 int64
		Username, Password string
	}
}

// makePupils creates pupils with these names in the class, as its teacher.
func makePupils(t *testing.T, teacher *apptest.Client, class int64, names ...string) madePupils {
	t.Helper()
	r := teacher.Do("POST", fmt.Sprintf("/api/v1/classes/%d/pupils", class), map[string]any{"names": names})
	apptest.Expect(t, r, 201, "create pupils")
	var made madePupils
	r.JSON(t, &made)
	return made
}

func cardLogin(c *apptest.Client, token string) apptest.Response {
	return c.Do("POST", "/api/v1/auth/card", map[string]string{"token": token})
}

// A teacher prints QR cards for the class; each signs its pupil in on a new
// device with the same session a password login gives, and the device
// cookie that exempts later password logins there from the lockout.
// Reprinting or withdrawing a card stops it, with a clear message; only
// SHA-256 hashes are stored; every print and withdrawal is audited.
func TestJoinCardLogin(t *testing.T) {
	t.Parallel()
	inst := apptest.Start(t)
	ctx := context.Background()
	class := inst.Seed.ClassIDs[0]
	teacher := inst.Login("demo-teacher", inst.DemoPassword("demo-teacher"))
	made := makePupils(t, teacher, class, "小明", "小红", "小刚")

	p := printCards(t, teacher, class)
	if len(p.Cards) != 3 {
		t.Fatalf("got %d cards, want 3", len(p.Cards))
	}
	tokens := map[int64]string{}
	for _, c := range p.Cards {
		tokens[c.ID] = cardToken(t, c.URL)
		if c.Nickname == "" || c.Username == "" || c.QR.Side < 21 || !strings.HasPrefix(c.QR.Path, "M") {
			t.Errorf("card %+v: want nickname, username and a QR path", c)
		}
	}

	// Only the SHA-256 of each token is stored, and the table has no text.
	for id, tok := range tokens {
		var n int
		sum := sha256.Sum256([]byte(tok))
		if err := inst.App.DB.QueryRow(ctx, `SELECT count(*) FROM login_tokens WHERE user_id = $1 AND token_hash = $2 AND revoked_at IS NULL`,
			id, sum[:]).Scan(&n); err != nil || n != 1 {
			t.Errorf("pupil %d: %d live rows with the token's SHA-256 (%v), want 1", id, n, err)
		}
	}
	var textCols int
	inst.App.DB.QueryRow(ctx, `SELECT count(*) FROM information_schema.columns WHERE table_name = 'login_tokens'
		AND data_type NOT IN ('bytea', 'bigint', 'timestamp with time zone')`).Scan(&textCols)
	if textCols != 0 {
		t.Errorf("login_tokens has %d columns that could hold a token in clear, want 0", textCols)
	}

	// Scanning signs the pupil in on a new device.
	pupil := made.Pupils[0]
	phone := inst.Client()
	r := cardLogin(phone, tokens[pupil.ID])
	apptest.Expect(t, r, 200, "card login")
	var me struct{ ID int64 }
	apptest.Expect(t, phone.Do("GET", "/api/v1/me", nil), 200, "the card's session")
	phone.Do("GET", "/api/v1/me", nil).JSON(t, &me)
	if me.ID != pupil.ID {
		t.Errorf("logged in as %d, want %d", me.ID, pupil.ID)
	}
	if phone.Cookie("kepu_device") == "" {
		t.Error("card login set no device cookie")
	}
	apptest.Expect(t, cardLogin(inst.Client(), tokens[pupil.ID]), 200, "the card works again on another device until it is replaced")

	// The device cookie exempts the phone's password logins from a lockout
	// a stranger caused.
	for i := 0; i < 6; i++ {
		loginAs(inst.Client(), pupil.Username, "wrong", "")
	}
	apptest.Expect(t, loginAs(inst.Client(), pupil.Username, pupil.Password, ""), 429, "new browser while the account is closed")
	apptest.Expect(t, loginAs(phone, pupil.Username, pupil.Password, ""), 200, "password on the device the card signed in")

	// Reprinting one pupil's card stops the old one.
	again := printCards(t, teacher, class, pupil.ID)
	if len(again.Cards) != 1 || again.Cards[0].ID != pupil.ID {
		t.Fatalf("reprint: got %+v, want one card for %d", again.Cards, pupil.ID)
	}
	r = cardLogin(inst.Client(), tokens[pupil.ID])
	apptest.Expect(t, r, 410, "replaced card")
	if r.ErrorCode() != "gone" || !strings.Contains(r.ErrorMessage(), "作废") {
		t.Errorf("replaced card: got %s %q, want gone with a message about the withdrawn card", r.ErrorCode(), r.ErrorMessage())
	}
	en := inst.Client()
	en.Lang = "en"
	if r := cardLogin(en, tokens[pupil.ID]); !strings.Contains(r.ErrorMessage(), "withdrawn") {
		t.Errorf("replaced card in en: got %q", r.ErrorMessage())
	}
	newTok := cardToken(t, again.Cards[0].URL)
	apptest.Expect(t, cardLogin(inst.Client(), newTok), 200, "the new card")

	// Withdrawing one card, then the class's.
	r = teacher.Do("DELETE", fmt.Sprintf("/api/v1/classes/%d/pupils/%d/card", class, pupil.ID), nil)
	apptest.Expect(t, r, 200, "withdraw one card")
	apptest.Expect(t, cardLogin(inst.Client(), newTok), 410, "withdrawn card")
	other := made.Pupils[1]
	apptest.Expect(t, cardLogin(inst.Client(), tokens[other.ID]), 200, "another pupil's card still works")
	r = teacher.Do("DELETE", fmt.Sprintf("/api/v1/classes/%d/cards", class), nil)
	apptest.Expect(t, r, 200, "withdraw the class's cards")
	var rev struct{ Revoked int }
	r.JSON(t, &rev)
	if rev.Revoked != 2 {
		t.Errorf("class withdrawal: %d cards, want the 2 still live", rev.Revoked)
	}
	for _, id := range []int64{made.Pupils[1].ID, made.Pupils[2].ID} {
		apptest.Expect(t, cardLogin(inst.Client(), tokens[id]), 410, "card of a withdrawn class")
	}

	// Unknown and malformed tokens.
	for _, tok := range []string{"AAAAAAAAAAAAAAAAAAAAAA", "short", strings.Repeat("x", 64), "!!!!!!!!!!!!!!!!!!!!!!"} {
		r := cardLogin(inst.Client(), tok)
		apptest.Expect(t, r, 401, "unknown token "+tok)
		if !strings.Contains(r.ErrorMessage(), "卡片无效") {
			t.Errorf("unknown token: message %q", r.ErrorMessage())
		}
	}

	// Audited, and shown in the roster.
	var actions []string
	rows, _ := inst.App.DB.Query(ctx, `SELECT action || ':' || (detail->>'count') FROM audit_log
		WHERE action LIKE 'roster.cards_%' AND target = $1 ORDER BY id`, fmt.Sprintf("class:%d", class))
	for rows.Next() {
		var a string
		rows.Scan(&a)
		actions = append(actions, a)
	}
	want := "roster.cards_issue:3 roster.cards_issue:1 roster.cards_revoke:1 roster.cards_revoke:2"
	if got := strings.Join(actions, " "); got != want {
		t.Errorf("audit: got %q, want %q", got, want)
	}
	printCards(t, teacher, class, other.ID)
	var roster struct {
		Pupils []struct {
			ID           int64
			CardIssuedAt *time.Time `json:"card_issued_at"`
		}
	}
	teacher.Do("GET", fmt.Sprintf("/api/v1/classes/%d/pupils", class), nil).JSON(t, &roster)
	for _, p := range roster.Pupils {
		if (p.CardIssuedAt != nil) != (p.ID == other.ID) {
			t.Errorf("roster: pupil %d card_issued_at %v, want set only for %d", p.ID, p.CardIssuedAt, other.ID)
		}
	}
}

// Cards are printed and withdrawn only by staff who manage the class (its
// teacher, organizers whose region holds it, admins): not by another
// class's teacher, not for a pupil of another class named through one's
// own, not by an organizer of another district, pupils or visitors.
func TestJoinCardScope(t *testing.T) {
	t.Parallel()
	inst := apptest.Start(t)
	ctx := context.Background()
	own, foreign := inst.Seed.ClassIDs[0], inst.Seed.ClassIDs[1]
	admin := inst.Login("demo-admin", inst.DemoPassword("demo-admin"))
	teacher := inst.Login("demo-teacher", inst.DemoPassword("demo-teacher"))
	mk := func(c *apptest.Client, class int64, name string) int64 {
		r := c.Do("POST", fmt.Sprintf("/api/v1/classes/%d/pupils", class), map[string]any{"names": []string{name}})
		apptest.Expect(t, r, 201, "create pupil in "+strconv.FormatInt(class, 10))
		var made struct{ Pupils []struct{ ID int64 } }
		r.JSON(t, &made)
		return made.Pupils[0].ID
	}
	mine := mk(teacher, own, "本班")
	theirs := mk(admin, foreign, "外班")
	live := func(uid int64) int {
		var n int
		inst.App.DB.QueryRow(ctx, `SELECT count(*) FROM login_tokens WHERE user_id = $1 AND revoked_at IS NULL`, uid).Scan(&n)
		return n
	}
	printCards(t, admin, foreign)
	if live(theirs) != 1 {
		t.Fatal("admin could not print the other class's card")
	}

	for _, tc := range []struct {
		what   string
		method string
		path   string
		body   any
		status int
	}{
		{"print another class", "POST", fmt.Sprintf("/api/v1/classes/%d/cards", foreign), map[string]any{}, 403},
		{"withdraw another class", "DELETE", fmt.Sprintf("/api/v1/classes/%d/cards", foreign), nil, 403},
		{"withdraw another class's pupil", "DELETE", fmt.Sprintf("/api/v1/classes/%d/pupils/%d/card", foreign, theirs), nil, 403},
		{"print a foreign pupil through one's own class", "POST", fmt.Sprintf("/api/v1/classes/%d/cards", own), map[string]any{"user_ids": []int64{mine, theirs}}, 404},
		{"withdraw a foreign pupil through one's own class", "DELETE", fmt.Sprintf("/api/v1/classes/%d/pupils/%d/card", own, theirs), nil, 404},
	} {
		r := teacher.Do(tc.method, tc.path, tc.body)
		if r.Status != tc.status {
			t.Errorf("%s: got %d %s, want %d", tc.what, r.Status, r.Body, tc.status)
		}
	}
	if live(theirs) != 1 || live(mine) != 0 {
		t.Errorf("after refused requests: foreign pupil %d live cards (want 1), own pupil %d (want 0)", live(theirs), live(mine))
	}
	anon := inst.Client()
	apptest.Expect(t, anon.Do("POST", fmt.Sprintf("/api/v1/classes/%d/cards", own), map[string]any{}), 401, "anonymous")
	apptest.Expect(t, inst.Login("demo-citizen", inst.DemoPassword("demo-citizen")).Do("POST", fmt.Sprintf("/api/v1/classes/%d/cards", own), map[string]any{}), 403, "participant")
	_, opw := inst.CreateUser("org-dingcheng", "organizer", inst.Seed.DistrictIDs["430703"])
	apptest.Expect(t, inst.Login("org-dingcheng", opw).Do("POST", fmt.Sprintf("/api/v1/classes/%d/cards", own), map[string]any{}), 403, "organizer of another district")
	printCards(t, inst.Login("demo-organizer", inst.DemoPassword("demo-organizer")), own, mine) // the city's organizer
	printCards(t, teacher, own)
	if live(mine) != 1 {
		t.Errorf("own class: %d live cards, want 1", live(mine))
	}
}

// A school behind one address scans its cards at 100 a second, each pupil
// opening /card and posting the token from a new browser: none is refused.
// make test runs 500 pupils over 5 s; issue #16's full school (2,000 over
// 20 s, KEPU_TEST_CARD_PUPILS=2000) and its latency figures are measured
// for docs/benchmarks.md, where the timings are logged, not asserted.
func TestSchoolCardLoginsFromOneAddress(t *testing.T) {
	if testing.Short() {
		t.Skip("hundreds of logins")
	}
	inst := apptest.Start(t)
	n := 500
	if v, err := strconv.Atoi(os.Getenv("KEPU_TEST_CARD_PUPILS")); err == nil && v > 0 && v <= 10000 {
		n = v
	}
	ramp := time.Duration(n) * 10 * time.Millisecond // 100 a second; KEPU_TEST_CARD_RAMP=1s for a harsher burst (docs/benchmarks.md)
	if v, err := time.ParseDuration(os.Getenv("KEPU_TEST_CARD_RAMP")); err == nil && v > 0 {
		ramp = v
	}
	bulkPupils(t, inst, n)
	admin := inst.Login("demo-admin", inst.DemoPassword("demo-admin"))
	p := printCards(t, admin, inst.Seed.ClassIDs[0])
	if len(p.Cards) < n {
		t.Fatalf("printed %d cards, want at least %d", len(p.Cards), n)
	}
	lat := make([]time.Duration, n)
	fails := make([]string, n)
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < n; i++ {
		time.Sleep(time.Until(start.Add(ramp * time.Duration(i) / time.Duration(n)))) // the arrival schedule, not a wait for a condition
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := inst.Client()
			t0 := time.Now()
			if r := c.Do("GET", "/card", nil); r.Status != 200 {
				fails[i] = fmt.Sprintf("GET /card: %d", r.Status)
				return
			}
			r := cardLogin(c, cardToken(t, p.Cards[i].URL))
			lat[i] = time.Since(t0)
			if r.Status != 200 {
				fails[i] = fmt.Sprintf("%d %s", r.Status, r.Body)
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	refused := 0
	for i, f := range fails {
		if f != "" {
			if refused == 0 {
				t.Errorf("pupil %d refused: %s", i, f)
			}
			refused++
		}
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	p50, p99, worst := lat[n/2], lat[n*99/100], lat[n-1]
	t.Logf("%d card logins from one address over a %v ramp: all done in %v, refused %d; scan-to-logged-in p50 %v p99 %v max %v",
		n, ramp, took.Round(time.Millisecond), refused, p50.Round(time.Millisecond), p99.Round(time.Millisecond), worst.Round(time.Millisecond))
	if refused > 0 {
		t.Errorf("%d of %d pupils refused, want none", refused, n)
	}
}

// When every password-hash slot stays busy for KEPU_HASH_WAIT, a password
// login answers 503 "busy, retry in N s" with Retry-After at once instead
// of queueing, and the refused attempts do not count towards the account's
// lockout; card logins, which hash nothing, go on.
func TestPasswordLoginBusy(t *testing.T) {
	inst := apptest.Start(t, apptest.Options{Env: map[string]string{"KEPU_MAX_HASHES": "1", "KEPU_HASH_WAIT": "100ms"}})
	ctx := context.Background()
	_, pw := inst.CreateUser("pupil-busy", "participant")
	slot, err := inst.App.Accounts.Hasher.Acquire(ctx) // the one slot, held as a long hash would
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 8; i++ {
		c := inst.Client()
		if i%2 == 1 {
			c.Lang = "en"
		}
		t0 := time.Now()
		r := loginAs(c, "pupil-busy", pw, "")
		apptest.Expect(t, r, 503, "login while every hash slot is busy")
		if d := time.Since(t0); d > 2*time.Second {
			t.Errorf("busy answer took %v, want about KEPU_HASH_WAIT", d)
		}
		secs, err := strconv.Atoi(r.Header.Get("Retry-After"))
		if err != nil || secs < 1 || secs > 30 {
			t.Errorf("Retry-After %q, want 1..30 seconds", r.Header.Get("Retry-After"))
		}
		want := fmt.Sprintf("请 %d 秒后再试", secs)
		if c.Lang == "en" {
			want = fmt.Sprintf("try again in %d second", secs) // second or seconds
		}
		if !strings.Contains(r.ErrorMessage(), want) {
			t.Errorf("busy message %q, want it to contain %q", r.ErrorMessage(), want)
		}
	}
	slot.Release()
	for i := 0; i < 4; i++ {
		apptest.Expect(t, loginAs(inst.Client(), "pupil-busy", "wrong", ""), 401, fmt.Sprintf("free failure %d after the busy answers", i+1))
	}
	apptest.Expect(t, loginAs(inst.Client(), "pupil-busy", pw, ""), 200, "the 5th attempt: the 503s were not counted")
}

// A withdrawn or replaced card logs nobody in any more: the sessions it
// started end at once (a lost card found by someone else), on another
// instance too, while the pupil's password sessions and the other pupils'
// card sessions go on.
func TestWithdrawnCardEndsItsSessions(t *testing.T) {
	t.Parallel()
	inst := apptest.Start(t)
	other := apptest.Start(t, apptest.Options{Shared: inst})
	class := inst.Seed.ClassIDs[0]
	teacher := inst.Login("demo-teacher", inst.DemoPassword("demo-teacher"))
	made := makePupils(t, teacher, class, "小明", "小红")
	tokens := map[int64]string{}
	for _, c := range printCards(t, teacher, class).Cards {
		tokens[c.ID] = cardToken(t, c.URL)
	}
	ming, hong := made.Pupils[0], made.Pupils[1]
	// Each phone is served by the other instance, which caches its session.
	signedIn := func(c *apptest.Client) int {
		o := other.Client()
		o.HTTP.Jar = c.HTTP.Jar
		return o.Do("GET", "/api/v1/me", nil).Status
	}
	found := inst.Client() // whoever picked up 小明's card
	apptest.Expect(t, cardLogin(found, tokens[ming.ID]), 200, "card login")
	own := inst.Login(ming.Username, ming.Password)
	hongPhone := inst.Client()
	apptest.Expect(t, cardLogin(hongPhone, tokens[hong.ID]), 200, "another pupil's card login")
	for _, c := range []*apptest.Client{found, own, hongPhone} {
		if st := signedIn(c); st != 200 {
			t.Fatalf("before: /me %d, want 200", st)
		}
	}

	// Replacing the card ends the session it started, not the password one.
	fresh := cardToken(t, printCards(t, teacher, class, ming.ID).Cards[0].URL)
	if st := signedIn(found); st != 401 {
		t.Errorf("session of a replaced card: /me %d, want 401", st)
	}
	if st := signedIn(own); st != 200 {
		t.Errorf("password session after the card was replaced: /me %d, want 200", st)
	}
	again := inst.Client()
	apptest.Expect(t, cardLogin(again, fresh), 200, "the new card")

	// Withdrawing the class's cards ends every card session of the class.
	apptest.Expect(t, teacher.Do("DELETE", fmt.Sprintf("/api/v1/classes/%d/cards", class), nil), 200, "withdraw the class's cards")
	for name, c := range map[string]*apptest.Client{"小明's new card": again, "小红's card": hongPhone} {
		if st := signedIn(c); st != 401 {
			t.Errorf("%s after the withdrawal: /me %d, want 401", name, st)
		}
	}
	if st := signedIn(own); st != 200 {
		t.Errorf("password session after the withdrawal: /me %d, want 200", st)
	}
}
