// Package campaign runs timed quiz campaigns: the campaign model and its
// organizer lifecycle (draft → published ⇄ paused → closed → archived),
// publish-time validation of question quotas against the bank, and the
// citizen's attempts (start, one question at a time, answer, resume,
// finish). The server decides every time and score; answer keys never
// leave the server before a question is locked. Fairness rules:
// docs/fairness.md, "Campaigns".
package campaign

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kepu/kepu/internal/audit"
	"github.com/kepu/kepu/internal/bank"
	"github.com/kepu/kepu/internal/kepu"
	"github.com/kepu/kepu/internal/postgres"
	"github.com/kepu/kepu/internal/scoring"
)

// Statuses of a campaign.
const (
	StatusDraft     = "draft"
	StatusPublished = "published"
	StatusPaused    = "paused"
	StatusClosed    = "closed"
	StatusArchived  = "archived"
)

// LangBoth is the question language of a bilingual campaign: each
// participant gets the questions in their own language where the bank has
// a translation (draw.go).
const LangBoth = "both"

// Which attempt counts on the leaderboards.
const (
	CountBest   = "best"
	CountSum    = "sum"
	CountLatest = "latest"
)

// Limits of a campaign's input.
const (
	MaxTitle       = 200  // runes
	MaxDescription = 4000 // runes
	MaxQuestions   = 100
	MaxQuotas      = 20
	MaxAudience    = 50
	MinTimeLimit   = 5   // seconds per question
	MaxTimeLimit   = 600 // seconds per question
)

// Quota asks for Count questions matching every non-empty filter.
type Quota struct {
	Category  string `json:"category,omitempty"`
	Dimension string `json:"dimension,omitempty"`
	Type      string `json:"type,omitempty"`
	Count     int    `json:"count"`
}

// Describe names the n-th quota (from 1) for messages in the reader's
// language: its category, dimension and type labels, "any" where it sets
// none (campaign.quota_nth). n = 0 names the questions outside the quotas.
func (q Quota) Describe(n int) kepu.Msg {
	if n == 0 {
		return kepu.Msg{Key: "campaign.quota_rest"}
	}
	label := func(family, v string) kepu.Msg {
		if v == "" {
			return kepu.Msg{Key: "campaign.any"}
		}
		return kepu.Msg{Key: "bank." + family + "." + v}
	}
	return kepu.Msg{Key: "campaign.quota_nth", Params: map[string]any{"n": n, "category": label("category", q.Category),
		"dimension": label("dimension", q.Dimension), "type": label("type", q.Type)}}
}

// quotaField is the input field of the i-th quota (from 0), e.g. "rules.quotas.1".
func quotaField(i int) string { return "rules.quotas." + strconv.Itoa(i) }

// Rules are how a campaign is played and scored.
type Rules struct {
	Questions    int            `json:"questions"`         // per attempt
	Quotas       []Quota        `json:"quotas,omitempty"`  // the rest is drawn from any published question
	Lang         string         `json:"lang"`              // question language: zh-CN (default), en or both (LangBoth, draw.go)
	TimeLimit    int            `json:"time_limit"`        // seconds per question
	AttemptLimit int            `json:"attempt_limit"`     // seconds for the whole attempt, 0: none
	Schools      []int64        `json:"schools,omitempty"` // audience: these schools too (see Campaign.Audience)
	Classes      []int64        `json:"classes,omitempty"` // audience: these classes too
	Guests       bool           `json:"guests"`            // visitors without an account may take part (guest.go)
	Pool         string         `json:"pool,omitempty"`    // "" the published bank, PoolPrivate the private pool (staff.go)
	PerDay       int            `json:"per_day"`           // attempts per Asia/Shanghai day, 0: unlimited
	Total        int            `json:"total"`             // attempts in all, 0: unlimited
	Counts       string         `json:"counts"`            // best, sum or latest
	Scoring      string         `json:"scoring"`           // speed, flat or assessment
	Base         int            `json:"base"`              // speed: points of a correct answer; flat: points per question
	Bonus        int            `json:"bonus"`             // speed: the largest bonus (at once), falling to 0 at the limit
	Partial      bool           `json:"partial"`           // multiple choice: partial credit
	PassMark     int            `json:"pass_mark"`         // percent of the maximum that passes
	Tiers        []scoring.Tier `json:"tiers,omitempty"`   // assessment tiers
	// ParallelForms: an assessment draws each person a form matched in
	// test information around the pass mark (forms.go).
	ParallelForms bool `json:"parallel_forms,omitempty"`
	// Divisions (组别): each with its own board, pass mark and
	// certificate, perhaps its own questions (division.go). None: one
	// board for everyone (attempts' division '').
	Divisions []Division `json:"divisions,omitempty"`
	// DivisionChoice: a participant picks their division (before their
	// first formal attempt) instead of taking their profile's.
	DivisionChoice bool `json:"division_choice,omitempty"`
	// Practice is the practice round (练习).
	Practice Practice `json:"practice"`
	// InviteReward: a participant who has brought someone to the campaign
	// (internal/invite) gets one attempt a day more than PerDay. Never
	// points: scores are untouched (Service.Extra decides).
	InviteReward bool `json:"invite_reward,omitempty"`
}

// Campaign is one campaign.
type Campaign struct {
	ID          int64     `json:"id"`
	Title       string    `json:"title"`
	Description string    `json:"description"`
	RegionID    int64     `json:"region_id"`
	Kind        string    `json:"kind"`
	Status      string    `json:"status"`
	StartsAt    time.Time `json:"starts_at"`
	EndsAt      time.Time `json:"ends_at"`
	Audience    []int64   `json:"audience"` // district ids; empty: the owning region's whole subtree
	Rules       Rules     `json:"rules"`
	// CoverImageID is the cover, an image of the question bank's images
	// table; CoverURL is where anyone fetches it (bank.ImageURL). Both are
	// nil (null in JSON) when the campaign has no cover.
	CoverImageID *int64    `json:"cover_image_id"`
	CoverURL     *string   `json:"cover_url"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// Open reports whether citizens may play at now.
func (c Campaign) Open(now time.Time) bool {
	return c.Status == StatusPublished && !now.Before(c.StartsAt) && now.Before(c.EndsAt)
}

// Phase is "upcoming", "open" or "ended" at now (paused campaigns are open
// but not playable).
func (c Campaign) Phase(now time.Time) string {
	switch {
	case c.Status == StatusClosed || c.Status == StatusArchived || !now.Before(c.EndsAt):
		return "ended"
	case now.Before(c.StartsAt):
		return "upcoming"
	}
	return "open"
}

// Input is what an organizer sends to create or edit a campaign.
type Input struct {
	Title       string    `json:"title"`
	Description string    `json:"description"`
	RegionID    int64     `json:"region_id"`
	StartsAt    time.Time `json:"starts_at"`
	EndsAt      time.Time `json:"ends_at"`
	Audience    []int64   `json:"audience"`
	Rules       Rules     `json:"rules"`
	// CoverImageID names an uploaded image (POST /api/v1/bank/images) as
	// the cover; null, absent or 0: no cover (an update without it clears
	// the cover).
	CoverImageID *int64 `json:"cover_image_id"`
}

// Defaults fills unset rules: speed scoring 600 + 400, 10 questions, 20 s
// each, best attempt counts, pass at 60%; an assessment gets the survey's
// 50 questions 20/10/10/10 by dimension and its tiers.
func (r *Rules) Defaults() {
	if r.Lang == "" {
		r.Lang = "zh-CN"
	}
	if r.Scoring == "" {
		r.Scoring = scoring.RuleSpeed
	}
	if r.Scoring == scoring.RuleAssessment {
		if r.Questions == 0 {
			r.Questions = 50
		}
		if len(r.Quotas) == 0 && r.Questions == 50 {
			r.Quotas = []Quota{{Dimension: bank.DimKnowledge, Count: 20}, {Dimension: bank.DimMethod, Count: 10},
				{Dimension: bank.DimSpirit, Count: 10}, {Dimension: bank.DimApplication, Count: 10}}
		}
		if len(r.Tiers) == 0 {
			r.Tiers = scoring.DefaultTiers
		}
	}
	if r.Questions == 0 {
		r.Questions = 10
	}
	if r.TimeLimit == 0 {
		r.TimeLimit = 20
	}
	if r.Counts == "" {
		r.Counts = CountBest
	}
	if r.Scoring == scoring.RuleSpeed && r.Base == 0 && r.Bonus == 0 {
		r.Base, r.Bonus = 600, 400
	}
	if r.Scoring == scoring.RuleFlat && r.Base == 0 {
		r.Base = 10
	}
	if r.PassMark == 0 {
		r.PassMark = 60
	}
}

// Validate checks the input; the error names the field at fault.
func (in *Input) Validate() error {
	in.Title = strings.TrimSpace(in.Title)
	in.Description = strings.TrimSpace(in.Description)
	if n := utf8.RuneCountInString(in.Title); n == 0 || n > MaxTitle {
		return kepu.Invalid("title", "error.campaign_title").With("max", MaxTitle)
	}
	if utf8.RuneCountInString(in.Description) > MaxDescription {
		return kepu.Invalid("description", "error.campaign_description").With("max", MaxDescription)
	}
	if in.StartsAt.IsZero() || in.EndsAt.IsZero() || !in.EndsAt.After(in.StartsAt) {
		return kepu.Invalid("ends_at", "error.campaign_dates")
	}
	if len(in.Audience) > MaxAudience {
		return kepu.Invalid("audience", "error.campaign_audience")
	}
	if in.CoverImageID != nil && *in.CoverImageID == 0 {
		in.CoverImageID = nil
	}
	if in.CoverImageID != nil && *in.CoverImageID < 0 {
		return errCoverMissing
	}
	in.StartsAt, in.EndsAt = in.StartsAt.UTC(), in.EndsAt.UTC()
	if in.Audience == nil {
		in.Audience = []int64{}
	}
	r := &in.Rules
	r.Defaults()
	switch {
	case r.Lang != "zh-CN" && r.Lang != "en" && r.Lang != LangBoth:
		return kepu.Invalid("rules.lang", "error.campaign_lang")
	case r.Questions < 1 || r.Questions > MaxQuestions:
		return kepu.Invalid("rules.questions", "error.campaign_questions").With("max", MaxQuestions)
	case r.TimeLimit < MinTimeLimit || r.TimeLimit > MaxTimeLimit:
		return kepu.Invalid("rules.time_limit", "error.campaign_time_limit").With("min", MinTimeLimit).With("max", MaxTimeLimit)
	case r.AttemptLimit < 0 || r.AttemptLimit > MaxAttemptLimit:
		return kepu.Invalid("rules.attempt_limit", "error.campaign_attempt_limit").With("max", MaxAttemptLimit)
	case r.PerDay < 0 || r.PerDay > 100 || r.Total < 0 || r.Total > 1000:
		return kepu.Invalid("rules.per_day", "error.campaign_limits")
	case !kepu.Contains([]string{CountBest, CountSum, CountLatest}, r.Counts):
		return kepu.Invalid("rules.counts", "error.campaign_counts")
	case !kepu.Contains([]string{scoring.RuleSpeed, scoring.RuleFlat, scoring.RuleAssessment}, r.Scoring):
		return kepu.Invalid("rules.scoring", "error.campaign_scoring")
	case r.Base < 0 || r.Base > 10000 || r.Bonus < 0 || r.Bonus > 10000:
		return kepu.Invalid("rules.base", "error.campaign_points")
	case r.PassMark < 0 || r.PassMark > 100:
		return kepu.Invalid("rules.pass_mark", "error.campaign_pass_mark")
	case len(r.Schools) > MaxAudience || len(r.Classes) > MaxAudience:
		return kepu.Invalid("rules.schools", "error.campaign_audience")
	case r.Guests && len(in.Audience) == 0 && len(r.Schools)+len(r.Classes) > 0:
		// A guest belongs to no school or class: such an audience would refuse every guest.
		return kepu.Invalid("rules.guests", "error.campaign_guests_audience")
	case r.Pool != "" && r.Pool != PoolPrivate:
		return kepu.Invalid("rules.pool", "error.campaign_pool")
	case r.ParallelForms && r.Scoring != scoring.RuleAssessment:
		return kepu.Invalid("rules.parallel_forms", "calibrate.error.parallel_forms")
	case len(r.Quotas) > MaxQuotas || len(r.Tiers) > 10:
		return kepu.Invalid("rules.quotas", "error.campaign_quotas")
	}
	sum := 0
	for i, q := range r.Quotas {
		q.Category, q.Dimension, q.Type = strings.TrimSpace(q.Category), strings.TrimSpace(q.Dimension), strings.TrimSpace(q.Type)
		r.Quotas[i] = q
		if q.check() != nil {
			return kepu.Invalid(quotaField(i), "error.campaign_quota").With("n", i+1)
		}
		sum += q.Count
	}
	if sum > r.Questions {
		return kepu.Invalid("rules.quotas", "error.campaign_quota_sum").With("sum", sum).With("questions", r.Questions)
	}
	for _, t := range r.Tiers {
		if t.Key == "" || len(t.Key) > 20 || t.Min < 0 || t.Min > 100 {
			return kepu.Invalid("rules.tiers", "error.campaign_tiers")
		}
	}
	return r.validateDivisions()
}

func kindOf(r Rules) string {
	if r.Scoring == scoring.RuleAssessment {
		return "assessment"
	}
	return "quiz"
}

// Scope is the organizer's region check (internal/org.Service).
type Scope interface {
	CheckRegion(ctx context.Context, a kepu.Actor, regionID int64) error
}

// ExtraAttempts is how many attempts userID may start today beyond the
// campaign's PerDay, read inside the Start transaction tx.
type ExtraAttempts interface {
	ExtraToday(ctx context.Context, tx pgx.Tx, campaignID, userID int64) (int, error)
}

// Service runs campaigns and attempts.
type Service struct {
	DB    *pgxpool.Pool
	Scope Scope
	// OnFinish are called with every attempt right after its finish is
	// committed (leaderboards, live pages); their errors are logged.
	OnFinish []Finished
	Log      *slog.Logger
	// Calibrated gives parallel forms the items' parameters (nil: none).
	Calibrated Calibrated
	// Extra grants extra attempts a day to a campaign with
	// Rules.InviteReward (internal/invite; nil: none).
	Extra ExtraAttempts
	// Now is the clock every deadline is decided by; tests replace it.
	Now func() time.Time
	// Grace is the network-delay credit: an answer arriving up to Grace
	// after the deadline still counts (as given at the limit).
	Grace time.Duration

	hot hotCache // the answer path's caches (hot.go)
}

// NewService returns a service on db with the real clock.
func NewService(db *pgxpool.Pool, scope Scope) *Service {
	return &Service{DB: db, Scope: scope, Now: time.Now, Grace: DefaultGrace}
}

// MaxAttemptLimit is the longest time limit of a whole attempt (seconds).
const MaxAttemptLimit = 4 * 3600

// MaxRTTMS is the largest round trip an answer may report (60 s).
const MaxRTTMS = 60000

// DefaultGrace is the default network-delay credit.
const DefaultGrace = 2 * time.Second

// now is the clock at Postgres precision (microseconds), so that times read
// back compare equal.
func (s *Service) now() time.Time { return s.Now().UTC().Truncate(time.Microsecond) }

const campaignCols = `id, title, description, coalesce(region_id, 0), kind, status, starts_at, ends_at, audience, settings,
	cover_image_id, created_at, updated_at`

func scanCampaign(row pgx.Row) (Campaign, error) {
	var c Campaign
	err := row.Scan(&c.ID, &c.Title, &c.Description, &c.RegionID, &c.Kind, &c.Status, &c.StartsAt, &c.EndsAt,
		&c.Audience, &c.Rules, &c.CoverImageID, &c.CreatedAt, &c.UpdatedAt)
	if c.Audience == nil {
		c.Audience = []int64{}
	}
	if c.CoverImageID != nil {
		u := bank.ImageURL(*c.CoverImageID)
		c.CoverURL = &u
	}
	return c, err
}

// Get returns a campaign; kepu.NotFound when there is none. It checks no
// permission: callers decide what to show (Public, Manage).
func (s *Service) Get(ctx context.Context, id int64) (Campaign, error) {
	c, err := scanCampaign(s.DB.QueryRow(ctx, `SELECT `+campaignCols+` FROM campaigns WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return c, kepu.NotFound("error.campaign_not_found")
	}
	if err != nil {
		return c, fmt.Errorf("campaign: get %d: %w", id, err)
	}
	return c, nil
}

// Public returns a campaign citizens may see (published, paused or
// closed); drafts and archived ones are not found.
func (s *Service) Public(ctx context.Context, id int64) (Campaign, error) {
	c, err := s.Get(ctx, id)
	if err != nil {
		return c, err
	}
	if c.Status == StatusDraft || c.Status == StatusArchived {
		return c, kepu.NotFound("error.campaign_not_found")
	}
	return c, nil
}

// Manage returns a campaign the actor may manage: kepu.Forbidden outside
// the organizer's region subtree.
func (s *Service) Manage(ctx context.Context, a kepu.Actor, id int64) (Campaign, error) {
	c, err := s.Get(ctx, id)
	if err != nil {
		return c, err
	}
	if err := s.Scope.CheckRegion(ctx, a, c.RegionID); err != nil {
		return c, err
	}
	return c, nil
}

// ListPublic returns campaigns citizens may see, newest first (at most 200).
func (s *Service) ListPublic(ctx context.Context) ([]Campaign, error) {
	return s.list(ctx, `WHERE status IN ('published', 'paused', 'closed') ORDER BY starts_at DESC LIMIT 200`)
}

// ListManaged returns the campaigns of the actor's region subtree.
func (s *Service) ListManaged(ctx context.Context, a kepu.Actor) ([]Campaign, error) {
	if a.IsAdmin() {
		return s.list(ctx, `ORDER BY created_at DESC LIMIT 500`)
	}
	return s.list(ctx, `WHERE region_id IN (SELECT r.id FROM regions r, regions root
		WHERE root.id = $1 AND r.path LIKE root.path || '%') ORDER BY created_at DESC LIMIT 500`, a.ScopeRegionID)
}

func (s *Service) list(ctx context.Context, tail string, args ...any) ([]Campaign, error) {
	rows, err := s.DB.Query(ctx, `SELECT `+campaignCols+` FROM campaigns `+tail, args...)
	if err != nil {
		return nil, fmt.Errorf("campaign: list: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Campaign, error) { return scanCampaign(r) })
	if err != nil {
		return nil, fmt.Errorf("campaign: list: %w", err)
	}
	return out, nil
}

// checkInput validates in and the regions it names for the actor.
func (s *Service) checkInput(ctx context.Context, a kepu.Actor, in *Input) error {
	if !a.Is(kepu.RoleOrganizer, kepu.RoleAdmin) {
		return kepu.Forbidden
	}
	if err := in.Validate(); err != nil {
		return err
	}
	if in.RegionID == 0 {
		in.RegionID = a.ScopeRegionID
		if in.RegionID == 0 {
			if err := s.DB.QueryRow(ctx, `SELECT id FROM regions WHERE parent_id IS NULL ORDER BY id LIMIT 1`).Scan(&in.RegionID); err != nil {
				return kepu.Invalid("region_id", "error.campaign_region")
			}
		}
	}
	if err := s.Scope.CheckRegion(ctx, a, in.RegionID); err != nil {
		return err
	}
	if len(in.Audience) > 0 {
		var n int
		if err := s.DB.QueryRow(ctx, `SELECT count(*) FROM regions r, regions root
			WHERE root.id = $1 AND r.id = ANY($2) AND r.path LIKE root.path || '%'`, in.RegionID, in.Audience).Scan(&n); err != nil {
			return fmt.Errorf("campaign: audience: %w", err)
		}
		if n != len(uniq(in.Audience)) {
			return kepu.Invalid("audience", "error.campaign_audience")
		}
		in.Audience = uniq(in.Audience)
	}
	// Chosen schools and classes must lie in the campaign's region.
	in.Rules.Schools, in.Rules.Classes = uniq(in.Rules.Schools), uniq(in.Rules.Classes)
	if len(in.Rules.Schools)+len(in.Rules.Classes) > 0 {
		var n int
		if err := s.DB.QueryRow(ctx, `SELECT
			(SELECT count(*) FROM schools sc JOIN regions r ON r.id = sc.region_id, regions root
				WHERE root.id = $1 AND sc.id = ANY($2) AND r.path LIKE root.path || '%') +
			(SELECT count(*) FROM classes cl JOIN schools sc ON sc.id = cl.school_id JOIN regions r ON r.id = sc.region_id, regions root
				WHERE root.id = $1 AND cl.id = ANY($3) AND r.path LIKE root.path || '%')`,
			in.RegionID, in.Rules.Schools, in.Rules.Classes).Scan(&n); err != nil {
			return fmt.Errorf("campaign: audience: %w", err)
		}
		if n != len(in.Rules.Schools)+len(in.Rules.Classes) {
			return kepu.Invalid("rules.schools", "error.campaign_audience")
		}
	}
	return nil
}

func uniq(ids []int64) []int64 {
	seen := map[int64]bool{}
	out := []int64{}
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// errCoverMissing refuses a cover that names no stored image.
var errCoverMissing = kepu.Invalid("cover_image_id", "error.campaign_cover_missing")

// coverGone reports whether err is the cover's foreign key failing: no
// stored image has that id (the key is the check; no query before it).
func coverGone(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23503" && pe.ConstraintName == "campaigns_cover_image"
}

// errRegionMissing refuses a region_id that names no stored region (an
// admin's scope check passes for any id; the foreign key is the check).
var errRegionMissing = kepu.Invalid("region_id", "error.campaign_region")

// regionGone reports whether err is the owning region's foreign key failing.
func regionGone(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23503" && pe.ConstraintName == "campaigns_region_id_fkey"
}

// Create makes a draft campaign in the actor's scope. A cover that names
// no stored image is kepu.EINVALID on field cover_image_id.
func (s *Service) Create(ctx context.Context, a kepu.Actor, in Input) (Campaign, error) {
	if err := s.checkInput(ctx, a, &in); err != nil {
		return Campaign{}, err
	}
	var c Campaign
	err := postgres.Tx(ctx, s.DB, func(tx pgx.Tx) error {
		var err error
		c, err = scanCampaign(tx.QueryRow(ctx, `INSERT INTO campaigns (title, description, region_id, kind, starts_at, ends_at,
			audience, settings, cover_image_id, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING `+campaignCols,
			in.Title, in.Description, in.RegionID, kindOf(in.Rules), in.StartsAt, in.EndsAt, in.Audience, in.Rules, in.CoverImageID, a.UserID))
		if err != nil {
			return err
		}
		return s.record(ctx, tx, a, "campaign.create", c, nil)
	})
	if coverGone(err) {
		return Campaign{}, errCoverMissing
	}
	if regionGone(err) {
		return Campaign{}, errRegionMissing
	}
	if err != nil {
		return c, fmt.Errorf("campaign: create: %w", err)
	}
	return c, nil
}

// Update replaces a draft or paused campaign's fields, the cover among
// them (kepu.ECONFLICT in other states: rules do not change under running
// attempts).
func (s *Service) Update(ctx context.Context, a kepu.Actor, id int64, in Input) (Campaign, error) {
	old, err := s.Manage(ctx, a, id)
	if err != nil {
		return old, err
	}
	if in.RegionID == 0 {
		in.RegionID = old.RegionID
	}
	if err := s.checkInput(ctx, a, &in); err != nil {
		return Campaign{}, err
	}
	var c Campaign
	err = postgres.Tx(ctx, s.DB, func(tx pgx.Tx) error {
		var err error
		c, err = scanCampaign(tx.QueryRow(ctx, `UPDATE campaigns SET title = $2, description = $3, region_id = $4, kind = $5,
			starts_at = $6, ends_at = $7, audience = $8, settings = $9, cover_image_id = $10, updated_at = now()
			WHERE id = $1 AND status IN ('draft', 'paused') RETURNING `+campaignCols,
			id, in.Title, in.Description, in.RegionID, kindOf(in.Rules), in.StartsAt, in.EndsAt, in.Audience, in.Rules, in.CoverImageID))
		if err != nil {
			return err
		}
		return s.record(ctx, tx, a, "campaign.update", c, nil)
	})
	if coverGone(err) {
		return Campaign{}, errCoverMissing
	}
	if regionGone(err) {
		return Campaign{}, errRegionMissing
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return c, kepu.Errorf(kepu.ECONFLICT, "error.campaign_not_editable")
	}
	if err != nil {
		return c, fmt.Errorf("campaign: update %d: %w", id, err)
	}
	return c, nil
}

// record writes the audit entry of an organizer's change to campaign c
// inside tx (action: campaign.create, campaign.update, campaign.<transition>).
func (s *Service) record(ctx context.Context, tx pgx.Tx, a kepu.Actor, action string, c Campaign, detail map[string]any) error {
	if detail == nil {
		detail = map[string]any{"title": c.Title, "status": c.Status}
	}
	return audit.Record(ctx, tx, a.UserID, action, Target(c.ID), detail, a.IP)
}

// Target names a campaign in the audit log.
func Target(id int64) string { return fmt.Sprintf("campaign:%d", id) }

// transitions lists, per action, the statuses it may start from and the
// status it leads to.
var transitions = map[string]struct {
	from []string
	to   string
}{
	"publish": {[]string{StatusDraft, StatusPaused}, StatusPublished},
	"pause":   {[]string{StatusPublished}, StatusPaused},
	"close":   {[]string{StatusPublished, StatusPaused}, StatusClosed},
	"archive": {[]string{StatusDraft, StatusClosed}, StatusArchived},
}

// Transition applies a lifecycle action (publish, pause, close, archive).
// Publishing checks that the bank can fill every quota: the error names
// the short quota.
func (s *Service) Transition(ctx context.Context, a kepu.Actor, id int64, action string) (Campaign, error) {
	t, ok := transitions[action]
	if !ok {
		return Campaign{}, kepu.NotFound("error.campaign_not_found")
	}
	c, err := s.Manage(ctx, a, id)
	if err != nil {
		return c, err
	}
	if !kepu.Contains(t.from, c.Status) {
		return c, kepu.Errorf(kepu.ECONFLICT, "error.campaign_bad_transition").With("status", c.Status)
	}
	if action == "publish" {
		if err := s.checkBanks(ctx, c.Rules, c.RegionID); err != nil {
			return c, err
		}
	}
	err = postgres.Tx(ctx, s.DB, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE campaigns SET status = $2, updated_at = now() WHERE id = $1 AND status = $3`, id, t.to, c.Status)
		if err != nil {
			return fmt.Errorf("campaign: %s %d: %w", action, id, err)
		}
		if tag.RowsAffected() == 0 {
			return kepu.Errorf(kepu.ECONFLICT, "error.campaign_bad_transition").With("status", c.Status)
		}
		return s.record(ctx, tx, a, "campaign."+action, c, map[string]any{"from": c.Status, "to": t.to})
	})
	if err != nil {
		return c, err
	}
	return s.Get(ctx, id)
}

// checkBanks checks the bank for the rules of every division (the
// campaign's own without divisions) and of the practice round.
func (s *Service) checkBanks(ctx context.Context, r Rules, regionID int64) error {
	keys := []string{""}
	for _, d := range r.Divisions {
		keys = append(keys, d.Key)
	}
	for _, k := range keys {
		if err := s.checkBank(ctx, r.For(k, false), regionID); err != nil {
			return err
		}
		if r.Practice.Enabled && r.Practice.Questions > 0 {
			if err := s.checkBank(ctx, r.For(k, true), regionID); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkBank draws once without keeping the result (from the private pool
// of the campaign's region when the rules ask for it).
func (s *Service) checkBank(ctx context.Context, r Rules, regionID int64) error {
	tx, err := s.DB.Begin(ctx)
	if err != nil {
		return fmt.Errorf("campaign: check bank: %w", err)
	}
	defer tx.Rollback(ctx)
	_, err = draw(ctx, tx, r, regionID, "")
	return err
}
