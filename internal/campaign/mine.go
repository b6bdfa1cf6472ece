package campaign

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kepu/kepu/internal/bank"
	"github.com/kepu/kepu/internal/kepu"
	"github.com/kepu/kepu/internal/scoring"
)

// Mine is the actor's standing with one campaign: attempts used and left,
// and the attempt in progress to resume (0: none).
type Mine struct {
	Today      int   `json:"today"`
	Total      int   `json:"total"`
	LeftToday  int   `json:"left_today"` // -1: unlimited
	LeftTotal  int   `json:"left_total"` // -1: unlimited
	InProgress int64 `json:"in_progress"`
	// PracticeInProgress is the practice attempt to resume (0: none);
	// practice attempts count in none of the figures above.
	PracticeInProgress int64 `json:"practice_in_progress"`
}

// Left is how many attempts the actor may still start now (-1: unlimited).
func (m Mine) Left() int {
	switch {
	case m.LeftToday < 0:
		return m.LeftTotal
	case m.LeftTotal < 0:
		return m.LeftToday
	}
	return min(m.LeftToday, m.LeftTotal)
}

// MineOf counts the actor's attempts at the campaign against its limits.
func (s *Service) MineOf(ctx context.Context, a kepu.Actor, c Campaign) (Mine, error) {
	var m Mine
	err := s.DB.QueryRow(ctx, `SELECT count(*) FILTER (WHERE day = $3 AND NOT practice), count(*) FILTER (WHERE NOT practice),
		coalesce(max(id) FILTER (WHERE in_progress AND NOT practice), 0), coalesce(max(id) FILTER (WHERE in_progress AND practice), 0)
		FROM campaign_attempts WHERE campaign_id = $1 AND user_id = $2`,
		c.ID, a.UserID, day(s.now())).Scan(&m.Today, &m.Total, &m.InProgress, &m.PracticeInProgress)
	if err != nil {
		return m, fmt.Errorf("campaign: mine: %w", err)
	}
	m.LeftToday, m.LeftTotal = -1, -1
	if c.Rules.PerDay > 0 {
		m.LeftToday = max(c.Rules.PerDay-m.Today, 0)
	}
	if c.Rules.Total > 0 {
		m.LeftTotal = max(c.Rules.Total-m.Total, 0)
	}
	return m, nil
}

// DemoTitle is the title of the demo campaign `kepu seed` creates.
const DemoTitle = "2026年常德市公民科学素质网络答题（演示）"

// SeedDemo creates the published demo campaign of regionID once (by title):
// 20 questions (7 true/false, 7 single, 6 multiple choice), speed scoring,
// 30 s per question, 3 attempts a day, bilingual (a participant who reads
// English gets the English translation where one exists), a practice round
// of 5 questions (练习, not required), open for a year from now. It returns the campaign id and whether it was created now.
func (s *Service) SeedDemo(ctx context.Context, regionID int64) (int64, bool, error) {
	var id int64
	err := s.DB.QueryRow(ctx, `SELECT id FROM campaigns WHERE title = $1 ORDER BY id LIMIT 1`, DemoTitle).Scan(&id)
	if err == nil {
		return id, false, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return 0, false, fmt.Errorf("campaign: seed demo: %w", err)
	}
	now := s.now()
	in := Input{
		Title:       DemoTitle,
		Description: "面向全市公民的科学素质网络知识竞答演示活动：每次 20 题，答得又快又准排名更高。",
		RegionID:    regionID,
		StartsAt:    now.Add(-time.Hour),
		EndsAt:      now.AddDate(1, 0, 0),
		Rules: Rules{Questions: 20, TimeLimit: 30, PerDay: 3, Lang: LangBoth, Scoring: scoring.RuleSpeed, Counts: CountBest, Quotas: []Quota{
			{Type: bank.TypeTrueFalse, Count: 7}, {Type: bank.TypeSingle, Count: 7}, {Type: bank.TypeMultiple, Count: 6}},
			Practice: Practice{Enabled: true, Questions: 5}},
	}
	if err := in.Validate(); err != nil {
		return 0, false, fmt.Errorf("campaign: seed demo: %w", err)
	}
	if err := s.checkBank(ctx, in.Rules, in.RegionID); err != nil {
		return 0, false, fmt.Errorf("campaign: seed demo: %w", err)
	}
	err = s.DB.QueryRow(ctx, `INSERT INTO campaigns (title, description, region_id, kind, status, starts_at, ends_at, audience, settings)
		VALUES ($1, $2, $3, $4, 'published', $5, $6, $7, $8) RETURNING id`,
		in.Title, in.Description, in.RegionID, kindOf(in.Rules), in.StartsAt, in.EndsAt, in.Audience, in.Rules).Scan(&id)
	if err != nil {
		return 0, false, fmt.Errorf("campaign: seed demo: %w", err)
	}
	return id, true, nil
}

// Generated is a campaign made by a volume generator (internal/seed).
type Generated struct {
	Title            string
	RegionID         int64
	Kind             string // quiz or assessment
	Status           string // "" leaves it a draft
	StartsAt, EndsAt time.Time
	Rules            *Rules // nil leaves settings empty ('{}')
}

// CreateGenerated inserts g as it is, without Create's checks, audience or
// audit, and returns its id. It is for generated benchmark and load-test
// volume only (internal/seed); people create campaigns with Create.
func (s *Service) CreateGenerated(ctx context.Context, g Generated) (int64, error) {
	var id int64
	err := s.DB.QueryRow(ctx, `INSERT INTO campaigns (title, description, region_id, kind, status, starts_at, ends_at, settings)
		VALUES ($1, '', $2, $3, coalesce(nullif($4, ''), 'draft'), $5, $6, coalesce($7::jsonb, '{}'))
		RETURNING id`, g.Title, g.RegionID, g.Kind, g.Status, g.StartsAt, g.EndsAt, g.Rules).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("campaign: create generated %q: %w", g.Title, err)
	}
	return id, nil
}

// NextDay is 00:00 Beijing time (Asia/Shanghai) of the day after t's: when
// the per-day attempt limits start counting again (day, checkLimits).
func NextDay(t time.Time) time.Time {
	y, m, d := t.In(kepu.Shanghai).Date()
	return time.Date(y, m, d+1, 0, 0, 0, 0, kepu.Shanghai)
}
