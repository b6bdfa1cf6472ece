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
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kepu/kepu/internal/kepu"
)

// sqlSeens records a batch of acknowledgments (group.go): one row per
// request in the unnest() arrays — attempt, user, seq, now; $5 is
// MaxRTTMS. It locks the batch's attempts in id order and, for the first
// request of each attempt that is its user's, unfinished and playing that
// seq, records the first acknowledgment of the served question if it has
// no measured round trip yet, measures it (ms, clamped to 0…$5) and
// returns the request's ordinal with it.
const sqlSeens = `WITH k AS (
	SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::int[], $4::timestamptz[]) WITH ORDINALITY AS k(attempt_id, user_id, seq, at, ord)
), a AS MATERIALIZED (
	SELECT t.id, t.user_id, t.answered FROM campaign_attempts t, (SELECT DISTINCT attempt_id, user_id FROM k) u
	WHERE t.id = u.attempt_id AND t.user_id = u.user_id AND t.finished_at IS NULL ORDER BY t.id FOR UPDATE OF t
), w AS (
	SELECT DISTINCT ON (k.attempt_id) k.* FROM k JOIN a ON a.id = k.attempt_id
	WHERE a.user_id = k.user_id AND a.answered + 1 = k.seq ORDER BY k.attempt_id, k.ord
), u AS (
	UPDATE campaign_attempt_questions q SET seen_at = w.at,
		rtt_ms = least(greatest(floor(extract(epoch FROM w.at - q.served_at) * 1000), 0), $5)::int
	FROM w
	WHERE q.attempt_id = w.attempt_id AND q.seq = w.seq AND q.served_at IS NOT NULL AND q.seen_at IS NULL AND q.rtt_ms IS NULL
	RETURNING q.attempt_id, q.rtt_ms
)
SELECT w.ord, u.rtt_ms FROM w JOIN u USING (attempt_id)`

// seenJob is one acknowledgment for sqlSeens, with its result (measured
// false: nothing was recorded).
type seenJob struct {
	attemptID, userID int64
	seq               int
	at                time.Time

	measured bool
	rtt      int
}

// flushSeens runs sqlSeens for jobs and fills in their results.
func flushSeens(ctx context.Context, db sender, jobs []*seenJob) error {
	n := len(jobs)
	ids, users, seqs, ats := make([]int64, n), make([]int64, n), make([]int32, n), make([]time.Time, n)
	for i, j := range jobs {
		ids[i], users[i], seqs[i], ats[i] = j.attemptID, j.userID, int32(j.seq), j.at
		j.measured, j.rtt = false, 0
	}
	return flushRows(ctx, db, sqlSeens, []any{ids, users, seqs, ats, MaxRTTMS}, func(r pgx.Rows) error {
		var ord int64
		var rtt int
		if err := r.Scan(&ord, &rtt); err != nil {
			return err
		}
		j, err := jobAt(jobs, ord)
		if err != nil {
			return err
		}
		j.measured, j.rtt = true, rtt
		return nil
	})
}

// Seen records that the page received question seq of the actor's attempt
// id (the first acknowledgment of a question without a measured round trip
// counts; later ones, one for a question that inherited its measurement
// from the answer that served it, or one for a question that is not being
// played change nothing and are not errors). The write shares a statement
// and a commit with concurrent acknowledgments (group commit).
func (s *Service) Seen(ctx context.Context, a kepu.Actor, id int64, seq int) error {
	if seq < 1 || seq > MaxQuestions {
		return kepu.Invalid("seq", "error.invalid_id")
	}
	j := &seenJob{attemptID: id, userID: a.UserID, seq: seq, at: s.now()}
	if err := s.groups().seens.Do(ctx, j); err != nil {
		return fmt.Errorf("campaign: seen: %w", err)
	}
	if ha := s.hot.attempt(id); ha != nil && j.measured {
		ha.measured(seq, j.rtt)
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
