package campaign

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kepu/kepu/internal/kepu"
)

// MaxSignalRows is the most attempts one signal report lists.
const MaxSignalRows = 500

// SignalRow is one attempt that has fairness signals, as the organizers of
// its campaign see it. Signals never fail an attempt: they point organizers
// at attempts worth a look (docs/fairness.md).
type SignalRow struct {
	AttemptID int64     `json:"attempt_id"`
	Nickname  string    `json:"nickname"`
	District  string    `json:"district"`
	School    string    `json:"school"`
	StartedAt time.Time `json:"started_at"`
	Finished  bool      `json:"finished"`
	Score     int       `json:"score"`
	MaxScore  int       `json:"max_score"`
	Fast      int       `json:"fast"`      // answers faster than the question could be read
	Hidden    int       `json:"hidden"`    // times the page was hidden mid-attempt
	FastSeqs  []int     `json:"fast_seqs"` // which questions (first 20)
}

// SignalReport is a campaign's attempts with signals, most signals first.
type SignalReport struct {
	Attempts int64       `json:"attempts"` // attempts started in the campaign
	Flagged  int64       `json:"flagged"`  // of which with at least one signal
	Rows     []SignalRow `json:"rows"`
}

const sqlSignalTotals = `
SELECT count(*), count(*) FILTER (WHERE EXISTS (SELECT 1 FROM campaign_signals s
        WHERE s.attempt_id = a.id AND s.kind IN ('fast', 'hidden')))
FROM campaign_attempts a WHERE a.campaign_id = $1`

const sqlSignalRows = `
WITH s AS (
    SELECT s.attempt_id,
           count(*) FILTER (WHERE s.kind = 'fast') AS fast,
           count(*) FILTER (WHERE s.kind = 'hidden') AS hidden,
           (array_agg(s.seq ORDER BY s.seq) FILTER (WHERE s.kind = 'fast' AND s.seq IS NOT NULL))[1:20] AS fast_seqs
    FROM campaign_signals s JOIN campaign_attempts a ON a.id = s.attempt_id
    WHERE a.campaign_id = $1 AND s.kind IN ('fast', 'hidden')
    GROUP BY s.attempt_id
)
SELECT a.id, u.nickname, coalesce(r.name, ''), coalesce(sc.name, ''), a.started_at,
       a.finished_at IS NOT NULL, a.score, a.max_score, s.fast, s.hidden, coalesce(s.fast_seqs, '{}')
FROM s
JOIN campaign_attempts a ON a.id = s.attempt_id
JOIN users u ON u.id = a.user_id
LEFT JOIN regions r ON r.id = a.region_id  -- where the attempt started (its snapshot)
LEFT JOIN schools sc ON sc.id = a.school_id
ORDER BY s.fast + s.hidden DESC, a.id
LIMIT $2`

// Signals reports the attempts of a campaign the actor manages that have
// fairness signals: answers faster than reading time and page-visibility
// changes, at most MaxSignalRows attempts, most signals first.
func (s *Service) Signals(ctx context.Context, a kepu.Actor, campaignID int64) (SignalReport, error) {
	var rep SignalReport
	if _, err := s.Manage(ctx, a, campaignID); err != nil {
		return rep, err
	}
	if err := s.DB.QueryRow(ctx, sqlSignalTotals, campaignID).Scan(&rep.Attempts, &rep.Flagged); err != nil {
		return rep, fmt.Errorf("campaign: signal totals: %w", err)
	}
	rows, err := s.DB.Query(ctx, sqlSignalRows, campaignID, MaxSignalRows)
	if err != nil {
		return rep, fmt.Errorf("campaign: signals: %w", err)
	}
	rep.Rows, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (SignalRow, error) {
		var x SignalRow
		err := r.Scan(&x.AttemptID, &x.Nickname, &x.District, &x.School, &x.StartedAt,
			&x.Finished, &x.Score, &x.MaxScore, &x.Fast, &x.Hidden, &x.FastSeqs)
		return x, err
	})
	if err != nil {
		return rep, fmt.Errorf("campaign: signals: %w", err)
	}
	return rep, nil
}
