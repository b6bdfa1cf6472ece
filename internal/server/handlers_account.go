package server

import (
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/kepu/kepu/internal/account"
	"github.com/kepu/kepu/internal/i18n"
	"github.com/kepu/kepu/internal/kepu"
	"github.com/kepu/kepu/internal/ratelimit"
)

// Abuse limits of registration and of password checks by a logged-in user
// (password change, account deletion: a stolen session must not become a
// password-guessing oracle). Per user, apart from the login limits
// (login_guard.go), so that a stranger's wrong logins never block them.
var (
	ruleRegisterIP    = ratelimit.Rule{Name: "register-ip", Burst: 20, Period: time.Hour}
	rulePasswordCheck = ratelimit.Rule{Name: "password-check", Burst: 5, Period: 15 * time.Minute}
	// A password recovery (recovery.go) counts against the address and
	// the username, whether it succeeds or not: with codes of 79 random
	// bits these only keep the endpoint from being hammered.
	ruleRecoverIP   = ratelimit.Rule{Name: "recover-ip", Burst: 20, Period: time.Hour}
	ruleRecoverUser = ratelimit.Rule{Name: "recover-user", Burst: 5, Period: time.Hour}
)

func (s *Server) accountRoutes(api fiber.Router) {
	api.Get("/csrf", func(c *fiber.Ctx) error { return c.JSON(fiber.Map{"token": s.csrfToken(c)}) })
	api.Post("/auth/register", s.register)
	api.Post("/auth/login", s.login)
	api.Post("/auth/card", s.cardLogin)
	api.Post("/auth/logout", s.logout)
	api.Post("/auth/recover", s.recoverPassword)
	me := api.Group("/me", s.requireLogin)
	me.Get("", s.getMe)
	me.Patch("", s.patchMe)
	me.Post("/password", s.changePassword)
	me.Get("/export", s.exportMe)
	me.Get("/recovery-codes", s.recoveryStatus)
	me.Post("/recovery-codes", s.newRecoveryCodes)
	me.Delete("", s.deleteMe)
}

// startSession logs the user in: a new session replaces any the client held.
func (s *Server) startSession(c *fiber.Ctx, u *account.User) error {
	return s.startSessionWith(c, u, "")
}

// startSessionWith is startSession for a login by join card (card: the
// card's token, "" for none): withdrawing the card ends the session.
func (s *Server) startSessionWith(c *fiber.Ctx, u *account.User, card string) error {
	var sess account.Session
	var err error
	if card != "" {
		sess, err = s.accounts.StartCardSession(c.UserContext(), u.ID, card, c.Cookies(sessionCookie), c.IP(), c.Get(fiber.HeaderUserAgent))
	} else {
		sess, err = s.accounts.StartSession(c.UserContext(), u.ID, c.Cookies(sessionCookie), c.IP(), c.Get(fiber.HeaderUserAgent))
	}
	if err != nil {
		return err
	}
	s.setCookie(c, sessionCookie, sess.Token, s.cfg.SessionMax, true)
	if err := s.keepPickedLang(c, u); err != nil {
		return err
	}
	s.setCookie(c, langCookie, u.Lang, 365*24*time.Hour, false)
	return nil
}

// keepPickedLang saves the language the visitor chose before logging in
// (langPickCookie) with the account u now logged in, so that choosing
// English on the login page survives the login; without such a choice the
// account's own language stands. The choice is used once, by the first
// account: a guest (whose language is the browser's anyway) leaves it for
// the account the guest may log in to later.
func (s *Server) keepPickedLang(c *fiber.Ctx, u *account.User) error {
	pick := c.Cookies(langPickCookie)
	if pick == "" || u.IsGuest() {
		return nil
	}
	s.clearCookie(c, langPickCookie)
	if pick = i18n.Lang(pick); pick == u.Lang {
		return nil
	}
	if err := s.accounts.SetLang(c.UserContext(), u.ID, pick); err != nil {
		return err
	}
	u.Lang = pick
	return nil
}

func (s *Server) register(c *fiber.Ctx) error {
	var in account.Registration
	if err := decodeJSON(c, &in, smallBody); err != nil {
		return err
	}
	if err := s.limiter.Allow(c.UserContext(), ruleRegisterIP, c.IP()); err != nil {
		return err
	}
	if in.Lang == "" {
		in.Lang = langOf(c)
	}
	guest := currentUser(c)
	u, err := s.accounts.Register(c.UserContext(), in)
	if err != nil {
		return err
	}
	if err := s.startSession(c, &u); err != nil {
		return err
	}
	s.mergeGuest(c, guest, u)
	s.creditInvite(c, u.ID, true)
	// The browser that created the account is known to it (login_guard.go).
	s.setCookie(c, deviceCookie, s.issueDevice(c.Cookies(deviceCookie), normalizeLogin(u.Username), s.accounts.Now()), deviceMaxAge, true)
	codes, err := s.accounts.NewRecoveryCodes(c.UserContext(), kepu.Actor{UserID: u.ID, Role: u.Role, IP: c.IP()})
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Status(fiber.StatusCreated).JSON(registered{User: u, RecoveryCodes: codes})
}

// registered is the answer to a registration: the account and its
// recovery codes, shown once.
type registered struct {
	account.User
	RecoveryCodes []string `json:"recovery_codes"`
}

type loginInput struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// login checks credentials under the login limits (login_guard.go): a
// browser with a device cookie for the account is exempt from the account's
// backoff and the address's limits; the same answers whether or not the
// account exists.
func (s *Server) login(c *fiber.Ctx) error {
	var in loginInput
	if err := decodeJSON(c, &in, smallBody); err != nil {
		return err
	}
	ctx := c.UserContext()
	// A hash slot first: a login beyond capacity gets 503 "busy, retry in
	// N s" after a short wait, before any limit counts the attempt.
	slot, err := s.accounts.Hasher.Acquire(ctx)
	if err != nil {
		return err
	}
	defer slot.Release()
	at, err := s.beginLogin(c, normalizeLogin(in.Username))
	if err != nil {
		return err
	}
	u, err := s.accounts.AuthenticateIn(ctx, slot, in.Username, in.Password)
	if err == account.ErrBadCredentials {
		if ferr := at.failed(ctx); ferr != nil {
			return ferr
		}
		return err
	}
	if err != nil {
		return err
	}
	if err := at.succeeded(ctx); err != nil {
		return err
	}
	guest := currentUser(c)
	if err := s.startSession(c, &u); err != nil {
		return err
	}
	s.mergeGuest(c, guest, u)
	s.creditInvite(c, u.ID, false)
	return c.JSON(u)
}

// mergeGuest hands what the guest prev (the session the browser held
// before it registered or logged in as u; nil or not a guest: nothing)
// played to u: attempts, results and certificates in one transaction
// (account.MergeGuest), then each campaign's leaderboard place. A failure
// is logged and the login stands: the guest's results stay the guest's,
// and boards are rebuildable from Postgres.
func (s *Server) mergeGuest(c *fiber.Ctx, prev *account.User, u account.User) {
	if prev == nil || !prev.IsGuest() {
		return
	}
	ctx := c.UserContext()
	campaigns, err := s.accounts.MergeGuest(ctx, kepu.Actor{UserID: u.ID, Role: u.Role, IP: c.IP()}, prev.ID)
	if err != nil {
		s.log.Error("merge guest", "request_id", requestID(c), "guest", prev.ID, "user", u.ID, "err", err)
		return
	}
	for _, id := range campaigns {
		if err := s.boards.MoveUser(ctx, id, prev.ID, u.ID); err != nil {
			s.log.Error("merge guest: leaderboard", "request_id", requestID(c), "campaign", id, "err", err)
		}
	}
}

func normalizeLogin(s string) string {
	b := []rune(s)
	if len(b) > 64 {
		b = b[:64]
	}
	out := make([]rune, 0, len(b))
	for _, r := range b {
		if r >= 'A' && r <= 'Z' {
			r += 'a' - 'A'
		}
		if r != ' ' {
			out = append(out, r)
		}
	}
	return string(out)
}

func (s *Server) logout(c *fiber.Ctx) error {
	if token := c.Cookies(sessionCookie); token != "" {
		if err := s.accounts.EndSession(c.UserContext(), token); err != nil {
			return err
		}
	}
	s.clearCookie(c, sessionCookie)
	return c.SendStatus(fiber.StatusNoContent)
}

func (s *Server) getMe(c *fiber.Ctx) error { return c.JSON(currentUser(c)) }

func (s *Server) patchMe(c *fiber.Ctx) error {
	var in account.Profile
	if err := decodeJSON(c, &in, smallBody); err != nil {
		return err
	}
	u, err := s.accounts.UpdateProfile(c.UserContext(), currentUser(c).ID, in)
	if err != nil {
		return err
	}
	s.setCookie(c, langCookie, u.Lang, 365*24*time.Hour, false)
	return c.JSON(u)
}

type passwordInput struct {
	OldPassword string `json:"old_password"`
	NewPassword string `json:"new_password"`
}

func (s *Server) changePassword(c *fiber.Ctx) error {
	var in passwordInput
	if err := decodeJSON(c, &in, smallBody); err != nil {
		return err
	}
	u := currentUser(c)
	if err := s.limiter.Allow(c.UserContext(), rulePasswordCheck, strconv.FormatInt(u.ID, 10)); err != nil {
		return err
	}
	if err := s.accounts.ChangePassword(c.UserContext(), *u, in.OldPassword, in.NewPassword, c.Cookies(sessionCookie)); err != nil {
		return err
	}
	return c.JSON(fiber.Map{"message": s.i18n.T(langOf(c), "profile.password_changed", nil)})
}

func (s *Server) exportMe(c *fiber.Ctx) error {
	data, err := s.accounts.Export(c.UserContext(), currentUser(c).ID)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="kepu-my-data.json"`)
	return c.JSON(data)
}

type deleteInput struct {
	Password string `json:"password"`
}

func (s *Server) deleteMe(c *fiber.Ctx) error {
	var in deleteInput
	if err := decodeJSON(c, &in, smallBody); err != nil {
		return err
	}
	u := currentUser(c)
	if in.Password == "" {
		return kepu.Invalid("password", "error.confirm_delete")
	}
	if err := s.checkOwnPassword(c, u, in.Password); err != nil {
		return err
	}
	a, err := actor(c)
	if err != nil {
		return err
	}
	if err := s.accounts.Delete(c.UserContext(), a); err != nil {
		return err
	}
	s.clearCookie(c, sessionCookie)
	return c.SendStatus(fiber.StatusNoContent)
}

// switchLang (POST /lang, a CSRF-protected form: lang, next, _csrf) sets
// the language cookie, saves the language with the logged-in user's
// account, and returns to the page the user was on (next, checked by
// safeNext).
func (s *Server) switchLang(c *fiber.Ctx) error {
	lang := i18n.Lang(c.FormValue("lang"))
	s.setCookie(c, langCookie, lang, 365*24*time.Hour, false)
	s.pickLang(c, lang)
	if u := currentUser(c); u != nil && u.Lang != lang {
		if err := s.accounts.SetLang(c.UserContext(), u.ID, lang); err != nil {
			return err
		}
	}
	return redirectNext(c, c.FormValue("next"))
}

// pickLang remembers lang, chosen by a visitor with no account logged in
// (nobody, or a guest), for the next login or registration
// (keepPickedLang); an account's own choice is saved with it at once.
func (s *Server) pickLang(c *fiber.Ctx, lang string) {
	if u := currentUser(c); u != nil && !u.IsGuest() {
		s.clearCookie(c, langPickCookie)
		return
	}
	s.setCookie(c, langPickCookie, lang, 365*24*time.Hour, true)
}

// langCookieOnly (GET /lang/:lang, for links from outside) sets only the
// language cookie of this browser and returns to next: a GET changes no
// saved state (the account's language changes through switchLang or the
// profile).
func (s *Server) langCookieOnly(c *fiber.Ctx) error {
	lang := i18n.Lang(c.Params("lang"))
	s.setCookie(c, langCookie, lang, 365*24*time.Hour, false)
	s.pickLang(c, lang)
	return redirectNext(c, c.Query("next"))
}

// recoverPassword (POST /api/v1/auth/recover) sets a new password with a
// recovery code and logs the account in; limited per address and per
// username (every request counts). The login backoff of the username ends:
// its owner just proved who they are.
func (s *Server) recoverPassword(c *fiber.Ctx) error {
	var in account.Recovery
	if err := decodeJSON(c, &in, smallBody); err != nil {
		return err
	}
	ctx := c.UserContext()
	if err := s.limiter.Allow(ctx, ruleRecoverIP, c.IP()); err != nil {
		return err
	}
	if err := s.limiter.Allow(ctx, ruleRecoverUser, normalizeLogin(in.Username)); err != nil {
		return err
	}
	u, left, err := s.accounts.Recover(ctx, in, c.IP())
	if err != nil {
		return err
	}
	if err := s.limiter.ResetBackoff(ctx, backoffLogin, normalizeLogin(u.Username)); err != nil {
		return err
	}
	if err := s.startSession(c, &u); err != nil {
		return err
	}
	return c.JSON(fiber.Map{"user": u, "remaining": left,
		"message": s.i18n.T(langOf(c), "accounts.recover_done", map[string]any{"n": left})})
}

func (s *Server) recoveryStatus(c *fiber.Ctx) error {
	u := currentUser(c)
	if u.IsGuest() {
		return account.ErrGuestNoPassword
	}
	st, err := s.accounts.RecoveryStatus(c.UserContext(), u.ID)
	if err != nil {
		return err
	}
	return c.JSON(st)
}

// newRecoveryCodes (POST /api/v1/me/recovery-codes, the password again)
// replaces the user's recovery codes and returns the new set once: a
// stolen session alone cannot make codes that take the account over.
func (s *Server) newRecoveryCodes(c *fiber.Ctx) error {
	var in deleteInput
	if err := decodeJSON(c, &in, smallBody); err != nil {
		return err
	}
	u := currentUser(c)
	if u.IsGuest() {
		return account.ErrGuestNoPassword
	}
	if err := s.checkOwnPassword(c, u, in.Password); err != nil {
		return err
	}
	a, err := actor(c)
	if err != nil {
		return err
	}
	codes, err := s.accounts.NewRecoveryCodes(c.UserContext(), a)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Status(fiber.StatusCreated).JSON(fiber.Map{"recovery_codes": codes})
}

// checkOwnPassword confirms a logged-in user's password (deletion, new
// recovery codes) under rulePasswordCheck.
func (s *Server) checkOwnPassword(c *fiber.Ctx, u *account.User, password string) error {
	if password == "" {
		return kepu.Invalid("password", "error.bad_password")
	}
	if err := s.limiter.Allow(c.UserContext(), rulePasswordCheck, strconv.FormatInt(u.ID, 10)); err != nil {
		return err
	}
	if _, err := s.accounts.Authenticate(c.UserContext(), u.Username, password); err != nil {
		return kepu.Invalid("password", "error.bad_password")
	}
	return nil
}
