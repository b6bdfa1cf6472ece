package server

// Client marks: who a request comes from, as far as integrity checks need
// it, without keeping personal data. A device is a random cookie
// (kepu_did, issued on the first contest join or campaign start, one
// year); both it and the address are stored only as keyed hashes (HMAC
// under KEPU_SECRET_KEY, 64 bits), so a stored mark tells "same device /
// same address" and nothing else (docs/security.md).

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"time"

	"github.com/gofiber/fiber/v2"
)

const (
	deviceIDCookie = "kepu_did"
	deviceIDMaxAge = 365 * 24 * time.Hour
)

// markHash is the keyed 64-bit hash of a client mark.
func (s *Server) markHash(kind, v string) string {
	m := hmac.New(sha256.New, s.cfg.SecretKey)
	m.Write([]byte(kind + ":" + v))
	return hex.EncodeToString(m.Sum(nil)[:8])
}

// deviceMark returns the hash of the request's device cookie, issuing a
// new cookie when it has none (or a malformed one).
func (s *Server) deviceMark(c *fiber.Ctx) string {
	v := c.Cookies(deviceIDCookie)
	if b, err := base64.RawURLEncoding.DecodeString(v); err != nil || len(b) != 16 {
		b = make([]byte, 16)
		rand.Read(b)
		v = base64.RawURLEncoding.EncodeToString(b)
		s.setCookie(c, deviceIDCookie, v, deviceIDMaxAge, true)
	}
	return s.markHash("device", v)
}

// addrMark is the hash of the request's address.
func (s *Server) addrMark(c *fiber.Ctx) string { return s.markHash("addr", c.IP()) }
