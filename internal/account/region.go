package account

// The rule on district changes. A participant's attempts count on the
// boards of the district they had when each attempt started (the snapshot
// on campaign_attempts), so a move cannot carry a score to another board;
// still, moving back and forth during a campaign would let one person rank
// on several district boards with fresh attempts. So: while the user has
// an attempt in a campaign that is still open (published or paused, not
// ended), their district (region_id) may change at most once after the
// first such attempt; a second change is refused with 409
// error.region_change_locked until those campaigns end. An administrator
// can still set it (`kepu user create --username U --region CODE`).
// users.region_changed_at (migrations/00203) records the last change, by
// the service's clock (Now), the clock attempts' started_at come from.

import (
	"context"
	"fmt"
	"time"

	"github.com/kepu/kepu/internal/kepu"
)

// AttemptChecker answers for the rule on district changes: when the user
// first started an attempt in a campaign that is still open (the zero time:
// none). internal/campaign implements it.
type AttemptChecker interface {
	FirstOpenAttempt(ctx context.Context, userID int64) (time.Time, error)
}

// ErrRegionLocked refuses a second change of district while a campaign the
// user has played is open.
var ErrRegionLocked = kepu.Errorf(kepu.ECONFLICT, "error.region_change_locked")

// sqlRegionChangeAllowed is the condition, on the row u being updated to
// region $3, that the rule allows the change; $8 is regionLockedSince (NULL:
// no open campaign played). It is part of the UPDATE's WHERE, so two
// concurrent changes cannot both pass.
const sqlRegionChangeAllowed = `(u.region_id IS NOT DISTINCT FROM $3 OR $8::timestamptz IS NULL
	OR u.region_changed_at IS NULL OR u.region_changed_at < $8::timestamptz)`

// regionLockedSince is when the user first started an attempt in a campaign
// that is still open, nil when none (or without an AttemptChecker).
func (s *Service) regionLockedSince(ctx context.Context, userID int64) (*time.Time, error) {
	if s.Attempts == nil {
		return nil, nil
	}
	at, err := s.Attempts.FirstOpenAttempt(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("account: region rule: %w", err)
	}
	if at.IsZero() {
		return nil, nil
	}
	return &at, nil
}

// profileNotUpdated explains an UPDATE of the profile that matched no row:
// the user is gone (ErrUserNotFound) or the rule refused the change of
// district (ErrRegionLocked).
func (s *Service) profileNotUpdated(ctx context.Context, userID int64) error {
	var exists bool
	if err := s.DB.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM users WHERE id = $1 AND deleted_at IS NULL)`, userID).Scan(&exists); err != nil {
		return fmt.Errorf("account: update profile: %w", err)
	}
	if exists {
		return ErrRegionLocked
	}
	return ErrUserNotFound
}
