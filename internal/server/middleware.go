package server

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/kepu/kepu/internal/account"
	"github.com/kepu/kepu/internal/i18n"
	"github.com/kepu/kepu/internal/kepu"
)

// Cookie names.
const (
	sessionCookie = "kepu_session"
	csrfCookie    = "kepu_csrf"
	langCookie    = "kepu_lang"
	// langPickCookie holds a language chosen while no account was logged
	// in (the login or registration page): the next login or registration
	// saves it with the account instead of the account's old language.
	langPickCookie = "kepu_lang_pick"
	csrfHeader     = "X-CSRF-Token"
	csrfField      = "_csrf" // the token in a form posted without JavaScript
)

func toString(v any) string { return fmt.Sprint(v) }

// requestID tags every request with an id, taken from X-Request-ID only when
// it is short and plain, and echoed in the response.
func (s *Server) requestIDMiddleware(c *fiber.Ctx) error {
	id := c.Get(fiber.HeaderXRequestID)
	if len(id) == 0 || len(id) > 64 || strings.ContainsFunc(id, func(r rune) bool { return r <= ' ' || r > '~' }) {
		b := make([]byte, 8)
		rand.Read(b)
		id = hex.EncodeToString(b)
	}
	c.Locals("request_id", id)
	c.Set(fiber.HeaderXRequestID, id)
	return c.Next()
}

func requestID(c *fiber.Ctx) string {
	id, _ := c.Locals("request_id").(string)
	return id
}

// logMiddleware logs one line per request; never cookies, bodies or queries.
func (s *Server) logMiddleware(c *fiber.Ctx) error {
	start := time.Now()
	err := c.Next()
	if err != nil {
		if herr := s.App.ErrorHandler(c, err); herr != nil {
			c.Status(fiber.StatusInternalServerError)
		}
	}
	status := c.Response().StatusCode()
	route := c.Route().Path
	s.metrics.observe(c.Method(), route, status, time.Since(start))
	if strings.HasPrefix(c.Path(), "/static/") && status < 400 {
		return nil
	}
	s.log.Info("request", "request_id", requestID(c), "method", c.Method(), "path", c.Path(),
		"status", status, "took_ms", time.Since(start).Milliseconds(), "ip", c.IP())
	return nil
}

// deadlineMiddleware gives every request a deadline: KEPU_REQUEST_TIMEOUT,
// or KEPU_EXPORT_TIMEOUT for the export downloads. Handlers pass
// c.UserContext() to the services, so a wait on Postgres or Redis ends
// there; the error handler answers 503 "busy" with Retry-After
// (dependencyError). Websockets outlive their upgrade request and keep
// their own contexts.
func (s *Server) deadlineMiddleware(c *fiber.Ctx) error {
	d := s.cfg.RequestTimeout
	if strings.Contains(c.Path(), "/export") {
		d = s.cfg.ExportTimeout
	}
	ctx, cancel := context.WithTimeout(c.UserContext(), d)
	defer cancel()
	c.SetUserContext(ctx)
	return c.Next()
}

// securityHeaders sets CSP, frame and sniffing protections on every response.
func (s *Server) securityHeaders(c *fiber.Ctx) error {
	c.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "+
		"connect-src 'self' "+s.wsOrigins+"; font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")
	c.Set("X-Content-Type-Options", "nosniff")
	c.Set("X-Frame-Options", "DENY")
	c.Set("Referrer-Policy", "same-origin")
	c.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
	if s.cfg.Secure() {
		c.Set("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
	}
	return c.Next()
}

// langOf returns the request's language: the kepu_lang cookie, else
// Accept-Language, else zh-CN.
func langOf(c *fiber.Ctx) string {
	if l, ok := c.Locals("lang").(string); ok {
		return l
	}
	l := i18n.Default
	if v := c.Cookies(langCookie); v != "" {
		l = i18n.Lang(v)
	} else if h := c.Get(fiber.HeaderAcceptLanguage); h != "" {
		l = i18n.FromAcceptLanguage(h)
	}
	c.Locals("lang", l)
	return l
}

// sessionMiddleware loads the logged-in user, if any. A dead session's
// cookie is cleared.
func (s *Server) sessionMiddleware(c *fiber.Ctx) error {
	if strings.HasPrefix(c.Path(), "/static/") {
		return c.Next()
	}
	token := c.Cookies(sessionCookie)
	if token == "" {
		return c.Next()
	}
	u, err := s.accounts.SessionUser(c.UserContext(), token)
	switch {
	case err == nil:
		c.Locals("user", &u)
		c.Locals("session_token", token)
	case errors.Is(err, account.ErrNoSession):
		s.clearCookie(c, sessionCookie)
	default:
		return err
	}
	return c.Next()
}

// currentUser returns the logged-in user or nil.
func currentUser(c *fiber.Ctx) *account.User {
	u, _ := c.Locals("user").(*account.User)
	return u
}

// actor returns the logged-in user as an actor, or a 401 error.
func actor(c *fiber.Ctx) (kepu.Actor, error) {
	u := currentUser(c)
	if u == nil {
		return kepu.Actor{}, account.ErrNoSession
	}
	a := u.Actor()
	a.IP = c.IP()
	return a, nil
}

// actorAndParam returns the actor and the positive integer route parameter name.
func actorAndParam(c *fiber.Ctx, name string) (kepu.Actor, int64, error) {
	a, err := actor(c)
	if err != nil {
		return a, 0, err
	}
	id, err := paramID(c, name)
	return a, id, err
}

// requireLogin rejects anonymous requests with 401 (API) or a redirect to
// the login page (pages).
func (s *Server) requireLogin(c *fiber.Ctx) error {
	if currentUser(c) != nil {
		return c.Next()
	}
	if !strings.HasPrefix(c.Path(), "/api/") && c.Method() == fiber.MethodGet {
		return c.Redirect("/login?next="+url.QueryEscape(safeNext(c.OriginalURL())), fiber.StatusSeeOther)
	}
	return account.ErrNoSession
}

// requireRole rejects users whose role is not one of roles with 403.
func requireRole(roles ...kepu.Role) fiber.Handler {
	return func(c *fiber.Ctx) error {
		u := currentUser(c)
		if u == nil {
			return account.ErrNoSession
		}
		for _, r := range roles {
			if u.Role == r {
				return c.Next()
			}
		}
		return kepu.Forbidden
	}
}

// maxNext is the longest redirect target safeNext accepts.
const maxNext = 512

// safeNext is the one check of every redirect target the client names
// (?next= after login and after switching the language, the login page's
// link back): it returns next when it is a path on this site, else "/".
// A path on this site starts with exactly one "/" (not "//" or "/\", which
// browsers read as another host), holds printable ASCII only (no CR or LF
// that would end the Location header, no tab that browsers strip, no
// space), no backslash anywhere (browsers read it as "/"), and stays so
// when percent-decoded (up to three times, so an encoded "%0d%0a" or
// "%5C" counts as what it decodes to); it is at most maxNext bytes.
// web/static/js/app.js (safeNext) applies the same rule in the browser.
func safeNext(next string) string {
	if len(next) > maxNext || !sameSitePath(next, true) {
		return "/"
	}
	for d, i := next, 0; i < 3; i++ {
		u, err := url.PathUnescape(d)
		if err != nil || !sameSitePath(u, false) {
			return "/"
		}
		if u == d {
			break
		}
		d = u
	}
	return next
}

// sameSitePath reports whether p starts with a single "/" and has no
// control character or backslash; raw (not yet decoded) also refuses
// spaces and bytes outside ASCII.
func sameSitePath(p string, raw bool) bool {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.HasPrefix(p, "/\\") {
		return false
	}
	for i := 0; i < len(p); i++ {
		b := p[i]
		if b < 0x20 || b == 0x7f || b == '\\' || (raw && (b == ' ' || b > 0x7e)) {
			return false
		}
	}
	return true
}

// redirectNext answers 303 to the client-named target next, checked by
// safeNext (the only way a handler redirects to a target from the request).
func redirectNext(c *fiber.Ctx, next string) error {
	return c.Redirect(safeNext(next), fiber.StatusSeeOther)
}

func (s *Server) setCookie(c *fiber.Ctx, name, value string, maxAge time.Duration, httpOnly bool) {
	c.Cookie(&fiber.Cookie{
		Name: name, Value: value, Path: "/", MaxAge: int(maxAge.Seconds()),
		HTTPOnly: httpOnly, Secure: s.cfg.Secure(), SameSite: fiber.CookieSameSiteLaxMode,
	})
}

func (s *Server) clearCookie(c *fiber.Ctx, name string) {
	c.Cookie(&fiber.Cookie{Name: name, Value: "", Path: "/", MaxAge: -1, Expires: time.Unix(1, 0),
		HTTPOnly: true, Secure: s.cfg.Secure(), SameSite: fiber.CookieSameSiteLaxMode})
}

// CSRF protection is a signed double-submit token: the kepu_csrf cookie holds
// random bytes and their HMAC under the secret key; a state-changing request
// must echo the same value in the X-CSRF-Token header (or, for a form posted
// without JavaScript, in its _csrf field). A cross-site page can
// neither read the cookie nor forge a signed one. Requests carrying an Origin
// header must also come from an allowed origin.

func (s *Server) newCSRFToken() string {
	b := make([]byte, 18)
	rand.Read(b)
	r := base64.RawURLEncoding.EncodeToString(b)
	return r + "." + s.signCSRF(r)
}

func (s *Server) signCSRF(r string) string {
	m := hmac.New(sha256.New, s.cfg.SecretKey)
	m.Write([]byte("csrf:" + r))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (s *Server) validCSRF(token string) bool {
	r, sig, ok := strings.Cut(token, ".")
	if !ok || len(token) > 200 {
		return false
	}
	return hmac.Equal([]byte(sig), []byte(s.signCSRF(r)))
}

// csrfToken returns the request's CSRF token, setting the cookie when the
// client has none (or a bad one).
func (s *Server) csrfToken(c *fiber.Ctx) string {
	if t, ok := c.Locals("csrf").(string); ok {
		return t
	}
	t := c.Cookies(csrfCookie)
	if !s.validCSRF(t) {
		t = s.newCSRFToken()
		s.setCookie(c, csrfCookie, t, 365*24*time.Hour, true)
	}
	c.Locals("csrf", t)
	return t
}

func (s *Server) csrfMiddleware(c *fiber.Ctx) error {
	switch c.Method() {
	case fiber.MethodGet, fiber.MethodHead, fiber.MethodOptions:
		return c.Next()
	}
	if o := c.Get(fiber.HeaderOrigin); o != "" && !s.originAllowed(o) {
		return kepu.Errorf(kepu.ECSRF, "error.origin")
	}
	cookie := c.Cookies(csrfCookie)
	header := c.Get(csrfHeader)
	if header == "" && strings.HasPrefix(strings.ToLower(c.Get(fiber.HeaderContentType)), fiber.MIMEApplicationForm) {
		header = c.FormValue(csrfField) // a plain HTML form (the language switch) sends the token as a field
	}
	if cookie == "" || !hmac.Equal([]byte(cookie), []byte(header)) || !s.validCSRF(cookie) {
		return kepu.Errorf(kepu.ECSRF, "error.csrf")
	}
	return c.Next()
}

func (s *Server) originAllowed(origin string) bool {
	for _, o := range s.cfg.Origins() {
		if strings.EqualFold(o, origin) {
			return true
		}
	}
	return false
}

// paramID parses a positive id route parameter (1..maxID; see params.go).
func paramID(c *fiber.Ctx, name string) (int64, error) {
	return parseID(name, c.Params(name))
}

// queryInt parses an optional non-negative integer query parameter
// (0..maxInt4; see params.go); def when it is absent.
func queryInt(c *fiber.Ctx, name string, def int64) (int64, error) {
	v := c.Query(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 || n > maxInt4 {
		return 0, kepu.Invalid(name, "error.invalid_id")
	}
	return n, nil
}
