// Package contest owns live class contests (Kahoot-style): saved contests
// (questions from the bank and options), runs (one live game with a PIN),
// the room state machine kept in Redis so that any instance may serve any
// client, and the results written to Postgres when a run ends.
//
// Who may do what: teachers, organizers and admins host; a host sees and
// drives only their own contests and runs (admins all). Players need no
// account: they join a room with its PIN and a nickname and hold a room
// token.
package contest

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/kepu/kepu/internal/kepu"
	"github.com/kepu/kepu/internal/org"
	"github.com/kepu/kepu/internal/postgres"
	"github.com/kepu/kepu/internal/rdb"
	"github.com/kepu/kepu/internal/scoring"
)

// Limits of a contest.
const (
	MinTimeLimit = 5   // seconds per question
	MaxTimeLimit = 120 // seconds per question
	MaxQuestions = 50
	MaxTitle     = 80
	MaxPoints    = 5000
	MaxTeams     = 20
)

// Settings are a contest's options; a run keeps a copy of them.
type Settings struct {
	TimeLimit   int     `json:"time_limit"`   // seconds per question, 5–120
	Points      int     `json:"points"`       // full points of a correct answer (default 1000)
	StreakBonus bool    `json:"streak_bonus"` // add scoring.StreakBonus
	TeamMode    bool    `json:"team_mode"`    // players belong to classes; a team scores its members' average
	ClassIDs    []int64 `json:"class_ids"`    // the teams (team mode) and the roster (roster only)
	RosterOnly  bool    `json:"roster_only"`  // only logged-in pupils of ClassIDs may join, under their roster nickname
	ShowText    bool    `json:"show_text"`    // question text also on phones
	AutoAdvance bool    `json:"auto_advance"` // reveal and leaderboard advance by themselves
	LateJoin    bool    `json:"late_join"`    // players may join after the start
	GetReady    bool    `json:"get_ready"`    // a 3-2-1 countdown (Service.ReadyFor) before each question opens for answers
	// Invited, when not empty, are the only accounts that may join, under
	// their own nickname (an online-to-live final, internal/invite). Set
	// by NewContest.Invited, never by the host's form; an edit keeps it.
	Invited []int64 `json:"invited,omitempty"`
}

// SettingsInput is Settings as submitted: pointers tell "absent" (take the
// default) from false/0.
type SettingsInput struct {
	TimeLimit   *int    `json:"time_limit"`
	Points      *int    `json:"points"`
	StreakBonus *bool   `json:"streak_bonus"`
	TeamMode    *bool   `json:"team_mode"`
	ClassIDs    []int64 `json:"class_ids"`
	RosterOnly  *bool   `json:"roster_only"`
	ShowText    *bool   `json:"show_text"`
	AutoAdvance *bool   `json:"auto_advance"`
	LateJoin    *bool   `json:"late_join"`
	GetReady    *bool   `json:"get_ready"`
}

// Settings validates in and fills defaults.
func (in SettingsInput) Settings() (Settings, error) {
	s := Settings{TimeLimit: 20, Points: scoring.DefaultContestPoints, StreakBonus: true, ShowText: true, AutoAdvance: false}
	if in.TimeLimit != nil {
		s.TimeLimit = *in.TimeLimit
	}
	if s.TimeLimit < MinTimeLimit || s.TimeLimit > MaxTimeLimit {
		return s, kepu.Invalid("time_limit", "error.contest_time_limit").With("min", MinTimeLimit).With("max", MaxTimeLimit)
	}
	if in.Points != nil {
		s.Points = *in.Points
	}
	if s.Points < 0 || s.Points > MaxPoints {
		return s, kepu.Invalid("points", "error.contest_points").With("max", MaxPoints)
	}
	set := func(dst *bool, v *bool) {
		if v != nil {
			*dst = *v
		}
	}
	set(&s.StreakBonus, in.StreakBonus)
	set(&s.TeamMode, in.TeamMode)
	set(&s.ShowText, in.ShowText)
	set(&s.AutoAdvance, in.AutoAdvance)
	set(&s.LateJoin, in.LateJoin)
	set(&s.RosterOnly, in.RosterOnly)
	set(&s.GetReady, in.GetReady)
	if s.TeamMode || s.RosterOnly {
		seen := map[int64]bool{}
		for _, id := range in.ClassIDs {
			if id > 0 && !seen[id] {
				seen[id] = true
				s.ClassIDs = append(s.ClassIDs, id)
			}
		}
		if len(s.ClassIDs) < 1 || len(s.ClassIDs) > MaxTeams {
			return s, kepu.Invalid("class_ids", "error.contest_teams").With("max", MaxTeams)
		}
	}
	return s, nil
}

// Contest is a saved, reusable contest.
type Contest struct {
	ID        int64      `json:"id"`
	OwnerID   int64      `json:"owner_id"`
	Title     string     `json:"title"`
	Settings  Settings   `json:"settings"`
	Questions []Question `json:"questions,omitempty"`
	Count     int        `json:"question_count"`
	CreatedAt time.Time  `json:"created_at"`
}

// Question is one question of a contest, as the host sees it. Answer and
// Explanation are never sent to players before the round closes.
type Question struct {
	Position    int      `json:"position"`
	VersionID   int64    `json:"version_id"`
	QuestionID  int64    `json:"question_id"`
	Type        string   `json:"type"`
	Stem        string   `json:"stem"`
	Options     []string `json:"options"`
	Answer      []int    `json:"answer"`
	Explanation string   `json:"explanation"`
	Category    string   `json:"category"`
	Difficulty  int      `json:"difficulty"`
	Practice    bool     `json:"practice"`
}

// Draw asks for questions drawn at random from the published bank.
type Draw struct {
	Category   string `json:"category"`
	Dimension  string `json:"dimension"`
	Difficulty int    `json:"difficulty"` // 0: any
	Count      int    `json:"count"`
	Lang       string `json:"lang"` // zh-CN (default) or en
}

// questionLang returns a supported question language, zh-CN by default.
func questionLang(l string) string {
	if l == "en" {
		return "en"
	}
	return "zh-CN"
}

// NewContest is what a host submits to create a contest: questions picked
// by hand (QuestionIDs, bank question ids), or drawn (Draw).
type NewContest struct {
	Title       string        `json:"title"`
	Settings    SettingsInput `json:"settings"`
	QuestionIDs []int64       `json:"question_ids"`
	Practice    []int64       `json:"practice_ids"` // of QuestionIDs: scored 0
	Draw        *Draw         `json:"draw"`
	// Invited restricts the contest to these accounts (Settings.Invited);
	// only Go callers set it (at most MaxInvited).
	Invited []int64 `json:"-"`
}

// MaxInvited is the most accounts a contest may be restricted to.
const MaxInvited = 2000

// Service is the contest service. Clock decides every deadline.
type Service struct {
	DB    *pgxpool.Pool
	Redis redis.UniversalClient
	Keys  rdb.Keys
	Org   *org.Service
	Clock *Clock
	// RoomTTL is how long an idle room (and its PIN) lives in Redis.
	RoomTTL time.Duration
	// RevealFor and BoardFor are how long the answer and the leaderboard
	// show before an auto-advancing contest moves on.
	RevealFor, BoardFor time.Duration
	// ReadyFor is the get-ready countdown before a question of a contest
	// with Settings.GetReady opens for answers (DefaultReady).
	ReadyFor time.Duration
	// Grace is how long after the deadline a round stays open for answers
	// sent in time over a slow network (see docs/fairness.md).
	Grace time.Duration
	// MaxPlayers is the most players one room holds (config
	// KEPU_CONTEST_MAX_PLAYERS); a join beyond it is 409 contest_full.
	MaxPlayers int
	// TickFailures counts failed ticks of Run (kepu_contest_tick_failures_total).
	TickFailures prometheus.Counter
	// RoomRebuilds counts the rooms this instance rebuilt from Postgres
	// after Redis lost them (kepu_contest_room_rebuilds_total).
	RoomRebuilds prometheus.Counter
	// Log gets one warning per rebuilt room (nil: slog.Default()).
	Log *slog.Logger

	scripts *scripts
	cache   *localCache[int64, []Question] // questions by room
	rooms   *localCache[int64, roomInfo]   // epoch and settings by room
	pins    *localCache[string, int64]     // room by PIN (checked by join.lua)
	open    *localCache[int64, openQ]      // open question by room (checked by answer.lua)
	// answers commits accepted answers to contest_answers, many in one
	// statement, before the players are told (Answer).
	answers   *postgres.Group[answerRow]
	flights   flights      // rebuilds in progress on this instance (ensure)
	lastSweep atomic.Int64 // ms of the last sweep (Tick)
}

// NewService returns a service with default timings.
func NewService(db *pgxpool.Pool, rc redis.UniversalClient, keys rdb.Keys, o *org.Service) *Service {
	return &Service{DB: db, Redis: rc, Keys: keys, Org: o, Clock: &Clock{},
		RoomTTL: 6 * time.Hour, RevealFor: 5 * time.Second, BoardFor: 5 * time.Second, ReadyFor: DefaultReady,
		Grace:      time.Duration(scoring.LatencyCreditMaxMS) * time.Millisecond,
		MaxPlayers: DefaultMaxPlayers,
		TickFailures: prometheus.NewCounter(prometheus.CounterOpts{Name: "kepu_contest_tick_failures_total",
			Help: "Failed ticks of the contest timer loop (each instance ticks every 100 ms), e.g. while Redis is down."}),
		RoomRebuilds: prometheus.NewCounter(prometheus.CounterOpts{Name: "kepu_contest_room_rebuilds_total",
			Help: "Live contest rooms this instance rebuilt from Postgres after Redis lost them (FLUSHALL, a restart without persistence)."}),
		scripts: loadScripts(), cache: newLocalCache[int64, []Question](),
		rooms: newLocalCache[int64, roomInfo](), pins: newLocalCache[string, int64](),
		open: newLocalCache[int64, openQ](),
		answers: &postgres.Group[answerRow]{MaxBatch: AnswerBatch, Running: AnswerFlushes, Timeout: AnswerCommitTimeout,
			Flush: func(ctx context.Context, rows []answerRow) error { return insertAnswers(ctx, db, rows) }},
		flights: flights{m: map[int64]*flight{}}}
}

// DefaultReady is the get-ready countdown of NewService: "3, 2, 1".
const DefaultReady = 3 * time.Second

// The answers' group commit: at most AnswerBatch answers in one INSERT,
// AnswerFlushes statements in flight at once, each bounded by
// AnswerCommitTimeout (then the players get answer_error "unavailable").
const (
	AnswerBatch         = 2000
	AnswerFlushes       = 4
	AnswerCommitTimeout = 5 * time.Second
)

// CanHost reports whether the actor may host contests.
func CanHost(a kepu.Actor) bool {
	return a.Is(kepu.RoleTeacher, kepu.RoleOrganizer, kepu.RoleAdmin)
}

func cleanTitle(s string) (string, error) {
	s = strings.Join(strings.Fields(s), " ")
	if n := utf8.RuneCountInString(s); n < 1 || n > MaxTitle {
		return "", kepu.Invalid("title", "error.contest_title").With("max", MaxTitle)
	}
	return s, nil
}

// head validates a contest's title and settings as the actor saves them:
// its teams must be classes the actor may use.
func (s *Service) head(ctx context.Context, a kepu.Actor, title string, in SettingsInput) (string, Settings, error) {
	title, err := cleanTitle(title)
	if err != nil {
		return "", Settings{}, err
	}
	set, err := in.Settings()
	if err != nil {
		return "", Settings{}, err
	}
	for _, id := range set.ClassIDs {
		if _, err := s.Org.Class(ctx, a, id); err != nil {
			return "", Settings{}, kepu.Invalid("class_ids", "error.contest_team_scope")
		}
	}
	return title, set, nil
}

// Create saves a new contest owned by the actor.
func (s *Service) Create(ctx context.Context, a kepu.Actor, in NewContest) (Contest, error) {
	if !CanHost(a) {
		return Contest{}, kepu.Forbidden
	}
	title, set, err := s.head(ctx, a, in.Title, in.Settings)
	if err != nil {
		return Contest{}, err
	}
	if len(in.Invited) > MaxInvited {
		return Contest{}, kepu.Invalid("invited", "error.contest_full")
	}
	set.Invited = in.Invited
	var versions []int64
	switch {
	case in.Draw != nil && len(in.QuestionIDs) == 0:
		versions, err = s.draw(ctx, *in.Draw)
	case in.Draw == nil && len(in.QuestionIDs) > 0:
		versions, err = s.currentVersions(ctx, in.QuestionIDs)
	default:
		err = kepu.Invalid("question_ids", "error.contest_no_questions")
	}
	if err != nil {
		return Contest{}, err
	}
	practice := map[int64]bool{}
	for _, id := range in.Practice {
		practice[id] = true
	}
	setJSON, _ := json.Marshal(set)
	var c Contest
	err = postgres.Tx(ctx, s.DB, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `INSERT INTO contests (owner_id, title, settings) VALUES ($1, $2, $3)
			RETURNING id, created_at`, a.UserID, title, setJSON).Scan(&c.ID, &c.CreatedAt); err != nil {
			return err
		}
		for i, v := range versions {
			p := false
			if len(in.QuestionIDs) > 0 {
				p = practice[in.QuestionIDs[i]]
			}
			if _, err := tx.Exec(ctx, `INSERT INTO contest_questions (contest_id, position, question_version_id, practice)
				VALUES ($1, $2, $3, $4)`, c.ID, i, v, p); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return Contest{}, fmt.Errorf("contest: create: %w", err)
	}
	c.OwnerID, c.Title, c.Settings, c.Count = a.UserID, title, set, len(versions)
	return c, nil
}

// currentVersions maps bank question ids to their current published
// versions, in the given order.
func (s *Service) currentVersions(ctx context.Context, ids []int64) ([]int64, error) {
	if len(ids) > MaxQuestions {
		return nil, kepu.Invalid("question_ids", "error.contest_too_many").With("max", MaxQuestions)
	}
	seen := map[int64]bool{}
	for _, id := range ids {
		if seen[id] {
			return nil, kepu.Invalid("question_ids", "error.contest_duplicate_question")
		}
		seen[id] = true
	}
	byQ := map[int64]int64{}
	rows, _ := s.DB.Query(ctx, `SELECT q.id, v.id FROM questions q
		JOIN question_versions v ON v.question_id = q.id AND v.version = q.current_version
		WHERE q.id = ANY($1) AND q.status = 'published' AND NOT q.private`, ids)
	var qid, vid int64
	if _, err := pgx.ForEachRow(rows, []any{&qid, &vid}, func() error { byQ[qid] = vid; return nil }); err != nil {
		return nil, fmt.Errorf("contest: versions: %w", err)
	}
	out := make([]int64, 0, len(ids))
	for _, id := range ids {
		v, ok := byQ[id]
		if !ok {
			return nil, kepu.Invalid("question_ids", "error.contest_question_unavailable").With("id", id)
		}
		out = append(out, v)
	}
	return out, nil
}

// draw picks count published questions at random matching the filters.
func (s *Service) draw(ctx context.Context, d Draw) ([]int64, error) {
	if d.Count < 1 || d.Count > MaxQuestions {
		return nil, kepu.Invalid("count", "error.contest_count").With("max", MaxQuestions)
	}
	if d.Difficulty < 0 || d.Difficulty > 5 || len(d.Category) > 40 || len(d.Dimension) > 40 {
		return nil, kepu.Invalid("draw", "error.contest_draw")
	}
	rows, _ := s.DB.Query(ctx, `SELECT v.id FROM questions q
		JOIN question_versions v ON v.question_id = q.id AND v.version = q.current_version
		WHERE q.status = 'published' AND NOT q.private AND ($1 = '' OR q.category = $1) AND ($2 = '' OR q.dimension = $2)
		  AND ($3 = 0 OR q.difficulty = $3) AND q.lang = $5
		ORDER BY random() LIMIT $4`, d.Category, d.Dimension, d.Difficulty, d.Count, questionLang(d.Lang))
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("contest: draw: %w", err)
	}
	if len(ids) < d.Count {
		return nil, kepu.Invalid("count", "error.contest_not_enough").With("found", len(ids))
	}
	return ids, nil
}

// BankQuestion is a published question a host may pick.
type BankQuestion struct {
	ID          int64    `json:"id"`
	Stem        string   `json:"stem"`
	Type        string   `json:"type"`
	Category    string   `json:"category"`
	Dimension   string   `json:"dimension"`
	Difficulty  int      `json:"difficulty"`
	Options     []string `json:"options"`     // for the picker's preview
	Answer      []int32  `json:"answer"`      // indexes of the right options (hosts may see them)
	Explanation string   `json:"explanation"` // shown at the reveal
}

// SearchBank lists up to 50 published questions in one language (zh-CN by
// default) whose stem contains text literally.
func (s *Service) SearchBank(ctx context.Context, a kepu.Actor, text, category string, difficulty int, lang string) ([]BankQuestion, error) {
	if !CanHost(a) {
		return nil, kepu.Forbidden
	}
	if len(text) > 100 || len(category) > 40 {
		return nil, kepu.Invalid("q", "error.contest_draw")
	}
	rows, _ := s.DB.Query(ctx, `SELECT q.id, v.stem, q.type, q.category, q.dimension, q.difficulty, v.options, v.answer, v.explanation FROM questions q
		JOIN question_versions v ON v.question_id = q.id AND v.version = q.current_version
		WHERE q.status = 'published' AND NOT q.private AND ($1 = '' OR v.stem ILIKE '%' || $1 || '%')
		  AND ($2 = '' OR q.category = $2) AND ($3 = 0 OR q.difficulty = $3) AND q.lang = $4
		ORDER BY q.id LIMIT 50`, postgres.LikeEscape(text), category, difficulty, questionLang(lang))
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[BankQuestion])
	if err != nil {
		return nil, fmt.Errorf("contest: search bank: %w", err)
	}
	return out, nil
}

// List returns the contests the actor owns (admins: all), newest first.
func (s *Service) List(ctx context.Context, a kepu.Actor) ([]Contest, error) {
	if !CanHost(a) {
		return nil, kepu.Forbidden
	}
	rows, _ := s.DB.Query(ctx, `SELECT c.id, c.owner_id, c.title, c.settings, c.created_at,
		(SELECT count(*) FROM contest_questions q WHERE q.contest_id = c.id)
		FROM contests c WHERE (c.owner_id = $1 OR $2) AND c.deleted_at IS NULL ORDER BY c.created_at DESC, c.id DESC LIMIT 200`, a.UserID, a.IsAdmin())
	var out []Contest
	var c Contest
	_, err := pgx.ForEachRow(rows, []any{&c.ID, &c.OwnerID, &c.Title, &c.Settings, &c.CreatedAt, &c.Count}, func() error {
		out = append(out, c)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("contest: list: %w", err)
	}
	return out, nil
}

// Get returns a contest with its questions if the actor owns it (admins:
// any); a deleted contest is not found.
func (s *Service) Get(ctx context.Context, a kepu.Actor, id int64) (Contest, error) {
	var c Contest
	err := s.DB.QueryRow(ctx, `SELECT id, owner_id, title, settings, created_at FROM contests WHERE id = $1 AND deleted_at IS NULL`, id).
		Scan(&c.ID, &c.OwnerID, &c.Title, &c.Settings, &c.CreatedAt)
	if postgres.IsNotFound(err) {
		return Contest{}, kepu.NotFound("error.contest_not_found")
	}
	if err != nil {
		return Contest{}, fmt.Errorf("contest: get %d: %w", id, err)
	}
	if c.OwnerID != a.UserID && !a.IsAdmin() {
		return Contest{}, kepu.Forbidden
	}
	if c.Questions, err = s.questions(ctx, id); err != nil {
		return Contest{}, err
	}
	c.Count = len(c.Questions)
	return c, nil
}

func (s *Service) questions(ctx context.Context, contestID int64) ([]Question, error) {
	rows, _ := s.DB.Query(ctx, `SELECT cq.position, v.id, v.question_id, v.type, v.stem, v.options, v.answer,
		v.explanation, v.category, v.difficulty, cq.practice
		FROM contest_questions cq JOIN question_versions v ON v.id = cq.question_version_id
		WHERE cq.contest_id = $1 ORDER BY cq.position`, contestID)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Question, error) {
		var q Question
		var ans []int32
		err := r.Scan(&q.Position, &q.VersionID, &q.QuestionID, &q.Type, &q.Stem, &q.Options, &ans,
			&q.Explanation, &q.Category, &q.Difficulty, &q.Practice)
		for _, x := range ans {
			q.Answer = append(q.Answer, int(x))
		}
		return q, err
	})
	if err != nil {
		return nil, fmt.Errorf("contest: questions of %d: %w", contestID, err)
	}
	return out, nil
}
