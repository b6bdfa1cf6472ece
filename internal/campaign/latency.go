package campaign

// Server-measured latency (docs/fairness.md, "Latency credit"). The page
// acknowledges each served question as soon as it arrives (Seen); the
// server's own round trip for the question is seen_at - served_at, both on
// its clock, kept in Postgres on the question's row. The credit uses the
// smaller of that and the round trip the page reports, so a page that
// claims a slow link it does not have gains nothing, and a page that never
// acknowledges gets no credit.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kepu/kepu/internal/kepu"
)

// sqlSeen records the first acknowledgment of a served, unanswered question
// of the actor's unfinished attempt. Like every hot statement it locks the
// attempt's row first (group.go: one lock order, no deadlocks between
// batches).
const sqlSeen = `WITH a AS (
	SELECT id FROM campaign_attempts WHERE id = $1 AND user_id = $2 AND finished_at IS NULL AND answered + 1 = $3 FOR UPDATE
)
UPDATE campaign_attempt_questions q SET seen_at = $4 FROM a
WHERE q.attempt_id = a.id AND q.seq = $3 AND q.served_at IS NOT NULL AND q.seen_at IS NULL
RETURNING q.seen_at`

// Seen records that the page received question seq of the actor's attempt
// id (the first acknowledgment counts; later ones, or one for a question
// that is not being played, change nothing and are not errors). The write
// shares a commit with concurrent answers (group commit).
func (s *Service) Seen(ctx context.Context, a kepu.Actor, id int64, seq int) error {
	if seq < 1 || seq > MaxQuestions {
		return kepu.Invalid("seq", "error.invalid_id")
	}
	var at time.Time
	err := s.hot.group.row(ctx, s.DB, sqlSeen, []any{id, a.UserID, seq, s.now()}, func(r pgx.Row) error { return r.Scan(&at) })
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("campaign: seen: %w", err)
	}
	if ha := s.hot.attempt(id); ha != nil {
		ha.seen(seq, at)
	}
	return nil
}

// creditRTT is the round trip that earns latency credit: the smaller of
// the page's claim and the server's measurement; 0 when the question was
// never acknowledged.
func creditRTT(claimedMS int, servedAt time.Time, seenAt *time.Time) int {
	if seenAt == nil {
		return 0
	}
	measured := min(max(seenAt.Sub(servedAt).Milliseconds(), 0), MaxRTTMS)
	return min(claimedMS, int(measured))
}
