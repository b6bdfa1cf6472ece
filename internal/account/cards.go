package account

// Join cards with a QR login: a teacher (or an organizer or admin in scope)
// prints a card per pupil whose QR code holds a random 128-bit login token.
// Scanning it signs the pupil in on that device, without a password and
// without argon2id (a random token of that size cannot be guessed, so a
// plain SHA-256 is all the storage needs). Only the hash is stored; a pupil
// has at most one live token (login_tokens_live); printing a new card
// revokes the old one. docs/security.md "Join cards with a QR login".

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kepu/kepu/internal/audit"
	"github.com/kepu/kepu/internal/kepu"
	"github.com/kepu/kepu/internal/org"
	"github.com/kepu/kepu/internal/postgres"
)

// cardTokenBytes is the size of a card's random token: 128 bits, written as
// 22 characters of unpadded base64url.
const (
	cardTokenBytes = 16
	cardTokenText  = 22
)

// MaxCardBatch is the most pupils named in one request; a whole class is
// named by an empty list.
const MaxCardBatch = 500

// Card is a pupil's new join card: the token is returned this once, to be
// printed, and never stored in clear.
type Card struct {
	UserID   int64  `json:"id"`
	Username string `json:"username"`
	Nickname string `json:"nickname"`
	Token    string `json:"-"`
}

// Errors of card login: an unknown token (401) and a revoked one (410,
// "ask your teacher for a new card").
var (
	ErrCardInvalid = kepu.Errorf(kepu.EUNAUTHORIZED, "error.card_invalid")
	ErrCardRevoked = kepu.Errorf(kepu.EGONE, "error.card_revoked")
)

func newCardToken() (string, error) {
	b := make([]byte, cardTokenBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("account: card token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// classPupils returns the pupils of class c named by ids (every pupil of
// the class when ids is empty), locking the class row so that concurrent
// printings of one class are serialized. A named id that is not a pupil of
// the class is ErrNotInClass.
func classPupils(ctx context.Context, tx pgx.Tx, classID int64, ids []int64) ([]Card, error) {
	if len(ids) > MaxCardBatch {
		return nil, kepu.Invalid("user_ids", "error.roster_too_many").With("max", MaxCardBatch)
	}
	if _, err := tx.Exec(ctx, `SELECT 1 FROM classes WHERE id = $1 FOR UPDATE`, classID); err != nil {
		return nil, fmt.Errorf("lock class: %w", err)
	}
	rows, err := tx.Query(ctx, `SELECT id, username, nickname, '' FROM users
		WHERE class_id = $1 AND role = 'participant' AND deleted_at IS NULL
		  AND (coalesce(cardinality($2::bigint[]), 0) = 0 OR id = ANY($2))
		ORDER BY username`, classID, ids)
	if err != nil {
		return nil, fmt.Errorf("pupils: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[Card])
	if err != nil {
		return nil, fmt.Errorf("pupils: %w", err)
	}
	if len(ids) > 0 && len(out) != len(distinct(ids)) {
		return nil, ErrNotInClass
	}
	return out, nil
}

func distinct(ids []int64) map[int64]bool {
	m := make(map[int64]bool, len(ids))
	for _, id := range ids {
		m[id] = true
	}
	return m
}

// IssueCards prints new join cards for pupils of a class the actor may
// manage: those named by userIDs, or every pupil of the class when it is
// empty. Each pupil's earlier card stops working. The tokens are returned
// once, in username order; the action is audited (roster.cards_issue).
func (s *Service) IssueCards(ctx context.Context, a kepu.Actor, classID int64, userIDs []int64) ([]Card, error) {
	c, err := s.class(ctx, a, classID)
	if err != nil {
		return nil, err
	}
	var out []Card
	err = postgres.Tx(ctx, s.DB, func(tx pgx.Tx) error {
		out, err = classPupils(ctx, tx, c.ID, userIDs)
		if err != nil {
			return err
		}
		if len(out) == 0 {
			return kepu.Invalid("user_ids", "error.cards_none")
		}
		ids := make([]int64, len(out))
		hashes := make([][]byte, len(out))
		usernames := make([]string, len(out))
		for i := range out {
			if out[i].Token, err = newCardToken(); err != nil {
				return err
			}
			ids[i], hashes[i], usernames[i] = out[i].UserID, hashToken(out[i].Token), out[i].Username
		}
		now := s.Now()
		if _, err := revokeCards(ctx, tx, ids, now); err != nil {
			return fmt.Errorf("revoke old cards: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO login_tokens (token_hash, user_id, created_by, created_at)
			SELECT h, u, $3, $4 FROM unnest($1::bytea[], $2::bigint[]) AS t(h, u)`, hashes, ids, a.UserID, now); err != nil {
			return fmt.Errorf("insert cards: %w", err)
		}
		return audit.Record(ctx, tx, a.UserID, "roster.cards_issue", org.ClassTarget(c.ID),
			map[string]any{"count": len(out), "usernames": usernames}, a.IP)
	})
	if err != nil {
		return nil, fmt.Errorf("account: issue cards in class %d: %w", c.ID, err)
	}
	for _, p := range out {
		s.Sessions.RevokeUser(ctx, p.UserID) // their old cards' sessions ended
	}
	return out, nil
}

// revokeCards withdraws the live cards of users and ends the sessions
// those cards started; it returns the users whose card it withdrew.
func revokeCards(ctx context.Context, tx pgx.Tx, users []int64, now time.Time) ([]int64, error) {
	rows, err := tx.Query(ctx, `WITH r AS (
			UPDATE login_tokens SET revoked_at = $2 WHERE user_id = ANY($1) AND revoked_at IS NULL
			RETURNING token_hash, user_id
		), ended AS (
			DELETE FROM sessions s USING r WHERE s.card_hash = r.token_hash
		)
		SELECT user_id FROM r`, users, now)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}

// RevokeCards withdraws the live cards of pupils of a class the actor may
// manage (those named by userIDs, or the whole class when it is empty) and
// returns how many were live. The sessions those cards started end at
// once, on every instance (a lost card logs nobody in any more); sessions
// started with a password stay. Audited as roster.cards_revoke.
func (s *Service) RevokeCards(ctx context.Context, a kepu.Actor, classID int64, userIDs []int64) (int, error) {
	c, err := s.class(ctx, a, classID)
	if err != nil {
		return 0, err
	}
	var n int
	var revoked []int64
	err = postgres.Tx(ctx, s.DB, func(tx pgx.Tx) error {
		pupils, err := classPupils(ctx, tx, c.ID, userIDs)
		if err != nil {
			return err
		}
		ids := make([]int64, len(pupils))
		usernames := make([]string, len(pupils))
		for i, p := range pupils {
			ids[i], usernames[i] = p.UserID, p.Username
		}
		revoked, err = revokeCards(ctx, tx, ids, s.Now())
		if err != nil {
			return fmt.Errorf("revoke cards: %w", err)
		}
		n = len(revoked)
		return audit.Record(ctx, tx, a.UserID, "roster.cards_revoke", org.ClassTarget(c.ID),
			map[string]any{"count": n, "usernames": usernames}, a.IP)
	})
	if err != nil {
		return 0, fmt.Errorf("account: revoke cards in class %d: %w", c.ID, err)
	}
	for _, id := range revoked {
		s.Sessions.RevokeUser(ctx, id)
	}
	return n, nil
}

// CardLogin returns the pupil whose live join card holds token:
// ErrCardInvalid for a token no card ever held (or a malformed one),
// ErrCardRevoked for a replaced or withdrawn card, ErrDisabled for a
// disabled account. One indexed lookup, no password hash.
func (s *Service) CardLogin(ctx context.Context, token string) (User, error) {
	if len(token) != cardTokenText {
		return User{}, ErrCardInvalid
	}
	if _, err := base64.RawURLEncoding.DecodeString(token); err != nil {
		return User{}, ErrCardInvalid
	}
	var u User
	var revoked *time.Time
	err := s.DB.QueryRow(ctx, `SELECT `+userColumns+`, t.revoked_at
		FROM login_tokens t JOIN users u ON u.id = t.user_id
		WHERE t.token_hash = $1 AND u.deleted_at IS NULL`, hashToken(token)).Scan(
		&u.ID, &u.Username, &u.Role, &u.Nickname, &u.RegionID, &u.AgeBand, &u.Occupation,
		&u.SchoolID, &u.ClassID, &u.ScopeRegionID, &u.GuardianConsent, &u.ManagedBy, &u.Lang, &u.Disabled, &u.CreatedAt, &revoked)
	if postgres.IsNotFound(err) {
		return User{}, ErrCardInvalid
	}
	if err != nil {
		return User{}, fmt.Errorf("account: card login: %w", err)
	}
	if revoked != nil {
		return User{}, ErrCardRevoked
	}
	if u.Disabled {
		return User{}, ErrDisabled
	}
	return u, nil
}
