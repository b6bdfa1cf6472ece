package campaign

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kepu/kepu/internal/kepu"
	"github.com/kepu/kepu/internal/scoring"
)

// Progress is what the home page shows participants about themselves.
type Progress struct {
	// Streak is how many consecutive Asia/Shanghai days, up to today (or
	// yesterday, while today has none yet), have at least one finished
	// attempt; one given up with questions left does not count.
	Streak int
	// Last is the latest finished attempt with its campaign's title; nil
	// when there is none.
	Last *HistoryItem
}

// streakDays bounds how many days back a streak is counted.
const streakDays = 400

// ProgressOf returns the actor's streak and latest result.
func (s *Service) ProgressOf(ctx context.Context, a kepu.Actor) (Progress, error) {
	var p Progress
	rows, _ := s.DB.Query(ctx, `SELECT DISTINCT (finished_at AT TIME ZONE 'Asia/Shanghai')::date FROM campaign_attempts
		WHERE user_id = $1 AND finished_at > $2 AND NOT abandoned`, a.UserID, s.now().AddDate(0, 0, -streakDays))
	days, err := pgx.CollectRows(rows, pgx.RowTo[time.Time])
	if err != nil {
		return p, fmt.Errorf("campaign: progress: %w", err)
	}
	p.Streak = scoring.DayStreak(days, day(s.now()))
	last, err := scanHistory(s.DB.QueryRow(ctx, `SELECT c.title, `+attemptColsT+` FROM campaign_attempts t
		JOIN campaigns c ON c.id = t.campaign_id WHERE t.user_id = $1 AND t.finished_at IS NOT NULL
		ORDER BY t.finished_at DESC, t.id DESC LIMIT 1`, a.UserID))
	switch {
	case errors.Is(err, pgx.ErrNoRows):
	case err != nil:
		return p, fmt.Errorf("campaign: progress: %w", err)
	default:
		p.Last = &last
	}
	return p, nil
}

// ForViewer keeps the campaigns of list that the actor may take part in:
// everything for staff (they practise) and for visitors who are not
// logged in (the campaign page tells them whether guests may join);
// for participants and guests, the campaigns whose audience
// (Campaign.Audience, Rules.Schools, Rules.Classes) includes them, the
// rule an attempt's start enforces.
func (s *Service) ForViewer(ctx context.Context, a *kepu.Actor, list []Campaign) ([]Campaign, error) {
	if a == nil || a.Is(kepu.RoleTeacher, kepu.RoleOrganizer, kepu.RoleAdmin) || len(list) == 0 {
		return list, nil
	}
	var g Groups
	if err := s.DB.QueryRow(ctx, `SELECT coalesce(region_id, 0), coalesce(school_id, 0), coalesce(class_id, 0)
		FROM users WHERE id = $1`, a.UserID).Scan(&g.RegionID, &g.SchoolID, &g.ClassID); err != nil {
		return nil, fmt.Errorf("campaign: for viewer: %w", err)
	}
	out := make([]Campaign, 0, len(list))
	for _, c := range list {
		ok, err := eligible(ctx, s.DB, c, g)
		if err != nil {
			return nil, fmt.Errorf("campaign: for viewer: %w", err)
		}
		if ok {
			out = append(out, c)
		}
	}
	return out, nil
}
