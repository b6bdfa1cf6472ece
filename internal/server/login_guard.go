package server

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/kepu/kepu/internal/kepu"
	"github.com/kepu/kepu/internal/ratelimit"
)

// Login limits: OWASP's "lockout without denial of service" with device
// cookies. docs/security.md explains the numbers; in short:
//
//   - An attempt that presents a valid device cookie for the username (one
//     that an earlier successful login on this browser issued) is trusted:
//     it is exempt from the per-account backoff and the per-address limits,
//     and has its own budget of 10 attempts per 15 minutes (ruleLoginDevice;
//     each success issues a fresh entry) so that a stolen cookie cannot
//     guess; a cookie whose budget is spent counts for nothing.
//   - Every other attempt is untrusted: it passes the per-account backoff
//     (backoffLogin: 4 free attempts, then 1 s, 2 s, 4 s … at most 15 min
//     between attempts; a success ends it) and the per-address limits.
//   - Per address, only failures are limited: 500 per 10 minutes, 5,000
//     for an address a school has registered (org.Service.SetSchoolNetworks).
//     A school of 2,000 pupils logging in at once with one in five
//     mistyping a printed password makes ≈ 400 failures. Successes are
//     bounded only by a ceiling of 6,000 untrusted attempts per 10 minutes
//     (three logins per pupil of a 2,000-pupil school; registered
//     addresses have none) that keeps one address from running argon2 at
//     will.
//
// Attempts refused by a limit cost no password hash and take nothing from
// the failure budgets (only from the ceiling). Join-card logins (cards.go)
// are admitted by beginCardLogin under their own address limits and settle
// through the same failed and succeeded, so they issue the same device
// cookie (see docs/security.md).
var (
	ruleLoginIP         = ratelimit.Rule{Name: "login-ip", Burst: 6000, Period: 10 * time.Minute}
	ruleLoginIPFail     = ratelimit.Rule{Name: "login-ip-fail", Burst: 500, Period: 10 * time.Minute}
	ruleLoginSchoolFail = ratelimit.Rule{Name: "login-school-fail", Burst: 4500, Period: 10 * time.Minute} // on top of ruleLoginIPFail
	ruleLoginDevice     = ratelimit.Rule{Name: "login-device", Burst: 10, Period: 15 * time.Minute}
	ruleLoginCardIP     = ratelimit.Rule{Name: "login-card-ip", Burst: 10000, Period: 10 * time.Minute}
	ruleLoginCardFail   = ratelimit.Rule{Name: "login-card-fail", Burst: 100, Period: 10 * time.Minute}
	backoffLogin        = ratelimit.Backoff{Name: "login-backoff", Free: 5, Base: time.Second, Max: 15 * time.Minute, Forget: 24 * time.Hour}
)

// Device cookies: kepu_device holds up to maxDevices entries separated by
// '.', newest first, one per account that logged in on this browser. An
// entry is base64url(issued unix seconds (8 bytes) | random id (8 bytes) |
// HMAC-SHA256(secret, "device:" + account + ":" + first 16 bytes)[:16]):
// the MAC binds it to the normalized username without naming it, so the
// cookie reveals nothing and cannot be moved to another account.
const (
	deviceCookie    = "kepu_device"
	deviceMaxAge    = 365 * 24 * time.Hour
	maxDevices      = 5
	deviceEntryLen  = 32
	deviceEntryText = 43 // base64url of 32 bytes, no padding
)

// loginAttempt is one login in progress under the limits: beginLogin
// admits it, then exactly one of failed or succeeded settles it. Budgets
// are spent when the attempt is admitted, before the password is checked,
// so that parallel requests cannot slip past them; a success gives back
// what it took from the per-address failure budgets.
type loginAttempt struct {
	s       *Server
	c       *fiber.Ctx
	acct    string // normalized username: the per-account key
	ip      string
	trusted bool             // a valid device cookie for acct with failure budget left
	spent   []ratelimit.Rule // per-address failure budgets this attempt took from
	now     time.Time
	school  *bool // whether ip is a registered school address, once asked
	card    bool  // a join-card login (beginCardLogin): acct is set once the card is known
}

// beginCardLogin admits a join-card login (cards.go), or returns the 429 or
// 503 to answer with. A card's token is 128 random bits, so there is no
// per-account backoff and no password hash; per address, every card login
// counts against a ceiling of 10,000 per 10 minutes (five per pupil of a
// 2,000-pupil school behind one NAT), and only failed ones (unknown or
// revoked cards) against a budget of 100 per 10 minutes, checked here and
// spent by failed.
func (s *Server) beginCardLogin(c *fiber.Ctx) (*loginAttempt, error) {
	ctx := c.UserContext()
	at := &loginAttempt{s: s, c: c, ip: c.IP(), now: s.accounts.Now(), card: true}
	if err := s.limiter.Allow(ctx, ruleLoginCardIP, at.ip); err != nil {
		return nil, err
	}
	if err := s.limiter.Check(ctx, ruleLoginCardFail, at.ip); err != nil {
		return nil, err
	}
	return at, nil
}

// beginLogin admits an attempt to log in to acct (a normalized username),
// or returns the 429 (locked account, busy address) or 503 (Redis down)
// error to answer with. It never reveals whether acct exists.
func (s *Server) beginLogin(c *fiber.Ctx, acct string) (*loginAttempt, error) {
	ctx := c.UserContext()
	at := &loginAttempt{s: s, c: c, acct: acct, ip: c.IP(), now: s.accounts.Now()}
	if device := s.deviceFor(c.Cookies(deviceCookie), acct, at.now); device != "" {
		err := s.limiter.Allow(ctx, ruleLoginDevice, device)
		if err == nil {
			at.trusted = true
			return at, nil
		}
		if kepu.ErrorCode(err) != kepu.ERATELIMIT {
			return nil, err // a spent cookie budget only makes the attempt untrusted
		}
	}
	if err := s.limiter.Allow(ctx, ruleLoginIP, at.ip); err != nil {
		if ok, serr := at.registered(ctx, err); !ok {
			return nil, serr
		}
	}
	if err := s.limiter.Allow(ctx, ruleLoginIPFail, at.ip); err == nil {
		at.spent = append(at.spent, ruleLoginIPFail)
	} else {
		if ok, serr := at.registered(ctx, err); !ok {
			return nil, serr
		}
		if err := s.limiter.Allow(ctx, ruleLoginSchoolFail, at.ip); err != nil {
			return nil, err
		}
		at.spent = append(at.spent, ruleLoginSchoolFail)
	}
	if err := s.limiter.Begin(ctx, backoffLogin, acct, at.now); err != nil {
		if rerr := at.refund(ctx); rerr != nil {
			return nil, rerr
		}
		return nil, lockedOut(err)
	}
	return at, nil
}

// registered decides what a spent per-address budget means: for a
// registered school address, go on (true); otherwise the limit's error.
func (at *loginAttempt) registered(ctx context.Context, limitErr error) (bool, error) {
	if kepu.ErrorCode(limitErr) != kepu.ERATELIMIT {
		return false, limitErr
	}
	if at.school == nil {
		ok, err := at.s.org.RegisteredNetwork(ctx, at.ip)
		if err != nil {
			return false, err
		}
		at.school = &ok
	}
	if !*at.school {
		return false, limitErr
	}
	return true, nil
}

// refund gives back the per-address failure budget the attempt took.
func (at *loginAttempt) refund(ctx context.Context) error {
	for _, r := range at.spent {
		if err := at.s.limiter.Refund(ctx, r, at.ip); err != nil {
			return err
		}
	}
	at.spent = nil
	return nil
}

// failed records wrong credentials: the budgets are already spent; an
// untrusted attempt also starts the account's wait; a card login spends
// the address's card failure budget.
func (at *loginAttempt) failed(ctx context.Context) error {
	if at.card {
		err := at.s.limiter.Allow(ctx, ruleLoginCardFail, at.ip)
		if kepu.ErrorCode(err) == kepu.ERATELIMIT {
			return nil // a spent budget refuses the next attempt, not this one
		}
		return err
	}
	if at.trusted {
		return nil
	}
	return at.s.limiter.Fail(ctx, backoffLogin, at.acct, at.s.accounts.Now())
}

// succeeded ends the account's backoff, gives back the address's failure
// budget, and gives this browser a (new) device cookie entry for the
// account.
func (at *loginAttempt) succeeded(ctx context.Context) error {
	if err := at.refund(ctx); err != nil {
		return err
	}
	if err := at.s.limiter.ResetBackoff(ctx, backoffLogin, at.acct); err != nil {
		return err
	}
	at.s.setCookie(at.c, deviceCookie, at.s.issueDevice(at.c.Cookies(deviceCookie), at.acct, at.now), deviceMaxAge, true)
	return nil
}

func (s *Server) deviceMAC(acct string, head []byte) []byte {
	m := hmac.New(sha256.New, s.cfg.SecretKey)
	m.Write([]byte("device:" + acct + ":"))
	m.Write(head)
	return m.Sum(nil)[:16]
}

// deviceEntries splits a kepu_device cookie into its well-formed, unexpired
// entries (raw bytes), at most maxDevices.
func deviceEntries(cookie string, now time.Time) [][]byte {
	if len(cookie) > maxDevices*(deviceEntryText+1) {
		return nil
	}
	var out [][]byte
	for _, e := range strings.Split(cookie, ".") {
		b, err := base64.RawURLEncoding.DecodeString(e)
		if err != nil || len(b) != deviceEntryLen {
			continue
		}
		issued := time.Unix(int64(binary.BigEndian.Uint64(b[:8])), 0)
		if issued.After(now.Add(time.Hour)) || now.Sub(issued) > deviceMaxAge {
			continue
		}
		out = append(out, b)
	}
	return out
}

// deviceFor returns the budget id of the cookie's valid entry for acct, or "".
func (s *Server) deviceFor(cookie, acct string, now time.Time) string {
	for _, b := range deviceEntries(cookie, now) {
		if hmac.Equal(b[16:], s.deviceMAC(acct, b[:16])) {
			return base64.RawURLEncoding.EncodeToString(b[:16])
		}
	}
	return ""
}

// issueDevice returns the cookie value after a successful login to acct: a
// new entry for acct first, then the other accounts' entries (older ones
// dropped beyond maxDevices).
func (s *Server) issueDevice(cookie, acct string, now time.Time) string {
	b := make([]byte, deviceEntryLen)
	binary.BigEndian.PutUint64(b[:8], uint64(now.Unix()))
	rand.Read(b[8:16])
	copy(b[16:], s.deviceMAC(acct, b[:16]))
	parts := []string{base64.RawURLEncoding.EncodeToString(b)}
	for _, e := range deviceEntries(cookie, now) {
		if len(parts) == maxDevices {
			break
		}
		if hmac.Equal(e[16:], s.deviceMAC(acct, e[:16])) {
			continue
		}
		parts = append(parts, base64.RawURLEncoding.EncodeToString(e))
	}
	return strings.Join(parts, ".")
}

// lockedOut turns a backoff refusal into the login lock-out message: in
// seconds for short waits, in minutes for long ones.
func lockedOut(err error) error {
	var ke *kepu.Error
	if errors.As(err, &ke) && ke.Code == kepu.ERATELIMIT {
		c := *ke
		c.Key = "error.login_locked"
		if secs, ok := ke.Params["seconds"].(int); ok && secs < 120 {
			c.Key = "error.login_wait"
		}
		return &c
	}
	return err
}
