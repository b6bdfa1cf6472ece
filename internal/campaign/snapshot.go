package campaign

// An attempt belongs to the district, school and class its participant had
// when it started (campaign_attempts.region_id, school_id, class_id;
// migrations/00203_attempt_snapshot.sql): Start writes them from the user
// row it locks, leaderboards and dashboards group attempts by them, and the
// audience of a resumed attempt is checked against them.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Groups are the region (district or township), school and class an
// attempt counts in; 0: none.
type Groups struct {
	RegionID int64
	SchoolID int64
	ClassID  int64
}

// attemptGroups reads an attempt's snapshot.
func attemptGroups(ctx context.Context, q pgx.Tx, attemptID int64) (Groups, error) {
	var g Groups
	err := q.QueryRow(ctx, `SELECT coalesce(region_id, 0), coalesce(school_id, 0), coalesce(class_id, 0)
		FROM campaign_attempts WHERE id = $1`, attemptID).Scan(&g.RegionID, &g.SchoolID, &g.ClassID)
	if err != nil {
		return g, fmt.Errorf("campaign: attempt groups: %w", err)
	}
	return g, nil
}

// eligible reports whether a participant in groups g is in the campaign's
// audience: no audience chosen and the region inside the campaign's region
// (or no region), or the region inside a chosen district, or a chosen
// school or class.
func eligible(ctx context.Context, tx interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, c Campaign, g Groups) (bool, error) {
	var ok bool
	err := tx.QueryRow(ctx, `SELECT ($2::bigint[] = '{}' AND $4::bigint[] = '{}' AND $5::bigint[] = '{}'
			AND ($1 = 0 OR EXISTS (SELECT 1 FROM regions r, regions root
			WHERE r.id = $1 AND root.id = $3 AND r.path LIKE root.path || '%')))
		OR EXISTS (SELECT 1 FROM regions r, regions d WHERE r.id = $1 AND d.id = ANY($2) AND r.path LIKE d.path || '%')
		OR ($6 <> 0 AND $6 = ANY($4)) OR ($7 <> 0 AND $7 = ANY($5))`,
		g.RegionID, nonNil(c.Audience), c.RegionID, nonNil(c.Rules.Schools), nonNil(c.Rules.Classes), g.SchoolID, g.ClassID).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("audience: %w", err)
	}
	return ok, nil
}

// FirstOpenAttempt returns when the user first started an attempt in a
// campaign that is still open (published or paused, not yet ended); the
// zero time when there is none. The account service asks it before a
// change of district (account.AttemptChecker).
func (s *Service) FirstOpenAttempt(ctx context.Context, userID int64) (time.Time, error) {
	var at *time.Time
	err := s.DB.QueryRow(ctx, `SELECT min(t.started_at) FROM campaign_attempts t JOIN campaigns c ON c.id = t.campaign_id
		WHERE t.user_id = $1 AND c.status IN ('published', 'paused') AND c.ends_at > $2`, userID, s.now()).Scan(&at)
	if errors.Is(err, pgx.ErrNoRows) || at == nil {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("campaign: first open attempt: %w", err)
	}
	return *at, nil
}
