// Package calibtest makes data for calibration tests: simulated answers
// from known item parameters, written where the campaign engine writes
// them, and stored calibrations.
package calibtest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kepu/kepu/internal/irt"
)

// Versions returns n current versions of published, non-private seeded
// questions in lang, by id.
func Versions(ctx context.Context, db *pgxpool.Pool, lang string, n int) ([]int64, error) {
	rows, _ := db.Query(ctx, `SELECT v.id FROM questions q JOIN question_versions v ON v.question_id = q.id AND v.version = q.current_version
		WHERE q.status = 'published' AND NOT q.private AND q.lang = $1 ORDER BY v.id LIMIT $2`, lang, n)
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}

// Answers describe one simulated campaign.
type Answers struct {
	RegionID int64      // the campaign's region (the city)
	Versions []int64    // the items
	Truth    []irt.Item // their true parameters, by index
	Persons  int        // respondents, ability N(0,1)
	// PerPerson items each respondent answers (0: all), drawn at random.
	PerPerson int
	Seed      uint64
	// Options make the extra attempts calibration must leave out: each
	// respondent also has a staff-practice attempt, an abandoned one and a
	// second finished one, all answered right (so they would bias every
	// estimate if counted).
	Noise bool
}

// Insert writes a finished campaign with one user and attempt per
// respondent and their answers; it returns the campaign id.
func Insert(ctx context.Context, db *pgxpool.Pool, a Answers) (int64, error) {
	rng := rand.New(rand.NewPCG(a.Seed, 2))
	var campaignID int64
	if err := db.QueryRow(ctx, `INSERT INTO campaigns (title, region_id, kind, status, starts_at, ends_at)
		VALUES ('calibration test', $1, 'assessment', 'closed', now() - interval '10 days', now() - interval '1 day') RETURNING id`,
		a.RegionID).Scan(&campaignID); err != nil {
		return 0, fmt.Errorf("calibtest: campaign: %w", err)
	}
	tag := fmt.Sprintf("cal%d-%d", campaignID, a.Seed)
	rows, _ := db.Query(ctx, `INSERT INTO users (username, nickname, region_id, age_band)
		SELECT $1 || '-' || g, 'p' || g, $2, '18_29' FROM generate_series(1, $3) g RETURNING id`, tag, a.RegionID, a.Persons)
	users, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return 0, fmt.Errorf("calibtest: users: %w", err)
	}
	type attempt struct {
		user             int64
		staff, abandoned bool
		second, allRight bool
	}
	var atts []attempt
	for _, u := range users {
		atts = append(atts, attempt{user: u})
		if a.Noise {
			atts = append(atts, attempt{user: u, staff: true, allRight: true},
				attempt{user: u, abandoned: true, allRight: true}, attempt{user: u, second: true, allRight: true})
		}
	}
	rows, _ = db.Query(ctx, `SELECT nextval('campaign_attempts_id_seq') FROM generate_series(1, $1)`, len(atts))
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return 0, fmt.Errorf("calibtest: attempt ids: %w", err)
	}
	start := time.Now().Add(-5 * 24 * time.Hour)
	var attRows, answers [][]any
	for k, t := range atts {
		id := ids[k]
		at := start
		if t.second { // a day after the first
			at = at.Add(24 * time.Hour)
		}
		attRows = append(attRows, []any{id, campaignID, t.user, at, at.Add(10 * time.Minute), t.staff, t.abandoned, false})
		theta := rng.NormFloat64()
		items := rng.Perm(len(a.Versions))
		if a.PerPerson > 0 {
			items = items[:a.PerPerson]
		}
		for seq, i := range items {
			right := t.allRight || rng.Float64() < a.Truth[i].P(theta)
			answers = append(answers, []any{id, seq + 1, a.Versions[i], right, 1000})
		}
	}
	if _, err := db.CopyFrom(ctx, pgx.Identifier{"campaign_attempts"}, []string{"id", "campaign_id", "user_id", "started_at",
		"finished_at", "staff_practice", "abandoned", "passed"}, pgx.CopyFromRows(attRows)); err != nil {
		return 0, fmt.Errorf("calibtest: attempts: %w", err)
	}
	if _, err := db.CopyFrom(ctx, pgx.Identifier{"campaign_answers"}, []string{"attempt_id", "seq", "question_version_id", "correct", "elapsed_ms"},
		pgx.CopyFromRows(answers)); err != nil {
		return 0, fmt.Errorf("calibtest: answers: %w", err)
	}
	return campaignID, nil
}

// Store writes a calibration run with the given parameters (as if `kepu
// calibrate` had estimated them) and returns its id.
func Store(ctx context.Context, db *pgxpool.Pool, params map[int64]irt.Item) (int64, error) {
	var run int64
	if err := db.QueryRow(ctx, `INSERT INTO calibration_runs (source, method, min_responses, persons, items, responses, iterations, converged, log_likelihood)
		VALUES ('cli', '2pl-mml-em', 200, 1000, $1, 0, 1, true, 0) RETURNING id`, len(params)).Scan(&run); err != nil {
		return 0, fmt.Errorf("calibtest: run: %w", err)
	}
	var rows [][]any
	for v, it := range params {
		rows = append(rows, []any{run, v, it.A, it.B, 0.1, 0.1, 1000, it.P(0), it.Fit.X2, it.Fit.DF, it.Fit.P, it.Fit.RMSEA, it.Fit.Misfits()})
	}
	_, err := db.CopyFrom(ctx, pgx.Identifier{"item_parameters"}, []string{"run_id", "question_version_id", "a", "b", "se_a", "se_b",
		"responses", "p_value", "fit_x2", "fit_df", "fit_p", "fit_rmsea", "misfit"}, pgx.CopyFromRows(rows))
	if err != nil {
		return 0, fmt.Errorf("calibtest: parameters: %w", err)
	}
	return run, nil
}
