package campaign

// Server-measured latency (docs/fairness.md, "Latency credit"). A question
// reaches the page in one of two ways. A GET (the first question, a
// reload) is acknowledged by the page the moment it arrives (Seen): the
// server's own round trip is seen_at - served_at, both on its clock. A
// question served in an answer's response (one request per question)
// inherits the round trip measured for the question answered, copied by
// the statement that serves it (hot.go, attempt.go). Either way it is kept
// in Postgres on the question's row (rtt_ms). The credit uses the smaller
// of that and the round trip the page reports, so a page that claims a
// slow link it does not have gains nothing, and a page that never
// acknowledges gets no credit. A GET that delivers a question again
// starts over: that question earns credit only from its own acknowledgment.

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/kepu/kepu/internal/kepu"
)

// sqlSeen records the first acknowledgment of a served, unanswered question
// of the actor's unfinished attempt that has no measured round trip yet,
// and measures it (ms, clamped to 0…MaxRTTMS). Like every hot statement it
// locks the attempt's row first (group.go: one lock order, no deadlocks
// between batches).
const sqlSeen = `WITH a AS (
	SELECT id FROM campaign_attempts WHERE id = $1 AND user_id = $2 AND finished_at IS NULL AND answered + 1 = $3 FOR UPDATE
)
UPDATE campaign_attempt_questions q SET seen_at = $4,
	rtt_ms = least(greatest(floor(extract(epoch FROM $4::timestamptz - q.served_at) * 1000), 0), $5)::int
FROM a
WHERE q.attempt_id = a.id AND q.seq = $3 AND q.served_at IS NOT NULL AND q.seen_at IS NULL AND q.rtt_ms IS NULL
RETURNING q.rtt_ms`

// Seen records that the page received question seq of the actor's attempt
// id (the first acknowledgment of a question without a measured round trip
// counts; later ones, one for a question that inherited its measurement
// from the answer that served it, or one for a question that is not being
// played change nothing and are not errors). The write shares a commit with
// concurrent answers (group commit).
func (s *Service) Seen(ctx context.Context, a kepu.Actor, id int64, seq int) error {
	if seq < 1 || seq > MaxQuestions {
		return kepu.Invalid("seq", "error.invalid_id")
	}
	var rtt int
	err := s.hot.group.row(ctx, s.DB, sqlSeen, []any{id, a.UserID, seq, s.now(), MaxRTTMS}, func(r pgx.Row) error { return r.Scan(&rtt) })
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("campaign: seen: %w", err)
	}
	if ha := s.hot.attempt(id); ha != nil {
		ha.measured(seq, rtt)
	}
	return nil
}

// creditRTT is the round trip that earns latency credit: the smaller of
// the page's claim and the server's measurement (ms); 0 when nothing was
// measured.
func creditRTT(claimedMS int, measuredMS *int) int {
	if measuredMS == nil {
		return 0
	}
	return min(claimedMS, *measuredMS)
}
