// Package practice is the daily practice (每日一练): five questions a day
// per person, drawn afresh each Asia/Shanghai day from the published bank
// by the campaign draw (campaign.DrawAvoiding: no question answered right
// in the last 30 days while others remain), the due questions of the
// wrong-answer notebook first (internal/notebook); each question timed by
// the server like a campaign question, its explanation after it. It also
// keeps the points account (points.go: the ledger every feature credits
// through AddPoints, PK battles included), the daily streak (streak.go) and
// the weekly practice boards (board.go). Practice points are separate from
// campaign scores. docs/learning.md.
//
// The package writes only its tables (points_ledger, practice_days,
// practice_questions, practice_week_boards; migrations/00800_practice.sql)
// and, through notebook.Record, the notebook's.
package practice

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kepu/kepu/internal/campaign"
	"github.com/kepu/kepu/internal/drill"
	"github.com/kepu/kepu/internal/kepu"
	"github.com/kepu/kepu/internal/notebook"
)

// Questions is the number of questions of a day's practice.
const Questions = 5

// RightWindow is how long a question answered right stays out of the
// daily draw while other questions remain.
const RightWindow = 30 * 24 * time.Hour

// Service runs the daily practice, the points account and the boards.
type Service struct {
	DB       *pgxpool.Pool
	Notebook *notebook.Service
	Boards   *Boards // the weekly boards (nil: none)
	Now      func() time.Time
	Log      *slog.Logger
}

func (s *Service) now() time.Time {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	return now().UTC().Truncate(time.Microsecond)
}

// Day is one day's practice of one person.
type Day struct {
	Day        string     `json:"day"` // YYYY-MM-DD, Asia/Shanghai
	Questions  int        `json:"questions"`
	Answered   int        `json:"answered"`
	Correct    int        `json:"correct"`
	Points     int        `json:"points"`
	StartedAt  time.Time  `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at"`
	Done       bool       `json:"done"`
}

// State is today's practice with the question to play now (nil when done)
// and the streak.
type State struct {
	Day      Day             `json:"day"`
	Question *drill.Question `json:"question"`
	Streak   Streak          `json:"streak"`
}

// Result is a locked practice question: the result with the right answer
// and the explanation, what the notebook made of it, the day after it and
// the next question, served by the same commit (nil when the day is done).
type Result struct {
	drill.Result
	Seq      int              `json:"seq"`
	Notebook notebook.Outcome `json:"notebook"`
	Day      Day              `json:"day"`
	Next     *drill.Question  `json:"next"`
	Streak   Streak           `json:"streak"`
}

func checkActor(a kepu.Actor) error {
	if a.UserID == 0 || a.Role == kepu.RoleGuest {
		return kepu.Errorf(kepu.EUNAUTHORIZED, "daily.error.practice_login")
	}
	return nil
}

// Today returns the actor's practice of the current Asia/Shanghai day,
// drawing it on the first call of the day, with the question to play now
// (served now if new; questions whose time ran out are locked as
// timeouts first). Errors: kepu.EUNAUTHORIZED for guests and visitors,
// kepu.ECONFLICT when the bank has too few questions.
func (s *Service) Today(ctx context.Context, a kepu.Actor) (State, error) {
	if err := checkActor(a); err != nil {
		return State{}, err
	}
	if s.Notebook != nil {
		if err := s.Notebook.Sync(ctx, a.UserID); err != nil {
			return State{}, err
		}
	}
	now := s.now()
	day := DayOf(now)
	var st State
	err := pgx.BeginFunc(ctx, s.DB, func(tx pgx.Tx) error {
		if err := s.start(ctx, tx, a.UserID, day, now); err != nil {
			return err
		}
		var err error
		st.Day, st.Question, err = s.advance(ctx, tx, a.UserID, day, now)
		return err
	})
	if err != nil {
		return st, err
	}
	st.Streak, err = s.Streak(ctx, a.UserID)
	s.BoardTouch(ctx, a.UserID)
	return st, err
}

// start draws day's practice for user userID unless it exists (the user
// row is locked first, so two first calls draw once).
func (s *Service) start(ctx context.Context, tx pgx.Tx, userID int64, day, now time.Time) error {
	var lang string
	if err := tx.QueryRow(ctx, `SELECT lang FROM users WHERE id = $1 FOR NO KEY UPDATE`, userID).Scan(&lang); err != nil {
		return fmt.Errorf("practice: start: %w", err)
	}
	var exists bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM practice_days WHERE user_id = $1 AND day = $2)`,
		userID, day).Scan(&exists); err != nil {
		return fmt.Errorf("practice: start: %w", err)
	}
	if exists {
		return nil
	}
	due, err := notebook.DueNow(ctx, tx, userID, now, Questions)
	if err != nil {
		return err
	}
	exclude := make([]int64, 0, len(due))
	for _, d := range due {
		exclude = append(exclude, d.QuestionID)
	}
	var avoid []int64
	if err := tx.QueryRow(ctx, sqlRight, userID, now.Add(-RightWindow)).Scan(&avoid); err != nil {
		return fmt.Errorf("practice: start: right answers: %w", err)
	}
	type pick struct {
		qid, vid int64
		options  int
		notebook bool
	}
	var picks []pick
	for _, d := range due {
		var n int
		if err := tx.QueryRow(ctx, `SELECT jsonb_array_length(options) FROM question_versions WHERE id = $1`, d.VersionID).Scan(&n); err != nil {
			return fmt.Errorf("practice: start: %w", err)
		}
		picks = append(picks, pick{d.QuestionID, d.VersionID, n, true})
	}
	if need := Questions - len(due); need > 0 {
		drawn, err := campaign.DrawAvoiding(ctx, tx, campaign.Rules{Questions: need, Lang: campaign.LangBoth}, lang, exclude, avoid)
		if kepu.ErrorCode(err) == kepu.EINVALID {
			return kepu.Errorf(kepu.ECONFLICT, "daily.error.practice_bank_short")
		}
		if err != nil {
			return err
		}
		for _, d := range drawn {
			picks = append(picks, pick{d.QuestionID, d.VersionID, d.Options, false})
		}
	}
	if _, err := tx.Exec(ctx, `INSERT INTO practice_days (user_id, day, started_at, questions, region_id, school_id, age_band)
		SELECT id, $2, $3, $4, region_id, school_id, age_band FROM users WHERE id = $1`, userID, day, now, len(picks)); err != nil {
		return fmt.Errorf("practice: start: %w", err)
	}
	rows := make([][]any, len(picks))
	for i, p := range picks {
		rows[i] = []any{userID, day, int32(i + 1), p.qid, p.vid, drill.Perm(p.options), p.notebook}
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"practice_questions"},
		[]string{"user_id", "day", "seq", "question_id", "question_version_id", "perm", "notebook"}, pgx.CopyFromRows(rows)); err != nil {
		return fmt.Errorf("practice: start: questions: %w", err)
	}
	return nil
}

// sqlRight is the questions user $1 answered right since $2, in the
// daily practice, a campaign or a notebook retry (an entry that left).
const sqlRight = `SELECT coalesce(array_agg(DISTINCT qid), '{}') FROM (
	SELECT question_id AS qid FROM practice_questions WHERE user_id = $1 AND correct AND answered_at > $2
	UNION ALL
	SELECT coalesce(q.translation_of, q.id) FROM campaign_attempts t JOIN campaign_answers a ON a.attempt_id = t.id
	JOIN question_versions v ON v.id = a.question_version_id JOIN questions q ON q.id = v.question_id
	WHERE t.user_id = $1 AND a.correct AND a.answered_at > $2
	UNION ALL
	SELECT question_id FROM notebook_entries WHERE user_id = $1 AND last_right_at > $2
) x`

// slot is one question of a day's practice.
type slot struct {
	seq      int
	qid, vid int64
	perm     []int
	notebook bool
	servedAt *time.Time
}

const dayCols = `day, questions, answered, correct, points, started_at, finished_at`

func scanDay(row pgx.Row) (Day, error) {
	var d Day
	var day time.Time
	err := row.Scan(&day, &d.Questions, &d.Answered, &d.Correct, &d.Points, &d.StartedAt, &d.FinishedAt)
	d.Day = day.Format(time.DateOnly)
	d.Done = d.FinishedAt != nil
	return d, err
}

// advance locks the questions of user userID's day whose time ran out as
// timeouts and serves the next one; with none left it finishes the day
// (the finishing points). It returns the day and the question to play.
func (s *Service) advance(ctx context.Context, tx pgx.Tx, userID int64, day, now time.Time) (Day, *drill.Question, error) {
	d, err := lockDay(ctx, tx, userID, day)
	if err != nil {
		return d, nil, err
	}
	for d.Answered < d.Questions {
		sl, err := loadSlot(ctx, tx, userID, day, d.Answered+1)
		if err != nil {
			return d, nil, err
		}
		it, err := drill.Load(ctx, tx, sl.vid)
		if err != nil {
			return d, nil, err
		}
		if sl.servedAt == nil {
			if _, err := tx.Exec(ctx, `UPDATE practice_questions SET served_at = $4 WHERE user_id = $1 AND day = $2 AND seq = $3`,
				userID, day, sl.seq, now); err != nil {
				return d, nil, fmt.Errorf("practice: serve: %w", err)
			}
			sl.servedAt = &now
		}
		if !drill.Expired(*sl.servedAt, now) {
			q := it.View(sl.perm, *sl.servedAt, now)
			q.Seq, q.Total, q.Notebook = sl.seq, d.Questions, sl.notebook
			return d, q, nil
		}
		v := drill.Verdict{Choice: []int{}, TimedOut: true, ElapsedMS: drill.TimeLimit.Milliseconds()}
		if d, _, err = s.lock(ctx, tx, userID, day, sl, v, now); err != nil {
			return d, nil, err
		}
	}
	if d.FinishedAt == nil {
		if _, err := s.AddPoints(ctx, tx, userID, PointsDone, ReasonPracticeDone, day.Format(time.DateOnly)); err != nil {
			return d, nil, err
		}
		if d, err = scanDay(tx.QueryRow(ctx, `UPDATE practice_days SET finished_at = $3, points = points + $4
			WHERE user_id = $1 AND day = $2 RETURNING `+dayCols, userID, day, now, PointsDone)); err != nil {
			return d, nil, fmt.Errorf("practice: finish: %w", err)
		}
	}
	return d, nil, nil
}

// lockDay reads user userID's practice of day FOR UPDATE.
func lockDay(ctx context.Context, tx pgx.Tx, userID int64, day time.Time) (Day, error) {
	d, err := scanDay(tx.QueryRow(ctx, `SELECT `+dayCols+` FROM practice_days WHERE user_id = $1 AND day = $2 FOR UPDATE`, userID, day))
	if errors.Is(err, pgx.ErrNoRows) {
		return d, kepu.NotFound("daily.error.practice_not_found")
	}
	if err != nil {
		return d, fmt.Errorf("practice: day: %w", err)
	}
	return d, nil
}

func loadSlot(ctx context.Context, tx pgx.Tx, userID int64, day time.Time, seq int) (slot, error) {
	sl := slot{seq: seq}
	err := tx.QueryRow(ctx, `SELECT question_id, question_version_id, perm, notebook, served_at FROM practice_questions
		WHERE user_id = $1 AND day = $2 AND seq = $3`, userID, day, seq).Scan(&sl.qid, &sl.vid, &sl.perm, &sl.notebook, &sl.servedAt)
	if err != nil {
		return sl, fmt.Errorf("practice: question %d: %w", seq, err)
	}
	return sl, nil
}

// lock stores verdict v of slot sl, credits its points, reports it to
// the notebook and returns the day after it.
func (s *Service) lock(ctx context.Context, tx pgx.Tx, userID int64, day time.Time, sl slot, v drill.Verdict, now time.Time) (Day, notebook.Outcome, error) {
	points := 0
	if v.Correct {
		points = PointsRight
		ref := day.Format(time.DateOnly) + ":" + strconv.Itoa(sl.seq)
		if _, err := s.AddPoints(ctx, tx, userID, points, ReasonPractice, ref); err != nil {
			return Day{}, notebook.Outcome{}, err
		}
	}
	if _, err := tx.Exec(ctx, `UPDATE practice_questions SET answered_at = $4, choice = $5, correct = $6, timed_out = $7,
		elapsed_ms = $8 WHERE user_id = $1 AND day = $2 AND seq = $3`,
		userID, day, sl.seq, now, v.Choice, v.Correct, v.TimedOut, v.ElapsedMS); err != nil {
		return Day{}, notebook.Outcome{}, fmt.Errorf("practice: lock: %w", err)
	}
	right := 0
	if v.Correct {
		right = 1
	}
	d, err := scanDay(tx.QueryRow(ctx, `UPDATE practice_days SET answered = answered + 1, correct = correct + $3,
		points = points + $4 WHERE user_id = $1 AND day = $2 RETURNING `+dayCols, userID, day, right, points))
	if err != nil {
		return d, notebook.Outcome{}, fmt.Errorf("practice: lock: %w", err)
	}
	out, err := notebook.Record(ctx, tx, notebook.Answer{UserID: userID, QuestionID: sl.qid, VersionID: sl.vid,
		Choice: v.Choice, Correct: v.Correct, TimedOut: v.TimedOut, At: now, Source: notebook.SourcePractice})
	return d, out, err
}

// Answer locks question seq of the actor's practice of day (YYYY-MM-DD:
// the day the page is playing, which may be yesterday's after midnight)
// with choice (shown positions), and in the same commit serves the next
// question or finishes the day. An answer after the deadline (plus
// drill.Grace) is a timeout. Errors: kepu.EINVALID for a bad day or
// choice, kepu.ENOTFOUND for a day without practice, kepu.ECONFLICT when
// seq is not the question being played.
func (s *Service) Answer(ctx context.Context, a kepu.Actor, dayStr string, seq int, choice []int) (Result, error) {
	if err := checkActor(a); err != nil {
		return Result{}, err
	}
	day, err := time.Parse(time.DateOnly, dayStr)
	if err != nil || len(dayStr) != 10 {
		return Result{}, kepu.Invalid("day", "daily.error.practice_day")
	}
	now := s.now()
	var res Result
	err = pgx.BeginFunc(ctx, s.DB, func(tx pgx.Tx) error {
		d, err := lockDay(ctx, tx, a.UserID, day)
		if err != nil {
			return err
		}
		if d.Answered >= d.Questions || seq != d.Answered+1 {
			return kepu.Errorf(kepu.ECONFLICT, "daily.error.practice_wrong_seq").With("seq", d.Answered+1)
		}
		sl, err := loadSlot(ctx, tx, a.UserID, day, seq)
		if err != nil {
			return err
		}
		if sl.servedAt == nil {
			return kepu.Errorf(kepu.ECONFLICT, "daily.error.practice_wrong_seq").With("seq", d.Answered+1)
		}
		it, err := drill.Load(ctx, tx, sl.vid)
		if err != nil {
			return err
		}
		v, err := it.Judge(sl.perm, choice, *sl.servedAt, now)
		if err != nil {
			return err
		}
		_, out, err := s.lock(ctx, tx, a.UserID, day, sl, v, now)
		if err != nil {
			return err
		}
		res.Result = it.Result(sl.perm, v)
		if v.Correct {
			res.Points = PointsRight
		}
		res.Seq, res.Notebook = seq, out
		res.Day, res.Next, err = s.advance(ctx, tx, a.UserID, day, now)
		return err
	})
	if err != nil {
		return res, err
	}
	s.BoardTouch(ctx, a.UserID)
	res.Streak, err = s.Streak(ctx, a.UserID)
	return res, err
}
