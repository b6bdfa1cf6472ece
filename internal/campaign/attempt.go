package campaign

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/kepu/kepu/internal/bank"
	"github.com/kepu/kepu/internal/kepu"
	"github.com/kepu/kepu/internal/scoring"
)

// Attempt is one citizen's attempt at a campaign.
type Attempt struct {
	ID         int64      `json:"id"`
	CampaignID int64      `json:"campaign_id"`
	UserID     int64      `json:"-"`
	StartedAt  time.Time  `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at"`
	Score      int        `json:"score"`
	MaxScore   int        `json:"max_score"`
	Passed     *bool      `json:"passed"`
	Questions  int        `json:"questions"`
	Answered   int        `json:"answered"`
	TimeMS     int64      `json:"time_ms"`
	Tier       string     `json:"tier,omitempty"`
	CertCode   string     `json:"cert_code,omitempty"`
	InProgress bool       `json:"in_progress"`
	// StaffPractice: started by an account that can read the campaign's
	// answer keys (StaffPractice in staff.go); never ranked or certified.
	StaffPractice bool `json:"staff_practice"`
	// Division is the key of the division the attempt is played in
	// (Rules.Divisions), fixed when it starts; "" without divisions.
	Division string `json:"division"`
	// Practice: an attempt of the practice round (练习): never ranked,
	// certified or counted in the campaign's figures.
	Practice bool `json:"practice"`
}

// Finished reports whether the attempt has its result.
func (a Attempt) Finished() bool { return a.FinishedAt != nil }

// Question is the question being played, as the player sees it: options in
// shown (shuffled) order, no answer key, no explanation.
type Question struct {
	Seq         int       `json:"seq"` // 1-based; send it back with the answer
	Total       int       `json:"total"`
	Type        string    `json:"type"`
	Stem        string    `json:"stem"`
	Options     []string  `json:"options"`
	ImageID     int64     `json:"image_id,omitempty"`
	TimeLimitMS int64     `json:"time_limit_ms"`
	RemainingMS int64     `json:"remaining_ms"` // computed by the server at the request
	Deadline    time.Time `json:"deadline"`
}

// State is an attempt with its current question (nil when finished or when
// the campaign serves no more questions).
type State struct {
	Attempt  Attempt   `json:"attempt"`
	Question *Question `json:"question"`
}

// Result is a locked question: what the player chose, what was right and
// why. Choices are shown positions.
type Result struct {
	Seq           int    `json:"seq"`
	Correct       bool   `json:"correct"`
	Points        int    `json:"points"`
	TimedOut      bool   `json:"timed_out"`
	Choice        []int  `json:"choice"`
	CorrectChoice []int  `json:"correct_choice"`
	Explanation   string `json:"explanation"`
	ElapsedMS     int64  `json:"elapsed_ms"`
	// The attempt after this answer.
	Score    int  `json:"score"`
	Answered int  `json:"answered"`
	Total    int  `json:"total"`
	Done     bool `json:"done"` // the attempt is finished
	// Next is the question to play now, served by the statement that
	// stored this answer (its clock started at that commit): the page
	// needs no second request. Nil when the attempt is finished or no
	// question may be served now (GET the attempt to see why).
	Next *Question `json:"next"`
	// Attempt is the finished attempt with its result, when Done.
	Attempt *Attempt `json:"attempt,omitempty"`
}

// Finished receives every attempt right after it finishes (committed);
// the leaderboard and live pages hang off it. Errors are logged.
type Finished func(ctx context.Context, a Attempt) error

const attemptCols = `id, campaign_id, user_id, started_at, finished_at, score, max_score, passed, questions, answered,
	time_ms, coalesce(tier, ''), coalesce(cert_code, ''), in_progress, staff_practice, division, practice`

// attemptColsT is attemptCols qualified by the alias t.
const attemptColsT = `t.id, t.campaign_id, t.user_id, t.started_at, t.finished_at, t.score, t.max_score, t.passed, t.questions,
	t.answered, t.time_ms, coalesce(t.tier, ''), coalesce(t.cert_code, ''), t.in_progress, t.staff_practice,
	t.division, t.practice`

func scanAttempt(row pgx.Row) (Attempt, error) {
	var a Attempt
	err := row.Scan(&a.ID, &a.CampaignID, &a.UserID, &a.StartedAt, &a.FinishedAt, &a.Score, &a.MaxScore, &a.Passed,
		&a.Questions, &a.Answered, &a.TimeMS, &a.Tier, &a.CertCode, &a.InProgress, &a.StaffPractice, &a.Division, &a.Practice)
	return a, err
}

// day is the Asia/Shanghai calendar day of t.
func day(t time.Time) time.Time {
	y, m, d := t.In(kepu.Shanghai).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// Start begins an attempt, or returns the attempt in progress (resumed
// true). Errors: kepu.ECONFLICT when the campaign is not open or a limit
// is reached, kepu.EFORBIDDEN outside the audience or for a guest when the
// campaign does not allow guests. Concurrent starts of
// one user are serialized by a row lock on the user, so the per-day and
// total limits hold.
//
// The steps, in one transaction: lock the user and read their groups
// (startGroups), resume the attempt in progress if there is one, check the
// audience (checkAudience) and the limits (checkLimits), draw the
// questions (drawFor) and price them (attemptPoints), then insert the
// attempt with its snapshot and its questions (insertAttempt).
func (s *Service) Start(ctx context.Context, a kepu.Actor, campaignID int64) (att Attempt, resumed bool, err error) {
	return s.StartWith(ctx, a, campaignID, StartOptions{})
}

// StartOptions are what a participant may ask of a new attempt.
type StartOptions struct {
	Practice bool   `json:"practice"` // an attempt of the practice round
	Division string `json:"division"` // the chosen division, where the campaign allows a choice
}

// StartWith is Start with options: a practice attempt (ErrPracticeOff
// when the campaign has no practice round; at most MaxPracticePerDay a
// day, outside the attempt limits) or a formal one (ErrPracticeRequired
// until a practice attempt is finished, where the campaign requires one),
// in the participant's division (divisionFor; ErrNoDivision when none
// takes them). A formal start ends a practice attempt in progress (given
// up); a practice start while a formal attempt is in progress is
// ErrFormalInProgress.
func (s *Service) StartWith(ctx context.Context, a kepu.Actor, campaignID int64, opt StartOptions) (att Attempt, resumed bool, err error) {
	var ended Attempt // a practice attempt the formal one ended
	defer func() {
		if err == nil && ended.ID != 0 {
			s.finished(ctx, ended)
		}
	}()
	if len(opt.Division) > 32 {
		return att, false, kepu.Invalid("division", "divisions.error.unknown")
	}
	c, now, err := s.openFor(ctx, a, campaignID)
	if err != nil {
		return att, false, err
	}
	tx, err := s.DB.Begin(ctx)
	if err != nil {
		return att, false, fmt.Errorf("campaign: start: %w", err)
	}
	defer tx.Rollback(ctx)
	g, err := startGroups(ctx, tx, a.UserID)
	if err != nil {
		return att, false, err
	}
	att, resumed, err = inProgress(ctx, tx, campaignID, a.UserID)
	if err != nil {
		return att, false, err
	}
	if resumed && att.Practice != opt.Practice {
		if opt.Practice {
			return att, false, ErrFormalInProgress
		}
		// The formal attempt replaces the practice in progress.
		if att, err = lockAttempt(ctx, tx, a, att.ID); err != nil {
			return att, false, err
		}
		if err := s.giveUp(ctx, tx, &att, c, now); err != nil {
			return att, false, err
		}
		s.hot.forget(att.ID)
		ended, resumed = att, false
	}
	if resumed {
		// A resumed attempt keeps the snapshot it started with.
		if g, err = attemptGroups(ctx, tx, att.ID); err != nil {
			return att, false, err
		}
	}
	if err := checkAudience(ctx, tx, c, g); err != nil {
		return att, false, err
	}
	if resumed {
		return att, true, tx.Commit(ctx)
	}
	today := day(now)
	extra := 0
	if !opt.Practice && c.Rules.InviteReward && c.Rules.PerDay > 0 && s.Extra != nil {
		if extra, err = s.Extra.ExtraToday(ctx, tx, c.ID, a.UserID); err != nil {
			return att, false, fmt.Errorf("campaign: start: extra attempts: %w", err)
		}
	}
	if err := checkLimits(ctx, tx, c, a.UserID, today, opt.Practice, extra); err != nil {
		return att, false, err
	}
	division, err := divisionFor(ctx, tx, c, a.UserID, opt.Division)
	if err != nil {
		return att, false, err
	}
	played := c
	played.Rules = c.Rules.For(division, opt.Practice)
	qs, err := s.drawFor(ctx, tx, played, a.UserID)
	if err != nil {
		return att, false, err
	}
	points, maxScore := attemptPoints(played.Rules, qs)
	att, err = insertAttempt(ctx, tx, newAttempt{campaignID: campaignID, userID: a.UserID, now: now, today: today, groups: g,
		staff: StaffPractice(a, c), maxScore: maxScore, division: division, practice: opt.Practice}, qs, points)
	if err != nil {
		return att, false, err
	}
	if err := tx.Commit(ctx); err != nil {
		return att, false, fmt.Errorf("campaign: start: commit: %w", err)
	}
	return att, false, nil
}

// openFor is Start's first check, before any transaction: the actor is
// signed in, the campaign is public, takes guests if the actor is one, and
// is open now (returned, as the start time).
func (s *Service) openFor(ctx context.Context, a kepu.Actor, campaignID int64) (Campaign, time.Time, error) {
	if a.UserID == 0 {
		return Campaign{}, time.Time{}, kepu.Errorf(kepu.EUNAUTHORIZED, "error.campaign_login")
	}
	c, err := s.Public(ctx, campaignID)
	if err != nil {
		return c, time.Time{}, err
	}
	if a.Role == kepu.RoleGuest && !c.Rules.Guests {
		return c, time.Time{}, kepu.Errorf(kepu.EFORBIDDEN, "error.campaign_guest_refused")
	}
	now := s.now()
	if !c.Open(now) {
		return c, now, kepu.Errorf(kepu.ECONFLICT, "error.campaign_not_open")
	}
	return c, now, nil
}

// startGroups reads the participant's groups now, with the user row
// locked (concurrent starts and profile changes wait): a new attempt keeps
// them as its snapshot.
func startGroups(ctx context.Context, tx pgx.Tx, userID int64) (Groups, error) {
	var g Groups
	if err := tx.QueryRow(ctx, `SELECT coalesce(region_id, 0), coalesce(school_id, 0), coalesce(class_id, 0)
		FROM users WHERE id = $1 FOR NO KEY UPDATE`, userID).Scan(&g.RegionID, &g.SchoolID, &g.ClassID); err != nil {
		return g, fmt.Errorf("campaign: start: lock user: %w", err)
	}
	return g, nil
}

// inProgress returns the user's attempt in progress in the campaign, if
// any (ok false and no error when there is none).
func inProgress(ctx context.Context, tx pgx.Tx, campaignID, userID int64) (Attempt, bool, error) {
	att, err := scanAttempt(tx.QueryRow(ctx, `SELECT `+attemptCols+` FROM campaign_attempts
		WHERE campaign_id = $1 AND user_id = $2 AND in_progress`, campaignID, userID))
	if errors.Is(err, pgx.ErrNoRows) {
		return att, false, nil
	}
	if err != nil {
		return att, false, fmt.Errorf("campaign: start: %w", err)
	}
	return att, true, nil
}

// checkAudience is kepu.EFORBIDDEN when groups g are outside the
// campaign's audience.
func checkAudience(ctx context.Context, tx pgx.Tx, c Campaign, g Groups) error {
	ok, err := eligible(ctx, tx, c, g)
	if err != nil {
		return fmt.Errorf("campaign: start: %w", err)
	}
	if !ok {
		return kepu.Errorf(kepu.EFORBIDDEN, "error.campaign_audience_out")
	}
	return nil
}

// checkLimits is kepu.ECONFLICT when the user has used up the campaign's
// attempts in all or today (Asia/Shanghai), or, for a formal attempt,
// has yet to finish the practice the campaign requires. Practice attempts
// count only against MaxPracticePerDay; extra attempts are added to the
// day's formal ones (ExtraAttempts).
func checkLimits(ctx context.Context, tx pgx.Tx, c Campaign, userID int64, today time.Time, practice bool, extra int) error {
	var perDay, total, practiceToday int
	var practiced bool
	if err := tx.QueryRow(ctx, `SELECT count(*) FILTER (WHERE day = $3 AND NOT practice), count(*) FILTER (WHERE NOT practice),
		count(*) FILTER (WHERE day = $3 AND practice),
		coalesce(bool_or(practice AND finished_at IS NOT NULL AND NOT abandoned), false) FROM campaign_attempts
		WHERE campaign_id = $1 AND user_id = $2`, c.ID, userID, today).Scan(&perDay, &total, &practiceToday, &practiced); err != nil {
		return fmt.Errorf("campaign: start: count: %w", err)
	}
	if practice {
		switch {
		case !c.Rules.Practice.Enabled:
			return ErrPracticeOff
		case practiceToday >= MaxPracticePerDay:
			return kepu.Errorf(kepu.ECONFLICT, "divisions.error.practice_limit").With("n", MaxPracticePerDay)
		}
		return nil
	}
	if c.Rules.Practice.Enabled && c.Rules.Practice.Required && !practiced {
		return ErrPracticeRequired
	}
	if c.Rules.Total > 0 && total >= c.Rules.Total {
		return kepu.Errorf(kepu.ECONFLICT, "error.campaign_limit_total").With("n", c.Rules.Total)
	}
	if c.Rules.PerDay > 0 && perDay >= c.Rules.PerDay+extra {
		return kepu.Errorf(kepu.ECONFLICT, "error.campaign_limit_day").With("n", c.Rules.PerDay)
	}
	return nil
}

// drawFor draws the attempt's questions for user userID — in their language
// when the campaign is bilingual, a parallel form when the rules ask for one
// and the calibration allows (forms.go) —; a bank too small for the rules
// is kepu.ECONFLICT.
func (s *Service) drawFor(ctx context.Context, tx pgx.Tx, c Campaign, userID int64) ([]drawn, error) {
	lang := ""
	if c.Rules.Lang == LangBoth {
		if err := tx.QueryRow(ctx, `SELECT lang FROM users WHERE id = $1`, userID).Scan(&lang); err != nil {
			return nil, fmt.Errorf("campaign: start: language: %w", err)
		}
	}
	if c.Rules.ParallelForms {
		qs, reason, err := s.parallelDraw(ctx, tx, c.Rules, c.RegionID, lang)
		if err != nil {
			return nil, err
		}
		if reason == "" {
			return qs, nil
		}
		if s.Log != nil {
			s.Log.Warn("parallel form: the normal draw instead", "campaign", c.ID, "reason", reason)
		}
	}
	qs, err := draw(ctx, tx, c.Rules, c.RegionID, lang)
	if err != nil {
		if kepu.ErrorCode(err) == kepu.EINVALID {
			return nil, kepu.Errorf(kepu.ECONFLICT, "error.campaign_bank_short")
		}
		return nil, err
	}
	return qs, nil
}

// attemptPoints prices each drawn question under the rules (speed: base
// plus the largest bonus; flat: base; assessment: its dimension's share)
// and returns the points with their sum, the attempt's maximum score.
func attemptPoints(r Rules, qs []drawn) ([]int, int) {
	points := make([]int, len(qs))
	dims := map[string]int{}
	for _, q := range qs {
		dims[q.Dimension]++
	}
	per := scoring.AssessmentPoints(bank.DimensionWeight, dims)
	maxScore := 0
	for i, q := range qs {
		switch r.Scoring {
		case scoring.RuleSpeed:
			points[i] = r.Base + r.Bonus
		case scoring.RuleFlat:
			points[i] = r.Base
		default:
			points[i] = per[q.Dimension]
		}
		maxScore += points[i]
	}
	return points, maxScore
}

// newAttempt is the row insertAttempt writes.
type newAttempt struct {
	campaignID, userID int64
	now, today         time.Time
	groups             Groups // the snapshot
	staff              bool   // staff practice (staff.go)
	maxScore           int
	division           string // Rules.Divisions key, "" without divisions
	practice           bool   // the practice round
}

// insertAttempt inserts the attempt in progress and its questions (each
// with shuffled options and its points). A second attempt in progress of
// the same user (the unique index) is kepu.ECONFLICT.
func insertAttempt(ctx context.Context, tx pgx.Tx, n newAttempt, qs []drawn, points []int) (Attempt, error) {
	g := n.groups
	att, err := scanAttempt(tx.QueryRow(ctx, `INSERT INTO campaign_attempts (campaign_id, user_id, started_at, day, in_progress,
		questions, max_score, region_id, school_id, class_id, staff_practice, division, practice) VALUES ($1, $2, $3, $4, true, $5, $6,
		nullif($7, 0), nullif($8, 0), nullif($9, 0), $10, $11, $12) RETURNING `+attemptCols,
		n.campaignID, n.userID, n.now, n.today, len(qs), n.maxScore, g.RegionID, g.SchoolID, g.ClassID, n.staff, n.division, n.practice))
	if err != nil {
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "23505" {
			return att, kepu.Errorf(kepu.ECONFLICT, "error.campaign_in_progress")
		}
		return att, fmt.Errorf("campaign: start: insert: %w", err)
	}
	rows := make([][]any, len(qs))
	for i, q := range qs {
		rows[i] = []any{att.ID, int32(i + 1), q.VersionID, shuffle(q.Options), int32(points[i])}
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"campaign_attempt_questions"},
		[]string{"attempt_id", "seq", "question_version_id", "perm", "points"}, pgx.CopyFromRows(rows)); err != nil {
		return att, fmt.Errorf("campaign: start: questions: %w", err)
	}
	return att, nil
}

// lockAttempt reads the actor's attempt FOR UPDATE; another user's attempt
// is not found.
func lockAttempt(ctx context.Context, tx pgx.Tx, a kepu.Actor, id int64) (Attempt, error) {
	att, err := scanAttempt(tx.QueryRow(ctx, `SELECT `+attemptCols+` FROM campaign_attempts WHERE id = $1 FOR UPDATE`, id))
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && att.UserID != a.UserID) {
		return att, kepu.NotFound("error.campaign_attempt_not_found")
	}
	if err != nil {
		return att, fmt.Errorf("campaign: attempt %d: %w", id, err)
	}
	return att, nil
}

// Attempt returns the actor's attempt without changing it.
func (s *Service) Attempt(ctx context.Context, a kepu.Actor, id int64) (Attempt, error) {
	att, err := scanAttempt(s.DB.QueryRow(ctx, `SELECT `+attemptCols+` FROM campaign_attempts WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && att.UserID != a.UserID) {
		return att, kepu.NotFound("error.campaign_attempt_not_found")
	}
	if err != nil {
		return att, fmt.Errorf("campaign: attempt %d: %w", id, err)
	}
	return att, nil
}

// slot is one drawn question with its content.
type slot struct {
	Seq       int
	VersionID int64
	Perm      []int
	Points    int
	ServedAt  *time.Time
	RTT       *int // the round trip measured for it, ms (latency.go)
	Type      string
	Stem      string
	Options   []string
	Answer    []int
	Explain   string
	ImageID   int64
}

func loadSlot(ctx context.Context, tx pgx.Tx, attemptID int64, seq int) (slot, error) {
	var q slot
	var opts []byte
	var img *int64
	err := tx.QueryRow(ctx, `SELECT s.seq, s.question_version_id, s.perm, s.points, s.served_at, s.rtt_ms, v.type, v.stem, v.options,
		v.answer, v.explanation, v.image_id
		FROM campaign_attempt_questions s JOIN question_versions v ON v.id = s.question_version_id
		WHERE s.attempt_id = $1 AND s.seq = $2`, attemptID, seq).
		Scan(&q.Seq, &q.VersionID, &q.Perm, &q.Points, &q.ServedAt, &q.RTT, &q.Type, &q.Stem, &opts, &q.Answer, &q.Explain, &img)
	if err != nil {
		return q, fmt.Errorf("campaign: question %d/%d: %w", attemptID, seq, err)
	}
	if err := json.Unmarshal(opts, &q.Options); err != nil {
		return q, fmt.Errorf("campaign: question options: %w", err)
	}
	if img != nil {
		q.ImageID = *img
	}
	return q, nil
}

// shown maps authoring-order option indexes to shown positions.
func (q slot) shown(orig []int) []int {
	out := []int{}
	for pos, o := range q.Perm {
		for _, x := range orig {
			if x == o {
				out = append(out, pos)
			}
		}
	}
	return out
}

// shownOptions are the option texts in shown order.
func (q slot) shownOptions() []string {
	opts := make([]string, len(q.Perm))
	for pos, o := range q.Perm {
		if o >= 0 && o < len(q.Options) {
			opts[pos] = q.Options[o]
		}
	}
	return opts
}

func (q slot) view(total int, limit time.Duration, now time.Time) *Question {
	opts := q.shownOptions()
	deadline := q.ServedAt.Add(limit)
	return &Question{Seq: q.Seq, Total: total, Type: q.Type, Stem: q.Stem, Options: opts, ImageID: q.ImageID,
		TimeLimitMS: limit.Milliseconds(), RemainingMS: max(deadline.Sub(now).Milliseconds(), 0), Deadline: deadline}
}

// readingMS is the least time a person needs to read the question; faster
// answers are recorded as a "fast" signal.
func (q slot) readingMS() int64 {
	n := utf8.RuneCountInString(q.Stem)
	for _, o := range q.Options {
		n += utf8.RuneCountInString(o)
	}
	return min(400+int64(n)*15, 3000)
}

// lock records a locked question and adds it to the attempt; a second lock
// of the same seq changes nothing (ON CONFLICT DO NOTHING).
func lock(ctx context.Context, tx pgx.Tx, att *Attempt, q slot, choice []int, correct bool, points int, elapsedMS int64, timedOut bool, now time.Time) error {
	if choice == nil {
		choice = []int{}
	}
	var id int64
	err := tx.QueryRow(ctx, `INSERT INTO campaign_answers (attempt_id, seq, question_version_id, choice, correct, points,
		elapsed_ms, timed_out, answered_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (attempt_id, seq) DO NOTHING RETURNING id`,
		att.ID, q.Seq, q.VersionID, choice, correct, points, elapsedMS, timedOut, now).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("campaign: lock answer: %w", err)
	}
	if err := tx.QueryRow(ctx, `UPDATE campaign_attempts SET answered = answered + 1, score = score + $2, time_ms = time_ms + $3
		WHERE id = $1 RETURNING answered, score, time_ms`, att.ID, points, elapsedMS).Scan(&att.Answered, &att.Score, &att.TimeMS); err != nil {
		return fmt.Errorf("campaign: lock answer: %w", err)
	}
	return nil
}

// advance locks questions whose time ran out (plus grace) as timeouts and
// serves the next one (setting served_at, and rtt_ms to carry: the round
// trip measured for the question an answer just locked, nil from a GET)
// while the campaign is open. It returns the question being played, or nil.
func (s *Service) advance(ctx context.Context, tx pgx.Tx, att *Attempt, c Campaign, now time.Time, carry *int) (*Question, error) {
	perQ := time.Duration(c.Rules.TimeLimit) * time.Second
	for att.Answered < att.Questions {
		q, err := loadSlot(ctx, tx, att.ID, att.Answered+1)
		if err != nil {
			return nil, err
		}
		if q.ServedAt == nil {
			if !c.Open(now) {
				return nil, nil
			}
			if end, ok := attemptEnd(c, *att); ok && !now.Before(end) {
				// The attempt's own time is up: the rest are timeouts.
				if err := lock(ctx, tx, att, q, nil, false, 0, perQ.Milliseconds(), true, now); err != nil {
					return nil, err
				}
				continue
			}
			if _, err := tx.Exec(ctx, `UPDATE campaign_attempt_questions SET served_at = $3, rtt_ms = $4 WHERE attempt_id = $1 AND seq = $2`,
				att.ID, q.Seq, now, carry); err != nil {
				return nil, fmt.Errorf("campaign: serve: %w", err)
			}
			q.ServedAt = &now
		}
		limit := questionLimit(c, *att, *q.ServedAt)
		if now.After(q.ServedAt.Add(limit + s.Grace)) {
			if err := lock(ctx, tx, att, q, nil, false, 0, limit.Milliseconds(), true, now); err != nil {
				return nil, err
			}
			continue
		}
		return q.view(att.Questions, limit, now), nil
	}
	return nil, nil
}

// attemptEnd is when the attempt's own time limit (Rules.AttemptLimit)
// runs out; ok is false when the campaign sets none.
func attemptEnd(c Campaign, att Attempt) (end time.Time, ok bool) {
	if c.Rules.AttemptLimit <= 0 {
		return time.Time{}, false
	}
	return att.StartedAt.Add(time.Duration(c.Rules.AttemptLimit) * time.Second), true
}

// questionLimit is how long a question served at servedAt has: the
// per-question limit, cut short when the attempt's own limit ends first.
func questionLimit(c Campaign, att Attempt, servedAt time.Time) time.Duration {
	limit := time.Duration(c.Rules.TimeLimit) * time.Second
	if end, ok := attemptEnd(c, att); ok {
		limit = min(limit, max(end.Sub(servedAt), 0))
	}
	return limit
}

func (s *Service) campaignTx(ctx context.Context, tx pgx.Tx, id int64) (Campaign, error) {
	c, err := scanCampaign(tx.QueryRow(ctx, `SELECT `+campaignCols+` FROM campaigns WHERE id = $1`, id))
	if err != nil {
		return c, fmt.Errorf("campaign: %d: %w", id, err)
	}
	return c, nil
}

// Current returns the attempt and the question to play now, serving it if
// it is new; questions whose time ran out are locked as timeouts first. An
// attempt with every question locked, or whose campaign ended, finishes.
func (s *Service) Current(ctx context.Context, a kepu.Actor, id int64) (State, error) {
	if st, ok, err := s.currentHot(ctx, a, id); err != nil || ok {
		return st, err
	}
	var st State
	var finished bool
	err := s.tx(ctx, func(tx pgx.Tx) error {
		att, err := lockAttempt(ctx, tx, a, id)
		if err != nil {
			return err
		}
		if att.Finished() {
			st.Attempt = att
			return nil
		}
		c, err := s.campaignTx(ctx, tx, att.CampaignID)
		if err != nil {
			return err
		}
		if err := redeliver(ctx, tx, att); err != nil {
			return err
		}
		st, finished, err = s.played(ctx, tx, att, c, s.now(), nil)
		return err
	})
	if err == nil {
		s.hot.remember(st.Attempt)
	}
	if err == nil && finished {
		s.finished(ctx, st.Attempt)
	}
	return st, err
}

// played is the question to play now (advance, serving with carry) and the
// attempt, finished when every question is locked or the campaign ended
// with nothing left to play (finished true).
func (s *Service) played(ctx context.Context, tx pgx.Tx, att Attempt, c Campaign, now time.Time, carry *int) (State, bool, error) {
	q, err := s.advance(ctx, tx, &att, c, now, carry)
	if err != nil {
		return State{}, false, err
	}
	if att.Answered >= att.Questions || (q == nil && c.Phase(now) == "ended") {
		if err := s.finish(ctx, tx, &att, c, now); err != nil {
			return State{}, false, err
		}
		return State{Attempt: att}, true, nil
	}
	return State{Attempt: att, Question: q}, false, nil
}

// sqlRedeliver forgets the round trip the question being played inherited
// from the answer that served it when a GET delivers it again (a reload,
// perhaps another device or network): it earns credit only from its own
// acknowledgment (latency.go).
const sqlRedeliver = `UPDATE campaign_attempt_questions SET rtt_ms = NULL
WHERE attempt_id = $1 AND seq = $2 AND served_at IS NOT NULL AND seen_at IS NULL AND rtt_ms IS NOT NULL`

// redeliver runs sqlRedeliver for the locked attempt att.
func redeliver(ctx context.Context, tx pgx.Tx, att Attempt) error {
	if _, err := tx.Exec(ctx, sqlRedeliver, att.ID, att.Answered+1); err != nil {
		return fmt.Errorf("campaign: current: %w", err)
	}
	return nil
}

// Answer locks question seq of the actor's attempt with choice (shown
// positions) and returns the result with the right answer and explanation
// and, in the same transaction, serves the next question (Result.Next,
// what a GET right after would return) or finishes the attempt
// (Result.Attempt). A repeated submission of a locked seq returns the
// stored result with the question being played now, and changes nothing. A seq other than the one being played is
// kepu.ECONFLICT; an answer later than the deadline plus Grace counts as a
// timeout. rttMS is the round trip the page measured for the request that
// served the question (0 if unknown); the credited round trip is the
// smaller of it and the server's own measurement (Seen, latency.go), and
// half of that, at most scoring.LatencyCreditMaxMS, comes off the time that
// scores (docs/fairness.md). The result is returned only after it is committed.
func (s *Service) Answer(ctx context.Context, a kepu.Actor, id int64, seq int, choice []int, rttMS int) (Result, error) {
	return s.AnswerAt(ctx, a, id, seq, choice, rttMS, s.Now())
}

// AnswerAt is Answer for an answer that arrived at the server at arrived
// (the service's clock, read when the request reached the handler): that
// is the time that is judged, so an answer that arrived in time is never
// scored late because the server then waited (a locked row, a busy pool),
// as long as it is stored.
func (s *Service) AnswerAt(ctx context.Context, a kepu.Actor, id int64, seq int, choice []int, rttMS int, arrived time.Time) (Result, error) {
	arrived = arrived.UTC().Truncate(time.Microsecond)
	if rttMS < 0 || rttMS > MaxRTTMS {
		return Result{}, kepu.Invalid("rtt_ms", "error.campaign_rtt")
	}
	if res, att, finished, ok, err := s.answerHot(ctx, a, id, seq, choice, rttMS, arrived); err != nil || ok {
		if ok && finished {
			s.finished(ctx, att)
		}
		return res, err
	}
	var res Result
	var finished bool
	var att Attempt
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var err error
		att, err = lockAttempt(ctx, tx, a, id)
		if err != nil {
			return err
		}
		if r, ok, err := storedResult(ctx, tx, att, seq); err != nil || ok {
			res = r
			if err == nil {
				res.Next, res.Attempt, err = s.peek(ctx, tx, att)
			}
			return err
		}
		if att.Finished() {
			return kepu.Errorf(kepu.ECONFLICT, "error.campaign_finished")
		}
		if seq != att.Answered+1 {
			return kepu.Errorf(kepu.ECONFLICT, "error.campaign_wrong_seq").With("seq", att.Answered+1)
		}
		q, err := loadSlot(ctx, tx, att.ID, seq)
		if err != nil {
			return err
		}
		if q.ServedAt == nil {
			return kepu.Errorf(kepu.ECONFLICT, "error.campaign_wrong_seq").With("seq", att.Answered+1)
		}
		orig, err := validChoice(q, choice)
		if err != nil {
			return err
		}
		c, err := s.campaignTx(ctx, tx, att.CampaignID)
		if err != nil {
			return err
		}
		now := arrived
		v := s.judge(c, att, q, orig, now, rttMS)
		if v.fast {
			if _, err := tx.Exec(ctx, `INSERT INTO campaign_signals (attempt_id, kind, seq, at) VALUES ($1, 'fast', $2, $3)`,
				att.ID, seq, now); err != nil {
				return fmt.Errorf("campaign: signal: %w", err)
			}
		}
		if err := lock(ctx, tx, &att, q, v.choice, v.correct, v.points, v.elapsed.Milliseconds(), v.timedOut, now); err != nil {
			return err
		}
		st, done, err := s.played(ctx, tx, att, c, now, q.RTT)
		if err != nil {
			return err
		}
		att, finished = st.Attempt, done
		r, _, err := storedResult(ctx, tx, att, seq)
		res = r
		res.Next = st.Question
		if finished {
			res.Attempt = &att
		}
		return err
	})
	if err == nil {
		s.hot.remember(att)
	}
	if err == nil && finished {
		s.finished(ctx, att)
	}
	return res, err
}

// peek is what a repeated answer returns besides its stored result: the
// question being played when it is served and still open, or the attempt
// when it is finished. It serves, locks and finishes nothing.
func (s *Service) peek(ctx context.Context, tx pgx.Tx, att Attempt) (*Question, *Attempt, error) {
	if att.Finished() {
		return nil, &att, nil
	}
	if att.Answered >= att.Questions {
		return nil, nil, nil
	}
	q, err := loadSlot(ctx, tx, att.ID, att.Answered+1)
	if err != nil || q.ServedAt == nil {
		return nil, nil, err
	}
	c, err := s.campaignTx(ctx, tx, att.CampaignID)
	if err != nil {
		return nil, nil, err
	}
	now := s.now()
	limit := questionLimit(c, att, *q.ServedAt)
	if now.After(q.ServedAt.Add(limit + s.Grace)) {
		return nil, nil, nil
	}
	return q.view(att.Questions, limit, now), nil, nil
}

// verdict is the server's judgement of one answer.
type verdict struct {
	choice   []int // authoring order; nil when timed out
	timedOut bool
	correct  bool
	points   int
	elapsed  time.Duration // credited, clamped to the limit: the time that scores
	fast     bool          // sooner than a person reads the question (a signal)
}

// judge scores choice (authoring order) for question q of att, answered
// at now with the page's measured round trip rttMS, credited only as far
// as the server measured it too (creditRTT; docs/fairness.md).
func (s *Service) judge(c Campaign, att Attempt, q slot, choice []int, now time.Time, rttMS int) verdict {
	perQ := time.Duration(c.Rules.TimeLimit) * time.Second
	limit := questionLimit(c, att, *q.ServedAt)
	raw := now.Sub(*q.ServedAt)
	v := verdict{choice: choice, timedOut: raw > limit+s.Grace}
	rtt := creditRTT(rttMS, q.RTT)
	v.elapsed = time.Duration(scoring.CreditedElapsed(raw.Milliseconds(), int64(rtt))) * time.Millisecond
	v.elapsed = min(max(v.elapsed, 0), limit)
	if v.timedOut {
		v.choice = nil
		return v
	}
	credit := scoring.Credit(choice, q.Answer, c.Rules.Partial)
	v.correct = credit == 1
	if c.Rules.Scoring == scoring.RuleSpeed {
		v.points = scoring.SpeedPoints(credit, c.Rules.Base, c.Rules.Bonus, v.elapsed.Milliseconds(), perQ.Milliseconds())
	} else {
		v.points = scoring.FlatPoints(credit, q.Points)
	}
	v.fast = raw.Milliseconds() < q.readingMS()
	return v
}

// validChoice checks shown positions and maps them to authoring order.
func validChoice(q slot, choice []int) ([]int, error) {
	bad := kepu.Invalid("choice", "error.campaign_choice")
	if len(choice) == 0 || len(choice) > len(q.Perm) || (q.Type != "multiple" && len(choice) != 1) {
		return nil, bad
	}
	seen := map[int]bool{}
	out := make([]int, 0, len(choice))
	for _, p := range choice {
		if p < 0 || p >= len(q.Perm) || seen[p] {
			return nil, bad
		}
		seen[p] = true
		out = append(out, q.Perm[p])
	}
	return out, nil
}

// storedResult reads back the locked answer of seq, if there is one.
func storedResult(ctx context.Context, tx pgx.Tx, att Attempt, seq int) (Result, bool, error) {
	var r Result
	var choice []int
	err := tx.QueryRow(ctx, `SELECT correct, points, timed_out, choice, elapsed_ms FROM campaign_answers
		WHERE attempt_id = $1 AND seq = $2`, att.ID, seq).Scan(&r.Correct, &r.Points, &r.TimedOut, &choice, &r.ElapsedMS)
	if errors.Is(err, pgx.ErrNoRows) {
		return r, false, nil
	}
	if err != nil {
		return r, false, fmt.Errorf("campaign: read answer: %w", err)
	}
	q, err := loadSlot(ctx, tx, att.ID, seq)
	if err != nil {
		return r, false, err
	}
	var fresh Attempt
	if fresh, err = scanAttempt(tx.QueryRow(ctx, `SELECT `+attemptCols+` FROM campaign_attempts WHERE id = $1`, att.ID)); err != nil {
		return r, false, fmt.Errorf("campaign: read attempt: %w", err)
	}
	r.Seq = seq
	r.Choice = q.shown(choice)
	r.CorrectChoice = q.shown(q.Answer)
	r.Explanation = q.Explain
	r.Score, r.Answered, r.Total, r.Done = fresh.Score, fresh.Answered, fresh.Questions, fresh.Finished()
	return r, true, nil
}

// Finish ends the actor's attempt now: questions not yet locked count as
// timeouts, and an attempt with questions left is marked abandoned (given
// up: with no points it is never ranked). Finishing a finished attempt
// returns it unchanged.
func (s *Service) Finish(ctx context.Context, a kepu.Actor, id int64) (Attempt, error) {
	var att Attempt
	var finished bool
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var err error
		if att, err = lockAttempt(ctx, tx, a, id); err != nil || att.Finished() {
			return err
		}
		c, err := s.campaignTx(ctx, tx, att.CampaignID)
		if err != nil {
			return err
		}
		finished = true
		return s.giveUp(ctx, tx, &att, c, s.now())
	})
	if err == nil && finished {
		s.finished(ctx, att)
	}
	return att, err
}

// giveUp finishes the locked attempt att now, marked abandoned when it
// has questions left (given up: with no points it is never ranked).
func (s *Service) giveUp(ctx context.Context, tx pgx.Tx, att *Attempt, c Campaign, now time.Time) error {
	if att.Answered < att.Questions {
		if _, err := tx.Exec(ctx, `UPDATE campaign_attempts SET abandoned = true WHERE id = $1`, att.ID); err != nil {
			return fmt.Errorf("campaign: give up: %w", err)
		}
	}
	return s.finish(ctx, tx, att, c, now)
}

// finish locks the remaining questions as timeouts (the served one with the
// time it had used, unserved ones with the full limit), then sets the
// result: passed, tier, certificate code.
func (s *Service) finish(ctx context.Context, tx pgx.Tx, att *Attempt, c Campaign, now time.Time) error {
	limit := time.Duration(c.Rules.TimeLimit) * time.Second
	for att.Answered < att.Questions {
		q, err := loadSlot(ctx, tx, att.ID, att.Answered+1)
		if err != nil {
			return err
		}
		used := limit
		if q.ServedAt != nil {
			used = min(max(now.Sub(*q.ServedAt), 0), limit)
		}
		if err := lock(ctx, tx, att, q, nil, false, 0, used.Milliseconds(), true, now); err != nil {
			return err
		}
	}
	pct := 0.0
	if att.MaxScore > 0 {
		pct = 100 * float64(att.Score) / float64(att.MaxScore)
	}
	passMark := c.Rules.PassMark
	if len(c.Rules.Divisions) > 0 {
		// The division's pass mark; read from the row: the answer path's
		// cached attempt does not carry the division.
		var division string
		if err := tx.QueryRow(ctx, `SELECT division FROM campaign_attempts WHERE id = $1`, att.ID).Scan(&division); err != nil {
			return fmt.Errorf("campaign: finish: %w", err)
		}
		passMark = c.Rules.For(division, false).PassMark
	}
	passed := pct >= float64(passMark)
	var tier, code *string
	if c.Rules.Scoring == scoring.RuleAssessment {
		t := scoring.TierOf(pct, c.Rules.Tiers)
		tier = &t
	}
	if passed {
		k := newCode()
		code = &k
	}
	var err error
	// A certificate keeps the nickname and campaign title of its issue
	// (cert_nickname, cert_campaign): renaming either later changes nothing.
	// Staff practice and the practice round earn no certificate (read from
	// the row: the answer path's cached attempt does not carry the flags).
	*att, err = scanAttempt(tx.QueryRow(ctx, `UPDATE campaign_attempts SET finished_at = $2, passed = $3, tier = $4,
		cert_code = CASE WHEN staff_practice OR practice THEN NULL ELSE $5 END, in_progress = false,
		cert_nickname = CASE WHEN $5::text IS NULL OR staff_practice OR practice THEN NULL ELSE (SELECT nickname FROM users WHERE id = user_id) END,
		cert_campaign = CASE WHEN $5::text IS NULL OR staff_practice OR practice THEN NULL ELSE (SELECT title FROM campaigns WHERE id = campaign_id) END
		WHERE id = $1 RETURNING `+attemptCols, att.ID, now, passed, tier, code))
	if err != nil {
		return fmt.Errorf("campaign: finish: %w", err)
	}
	return nil
}

// newCode returns a 12-character verification code (no look-alike letters).
func newCode() string {
	const alphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
	b := make([]byte, 12)
	rand.Read(b)
	var sb strings.Builder
	for _, x := range b {
		sb.WriteByte(alphabet[int(x)%len(alphabet)])
	}
	return sb.String()
}

// Signal records a page-visibility change the client reports ("hidden" or
// "visible"). It never fails or changes the attempt.
func (s *Service) Signal(ctx context.Context, a kepu.Actor, id int64, kind string, seq int) error {
	if kind != "hidden" && kind != "visible" {
		return kepu.Invalid("kind", "error.campaign_signal")
	}
	att, err := s.Attempt(ctx, a, id)
	if err != nil {
		return err
	}
	if att.Finished() {
		return nil
	}
	var n int
	if err := s.DB.QueryRow(ctx, `SELECT count(*) FROM campaign_signals WHERE attempt_id = $1`, id).Scan(&n); err != nil {
		return fmt.Errorf("campaign: signal: %w", err)
	}
	if n >= 500 { // bounded per attempt
		return nil
	}
	if _, err := s.DB.Exec(ctx, `INSERT INTO campaign_signals (attempt_id, kind, seq, at) VALUES ($1, $2, $3, $4)`,
		id, kind, seq, s.now()); err != nil {
		return fmt.Errorf("campaign: signal: %w", err)
	}
	return nil
}

func (s *Service) tx(ctx context.Context, fn func(pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, s.DB, fn)
}

// finished hands a committed finish to the OnFinish hooks.
func (s *Service) finished(ctx context.Context, att Attempt) {
	for _, f := range s.OnFinish {
		if err := f(context.WithoutCancel(ctx), att); err != nil && s.Log != nil {
			s.Log.Warn("campaign: after finish", "attempt", att.ID, "err", err)
		}
	}
}

// nonNil returns ids, or an empty slice for nil (a Postgres '{}' array).
func nonNil(ids []int64) []int64 {
	if ids == nil {
		return []int64{}
	}
	return ids
}
