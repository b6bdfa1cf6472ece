package account

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/kepu/kepu/internal/audit"
	"github.com/kepu/kepu/internal/kepu"
	"github.com/kepu/kepu/internal/postgres"
)

// Guest is what a visitor gives to take a campaign without an account
// (campaigns whose rules allow guests).
type Guest struct {
	Nickname string `json:"nickname"`
	RegionID int64  `json:"region_id"` // optional: their district (0: not given)
}

// guestPrefix begins every guest's generated username; registration
// refuses usernames that begin with it.
const guestPrefix = "guest-"

// CreateGuest makes a guest user (kepu.RoleGuest): the nickname checked as
// every nickname is (CleanNickname; shown escaped like any other), the
// district if given checked as a profile's, a random username and no
// password, so nobody can log in as a guest: the session the caller starts
// (StartSession) is the guest's only key. Whether the guest may give that
// district for a campaign is the campaign's business.
func (s *Service) CreateGuest(ctx context.Context, g Guest, lang string) (User, error) {
	nick, err := CleanNickname(g.Nickname)
	if err != nil {
		return User{}, err
	}
	if g.RegionID != 0 {
		if err := s.checkRegion(ctx, g.RegionID); err != nil {
			return User{}, err
		}
	}
	if lang != "en" {
		lang = "zh-CN"
	}
	b := make([]byte, 15)
	if _, err := rand.Read(b); err != nil {
		return User{}, fmt.Errorf("account: guest name: %w", err)
	}
	username := guestPrefix + strings.ToLower(base32.StdEncoding.EncodeToString(b)) // 6 + 24 characters
	u, err := scanUser(s.DB.QueryRow(ctx, `INSERT INTO users AS u (username, role, nickname, region_id, lang)
		VALUES ($1, $2, $3, nullif($4, 0), $5) RETURNING `+userColumns, username, kepu.RoleGuest, nick, g.RegionID, lang))
	if err != nil {
		return User{}, fmt.Errorf("account: create guest: %w", err)
	}
	return u, nil
}

// IsGuest reports whether the user is a guest (no account, no password).
func (u User) IsGuest() bool { return u.Role == kepu.RoleGuest }

// GuestMover moves what a guest owns in other features to an account,
// inside the merge's transaction (internal/campaign: attempts, results,
// certificates). It returns the campaigns whose boards must follow.
type GuestMover interface {
	MoveAttempts(ctx context.Context, tx pgx.Tx, from, to int64) ([]int64, error)
}

// MergeGuest hands the guest guestID's attempts, results and certificates
// to the account a (a participant who just registered or logged in from
// the guest's browser), in one transaction with the audit entry
// "account.guest_merge"; the guest is then disabled and its sessions end.
// It returns the campaigns whose leaderboards must move the guest's place
// to the account (leaderboard.MoveUser). A guestID that is not a live
// guest, or an account that is not a participant, merges nothing (nil, nil).
func (s *Service) MergeGuest(ctx context.Context, a kepu.Actor, guestID int64) ([]int64, error) {
	if s.Guests == nil || a.Role != kepu.RoleParticipant || guestID == a.UserID {
		return nil, nil
	}
	var campaigns []int64
	merged := false
	err := postgres.Tx(ctx, s.DB, func(tx pgx.Tx) error {
		// Both rows in id order, as every other two-user transaction would.
		var users []User
		rows, err := tx.Query(ctx, `SELECT `+userColumns+` FROM users u WHERE u.id IN ($1, $2) AND u.deleted_at IS NULL
			ORDER BY u.id FOR UPDATE`, guestID, a.UserID)
		if err != nil {
			return fmt.Errorf("account: merge guest: %w", err)
		}
		if users, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (User, error) { return scanUser(r) }); err != nil {
			return fmt.Errorf("account: merge guest: %w", err)
		}
		var g, to User
		for _, u := range users {
			if u.ID == guestID {
				g = u
			} else {
				to = u
			}
		}
		if !g.IsGuest() || g.Disabled || to.Role != kepu.RoleParticipant {
			return nil
		}
		if campaigns, err = s.Guests.MoveAttempts(ctx, tx, guestID, a.UserID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE users SET disabled_at = now(), updated_at = now() WHERE id = $1`, guestID); err != nil {
			return fmt.Errorf("account: merge guest: %w", err)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM sessions WHERE user_id = $1`, guestID); err != nil {
			return fmt.Errorf("account: merge guest: end sessions: %w", err)
		}
		merged = true
		return audit.Record(ctx, tx, a.UserID, "account.guest_merge", UserTarget(a.UserID),
			map[string]any{"guest": guestID, "campaigns": campaigns}, a.IP)
	})
	if err != nil {
		return nil, err
	}
	if merged {
		s.Sessions.RevokeUser(ctx, guestID)
	}
	return campaigns, nil
}
