package account

// Recovery codes: ten one-time codes, shown once when an account is made
// (and whenever its owner makes a new set), let a person who forgot their
// password set a new one with their username alone — no phone number, no
// e-mail address. Only their SHA-256 is stored (recovery_codes); each
// carries about 79 random bits, beyond guessing at any rate the server
// allows. Guests have no password and get no codes.

import (
	"context"
	"crypto/sha256"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kepu/kepu/internal/audit"
	"github.com/kepu/kepu/internal/kepu"
	"github.com/kepu/kepu/internal/postgres"
)

// RecoveryCodeCount is how many codes make one set.
const RecoveryCodeCount = 10

// recoveryCodeLen is the number of characters of a code (without dashes),
// from RandomPassword's 31-letter alphabet: 16·log2(31) ≈ 79 bits.
const recoveryCodeLen = 16

// MaxRecoveryCode is the longest code input accepted (dashes and spaces
// included); anything longer is simply wrong.
const MaxRecoveryCode = 64

// ErrGuestNoPassword refuses password and recovery operations on a guest,
// who has no password (409).
var ErrGuestNoPassword = kepu.Errorf(kepu.ECONFLICT, "error.accounts_guest_no_password")

// ErrRecoveryFailed is the one answer to a recovery with an unknown
// username, a disabled account, a wrong or used code: nothing tells which.
var ErrRecoveryFailed = kepu.Errorf(kepu.EUNAUTHORIZED, "error.accounts_recovery_failed").OnField("code")

// RecoveryStatus is what the profile shows about a user's codes.
type RecoveryStatus struct {
	Remaining int        `json:"remaining"`  // unused codes of the current set
	CreatedAt *time.Time `json:"created_at"` // when the set was made; nil: never
}

// formatCode writes a code as four groups of four: abcd-efgh-jkmn-pqrs.
func formatCode(raw string) string {
	var b strings.Builder
	for i := 0; i < len(raw); i += 4 {
		if i > 0 {
			b.WriteByte('-')
		}
		b.WriteString(raw[i:min(i+4, len(raw))])
	}
	return b.String()
}

// normalizeCode is what a code is hashed as: lowercase letters and digits
// only, so "ABCD EFGH-…" typed from paper matches.
func normalizeCode(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func hashCode(code string) []byte {
	h := sha256.Sum256([]byte("kepu-recovery:" + normalizeCode(code)))
	return h[:]
}

// NewRecoveryCodes replaces the user's recovery codes with a new set and
// returns it, to be shown once (the old set stops working at once). The
// entry in the audit log commits with the set. Guests: ErrGuestNoPassword.
func (s *Service) NewRecoveryCodes(ctx context.Context, a kepu.Actor) ([]string, error) {
	codes := make([]string, RecoveryCodeCount)
	hashes := make([][]byte, RecoveryCodeCount)
	for i := range codes {
		codes[i] = formatCode(RandomPassword(recoveryCodeLen))
		hashes[i] = hashCode(codes[i])
	}
	err := postgres.Tx(ctx, s.DB, func(tx pgx.Tx) error {
		u, err := lockUser(ctx, tx, a.UserID)
		if err != nil {
			return err
		}
		if u.IsGuest() {
			return ErrGuestNoPassword
		}
		if _, err := tx.Exec(ctx, `DELETE FROM recovery_codes WHERE user_id = $1`, u.ID); err != nil {
			return fmt.Errorf("account: recovery codes: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO recovery_codes (user_id, code_hash, created_at)
			SELECT $1, h, $3 FROM unnest($2::bytea[]) h`, u.ID, hashes, s.Now()); err != nil {
			return fmt.Errorf("account: recovery codes: %w", err)
		}
		return audit.Record(ctx, tx, a.UserID, "account.recovery_codes", UserTarget(u.ID), nil, a.IP)
	})
	if err != nil {
		return nil, err
	}
	return codes, nil
}

// RecoveryStatus tells how many of the user's codes are unused.
func (s *Service) RecoveryStatus(ctx context.Context, userID int64) (RecoveryStatus, error) {
	var st RecoveryStatus
	err := s.DB.QueryRow(ctx, `SELECT count(*) FILTER (WHERE used_at IS NULL), max(created_at)
		FROM recovery_codes WHERE user_id = $1`, userID).Scan(&st.Remaining, &st.CreatedAt)
	if err != nil {
		return st, fmt.Errorf("account: recovery status: %w", err)
	}
	return st, nil
}

// Recovery is a request to set a new password with a recovery code.
type Recovery struct {
	Username    string `json:"username"`
	Code        string `json:"code"`
	NewPassword string `json:"new_password"`
}

// Recover sets a new password for the account named by r.Username when
// r.Code is one of its unused recovery codes: the code is used up, every
// session of the account ends, and the audit log records it (actor: the
// account itself), all in one transaction. It returns the user and how
// many codes remain. An unknown user, a guest, a disabled or deleted
// account, a wrong or used code are all ErrRecoveryFailed; a bad new
// password is kepu.EINVALID on new_password (checked first, so a guess
// costs no hash). Callers rate-limit it.
func (s *Service) Recover(ctx context.Context, r Recovery, ip string) (User, int, error) {
	if err := CheckPassword(r.NewPassword); err != nil {
		return User{}, 0, kepu.Invalid("new_password", "error.password_length").With("min", MinPassword).With("max", MaxPassword)
	}
	r.Username = strings.TrimSpace(r.Username)
	if len(r.Username) > 4*MaxUsername || len(r.Code) > MaxRecoveryCode || len(normalizeCode(r.Code)) != recoveryCodeLen {
		return User{}, 0, ErrRecoveryFailed
	}
	code := hashCode(r.Code)
	// The cheap check before the password hash: a wrong code costs nothing.
	var id int64
	err := s.DB.QueryRow(ctx, `SELECT u.id FROM users u JOIN recovery_codes rc ON rc.user_id = u.id
		WHERE lower(u.username) = lower($1) AND u.deleted_at IS NULL AND u.disabled_at IS NULL AND u.role <> $3
		AND rc.code_hash = $2 AND rc.used_at IS NULL`, r.Username, code, kepu.RoleGuest).Scan(&id)
	if postgres.IsNotFound(err) {
		return User{}, 0, ErrRecoveryFailed
	}
	if err != nil {
		return User{}, 0, fmt.Errorf("account: recover: %w", err)
	}
	hash, err := s.Hasher.Hash(ctx, r.NewPassword)
	if err != nil {
		return User{}, 0, err
	}
	var u User
	var left int
	err = postgres.Tx(ctx, s.DB, func(tx pgx.Tx) error {
		if u, err = lockUser(ctx, tx, id); err != nil {
			return err
		}
		if u.Disabled || u.IsGuest() {
			return ErrRecoveryFailed
		}
		// The code is used up here, under the user's row lock: of two
		// requests with one code, only one finds it unused.
		tag, err := tx.Exec(ctx, `UPDATE recovery_codes SET used_at = $3 WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL`,
			id, code, s.Now())
		if err != nil {
			return fmt.Errorf("account: recover: %w", err)
		}
		if tag.RowsAffected() != 1 {
			return ErrRecoveryFailed
		}
		if _, err := tx.Exec(ctx, `UPDATE users SET password_hash = $2, updated_at = now() WHERE id = $1`, id, hash); err != nil {
			return fmt.Errorf("account: recover: %w", err)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM sessions WHERE user_id = $1`, id); err != nil {
			return fmt.Errorf("account: recover: end sessions: %w", err)
		}
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL`, id).Scan(&left); err != nil {
			return fmt.Errorf("account: recover: %w", err)
		}
		return audit.Record(ctx, tx, id, "account.password_recover", UserTarget(id), map[string]any{"codes_left": left}, ip)
	})
	if err != nil {
		return User{}, 0, err
	}
	s.Sessions.RevokeUser(ctx, id)
	return u, left, nil
}
