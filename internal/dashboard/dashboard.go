// Package dashboard provides the organizer dashboards: headline numbers,
// participation over time, breakdowns by district, school, class, age band
// and occupation, score distribution, results per category and literacy
// dimension, item analysis, and contest reports — for one campaign or for
// every campaign in the actor's scope.
//
// Page views read only the dash_* rollups (migrations/00400_dashboard.sql),
// which the Refresher keeps up to date from the campaign tables; no view
// scans the answers table.
//
// Scope and privacy: an admin sees everything; an organizer the
// participants of their region subtree; a teacher the participants of the
// classes they teach. Participants get kepu.Forbidden. Outside a school
// (organizers, admins) groups smaller than MinGroup are suppressed and
// minors (age band u14) appear only in aggregates. A contest report
// (contest.go) lists its players by their full nicknames: only the host,
// admins and organizers over the host's region see it.
package dashboard

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kepu/kepu/internal/calibrate"
	"github.com/kepu/kepu/internal/kepu"
	"github.com/kepu/kepu/internal/org"
	"github.com/kepu/kepu/internal/postgres"
)

// MinGroup is the smallest group shown in a breakdown outside its school.
const MinGroup = 5

// Service answers dashboard queries.
type Service struct {
	DB *pgxpool.Pool
	// Reads, when set, sends the views' reads (rollups, exports) to a
	// streaming replica while it is well; writes and scope checks stay
	// on DB.
	Reads *postgres.Reads
	Org   *org.Service
	Now   func() time.Time // clock of "now" figures; time.Now when nil
	// MinFlagAnswers is how many answers an item needs before it may be
	// flagged as broken (default MinFlagAnswers).
	MinFlagAnswers int64
	// Calibrated, when set, gives the item analysis the latest item
	// response parameters (internal/calibrate).
	Calibrated Calibrated
}

// Calibrated reads the latest calibrated parameters of question versions
// (internal/calibrate.Service).
type Calibrated interface {
	Latest(ctx context.Context, versionIDs []int64) (map[int64]calibrate.Params, error)
}

func (s *Service) minFlag() int64 {
	if s.MinFlagAnswers > 0 {
		return s.MinFlagAnswers
	}
	return MinFlagAnswers
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Scope is what part of the data an actor sees. Regions nil and Classes nil
// mean everything (admins). Inside is true for teachers: they look at their
// own classes, so small groups are not suppressed.
type Scope struct {
	Regions []int64
	Classes []int64
	Inside  bool
	Full    bool // may see campaign-wide figures (items, categories)
}

// ScopeOf returns the actor's scope, or kepu.Forbidden for participants.
func (s *Service) ScopeOf(ctx context.Context, a kepu.Actor) (Scope, error) {
	switch a.Role {
	case kepu.RoleAdmin:
		return Scope{Full: true}, nil
	case kepu.RoleOrganizer:
		ids, err := s.Org.ScopeRegionIDs(ctx, a)
		if err != nil {
			return Scope{}, err
		}
		if len(ids) == 0 {
			return Scope{}, kepu.Forbidden
		}
		return Scope{Regions: ids}, nil
	case kepu.RoleTeacher:
		cs, err := s.Org.Classes(ctx, a, 0)
		if err != nil {
			return Scope{}, err
		}
		ids := []int64{}
		for _, c := range cs {
			ids = append(ids, c.ID)
		}
		return Scope{Classes: ids, Inside: true}, nil
	}
	return Scope{}, kepu.Forbidden
}

// Campaign is what the dashboards show of a campaign.
type Campaign struct {
	ID         int64     `json:"id"`
	Title      string    `json:"title"`
	RegionID   int64     `json:"region_id"`
	Assessment bool      `json:"assessment"` // literacy assessment: results in tiers
	StartsAt   time.Time `json:"starts_at"`
	EndsAt     time.Time `json:"ends_at"`
}

// Campaign returns the campaign and the actor's scope on it: kepu.NotFound
// when it does not exist, kepu.Forbidden for participants and for staff the
// campaign's region does not reach (see checkReach). An organizer whose
// subtree holds the campaign's region, and admins, see its campaign-wide
// figures (Scope.Full).
func (s *Service) Campaign(ctx context.Context, a kepu.Actor, id int64) (Campaign, Scope, error) {
	sc, err := s.ScopeOf(ctx, a)
	if err != nil {
		return Campaign{}, Scope{}, err
	}
	var c Campaign
	err = s.DB.QueryRow(ctx, sqlCampaign, id).Scan(&c.ID, &c.Title, &c.RegionID, &c.Assessment, &c.StartsAt, &c.EndsAt)
	if postgres.IsNotFound(err) {
		return Campaign{}, Scope{}, kepu.NotFound("error.dash_campaign_not_found")
	}
	if err != nil {
		return Campaign{}, Scope{}, fmt.Errorf("dashboard: campaign %d: %w", id, err)
	}
	if a.Role == kepu.RoleOrganizer && c.RegionID != 0 {
		if err := s.Org.CheckRegion(ctx, a, c.RegionID); err == nil {
			sc.Full = true
		}
	}
	if !sc.Full && c.RegionID != 0 {
		if err := s.checkReach(ctx, a, c.RegionID); err != nil {
			return Campaign{}, Scope{}, err
		}
	}
	return c, sc, nil
}

// checkReach returns kepu.Forbidden unless the campaign's region reaches
// the actor: an organizer whose subtree lies inside it (a city-wide
// campaign seen from a district), or a teacher with a class in a school
// inside it.
func (s *Service) checkReach(ctx context.Context, a kepu.Actor, regionID int64) error {
	var ok bool
	var err error
	switch a.Role {
	case kepu.RoleOrganizer:
		err = s.DB.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM regions cr, regions root
			WHERE cr.id = $1 AND root.id = $2 AND root.path LIKE cr.path || '%')`, regionID, a.ScopeRegionID).Scan(&ok)
	case kepu.RoleTeacher:
		err = s.DB.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM classes cl JOIN schools sc ON sc.id = cl.school_id
			JOIN regions r ON r.id = sc.region_id, regions cr
			WHERE cl.teacher_id = $2 AND cr.id = $1 AND r.path LIKE cr.path || '%')`, regionID, a.UserID).Scan(&ok)
	}
	if err != nil {
		return fmt.Errorf("dashboard: campaign scope: %w", err)
	}
	if !ok {
		return kepu.Forbidden
	}
	return nil
}

// Headline are the live numbers of a campaign (or of all campaigns in
// scope). Rates are 0..1; AvgScore is in percent.
type Headline struct {
	CampaignID     int64   `json:"campaign_id,omitempty"`
	Title          string  `json:"title,omitempty"`
	Participants   int64   `json:"participants"`
	Attempts       int64   `json:"attempts"`
	Finished       int64   `json:"finished"`
	InProgress     int64   `json:"in_progress"`
	AnswersPerMin  float64 `json:"answers_per_minute"`
	CompletionRate float64 `json:"completion_rate"`
	PassRate       float64 `json:"pass_rate"`
	AvgScore       float64 `json:"avg_score"`
	At             string  `json:"at"`
	// The practice round (练习), never in the figures above: who
	// practised, practice attempts begun and finished (in scope by the
	// attempt's snapshot). Zero in the overview.
	PracticeParticipants int64 `json:"practice_participants"`
	PracticeAttempts     int64 `json:"practice_attempts"`
	PracticeFinished     int64 `json:"practice_finished"`
}

// sqlPractice counts campaign $1's practice attempts started in scope ($2
// regions, $3 classes): participants, attempts, finished.
const sqlPractice = `SELECT count(DISTINCT t.user_id), count(*), count(*) FILTER (WHERE t.finished_at IS NOT NULL)
	FROM campaign_attempts t WHERE t.campaign_id = $1 AND t.practice AND NOT t.staff_practice
	AND ($2::bigint[] IS NULL OR t.region_id = ANY($2)) AND ($3::bigint[] IS NULL OR t.class_id = ANY($3))`

func ratio(a, b int64) float64 {
	if b <= 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// scopeFilter is the WHERE clause on dash_participants p for a scope; its
// parameters are $2 (regions) and $3 (classes).
const scopeFilter = `($2::bigint[] IS NULL OR p.region_id = ANY($2)) AND ($3::bigint[] IS NULL OR p.class_id = ANY($3))`

// Headline returns the campaign's live numbers within the scope.
func (s *Service) Headline(ctx context.Context, c Campaign, sc Scope) (Headline, error) {
	h := Headline{CampaignID: c.ID, Title: c.Title, At: kepu.FormatTime(s.now(), kepu.LayoutClock)}
	var sumPct float64
	var passes int64
	err := s.read().QueryRow(ctx, `SELECT count(*), coalesce(sum(attempts), 0), coalesce(sum(finished), 0),
		coalesce(sum(passes), 0), coalesce(sum(sum_pct), 0)
		FROM dash_participants p WHERE p.campaign_id = $1 AND `+scopeFilter, c.ID, sc.Regions, sc.Classes).
		Scan(&h.Participants, &h.Attempts, &h.Finished, &passes, &sumPct)
	if err != nil {
		return h, fmt.Errorf("dashboard: headline %d: %w", c.ID, err)
	}
	if err := s.read().QueryRow(ctx, sqlInProgress, c.ID, sc.Regions, sc.Classes).Scan(&h.InProgress); err != nil {
		return h, fmt.Errorf("dashboard: in progress %d: %w", c.ID, err)
	}
	if err := s.read().QueryRow(ctx, sqlPractice, c.ID, sc.Regions, sc.Classes).
		Scan(&h.PracticeParticipants, &h.PracticeAttempts, &h.PracticeFinished); err != nil {
		return h, fmt.Errorf("dashboard: practice %d: %w", c.ID, err)
	}
	var last5 int64
	if err := s.read().QueryRow(ctx, `SELECT coalesce(sum(answers), 0) FROM dash_minute
		WHERE campaign_id = $1 AND minute >= date_trunc('minute', $2::timestamptz) - interval '5 minutes'`, c.ID, s.now()).Scan(&last5); err != nil {
		return h, fmt.Errorf("dashboard: answers per minute %d: %w", c.ID, err)
	}
	h.fill(passes, sumPct, last5)
	return h, nil
}

// read is the pool of the views' lag-tolerant reads: the replica while it
// is well (Reads), else the primary.
func (s *Service) read() *pgxpool.Pool {
	if p := s.Reads.Pool(); p != nil {
		return p
	}
	return s.DB
}

// Overview returns the headline of every campaign in the actor's scope
// that has participants in it, newest first (at most 100), from one
// grouped query per figure.
func (s *Service) Overview(ctx context.Context, a kepu.Actor) ([]Headline, error) {
	sc, err := s.ScopeOf(ctx, a)
	if err != nil {
		return nil, err
	}
	rows, _ := s.read().Query(ctx, `WITH p AS (
			SELECT p.campaign_id, count(*) AS n, sum(attempts) AS attempts, sum(finished) AS finished,
				sum(passes) AS passes, sum(sum_pct) AS sum_pct
			FROM dash_participants p WHERE `+scopeFilter+` GROUP BY p.campaign_id
		), m AS (
			SELECT campaign_id, sum(answers) AS answers FROM dash_minute
			WHERE minute >= date_trunc('minute', $1::timestamptz) - interval '5 minutes' GROUP BY campaign_id
		)
		SELECT c.id, c.title, p.n, p.attempts, p.finished, p.passes, p.sum_pct, coalesce(m.answers, 0)
		FROM p JOIN campaigns c ON c.id = p.campaign_id LEFT JOIN m ON m.campaign_id = p.campaign_id
		ORDER BY c.starts_at DESC, c.id DESC LIMIT 100`, s.now(), sc.Regions, sc.Classes)
	at := kepu.FormatTime(s.now(), kepu.LayoutClock)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Headline, error) {
		h := Headline{At: at}
		var passes, last5 int64
		var sumPct float64
		err := r.Scan(&h.CampaignID, &h.Title, &h.Participants, &h.Attempts, &h.Finished, &passes, &sumPct, &last5)
		h.fill(passes, sumPct, last5)
		return h, err
	})
	if err != nil {
		return nil, fmt.Errorf("dashboard: overview: %w", err)
	}
	if out == nil {
		out = []Headline{}
	}
	// In scope by where each attempt started (its snapshot), as the rollups count it.
	rows, _ = s.read().Query(ctx, `SELECT t.campaign_id, count(*) FROM campaign_attempts t
		WHERE t.in_progress AND t.finished_at IS NULL AND NOT t.staff_practice AND NOT t.practice
		AND ($1::bigint[] IS NULL OR t.region_id = ANY($1)) AND ($2::bigint[] IS NULL OR t.class_id = ANY($2))
		GROUP BY 1`, sc.Regions, sc.Classes)
	open := map[int64]int64{}
	var id, n int64
	if _, err := pgx.ForEachRow(rows, []any{&id, &n}, func() error { open[id] = n; return nil }); err != nil {
		return nil, fmt.Errorf("dashboard: overview in progress: %w", err)
	}
	for i := range out {
		out[i].InProgress = open[out[i].CampaignID]
	}
	return out, nil
}

// fill derives the rates from the counts.
func (h *Headline) fill(passes int64, sumPct float64, last5 int64) {
	h.AnswersPerMin = float64(last5) / 5
	h.CompletionRate = ratio(h.Finished, h.Attempts)
	h.PassRate = ratio(passes, h.Finished)
	if h.Finished > 0 {
		h.AvgScore = sumPct / float64(h.Finished)
	}
}

// CompletionPct is CompletionRate in percent.
func (h Headline) CompletionPct() float64 { return 100 * h.CompletionRate }

// PassPct is PassRate in percent.
func (h Headline) PassPct() float64 { return 100 * h.PassRate }

// Section is one table of a dashboard page, the chart drawn from it (""
// for none) and the columns the chart plots (comparable units only).
type Section struct {
	Name   string
	Chart  string
	Series string // comma-separated column indexes
}

// CampaignSections are the sections of a campaign page; full adds the
// campaign-wide ones (categories, dimensions, items).
func CampaignSections(full bool) []Section {
	out := []Section{{"timeline_hour", "line", "1,2,3"}, {"timeline_day", "bar", "1,2,3"}, {"region", "bar", "3,4"},
		{"school", "bar", "3,4"}, {"class", "bar", "3,4"}, {"roster", "", ""}, {"age", "bar", "3,4"},
		{"occupation", "bar", "3,4"}, {"scores", "bar", "1"}}
	if full {
		out = append(out, Section{"dimensions", "bar", "3"}, Section{"categories", "bar", "3"}, Section{"items", "", ""})
	}
	return out
}

// ContestSections are the sections of a contest report.
var ContestSections = []Section{{"runs", "bar", "3"}, {"questions", "bar", "3"}, {"players", "", ""}}
