package campaign

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// MoveAttempts gives every attempt of user from (a guest who registered or
// logged in: account.MergeGuest) to user to, inside the caller's
// transaction tx: results, answers, certificates (the issued nickname
// stays as issued) and signals follow their attempt. An attempt still in
// progress stays with from when to has one in progress in the same
// campaign (one attempt in progress per user and campaign); every other
// moves. Which of to's attempts counts on the leaderboards is then the
// campaign's rule over all of them (leaderboard.MoveUser). It returns the
// campaigns in which a finished attempt moved, for the leaderboards.
func (s *Service) MoveAttempts(ctx context.Context, tx pgx.Tx, from, to int64) ([]int64, error) {
	rows, err := tx.Query(ctx, `UPDATE campaign_attempts t SET user_id = $2
		WHERE t.user_id = $1 AND NOT (t.in_progress AND EXISTS (SELECT 1 FROM campaign_attempts o
			WHERE o.user_id = $2 AND o.campaign_id = t.campaign_id AND o.in_progress))
		RETURNING t.campaign_id, t.finished_at IS NOT NULL`, from, to)
	if err != nil {
		return nil, fmt.Errorf("campaign: move attempts %d → %d: %w", from, to, err)
	}
	seen := map[int64]bool{}
	var out []int64
	for rows.Next() {
		var id int64
		var finished bool
		if err := rows.Scan(&id, &finished); err != nil {
			rows.Close()
			return nil, fmt.Errorf("campaign: move attempts: %w", err)
		}
		if finished && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("campaign: move attempts %d → %d: %w", from, to, err)
	}
	return out, nil
}
