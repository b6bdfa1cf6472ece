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
		if _, err := s.DB.Exec(ctx, `DELETE FROM sessions WHERE token_hash = $1`, hashToken(replaced)); err != nil {
			return Session{}, fmt.Errorf("account: replace session: %w", err)
		}
	}
	_, err = s.DB.Exec(ctx, `INSERT INTO sessions (token_hash, user_id, created_at, last_seen_at, expires_at, ip, user_agent)
		VALUES ($1, $2, $3, $3, $4, $5, $6)`, hashToken(token), userID, now, sess.ExpiresAt, ip, userAgent)
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
func (s *Service) SessionUser(ctx context.Context, token string) (User, error) {
	if token == "" || len(token) > 100 {
		return User{}, ErrNoSession
	}
	now := s.Now()
	var lastSeen, expires time.Time
	var u User
	err := s.DB.QueryRow(ctx, `SELECT s.last_seen_at, s.expires_at, `+userColumns+`
		FROM sessions s JOIN users u ON u.id = s.user_id
		WHERE s.token_hash = $1 AND u.deleted_at IS NULL`, hashToken(token)).Scan(&lastSeen, &expires,
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
		if _, err := s.DB.Exec(ctx, `UPDATE sessions SET last_seen_at = $2 WHERE token_hash = $1`, hashToken(token), now); err != nil {
			return User{}, fmt.Errorf("account: touch session: %w", err)
		}
	}
	return u, nil
}

// EndSession ends one session on the server (logout).
func (s *Service) EndSession(ctx context.Context, token string) error {
	if _, err := s.DB.Exec(ctx, `DELETE FROM sessions WHERE token_hash = $1`, hashToken(token)); err != nil {
		return fmt.Errorf("account: end session: %w", err)
	}
	return nil
}

// EndUserSessions ends every session of a user (disable, reset, delete).
func (s *Service) EndUserSessions(ctx context.Context, userID int64) error {
	if _, err := s.DB.Exec(ctx, `DELETE FROM sessions WHERE user_id = $1`, userID); err != nil {
		return fmt.Errorf("account: end sessions of %d: %w", userID, err)
	}
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
