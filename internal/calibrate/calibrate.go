// Package calibrate estimates the questions' item response parameters from
// the campaign answers (internal/irt) and keeps every run's estimates in
// Postgres (migration 00700): `kepu calibrate` runs it once, and every
// `kepu serve` instance runs Job, which recalibrates at most once per
// interval across the cluster.
//
// What is fitted (docs/measurement.md "Item calibration"): the unit is a
// question version (a revised question is a new item). A respondent is
// one person's first finished attempt at one campaign — later attempts
// come after the answers and explanations were shown, so they measure
// memory, not literacy. Staff practice and abandoned attempts are left
// out, and so are the answers to question versions with fewer than
// MinResponses such answers (too few for stable estimates). A timed-out
// question counts as wrong.
package calibrate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kepu/kepu/internal/irt"
	"github.com/kepu/kepu/internal/postgres"
)

// Method names the estimation method in calibration_runs.method.
const Method = "2pl-mml-em"

// DefaultMinResponses is the fewest answers an item needs to be calibrated.
const DefaultMinResponses = 200

// LockKey is the advisory lock held by the one calibration running ("irt2" in ASCII).
const LockKey = 0x69727432

// Errors of Calibrate.
var (
	// ErrBusy: another process is calibrating right now.
	ErrBusy = errors.New("calibrate: another calibration is running")
	// ErrNoItems: no question version has enough answers yet.
	ErrNoItems = errors.New("calibrate: no question has enough answers yet")
)

// Service runs calibrations and reads their results.
type Service struct {
	DB  *pgxpool.Pool
	Log *slog.Logger
	// MinResponses: items with fewer answers are not calibrated (default 200).
	MinResponses int
	// Options tune the fit (zero: the irt defaults).
	Options irt.Options
}

// Run is one stored calibration.
type Run struct {
	ID             int64     `json:"id"`
	StartedAt      time.Time `json:"started_at"`
	FinishedAt     time.Time `json:"finished_at"`
	Source         string    `json:"source"` // cli or job
	Method         string    `json:"method"`
	MinResponses   int       `json:"min_responses"`
	AnswersThrough int64     `json:"answers_through"`
	Persons        int       `json:"persons"`
	Items          int       `json:"items"`
	Responses      int64     `json:"responses"`
	Iterations     int       `json:"iterations"`
	Converged      bool      `json:"converged"`
	LogLik         float64   `json:"log_likelihood"`
}

// Params are one question version's estimates in one run.
type Params struct {
	irt.Item
	RunID        int64     `json:"run_id"`
	VersionID    int64     `json:"-"`
	QuestionID   int64     `json:"-"` // set by Flagged only
	CalibratedAt time.Time `json:"calibrated_at"`
	Misfit       bool      `json:"misfit"`
}

// Flags of a calibrated item, in the order they are listed.
const (
	FlagMisfit   = "misfit"     // the 2PL curve does not describe its answers
	FlagNegative = "negative_a" // the better people do, the likelier they get it wrong (miskeyed?)
	FlagLowA     = "low_a"      // discrimination near zero: tells people apart too little
)

// Flags lists what is wrong with the item (none: nil).
func (p Params) Flags() []string {
	var f []string
	if p.Misfit {
		f = append(f, FlagMisfit)
	}
	switch {
	case p.A < 0:
		f = append(f, FlagNegative)
	case p.A < irt.LowDiscrimination:
		f = append(f, FlagLowA)
	}
	return f
}

// sqlAnswers reads the answers to calibrate: respondents are first finished
// attempts per person and campaign that were neither staff practice nor
// abandoned; answers up to id $2 to question versions with at least $1 of
// them; grouped by attempt.
const sqlAnswers = `WITH t AS (
	SELECT DISTINCT ON (campaign_id, user_id) id FROM campaign_attempts
	WHERE finished_at IS NOT NULL AND NOT staff_practice AND NOT practice AND NOT abandoned
	ORDER BY campaign_id, user_id, started_at, id
), a AS (
	SELECT a.attempt_id, a.question_version_id AS v, a.correct
	FROM campaign_answers a JOIN t ON t.id = a.attempt_id WHERE a.id <= $2
), k AS (
	SELECT v FROM a GROUP BY v HAVING count(*) >= $1
)
SELECT a.attempt_id, a.v, a.correct FROM a JOIN k USING (v) ORDER BY a.attempt_id, a.v`

// Calibrate fits the model to the answers and stores the run; source is
// "cli" or "job". ErrBusy when another calibration holds the lock,
// ErrNoItems when no item has enough answers (nothing is stored).
func (s *Service) Calibrate(ctx context.Context, source string) (Run, error) {
	conn, err := s.DB.Acquire(ctx)
	if err != nil {
		return Run{}, fmt.Errorf("calibrate: %w", err)
	}
	defer conn.Release()
	var locked bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, LockKey).Scan(&locked); err != nil {
		return Run{}, fmt.Errorf("calibrate: lock: %w", err)
	}
	if !locked {
		return Run{}, ErrBusy
	}
	defer func() {
		// A fresh context: the caller's may have ended, the lock must go.
		uctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := conn.Exec(uctx, `SELECT pg_advisory_unlock($1)`, LockKey); err != nil {
			conn.Conn().Close(uctx) // closing the session releases the lock
		}
	}()
	return s.calibrate(ctx, source)
}

func (s *Service) minResponses() int {
	if s.MinResponses > 0 {
		return s.MinResponses
	}
	return DefaultMinResponses
}

func (s *Service) calibrate(ctx context.Context, source string) (Run, error) {
	run := Run{StartedAt: time.Now(), Source: source, Method: Method, MinResponses: s.minResponses()}
	if err := s.DB.QueryRow(ctx, `SELECT coalesce(max(id), 0) FROM campaign_answers`).Scan(&run.AnswersThrough); err != nil {
		return Run{}, fmt.Errorf("calibrate: answers: %w", err)
	}
	rows, err := s.DB.Query(ctx, sqlAnswers, run.MinResponses, run.AnswersThrough)
	if err != nil {
		return Run{}, fmt.Errorf("calibrate: answers: %w", err)
	}
	index := map[int64]int32{}
	var versions []int64
	var persons [][]irt.Response
	last := int64(-1)
	var attempt, version int64
	var correct bool
	_, err = pgx.ForEachRow(rows, []any{&attempt, &version, &correct}, func() error {
		i, ok := index[version]
		if !ok {
			i = int32(len(versions))
			index[version] = i
			versions = append(versions, version)
		}
		if attempt != last {
			persons = append(persons, nil)
			last = attempt
		}
		p := &persons[len(persons)-1]
		*p = append(*p, irt.Response{Item: i, Correct: correct})
		return nil
	})
	if err != nil {
		return Run{}, fmt.Errorf("calibrate: answers: %w", err)
	}
	if len(versions) == 0 {
		return Run{}, ErrNoItems
	}
	res, err := irt.Fit(len(versions), persons, s.Options)
	if err != nil {
		return Run{}, fmt.Errorf("calibrate: fit: %w", err)
	}
	run.Persons, run.Items, run.Responses = res.Persons, len(versions), int64(res.Responses)
	run.Iterations, run.Converged, run.LogLik = res.Iterations, res.Converged, res.LogLik
	run.FinishedAt = time.Now()
	err = postgres.Tx(ctx, s.DB, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `INSERT INTO calibration_runs (started_at, finished_at, source, method, min_responses,
			answers_through, persons, items, responses, iterations, converged, log_likelihood)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id`,
			run.StartedAt, run.FinishedAt, run.Source, run.Method, run.MinResponses, run.AnswersThrough,
			run.Persons, run.Items, run.Responses, run.Iterations, run.Converged, run.LogLik).Scan(&run.ID); err != nil {
			return err
		}
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"item_parameters"},
			[]string{"run_id", "question_version_id", "a", "b", "se_a", "se_b", "responses", "p_value",
				"fit_x2", "fit_df", "fit_p", "fit_rmsea", "misfit"},
			pgx.CopyFromSlice(len(versions), func(i int) ([]any, error) {
				it := res.Items[i]
				return []any{run.ID, versions[i], it.A, it.B, it.SEA, it.SEB, it.N, it.PValue,
					it.Fit.X2, it.Fit.DF, it.Fit.P, it.Fit.RMSEA, it.Fit.Misfits()}, nil
			}))
		return err
	})
	if err != nil {
		return Run{}, fmt.Errorf("calibrate: store: %w", err)
	}
	if s.Log != nil {
		s.Log.Info("calibrated items", "run", run.ID, "source", source, "items", run.Items, "persons", run.Persons,
			"responses", run.Responses, "iterations", run.Iterations, "converged", run.Converged,
			"took_ms", run.FinishedAt.Sub(run.StartedAt).Milliseconds())
	}
	return run, nil
}

// Latest returns the most recent estimates of each of the question
// versions that have been calibrated (the others are missing from the map).
func (s *Service) Latest(ctx context.Context, versionIDs []int64) (map[int64]Params, error) {
	out := map[int64]Params{}
	if len(versionIDs) == 0 {
		return out, nil
	}
	rows, _ := s.DB.Query(ctx, `SELECT DISTINCT ON (p.question_version_id) p.question_version_id, `+paramCols+`
		FROM item_parameters p JOIN calibration_runs r ON r.id = p.run_id
		WHERE p.question_version_id = ANY($1) ORDER BY p.question_version_id, p.run_id DESC`, versionIDs)
	var p Params
	_, err := pgx.ForEachRow(rows, append([]any{&p.VersionID}, paramDest(&p)...), func() error {
		out[p.VersionID] = p
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("calibrate: latest: %w", err)
	}
	return out, nil
}

// paramCols are the columns of Params, after the version id (table p,
// run r).
const paramCols = `p.run_id, r.finished_at, p.a, p.b, p.se_a, p.se_b, p.responses, p.p_value,
	p.fit_x2, p.fit_df, p.fit_p, p.fit_rmsea, p.misfit`

func paramDest(p *Params) []any {
	return []any{&p.RunID, &p.CalibratedAt, &p.A, &p.B, &p.SEA, &p.SEB, &p.N,
		&p.PValue, &p.Fit.X2, &p.Fit.DF, &p.Fit.P, &p.Fit.RMSEA, &p.Misfit}
}

// Flagged lists the items of run whose Flags are not empty, with their
// question ids, most answered first.
func (s *Service) Flagged(ctx context.Context, run int64) ([]Params, error) {
	rows, _ := s.DB.Query(ctx, `SELECT p.question_version_id, v.question_id, `+paramCols+`
		FROM item_parameters p JOIN calibration_runs r ON r.id = p.run_id JOIN question_versions v ON v.id = p.question_version_id
		WHERE p.run_id = $1 AND (p.misfit OR p.a < $2) ORDER BY p.responses DESC, p.question_version_id`, run, irt.LowDiscrimination)
	var out []Params
	var p Params
	_, err := pgx.ForEachRow(rows, append([]any{&p.VersionID, &p.QuestionID}, paramDest(&p)...), func() error {
		out = append(out, p)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("calibrate: flagged: %w", err)
	}
	return out, nil
}

// Runs lists the most recent runs, newest first (at most limit, 1–100).
func (s *Service) Runs(ctx context.Context, limit int) ([]Run, error) {
	limit = min(max(limit, 1), 100)
	rows, _ := s.DB.Query(ctx, `SELECT id, started_at, finished_at, source, method, min_responses, answers_through,
		persons, items, responses, iterations, converged, log_likelihood FROM calibration_runs ORDER BY id DESC LIMIT $1`, limit)
	runs, err := pgx.CollectRows(rows, pgx.RowToStructByPos[Run])
	if err != nil {
		return nil, fmt.Errorf("calibrate: runs: %w", err)
	}
	return runs, nil
}
