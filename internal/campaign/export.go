package campaign

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// ExportedAttempt is one of a user's attempts in their data export, with
// every answer they gave.
type ExportedAttempt struct {
	ID         int64            `json:"id"`
	CampaignID int64            `json:"campaign_id"`
	Campaign   string           `json:"campaign"`
	StartedAt  time.Time        `json:"started_at"`
	FinishedAt *time.Time       `json:"finished_at"`
	Score      int              `json:"score"`
	MaxScore   int              `json:"max_score"`
	Passed     *bool            `json:"passed"`
	Tier       string           `json:"tier,omitempty"`
	CertCode   string           `json:"cert_code,omitempty"`
	TimeMS     int64            `json:"time_ms"`
	Answers    []ExportedAnswer `json:"answers"`
}

// ExportedAnswer is one locked question of an attempt, options in the
// order the user saw them. CorrectChoice and Explanation are given only
// for finished attempts, as the review shows them (Review).
type ExportedAnswer struct {
	Seq           int       `json:"seq"`
	Stem          string    `json:"stem"`
	Options       []string  `json:"options"`
	Choice        []int     `json:"choice"`
	Correct       bool      `json:"correct"`
	TimedOut      bool      `json:"timed_out"`
	Points        int       `json:"points"`
	ElapsedMS     int       `json:"elapsed_ms"`
	AnsweredAt    time.Time `json:"answered_at"`
	CorrectChoice []int     `json:"correct_choice,omitempty"`
	Explanation   string    `json:"explanation,omitempty"`
}

// ExportUser returns the user's campaign attempts and answers for their
// data export (account.Service.Exporters), oldest first. Questions not yet
// served or answered are left out, and no answer key leaves before the
// attempt is finished.
func (s *Service) ExportUser(ctx context.Context, userID int64) (string, any, error) {
	rows, err := s.DB.Query(ctx, `SELECT t.id, t.campaign_id, c.title, t.started_at, t.finished_at, t.score, t.max_score,
		t.passed, coalesce(t.tier, ''), coalesce(t.cert_code, ''), t.time_ms
		FROM campaign_attempts t JOIN campaigns c ON c.id = t.campaign_id WHERE t.user_id = $1 ORDER BY t.started_at, t.id`, userID)
	if err != nil {
		return "", nil, fmt.Errorf("campaign: export user %d: %w", userID, err)
	}
	out := []ExportedAttempt{}
	byID := map[int64]int{}
	for rows.Next() {
		var a ExportedAttempt
		if err := rows.Scan(&a.ID, &a.CampaignID, &a.Campaign, &a.StartedAt, &a.FinishedAt, &a.Score, &a.MaxScore,
			&a.Passed, &a.Tier, &a.CertCode, &a.TimeMS); err != nil {
			rows.Close()
			return "", nil, fmt.Errorf("campaign: export user %d: %w", userID, err)
		}
		a.Answers = []ExportedAnswer{}
		byID[a.ID] = len(out)
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return "", nil, fmt.Errorf("campaign: export user %d: %w", userID, err)
	}
	rows, err = s.DB.Query(ctx, `SELECT a.attempt_id, coalesce(a.seq, 0), coalesce(s.perm, '{}'), v.stem, v.options, v.answer,
		v.explanation, a.choice, a.correct, a.timed_out, a.points, a.elapsed_ms, a.answered_at
		FROM campaign_answers a JOIN campaign_attempts t ON t.id = a.attempt_id
		JOIN question_versions v ON v.id = a.question_version_id
		LEFT JOIN campaign_attempt_questions s ON s.attempt_id = a.attempt_id AND s.seq = a.seq
		WHERE t.user_id = $1 ORDER BY a.attempt_id, a.seq, a.id`, userID)
	if err != nil {
		return "", nil, fmt.Errorf("campaign: export user %d answers: %w", userID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var it ExportedAnswer
		var q slot
		var opts []byte
		var choice []int
		if err := rows.Scan(&id, &it.Seq, &q.Perm, &it.Stem, &opts, &q.Answer, &it.Explanation, &choice, &it.Correct,
			&it.TimedOut, &it.Points, &it.ElapsedMS, &it.AnsweredAt); err != nil {
			return "", nil, fmt.Errorf("campaign: export user %d answers: %w", userID, err)
		}
		if err := json.Unmarshal(opts, &q.Options); err != nil {
			return "", nil, fmt.Errorf("campaign: export user %d answers: %w", userID, err)
		}
		if len(q.Perm) == 0 { // rows without a drawn slot: authoring order
			for i := range q.Options {
				q.Perm = append(q.Perm, i)
			}
		}
		i, ok := byID[id]
		if !ok {
			continue
		}
		it.Options, it.Choice = q.shownOptions(), q.shown(choice)
		if out[i].FinishedAt != nil {
			it.CorrectChoice = q.shown(q.Answer)
		} else {
			it.Explanation = ""
		}
		out[i].Answers = append(out[i].Answers, it)
	}
	if err := rows.Err(); err != nil {
		return "", nil, fmt.Errorf("campaign: export user %d answers: %w", userID, err)
	}
	return "campaign_attempts", out, nil
}
