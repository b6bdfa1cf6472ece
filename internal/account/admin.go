package account

// Administration of accounts by admins: search, roles and scopes, disabling,
// password resets. Every change is written to the audit log in the same
// transaction as the change itself, and every method checks that the actor
// is an admin (kepu.Forbidden otherwise).

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/kepu/kepu/internal/audit"
	"github.com/kepu/kepu/internal/kepu"
	"github.com/kepu/kepu/internal/postgres"
)

// UserQuery filters and pages the admin user list.
type UserQuery struct {
	Q       string    // part of the username or nickname (case-insensitive)
	Role    kepu.Role // one role, or "" for all
	Page    int       // 1-based
	PerPage int       // 1–100, default 25
}

// UserPage is one page of the user list.
type UserPage struct {
	Users   []User `json:"users"`
	Total   int    `json:"total"`
	Page    int    `json:"page"`
	PerPage int    `json:"per_page"`
}

// Pages returns the number of pages.
func (p UserPage) Pages() int {
	if p.PerPage <= 0 || p.Total == 0 {
		return 1
	}
	return (p.Total + p.PerPage - 1) / p.PerPage
}

// MaxQuery is the longest search text accepted.
const MaxQuery = 64

// ErrSelf is returned when an admin tries to change their own role or to
// disable themselves (which could lock every admin out).
var ErrSelf = kepu.Errorf(kepu.EFORBIDDEN, "error.self_role")

func requireAdmin(a kepu.Actor) error {
	if !a.IsAdmin() {
		return kepu.Forbidden
	}
	return nil
}

// likePattern escapes q for a LIKE … ESCAPE '\' substring match.
func likePattern(q string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(q) + "%"
}

// ListUsers returns one page of (undeleted) users matching q, newest first.
func (s *Service) ListUsers(ctx context.Context, a kepu.Actor, q UserQuery) (UserPage, error) {
	if err := requireAdmin(a); err != nil {
		return UserPage{}, err
	}
	q.Q = strings.TrimSpace(q.Q)
	if utf8.RuneCountInString(q.Q) > MaxQuery {
		return UserPage{}, kepu.Invalid("q", "error.query_length").With("max", MaxQuery)
	}
	if q.Role != "" && !q.Role.Valid() {
		return UserPage{}, kepu.Invalid("role", "error.role")
	}
	if q.PerPage <= 0 || q.PerPage > 100 {
		q.PerPage = 25
	}
	if q.Page < 1 {
		q.Page = 1
	}
	if q.Page > 10000 {
		return UserPage{}, kepu.Invalid("page", "error.page")
	}
	pattern := ""
	if q.Q != "" {
		pattern = likePattern(q.Q)
	}
	where := `u.deleted_at IS NULL AND ($1 = '' OR u.username ILIKE $1 ESCAPE '\' OR u.nickname ILIKE $1 ESCAPE '\')
		AND ($2 = '' OR u.role = $2)`
	out := UserPage{Page: q.Page, PerPage: q.PerPage, Users: []User{}}
	if err := s.DB.QueryRow(ctx, `SELECT count(*) FROM users u WHERE `+where, pattern, string(q.Role)).Scan(&out.Total); err != nil {
		return UserPage{}, fmt.Errorf("account: list users: count: %w", err)
	}
	rows, err := s.DB.Query(ctx, `SELECT `+userColumns+` FROM users u WHERE `+where+`
		ORDER BY u.id DESC LIMIT $3 OFFSET $4`, pattern, string(q.Role), q.PerPage, (q.Page-1)*q.PerPage)
	if err != nil {
		return UserPage{}, fmt.Errorf("account: list users: %w", err)
	}
	users, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (User, error) { return scanUser(r) })
	if err != nil {
		return UserPage{}, fmt.Errorf("account: list users: %w", err)
	}
	out.Users = append(out.Users, users...)
	return out, nil
}

// Teachers lists the teacher accounts an actor may assign to classes: every
// teacher for an admin; for an organizer, those of their region subtree —
// teachers who live there (region), belong to a school there, or teach a
// class of a school there (internal/org decides the subtree). Others get
// kepu.Forbidden.
func (s *Service) Teachers(ctx context.Context, a kepu.Actor) ([]User, error) {
	if !a.Is(kepu.RoleAdmin, kepu.RoleOrganizer) {
		return nil, kepu.Forbidden
	}
	if s.Classes == nil {
		return nil, fmt.Errorf("account: teachers: no org scope configured")
	}
	regions, err := s.Classes.ScopeRegionIDs(ctx, a) // nil: every region (admin)
	if err != nil {
		return nil, err
	}
	rows, err := s.DB.Query(ctx, `SELECT `+userColumns+` FROM users u
		WHERE u.role = 'teacher' AND u.deleted_at IS NULL AND u.disabled_at IS NULL
		  AND ($1::bigint[] IS NULL OR u.region_id = ANY($1)
		       OR EXISTS (SELECT 1 FROM schools sc WHERE sc.id = u.school_id AND sc.region_id = ANY($1))
		       OR EXISTS (SELECT 1 FROM classes c JOIN schools sc ON sc.id = c.school_id
		                  WHERE c.teacher_id = u.id AND sc.region_id = ANY($1)))
		ORDER BY u.nickname, u.id LIMIT 1000`, regions)
	if err != nil {
		return nil, fmt.Errorf("account: teachers: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (User, error) { return scanUser(r) })
	if err != nil {
		return nil, fmt.Errorf("account: teachers: %w", err)
	}
	return out, nil
}

// RoleChange is an admin's change of a user's role. ScopeRegionID is the
// root of an organizer's region subtree; it is required for organizers and
// cleared for every other role.
type RoleChange struct {
	Role          kepu.Role `json:"role"`
	ScopeRegionID int64     `json:"scope_region_id"`
}

// lockUser reads the user for update inside tx.
func lockUser(ctx context.Context, tx pgx.Tx, id int64) (User, error) {
	u, err := scanUser(tx.QueryRow(ctx, `SELECT `+userColumns+` FROM users u WHERE u.id = $1 AND u.deleted_at IS NULL FOR UPDATE`, id))
	if postgres.IsNotFound(err) {
		return User{}, ErrUserNotFound
	}
	if err != nil {
		return User{}, fmt.Errorf("account: lock user %d: %w", id, err)
	}
	return u, nil
}

// ErrGuestAccount refuses a role change or a password reset of a guest:
// a guest has no password and stays a guest (409).
var ErrGuestAccount = kepu.Errorf(kepu.ECONFLICT, "error.organize_guest_account")

// SetRole changes a user's role and scope (admins only, never their own,
// never a guest's: ErrGuestAccount).
func (s *Service) SetRole(ctx context.Context, a kepu.Actor, userID int64, ch RoleChange) (User, error) {
	if err := requireAdmin(a); err != nil {
		return User{}, err
	}
	if userID == a.UserID {
		return User{}, ErrSelf
	}
	if !ch.Role.Valid() {
		return User{}, kepu.Invalid("role", "error.role")
	}
	if ch.Role != kepu.RoleOrganizer {
		ch.ScopeRegionID = 0
	} else {
		if ch.ScopeRegionID <= 0 {
			return User{}, kepu.Invalid("scope_region_id", "error.scope_required")
		}
		var ok bool
		if err := s.DB.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM regions WHERE id = $1)`, ch.ScopeRegionID).Scan(&ok); err != nil {
			return User{}, fmt.Errorf("account: set role: region: %w", err)
		}
		if !ok {
			return User{}, kepu.Invalid("scope_region_id", "error.scope_required")
		}
	}
	var out User
	err := postgres.Tx(ctx, s.DB, func(tx pgx.Tx) error {
		old, err := lockUser(ctx, tx, userID)
		if err != nil {
			return err
		}
		if old.IsGuest() {
			return ErrGuestAccount
		}
		out, err = scanUser(tx.QueryRow(ctx, `UPDATE users u SET role = $2, scope_region_id = nullif($3, 0), updated_at = now()
			WHERE u.id = $1 RETURNING `+userColumns, userID, string(ch.Role), ch.ScopeRegionID))
		if err != nil {
			return fmt.Errorf("account: set role: %w", err)
		}
		return audit.Record(ctx, tx, a.UserID, "user.role", UserTarget(userID), map[string]any{
			"from": old.Role, "to": ch.Role, "from_scope": old.ScopeRegionID, "to_scope": ch.ScopeRegionID,
		}, a.IP)
	})
	if err != nil {
		return User{}, err
	}
	s.Sessions.RevokeUser(ctx, userID)
	return out, nil
}

// SetDisabled disables or enables a user (admins only, never themselves).
// Disabling ends every session of the user at once.
func (s *Service) SetDisabled(ctx context.Context, a kepu.Actor, userID int64, disabled bool) (User, error) {
	if err := requireAdmin(a); err != nil {
		return User{}, err
	}
	if userID == a.UserID {
		return User{}, ErrSelf
	}
	var out User
	err := postgres.Tx(ctx, s.DB, func(tx pgx.Tx) error {
		if _, err := lockUser(ctx, tx, userID); err != nil {
			return err
		}
		var err error
		out, err = scanUser(tx.QueryRow(ctx, `UPDATE users u SET
			disabled_at = CASE WHEN $2 THEN coalesce(u.disabled_at, now()) ELSE NULL END, updated_at = now()
			WHERE u.id = $1 RETURNING `+userColumns, userID, disabled))
		if err != nil {
			return fmt.Errorf("account: set disabled: %w", err)
		}
		action := "user.enable"
		if disabled {
			action = "user.disable"
			if _, err := tx.Exec(ctx, `DELETE FROM sessions WHERE user_id = $1`, userID); err != nil {
				return fmt.Errorf("account: set disabled: end sessions: %w", err)
			}
		}
		return audit.Record(ctx, tx, a.UserID, action, UserTarget(userID), nil, a.IP)
	})
	if err != nil {
		return User{}, err
	}
	s.Sessions.RevokeUser(ctx, userID)
	return out, nil
}

// TempPasswordLen is the length of generated passwords (admin resets, pupils).
const TempPasswordLen = 10

// ResetPassword gives a user a new random password, ends their sessions and
// returns the password, which is shown once and never stored in clear
// (admins only; a guest has none: ErrGuestAccount).
func (s *Service) ResetPassword(ctx context.Context, a kepu.Actor, userID int64) (string, error) {
	if err := requireAdmin(a); err != nil {
		return "", err
	}
	return s.resetPassword(ctx, a, userID, "user.password_reset", func(_ pgx.Tx, u User) error {
		if u.IsGuest() {
			return ErrGuestAccount
		}
		return nil
	})
}

// resetPassword sets a random password after check approves the locked user,
// ends the user's sessions and records action, all in one transaction.
func (s *Service) resetPassword(ctx context.Context, a kepu.Actor, userID int64, action string, check func(pgx.Tx, User) error) (string, error) {
	pw := RandomPassword(TempPasswordLen)
	hash, err := s.Hasher.Hash(ctx, pw)
	if err != nil {
		return "", err
	}
	err = postgres.Tx(ctx, s.DB, func(tx pgx.Tx) error {
		u, err := lockUser(ctx, tx, userID)
		if err != nil {
			return err
		}
		if err := check(tx, u); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE users SET password_hash = $2, updated_at = now() WHERE id = $1`, userID, hash); err != nil {
			return fmt.Errorf("account: reset password: %w", err)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM sessions WHERE user_id = $1`, userID); err != nil {
			return fmt.Errorf("account: reset password: end sessions: %w", err)
		}
		return audit.Record(ctx, tx, a.UserID, action, UserTarget(userID), nil, a.IP)
	})
	if err != nil {
		return "", err
	}
	s.Sessions.RevokeUser(ctx, userID)
	return pw, nil
}

// UserTarget names a user in the audit log.
func UserTarget(id int64) string { return fmt.Sprintf("user:%d", id) }
