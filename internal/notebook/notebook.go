// Package notebook is the wrong-answer notebook (错题本): every question a
// person got wrong or ran out of time on — in a campaign once it has
// closed, in the daily practice, in a contest they played logged in — with
// their answer, the right one and the explanation, and a retry schedule.
//
// An entry is due 1 day after the wrong answer; each correct retry moves
// it on the schedule 1, 3, 7 days (Intervals) and a wrong one starts it
// again. It leaves the notebook at a correct retry at least a day after
// the previous correct one (two correct retries spaced a day apart). The
// daily practice (internal/practice) serves due entries first and reports
// its answers through Record.
//
// The package writes only its own tables (notebook_entries,
// notebook_retries, migrations/00800_practice.sql). Campaign and contest
// answers are read from their own tables by Sync, idempotently, when the
// notebook or the practice is opened.
package notebook

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kepu/kepu/internal/drill"
	"github.com/kepu/kepu/internal/kepu"
)

// Intervals is the retry schedule: an entry at stage i is due Intervals[i]
// after its last wrong or correct answer.
var Intervals = [3]time.Duration{24 * time.Hour, 72 * time.Hour, 7 * 24 * time.Hour}

// Spacing is the least time between the two correct retries that take a
// question out of the notebook.
const Spacing = 24 * time.Hour

// Sources of an entry.
const (
	SourceCampaign = "campaign"
	SourcePractice = "practice"
	SourceContest  = "contest"
	SourceNotebook = "notebook" // a retry from the notebook page
)

// Service reads and writes the notebook.
type Service struct {
	DB  *pgxpool.Pool
	Now func() time.Time
}

func (s *Service) now() time.Time {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	return now().UTC().Truncate(time.Microsecond)
}

// Answer is one answer to a question, reported to Record.
type Answer struct {
	UserID     int64
	QuestionID int64 // the original question (a translation's translation_of)
	VersionID  int64 // the version answered
	Choice     []int // authoring order; empty when timed out
	Correct    bool
	TimedOut   bool
	At         time.Time
	Source     string
}

// Outcome is what Record did to the entry.
type Outcome struct {
	InNotebook bool       `json:"in_notebook"` // the question is (still) in the notebook
	Left       bool       `json:"left"`        // this answer took it out
	DueAt      *time.Time `json:"due_at"`      // when it is next due, while in the notebook
}

// Record applies answer a, in the caller's transaction: a wrong answer
// (or a timeout) puts the question in the notebook (again) due after
// Intervals[0]; a correct one to a question in the notebook is a retry
// (see the package comment); a correct one to a question not in it
// changes nothing.
func Record(ctx context.Context, tx pgx.Tx, a Answer) (Outcome, error) {
	var out Outcome
	choice := a.Choice
	if choice == nil {
		choice = []int{}
	}
	if !a.Correct {
		due := a.At.Add(Intervals[0])
		if _, err := tx.Exec(ctx, `INSERT INTO notebook_entries (user_id, question_id, question_version_id, source, choice,
			timed_out, wrong_at, due_at, retries) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, CASE WHEN $4 = 'notebook' THEN 1 ELSE 0 END)
			ON CONFLICT (user_id, question_id) DO UPDATE SET question_version_id = $3, source = $4, choice = $5,
				timed_out = $6, wrong_at = $7, due_at = $8, stage = 0, rights = 0, last_right_at = NULL, left_at = NULL,
				retries = notebook_entries.retries + CASE WHEN notebook_entries.left_at IS NULL THEN 1 ELSE 0 END`,
			a.UserID, a.QuestionID, a.VersionID, a.Source, choice, a.TimedOut, a.At, due); err != nil {
			return out, fmt.Errorf("notebook: record: %w", err)
		}
		return Outcome{InNotebook: true, DueAt: &due}, nil
	}
	var stage, rights int
	var lastRight *time.Time
	err := tx.QueryRow(ctx, `SELECT stage, rights, last_right_at FROM notebook_entries
		WHERE user_id = $1 AND question_id = $2 AND left_at IS NULL FOR UPDATE`, a.UserID, a.QuestionID).Scan(&stage, &rights, &lastRight)
	if errors.Is(err, pgx.ErrNoRows) {
		return out, nil
	}
	if err != nil {
		return out, fmt.Errorf("notebook: record: %w", err)
	}
	if rights > 0 && lastRight != nil && a.At.Sub(*lastRight) >= Spacing {
		if _, err := tx.Exec(ctx, `UPDATE notebook_entries SET left_at = $3, rights = rights + 1, retries = retries + 1
			WHERE user_id = $1 AND question_id = $2`, a.UserID, a.QuestionID, a.At); err != nil {
			return out, fmt.Errorf("notebook: record: %w", err)
		}
		return Outcome{Left: true}, nil
	}
	stage = min(stage+1, len(Intervals)-1)
	due := a.At.Add(Intervals[stage])
	if lastRight == nil {
		lastRight = &a.At
	}
	if _, err := tx.Exec(ctx, `UPDATE notebook_entries SET stage = $3, due_at = $4, rights = rights + 1, last_right_at = $5,
		retries = retries + 1 WHERE user_id = $1 AND question_id = $2`, a.UserID, a.QuestionID, stage, due, *lastRight); err != nil {
		return out, fmt.Errorf("notebook: record: %w", err)
	}
	return Outcome{InNotebook: true, DueAt: &due}, nil
}

// sqlSync copies into user $1's notebook the wrong answers and timeouts
// of campaigns closed by $2 (status closed or archived, or past their
// end; staff practice left out) and the wrong answers of finished contest
// runs they played logged in, with the questions they let run out there
// (those played from the one they joined at, contest_players.from_q), one
// row per question (its latest wrong answer). An answer older than the
// entry's own wrong answer, or than the time the question left the
// notebook, changes nothing: running it again is harmless.
const sqlSync = `WITH wrong AS (
	SELECT coalesce(q.translation_of, q.id) AS qid, a.question_version_id AS vid, 'campaign' AS source,
		a.choice, a.timed_out, a.answered_at AS at
	FROM campaign_attempts t JOIN campaigns c ON c.id = t.campaign_id
	JOIN campaign_answers a ON a.attempt_id = t.id
	JOIN question_versions v ON v.id = a.question_version_id JOIN questions q ON q.id = v.question_id
	WHERE t.user_id = $1 AND NOT t.staff_practice AND NOT a.correct
	AND (c.status IN ('closed', 'archived') OR c.ends_at <= $2)
	UNION ALL
	SELECT coalesce(q.translation_of, q.id), pl.vid, 'contest', a.choice, false, coalesce(r.ended_at, r.started_at, r.created_at)
	FROM contest_players p JOIN contest_runs r ON r.id = p.run_id AND r.status = 'finished'
	JOIN contest_answers a ON a.run_id = p.run_id AND a.player_id = p.player_id
	JOIN LATERAL (
		SELECT (e.q->>'version_id')::bigint AS vid FROM jsonb_array_elements(r.questions) WITH ORDINALITY AS e(q, ord)
		WHERE jsonb_typeof(r.questions) = 'array' AND e.ord - 1 = a.position
		UNION ALL
		SELECT cq.question_version_id FROM contest_questions cq
		WHERE r.questions IS NULL AND cq.contest_id = r.contest_id AND cq.position = a.position
	) pl ON true
	JOIN question_versions v ON v.id = pl.vid JOIN questions q ON q.id = v.question_id
	WHERE p.user_id = $1 AND NOT a.correct
	UNION ALL
	SELECT coalesce(q.translation_of, q.id), v.id, 'contest', '{}'::int[], true, coalesce(r.ended_at, r.started_at, r.created_at)
	FROM contest_players p JOIN contest_runs r ON r.id = p.run_id AND r.status = 'finished' AND jsonb_typeof(r.questions) = 'array'
	CROSS JOIN LATERAL jsonb_array_elements(r.questions) WITH ORDINALITY AS e(q, ord)
	JOIN question_versions v ON v.id = (e.q->>'version_id')::bigint JOIN questions q ON q.id = v.question_id
	WHERE p.user_id = $1 AND p.from_q IS NOT NULL AND e.ord - 1 BETWEEN p.from_q AND r.q
	AND NOT EXISTS (SELECT 1 FROM contest_answers a WHERE a.run_id = p.run_id AND a.player_id = p.player_id AND a.position = e.ord - 1)
), latest AS (
	SELECT DISTINCT ON (qid) * FROM wrong ORDER BY qid, at DESC
)
INSERT INTO notebook_entries (user_id, question_id, question_version_id, source, choice, timed_out, wrong_at, due_at)
SELECT $1, qid, vid, source, choice, timed_out, at, at + $3::interval FROM latest
ON CONFLICT (user_id, question_id) DO UPDATE SET question_version_id = EXCLUDED.question_version_id,
	source = EXCLUDED.source, choice = EXCLUDED.choice, timed_out = EXCLUDED.timed_out, wrong_at = EXCLUDED.wrong_at,
	due_at = EXCLUDED.due_at, stage = 0, rights = 0, last_right_at = NULL, left_at = NULL
WHERE EXCLUDED.wrong_at > notebook_entries.wrong_at
	AND (notebook_entries.left_at IS NULL OR EXCLUDED.wrong_at > notebook_entries.left_at)
	AND (notebook_entries.last_right_at IS NULL OR EXCLUDED.wrong_at > notebook_entries.last_right_at)`

// Sync brings user userID's notebook up to date with their campaign and
// contest answers (sqlSync).
func (s *Service) Sync(ctx context.Context, userID int64) error {
	if _, err := s.DB.Exec(ctx, sqlSync, userID, s.now(), Intervals[0]); err != nil {
		return fmt.Errorf("notebook: sync: %w", err)
	}
	return nil
}

// Due is an entry the daily practice serves: the current published
// version of the question.
type Due struct {
	QuestionID int64
	VersionID  int64
}

// DueNow returns up to limit of user userID's entries due at now, the
// longest due first, in the caller's transaction.
func DueNow(ctx context.Context, tx pgx.Tx, userID int64, now time.Time, limit int) ([]Due, error) {
	rows, err := tx.Query(ctx, `SELECT e.question_id, v.id FROM notebook_entries e
		JOIN questions q ON q.id = e.question_id AND q.status = 'published'
		JOIN question_versions v ON v.question_id = q.id AND v.version = q.current_version
		WHERE e.user_id = $1 AND e.left_at IS NULL AND e.due_at <= $2 ORDER BY e.due_at, e.question_id LIMIT $3`,
		userID, now, limit)
	if err != nil {
		return nil, fmt.Errorf("notebook: due: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[Due])
	if err != nil {
		return nil, fmt.Errorf("notebook: due: %w", err)
	}
	return out, nil
}

// Entry is one question in the notebook, as its page shows it.
type Entry struct {
	QuestionID    int64     `json:"question_id"`
	Source        string    `json:"source"`
	Type          string    `json:"type"`
	Stem          string    `json:"stem"`
	Options       []string  `json:"options"`
	Choice        []int     `json:"choice"`         // the wrong answer (authoring order); empty: timed out
	TimedOut      bool      `json:"timed_out"`      // ran out of time
	Answer        []int     `json:"answer"`         // the right one (authoring order)
	Explanation   string    `json:"explanation"`    // why
	WrongAt       time.Time `json:"wrong_at"`       // the last wrong answer
	DueAt         time.Time `json:"due_at"`         // next due
	Due           bool      `json:"due"`            // due now
	Stage         int       `json:"stage"`          // index into Intervals
	Rights        int       `json:"rights"`         // correct retries in a row
	IntervalDays  int       `json:"interval_days"`  // the interval of its stage
	RetryPossible bool      `json:"retry_possible"` // the question is still published
}

// Notebook is a person's notebook: the entries in it, due first, and how
// many questions have left it.
type Notebook struct {
	Entries []Entry `json:"entries"`
	Due     int     `json:"due"`
	Left    int     `json:"left"`
}

// List syncs and returns user userID's notebook (at most 200 entries).
func (s *Service) List(ctx context.Context, userID int64) (Notebook, error) {
	nb := Notebook{Entries: []Entry{}}
	if err := s.Sync(ctx, userID); err != nil {
		return nb, err
	}
	now := s.now()
	rows, err := s.DB.Query(ctx, `SELECT e.question_id, e.source, v.type, v.stem, v.options, e.choice, e.timed_out, v.answer,
		v.explanation, e.wrong_at, e.due_at, e.stage, e.rights, q.status = 'published'
		FROM notebook_entries e JOIN question_versions v ON v.id = e.question_version_id
		JOIN questions q ON q.id = e.question_id
		WHERE e.user_id = $1 AND e.left_at IS NULL ORDER BY e.due_at, e.question_id LIMIT 200`, userID)
	if err != nil {
		return nb, fmt.Errorf("notebook: list: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var e Entry
		if err := rows.Scan(&e.QuestionID, &e.Source, &e.Type, &e.Stem, &e.Options, &e.Choice, &e.TimedOut, &e.Answer,
			&e.Explanation, &e.WrongAt, &e.DueAt, &e.Stage, &e.Rights, &e.RetryPossible); err != nil {
			return nb, fmt.Errorf("notebook: list: %w", err)
		}
		e.Due = !e.DueAt.After(now)
		e.IntervalDays = int(Intervals[e.Stage] / (24 * time.Hour))
		if e.Due {
			nb.Due++
		}
		nb.Entries = append(nb.Entries, e)
	}
	if err := rows.Err(); err != nil {
		return nb, fmt.Errorf("notebook: list: %w", err)
	}
	if err := s.DB.QueryRow(ctx, `SELECT count(*) FROM notebook_entries WHERE user_id = $1 AND left_at IS NOT NULL`,
		userID).Scan(&nb.Left); err != nil {
		return nb, fmt.Errorf("notebook: list: %w", err)
	}
	return nb, nil
}

// Retry is a retry being played: the question, timed by the server.
type Retry struct {
	QuestionID int64           `json:"question_id"`
	Question   *drill.Question `json:"question"`
}

// StartRetry serves question questionID of user userID's notebook for a
// retry, or returns the retry of it already being played (its clock runs
// on). kepu.ENOTFOUND when the question is not in the notebook or no
// longer published.
func (s *Service) StartRetry(ctx context.Context, userID, questionID int64) (Retry, error) {
	var r Retry
	now := s.now()
	err := pgx.BeginFunc(ctx, s.DB, func(tx pgx.Tx) error {
		var vid int64
		err := tx.QueryRow(ctx, `SELECT v.id FROM notebook_entries e
			JOIN questions q ON q.id = e.question_id AND q.status = 'published'
			JOIN question_versions v ON v.question_id = q.id AND v.version = q.current_version
			WHERE e.user_id = $1 AND e.question_id = $2 AND e.left_at IS NULL FOR UPDATE OF e`, userID, questionID).Scan(&vid)
		if errors.Is(err, pgx.ErrNoRows) {
			return kepu.NotFound("daily.error.notebook_not_found")
		}
		if err != nil {
			return fmt.Errorf("notebook: retry: %w", err)
		}
		var cur struct {
			qid, vid int64
			perm     []int
			served   time.Time
		}
		err = tx.QueryRow(ctx, `SELECT question_id, question_version_id, perm, served_at FROM notebook_retries WHERE user_id = $1`,
			userID).Scan(&cur.qid, &cur.vid, &cur.perm, &cur.served)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("notebook: retry: %w", err)
		}
		if err == nil && cur.qid == questionID && !drill.Expired(cur.served, now) {
			it, err := drill.Load(ctx, tx, cur.vid)
			if err != nil {
				return err
			}
			r = Retry{QuestionID: questionID, Question: it.View(cur.perm, cur.served, now)}
			return nil
		}
		it, err := drill.Load(ctx, tx, vid)
		if err != nil {
			return err
		}
		perm := drill.Perm(len(it.Options))
		if _, err := tx.Exec(ctx, `INSERT INTO notebook_retries (user_id, question_id, question_version_id, perm, served_at)
			VALUES ($1, $2, $3, $4, $5) ON CONFLICT (user_id) DO UPDATE SET question_id = $2, question_version_id = $3,
			perm = $4, served_at = $5`, userID, questionID, vid, perm, now); err != nil {
			return fmt.Errorf("notebook: retry: %w", err)
		}
		r = Retry{QuestionID: questionID, Question: it.View(perm, now, now)}
		return nil
	})
	if r.Question != nil {
		r.Question.Seq, r.Question.Total = 1, 1
	}
	return r, err
}

// RetryResult is a judged retry: the result with the right answer and
// the explanation, and what became of the entry.
type RetryResult struct {
	drill.Result
	Outcome
}

// AnswerRetry judges choice (shown positions) for the retry of question
// questionID being played by user userID (StartRetry), answered at the
// service's clock. kepu.ECONFLICT when no retry of that question is being
// played; an answer past the deadline counts as a timeout.
func (s *Service) AnswerRetry(ctx context.Context, userID, questionID int64, choice []int) (RetryResult, error) {
	var res RetryResult
	now := s.now()
	err := pgx.BeginFunc(ctx, s.DB, func(tx pgx.Tx) error {
		var vid int64
		var perm []int
		var served time.Time
		err := tx.QueryRow(ctx, `DELETE FROM notebook_retries WHERE user_id = $1 AND question_id = $2
			RETURNING question_version_id, perm, served_at`, userID, questionID).Scan(&vid, &perm, &served)
		if errors.Is(err, pgx.ErrNoRows) {
			return kepu.Errorf(kepu.ECONFLICT, "daily.error.notebook_no_retry")
		}
		if err != nil {
			return fmt.Errorf("notebook: answer retry: %w", err)
		}
		it, err := drill.Load(ctx, tx, vid)
		if err != nil {
			return err
		}
		v, err := it.Judge(perm, choice, served, now)
		if err != nil {
			return err
		}
		out, err := Record(ctx, tx, Answer{UserID: userID, QuestionID: questionID, VersionID: vid, Choice: v.Choice,
			Correct: v.Correct, TimedOut: v.TimedOut, At: now, Source: SourceNotebook})
		res = RetryResult{Result: it.Result(perm, v), Outcome: out}
		return err
	})
	return res, err
}
