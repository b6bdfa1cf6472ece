package account

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"time"

	"github.com/kepu/kepu/internal/kepu"
	"github.com/kepu/kepu/internal/postgres"
)

// Session is one login. The token is given to the client once, in a cookie;
// the database keeps only its SHA-256.
type Session struct {
	Token     string
	UserID    int64
	CreatedAt time.Time
	ExpiresAt time.Time
}

func hashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// sessionKey is the token's SHA-256 as an array: sessions.token_hash, and
// the session cache's key.
func sessionKey(token string) [32]byte { return sha256.Sum256([]byte(token)) }

func newToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("account: session token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// ErrNoSession is returned for a missing, expired or ended session.
var ErrNoSession = kepu.Errorf(kepu.EUNAUTHORIZED, "error.login_required")

// StartSession creates a new session for the user and ends the session
// whose token is replaced (the one the client held before logging in), so a
// token planted before login is worthless after it.
func (s *Service) StartSession(ctx context.Context, userID int64, replaced, ip, userAgent string) (Session, error) {
	return s.startSession(ctx, userID, nil, replaced, ip, userAgent)
}

// StartCardSession is StartSession for a pupil who scanned the join card
// holding cardToken: the session ends when that card is withdrawn or
// replaced (RevokeCards, IssueCards).
func (s *Service) StartCardSession(ctx context.Context, userID int64, cardToken, replaced, ip, userAgent string) (Session, error) {
	return s.startSession(ctx, userID, hashToken(cardToken), replaced, ip, userAgent)
}

func (s *Service) startSession(ctx context.Context, userID int64, card []byte, replaced, ip, userAgent string) (Session, error) {
	token, err := newToken()
	if err != nil {
		return Session{}, err
	}
	now := s.Now()
	sess := Session{Token: token, UserID: userID, CreatedAt: now, ExpiresAt: now.Add(s.SessionMax)}
	if len(userAgent) > 256 {
		userAgent = userAgent[:256]
	}
	if replaced != "" {
		if err := s.EndSession(ctx, replaced); err != nil {
			return Session{}, fmt.Errorf("account: replace session: %w", err)
		}
	}
	_, err = s.DB.Exec(ctx, `INSERT INTO sessions (token_hash, user_id, created_at, last_seen_at, expires_at, ip, user_agent, card_hash)
		VALUES ($1, $2, $3, $3, $4, $5, $6, $7)`, hashToken(token), userID, now, sess.ExpiresAt, ip, userAgent, card)
	if err != nil {
		return Session{}, fmt.Errorf("account: start session: %w", err)
	}
	return sess, nil
}

// touchEvery is how stale last_seen_at may get before a request refreshes it;
// it saves a write on most requests.
const touchEvery = time.Minute

// SessionUser returns the user of a live session. A session ends when it has
// been idle for SessionIdle, SessionMax after login, or when its user is
// disabled or deleted.
//
// With a serving session cache (Service.Sessions) a session read from
// Postgres in the last TTL is answered from memory, as long as it is before
// its expiry and its last_seen_at is fresh enough not to need a refresh;
// otherwise, and whenever in doubt, Postgres decides.
func (s *Service) SessionUser(ctx context.Context, token string) (User, error) {
	if token == "" || len(token) > 100 {
		return User{}, ErrNoSession
	}
	key := sessionKey(token)
	now := s.Now()
	c := s.Sessions
	if !c.Live() {
		return s.loadSession(ctx, token, key, now, nil, 0)
	}
	if e, ok := c.get(key); ok && s.fresh(e, now) {
		return e.user, nil
	}
	return s.loadSession(ctx, token, key, now, c, c.gen.Load()) // gen before the read: see SessionCache.put
}

// loadSession is SessionUser from Postgres; it caches the result in c (when
// not nil) unless an invalidation came after gen.
func (s *Service) loadSession(ctx context.Context, token string, key [32]byte, now time.Time, c *SessionCache, gen uint64) (User, error) {
	var lastSeen, expires time.Time
	var u User
	err := s.DB.QueryRow(ctx, `SELECT s.last_seen_at, s.expires_at, `+userColumns+`
		FROM sessions s JOIN users u ON u.id = s.user_id
		WHERE s.token_hash = $1 AND u.deleted_at IS NULL`, key[:]).Scan(&lastSeen, &expires,
		&u.ID, &u.Username, &u.Role, &u.Nickname, &u.RegionID, &u.AgeBand, &u.Occupation,
		&u.SchoolID, &u.ClassID, &u.ScopeRegionID, &u.GuardianConsent, &u.ManagedBy, &u.Lang, &u.Disabled, &u.CreatedAt)
	if postgres.IsNotFound(err) {
		return User{}, ErrNoSession
	}
	if err != nil {
		return User{}, fmt.Errorf("account: session: %w", err)
	}
	if u.Disabled || !now.Before(expires) || now.Sub(lastSeen) >= s.SessionIdle {
		if err := s.EndSession(ctx, token); err != nil {
			return User{}, err
		}
		return User{}, ErrNoSession
	}
	if now.Sub(lastSeen) >= touchEvery {
		if _, err := s.DB.Exec(ctx, `UPDATE sessions SET last_seen_at = $2 WHERE token_hash = $1`, key[:], now); err != nil {
			return User{}, fmt.Errorf("account: touch session: %w", err)
		}
		lastSeen = now
	}
	if c != nil {
		c.put(key, cacheEntry{user: u, lastSeen: lastSeen.UnixNano(), expires: expires.UnixNano()}, gen)
	}
	return u, nil
}

// fresh reports whether a cached session may be served at now: before its
// expiry, and seen recently enough that it is neither idle nor due for its
// last_seen_at refresh (which only the Postgres path writes, so renewals
// stay throttled to one write per touchEvery per instance).
func (s *Service) fresh(e cacheEntry, now time.Time) bool {
	t := now.UnixNano()
	idle := min(touchEvery, s.SessionIdle)
	return t < e.expires && t-e.lastSeen < int64(idle)
}

// EndSession ends one session on the server (logout), on every instance.
func (s *Service) EndSession(ctx context.Context, token string) error {
	key := sessionKey(token)
	if _, err := s.DB.Exec(ctx, `DELETE FROM sessions WHERE token_hash = $1`, key[:]); err != nil {
		return fmt.Errorf("account: end session: %w", err)
	}
	s.Sessions.revokeToken(ctx, key)
	return nil
}

// EndUserSessions ends every session of a user, on every instance.
func (s *Service) EndUserSessions(ctx context.Context, userID int64) error {
	if _, err := s.DB.Exec(ctx, `DELETE FROM sessions WHERE user_id = $1`, userID); err != nil {
		return fmt.Errorf("account: end sessions of %d: %w", userID, err)
	}
	s.Sessions.RevokeUser(ctx, userID)
	return nil
}

// PurgeSessions deletes expired sessions; the server calls it periodically.
func (s *Service) PurgeSessions(ctx context.Context) (int64, error) {
	tag, err := s.DB.Exec(ctx, `DELETE FROM sessions WHERE expires_at <= $1 OR last_seen_at <= $2`,
		s.Now(), s.Now().Add(-s.SessionIdle))
	if err != nil {
		return 0, fmt.Errorf("account: purge sessions: %w", err)
	}
	return tag.RowsAffected(), nil
}
