// Package dashtest builds dashboard test data directly in the campaign
// engine's tables (migrations/00200_campaign.sql), as the engine would have
// written it: a campaign, questions, participants, attempts and answers.
package dashtest

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kepu/kepu/internal/scoring"
)

// Campaign creates a campaign and returns its id.
func Campaign(ctx context.Context, db *pgxpool.Pool, title string, regionID int64, assessment bool, from, to time.Time) (int64, error) {
	kind := "quiz"
	if assessment {
		kind = "assessment"
	}
	var id int64
	err := db.QueryRow(ctx, `INSERT INTO campaigns (title, region_id, kind, starts_at, ends_at) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
		title, regionID, kind, from, to).Scan(&id)
	return id, err
}

// Question creates a published single-choice question with one version and
// returns the question and version ids.
func Question(ctx context.Context, db *pgxpool.Pool, regionID int64, stem string, options []string, key int, category, dimension string) (int64, int64, error) {
	var qid, vid int64
	err := db.QueryRow(ctx, `INSERT INTO questions (owner_region_id, status, type, category, dimension, difficulty, stem_norm)
		VALUES ($1, 'published', 'single', $2, $3, 2, $4) RETURNING id`, regionID, category, dimension, stem).Scan(&qid)
	if err != nil {
		return 0, 0, fmt.Errorf("dashtest: question: %w", err)
	}
	err = db.QueryRow(ctx, `INSERT INTO question_versions (question_id, version, type, stem, options, answer, explanation, category, dimension, difficulty)
		VALUES ($1, 1, 'single', $2, $3, $4, '', $5, $6, 2) RETURNING id`, qid, stem, options, []int32{int32(key)}, category, dimension).Scan(&vid)
	if err != nil {
		return 0, 0, fmt.Errorf("dashtest: question version: %w", err)
	}
	return qid, vid, nil
}

// Answer is one answer of an attempt.
type Answer struct {
	VersionID int64
	Choice    int
	Correct   bool
	MS        int
}

// Attempt records an attempt with its answers; finished attempts get a
// score of their correct answers out of len(answers), passing at 60%, and
// a tier (scoring.DefaultTiers); unfinished ones are in progress.
func Attempt(ctx context.Context, db *pgxpool.Pool, campaignID, userID int64, at time.Time, finished bool, answers ...Answer) (int64, error) {
	score := 0
	for _, a := range answers {
		if a.Correct {
			score++
		}
	}
	var fin *time.Time
	var passed *bool
	var tier *string
	if finished {
		t := at.Add(time.Duration(len(answers)+1) * time.Minute)
		fin = &t
		p := score*100 >= 60*len(answers)
		passed = &p
		k := scoring.TierOf(100*float64(score)/float64(max(len(answers), 1)), scoring.DefaultTiers)
		tier = &k
	}
	// One transaction: a dashboard refresh between the attempt and its
	// answers would fold a finished attempt without them (as no real
	// attempt is: answers commit before the finish).
	tx, err := db.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("dashtest: attempt: %w", err)
	}
	defer tx.Rollback(ctx)
	var id int64
	err = tx.QueryRow(ctx, `INSERT INTO campaign_attempts (campaign_id, user_id, started_at, finished_at, score, max_score, passed, tier, in_progress,
		region_id, school_id, class_id)
		SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, region_id, school_id, class_id FROM users WHERE id = $2 RETURNING id`, campaignID, userID, at, fin, score, len(answers), passed, tier, !finished).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("dashtest: attempt: %w", err)
	}
	for i, a := range answers {
		if _, err := tx.Exec(ctx, `INSERT INTO campaign_answers (attempt_id, question_version_id, choice, correct, elapsed_ms, answered_at)
			VALUES ($1, $2, $3, $4, $5, $6)`, id, a.VersionID, []int32{int32(a.Choice)}, a.Correct, a.MS,
			at.Add(time.Duration(i+1)*time.Minute)); err != nil {
			return 0, fmt.Errorf("dashtest: answer: %w", err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("dashtest: attempt: %w", err)
	}
	return id, nil
}

// User creates a participant with a profile and returns its id.
func User(ctx context.Context, db *pgxpool.Pool, username string, regionID, schoolID, classID int64, ageBand, occupation string) (int64, error) {
	var id int64
	err := db.QueryRow(ctx, `INSERT INTO users (username, role, nickname, region_id, school_id, class_id, age_band, occupation)
		VALUES ($1, 'participant', $1, $2, nullif($3, 0), nullif($4, 0), $5, $6) RETURNING id`,
		username, regionID, schoolID, classID, ageBand, occupation).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("dashtest: user %s: %w", username, err)
	}
	return id, nil
}
