package server_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/kepu/kepu/internal/apptest"
)

// nextResult is an answer's response with the question it serves and,
// after the last answer, the finished attempt.
type nextResult struct {
	answerResult
	ElapsedMS int64 `json:"elapsed_ms"`
	Next      *struct {
		Seq         int
		RemainingMS int64     `json:"remaining_ms"`
		Deadline    time.Time `json:"deadline"`
	}
	Attempt *struct {
		FinishedAt *time.Time `json:"finished_at"`
		Score      int
		Passed     *bool
	}
}

func postAnswer(t *testing.T, c *apptest.Client, id int64, seq int, choice []int, rtt int) nextResult {
	t.Helper()
	res := c.Do("POST", fmt.Sprintf("/api/v1/attempts/%d/answers", id), map[string]any{"seq": seq, "choice": choice, "rtt_ms": rtt})
	if res.Status != 200 {
		t.Fatalf("answer %d: got %d %s, want 200", seq, res.Status, res.Body)
	}
	var r nextResult
	res.JSON(t, &r)
	return r
}

// A citizen plays a whole attempt with one request per question: after the
// first question (GET, acknowledged), every answer's response carries the
// next question, served by the statement that stored the answer (the next
// question's served_at is the answer's time, and one transaction wrote
// both: one commit per question); each inherits the round trip the server
// measured, so the latency credit holds without further acknowledgments;
// the last answer's response says finished, with the result.
func TestCampaignOneRequestPerQuestion(t *testing.T) {
	t.Parallel()
	const n = 6
	f := newCampaign(t, map[string]any{"questions": n})
	c := f.citizen(t, "olga")
	id := f.start(t, c)
	st, _ := current(t, c, id)
	if st.Question == nil || st.Question.Seq != 1 {
		t.Fatalf("first question: got %+v", st.Question)
	}
	f.clock.Add(50 * time.Millisecond) // the server's own round trip for question 1
	if r := c.Do("POST", fmt.Sprintf("/api/v1/attempts/%d/seen", id), map[string]any{"seq": 1}); r.Status != 204 {
		t.Fatalf("seen: got %d %s", r.Status, r.Body)
	}
	f.clock.Add(2950 * time.Millisecond)
	ctx := context.Background()
	requests := 0
	var xids []uint32
	for seq := 1; seq <= n; seq++ {
		r := postAnswer(t, c, id, seq, f.rightChoice(t, id, seq), 100)
		requests++
		// 3 s less half the measured 50 ms (the claim, 100 ms, is larger).
		if !r.Correct || r.ElapsedMS != 2975 {
			t.Errorf("answer %d: correct %v, elapsed %d ms, want correct in 2975 ms", seq, r.Correct, r.ElapsedMS)
		}
		var answeredAt time.Time
		var xid uint32
		if err := f.inst.DB.Pool.QueryRow(ctx, `SELECT answered_at, xmin::text::bigint FROM campaign_answers WHERE attempt_id = $1 AND seq = $2`,
			id, seq).Scan(&answeredAt, &xid); err != nil {
			t.Fatal(err)
		}
		xids = append(xids, xid)
		if seq == n {
			if !r.Done || r.Next != nil || r.Attempt == nil || r.Attempt.FinishedAt == nil || r.Attempt.Score != r.Score {
				t.Fatalf("last answer: done %v, next %+v, attempt %+v; want finished with the result", r.Done, r.Next, r.Attempt)
			}
			break
		}
		if r.Done || r.Next == nil || r.Next.Seq != seq+1 || r.Next.RemainingMS != 20000 || !r.Next.Deadline.Equal(answeredAt.Add(20*time.Second)) {
			t.Fatalf("answer %d: done %v, next %+v; want question %d with all its 20 s, served at the answer (%s)", seq, r.Done, r.Next, seq+1, answeredAt)
		}
		var servedAt time.Time
		var servedXid, attemptXid uint32
		if err := f.inst.DB.Pool.QueryRow(ctx, `SELECT q.served_at, q.xmin::text::bigint, a.xmin::text::bigint
			FROM campaign_attempt_questions q JOIN campaign_attempts a ON a.id = q.attempt_id WHERE q.attempt_id = $1 AND q.seq = $2`,
			id, seq+1).Scan(&servedAt, &servedXid, &attemptXid); err != nil {
			t.Fatal(err)
		}
		if !servedAt.Equal(answeredAt) || servedXid != xid || attemptXid != xid {
			t.Errorf("question %d served at %s by transaction %d, attempt updated by %d; want at the answer (%s) by its transaction %d",
				seq+1, servedAt, servedXid, attemptXid, answeredAt, xid)
		}
		f.clock.Add(3 * time.Second)
	}
	if requests != n {
		t.Errorf("%d requests for %d questions", requests, n)
	}
	distinct := map[uint32]bool{}
	for _, x := range xids {
		distinct[x] = true
	}
	if len(distinct) != n {
		t.Errorf("answers committed by %d transactions, want %d (one each): %v", len(distinct), n, xids)
	}
	final, _ := current(t, c, id)
	if final.Attempt.FinishedAt == nil || final.Attempt.Answered != n {
		t.Errorf("after the last answer: %+v, want finished", final.Attempt)
	}
}

// A reload in the middle of an attempt (GET) resumes the question the last
// answer served, with the time it has left: its clock is not restarted. A
// retried answer (its response lost) gets the same next question again.
// The question delivered again by the GET earns latency credit only from
// its own acknowledgment.
func TestCampaignReloadKeepsServedQuestion(t *testing.T) {
	t.Parallel()
	f := newCampaign(t, map[string]any{"questions": 3})
	c := f.citizen(t, "pavel")
	id := f.start(t, c)
	current(t, c, id)
	f.clock.Add(100 * time.Millisecond)
	c.Do("POST", fmt.Sprintf("/api/v1/attempts/%d/seen", id), map[string]any{"seq": 1})
	f.clock.Add(time.Second)
	first := postAnswer(t, c, id, 1, f.rightChoice(t, id, 1), 400)
	if first.Next == nil || first.Next.Seq != 2 {
		t.Fatalf("next: got %+v, want question 2", first.Next)
	}
	f.clock.Add(4 * time.Second)
	st, _ := current(t, c, id) // the reload
	if st.Question == nil || st.Question.Seq != 2 || st.Question.RemainingMS != 16000 {
		t.Fatalf("after reload: got %+v, want question 2 with 16 s left", st.Question)
	}
	retry := postAnswer(t, c, id, 1, f.rightChoice(t, id, 1), 400)
	if retry.Points != first.Points || retry.Next == nil || retry.Next.Seq != 2 || retry.Next.RemainingMS != 16000 {
		t.Errorf("retried answer: points %d, next %+v; want %d points and question 2 with 16 s left", retry.Points, retry.Next, first.Points)
	}
	f.clock.Add(time.Second)
	// Not acknowledged after the reload: no credit (5 s exactly).
	if r := postAnswer(t, c, id, 2, f.rightChoice(t, id, 2), 400); r.ElapsedMS != 5000 || r.Next == nil || r.Next.Seq != 3 {
		t.Errorf("answer 2: elapsed %d ms, next %+v; want 5000 ms (no credit) and question 3", r.ElapsedMS, r.Next)
	}
}
