package campaign

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/kepu/kepu/internal/kepu"
	"github.com/kepu/kepu/internal/scoring"
)

// groupRig is a published campaign with attempts in progress, each with
// question 1 served, for driving the group commit's statements directly
// with batches of any shape.
type groupRig struct {
	ctx      context.Context
	s        *Service
	now      time.Time
	campaign int64
	version  int64 // the campaign's row version (xmin)
	users    []kepu.Actor
	attempts []int64
}

func newGroupRig(t *testing.T, n int) *groupRig {
	t.Helper()
	ctx := context.Background()
	db := newBankDB(t, "成组市", "group")
	r := &groupRig{ctx: ctx, now: time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)}
	r.s = &Service{DB: db.Pool, Now: func() time.Time { return r.now }, Grace: DefaultGrace}
	rules := Rules{Questions: 3, Lang: "zh-CN", TimeLimit: 30, Counts: "best", Scoring: scoring.RuleSpeed, Base: 10, Bonus: 10, PassMark: 50}
	settings, _ := json.Marshal(rules)
	if err := db.Pool.QueryRow(ctx, `INSERT INTO campaigns (title, status, starts_at, ends_at, settings)
		VALUES ('成组', 'published', $1, $2, $3) RETURNING id, xmin::text::bigint`, r.now.Add(-time.Hour), r.now.Add(24*time.Hour), settings).
		Scan(&r.campaign, &r.version); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		u := kepu.Actor{Role: kepu.RoleParticipant}
		if err := db.Pool.QueryRow(ctx, `INSERT INTO users (username, nickname) VALUES ($1, '成组') RETURNING id`,
			fmt.Sprintf("group-%d", i)).Scan(&u.UserID); err != nil {
			t.Fatal(err)
		}
		att, _, err := r.s.Start(ctx, u, r.campaign)
		if err != nil {
			t.Fatalf("start: %v", err)
		}
		if _, err := r.s.Current(ctx, u, att.ID); err != nil {
			t.Fatalf("serve question 1: %v", err)
		}
		r.users, r.attempts = append(r.users, u), append(r.attempts, att.ID)
	}
	r.now = r.now.Add(3 * time.Second)
	return r
}

// answer is a job answering question 1 of attempt i correctly (as
// judged, without the rules: the statement stores what it is given).
func (r *groupRig) answer(t *testing.T, i int) *answerJob {
	t.Helper()
	j := &answerJob{attemptID: r.attempts[i], userID: r.users[i].UserID, seq: 1, campaignID: r.campaign,
		campaignVersion: r.version, at: r.now, serveNext: true, correct: true, points: 15 + i, elapsedMS: 3000}
	if err := r.s.DB.QueryRow(r.ctx, `SELECT question_version_id, rtt_ms, ARRAY[perm[1]] FROM campaign_attempt_questions
		WHERE attempt_id = $1 AND seq = 1`, j.attemptID).Scan(&j.versionID, &j.rtt, &j.choice); err != nil {
		t.Fatal(err)
	}
	return j
}

func TestWriteAnswersBatch(t *testing.T) {
	r := newGroupRig(t, 9)
	if _, err := r.s.Finish(r.ctx, r.users[8], r.attempts[8]); err != nil {
		t.Fatal(err)
	}
	ok0, ok1, ok2 := r.answer(t, 0), r.answer(t, 1), r.answer(t, 2)
	ok2.fast = true
	dupFirst, dupSecond := r.answer(t, 3), r.answer(t, 3)
	dupSecond.choice, dupSecond.points, dupSecond.correct = []int{99}, 0, false
	wrongSeq := r.answer(t, 4)
	wrongSeq.seq = 2
	otherUser := r.answer(t, 5)
	otherUser.userID = r.users[0].UserID
	staleCampaign := r.answer(t, 6)
	staleCampaign.campaignVersion++
	staleRTT := r.answer(t, 7)
	staleRTT.rtt = new(int)
	*staleRTT.rtt = 123
	finished := r.answer(t, 8)
	batch := []*answerJob{ok0, dupFirst, wrongSeq, ok1, otherUser, dupSecond, staleCampaign, ok2, staleRTT, finished}
	if err := writeAnswers(r.ctx, r.s.DB, batch); err != nil {
		t.Fatal(err)
	}
	taken := map[*answerJob]bool{ok0: true, ok1: true, ok2: true, dupFirst: true}
	for i, j := range batch {
		if j.taken != taken[j] {
			t.Errorf("job %d (attempt %d, seq %d): taken %v, want %v", i, j.attemptID, j.seq, j.taken, taken[j])
		}
		if !j.taken {
			continue
		}
		if j.answered != 1 || j.score != j.points || j.questions != 3 || j.nseq == nil || *j.nseq != 2 || j.nvid == nil {
			t.Errorf("job %d: answered %d, score %d (points %d), questions %d, next %v; want 1, its points, 3, question 2 served",
				i, j.answered, j.score, j.points, j.questions, j.nseq)
		}
	}
	// Each attempt's own row, all written by one transaction.
	rows, err := r.s.DB.Query(r.ctx, `SELECT a.attempt_id, a.choice, a.points, a.xmin::text, q.served_at
		FROM campaign_answers a JOIN campaign_attempt_questions q ON q.attempt_id = a.attempt_id AND q.seq = 2
		WHERE a.attempt_id = ANY($1) ORDER BY a.attempt_id`, r.attempts[:8]) // not the finished one's timeouts
	if err != nil {
		t.Fatal(err)
	}
	want := map[int64]*answerJob{ok0.attemptID: ok0, ok1.attemptID: ok1, ok2.attemptID: ok2, dupFirst.attemptID: dupFirst}
	xmins := map[string]bool{}
	n := 0
	for rows.Next() {
		var id int64
		var choice []int
		var points int
		var xmin string
		var served *time.Time
		if err := rows.Scan(&id, &choice, &points, &xmin, &served); err != nil {
			t.Fatal(err)
		}
		n++
		j := want[id]
		if j == nil {
			t.Errorf("attempt %d has an answer, want none", id)
			continue
		}
		if fmt.Sprint(choice) != fmt.Sprint(j.choice) || points != j.points || served == nil || !served.Equal(r.now) {
			t.Errorf("attempt %d: stored choice %v, points %d, question 2 served %v; want %v, %d, %v", id, choice, points, served,
				j.choice, j.points, r.now)
		}
		xmins[xmin] = true
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n != len(want) || len(xmins) != 1 {
		t.Errorf("%d answers in %d transactions, want %d in one", n, len(xmins), len(want))
	}
	var signals int
	if err := r.s.DB.QueryRow(r.ctx, `SELECT count(*) FROM campaign_signals WHERE kind = 'fast' AND attempt_id = ANY($1)`, r.attempts).
		Scan(&signals); err != nil || signals != 1 {
		t.Errorf("fast signals = %d (%v), want 1 (job ok2's)", signals, err)
	}
	// The same batch again (a retry of every request) changes nothing.
	if err := writeAnswers(r.ctx, r.s.DB, batch); err != nil {
		t.Fatal(err)
	}
	for i, j := range batch {
		if j.taken {
			t.Errorf("again: job %d taken, want the slow path to answer a repeat", i)
		}
	}
	var answers, score int
	if err := r.s.DB.QueryRow(r.ctx, `SELECT (SELECT count(*) FROM campaign_answers WHERE attempt_id = ANY($1)),
		(SELECT sum(score) FROM campaign_attempts WHERE id = ANY($1) AND finished_at IS NULL)`, r.attempts).Scan(&answers, &score); err != nil {
		t.Fatal(err)
	}
	if wantScore := ok0.points + ok1.points + ok2.points + dupFirst.points; answers != 4+3 || score != wantScore {
		// 4 answers plus the finished attempt's 3 timeouts.
		t.Errorf("after the repeat: %d answers, score %d; want 7, %d", answers, score, wantScore)
	}
}

func TestCurrentsAndSeensBatch(t *testing.T) {
	r := newGroupRig(t, 3)
	a0, a1 := r.attempts[0], r.attempts[1]
	cur := func(i int) *currentJob {
		return &currentJob{attemptID: r.attempts[i], campaignID: r.campaign, userID: r.users[i].UserID, at: r.now,
			campaignVersion: r.version, mayServe: true}
	}
	twice1, twice2, other, missing := cur(0), cur(0), cur(1), cur(2)
	other.userID = r.users[0].UserID
	missing.attemptID = -1
	batch := []*currentJob{twice1, other, twice2, missing}
	if err := flushCurrents(r.ctx, r.s.DB, batch); err != nil {
		t.Fatal(err)
	}
	switch {
	case !twice1.found || twice1.seq == nil || *twice1.seq != 1 || twice1.servedAt == nil || twice1.att.ID != a0:
		t.Errorf("first GET of attempt %d: found %v, seq %v, served %v; want question 1 as served", a0, twice1.found, twice1.seq, twice1.servedAt)
	case !twice2.found || twice2.seq != nil:
		t.Errorf("second GET of the same attempt in the batch: found %v, seq %v; want the attempt without a question (slow path)",
			twice2.found, twice2.seq)
	case !other.found || other.att.ID != a1 || other.seq != nil:
		t.Errorf("GET of another user's attempt: found %v, attempt %d, seq %v; want the attempt, no question", other.found, other.att.ID, other.seq)
	case missing.found:
		t.Error("GET of a missing attempt found one")
	}
	if twice1.version == nil || *twice1.version != r.version {
		t.Errorf("campaign version %v, want %d", twice1.version, r.version)
	}
	// Acknowledgments: the first of an attempt in the batch counts.
	r.now = r.now.Add(250 * time.Millisecond)
	seen := func(i, seq int) *seenJob {
		return &seenJob{attemptID: r.attempts[i], userID: r.users[i].UserID, seq: seq, at: r.now}
	}
	first, again, wrongSeq, foreign := seen(1, 1), seen(1, 1), seen(2, 2), seen(2, 1)
	foreign.userID = r.users[0].UserID
	if err := flushSeens(r.ctx, r.s.DB, []*seenJob{wrongSeq, first, foreign, again}); err != nil {
		t.Fatal(err)
	}
	var servedAt time.Time
	if err := r.s.DB.QueryRow(r.ctx, `SELECT served_at FROM campaign_attempt_questions WHERE attempt_id = $1 AND seq = 1`, a1).
		Scan(&servedAt); err != nil {
		t.Fatal(err)
	}
	wantRTT := int(r.now.Sub(servedAt).Milliseconds())
	if !first.measured || first.rtt != wantRTT || again.measured || wrongSeq.measured || foreign.measured {
		t.Errorf("acks: first %v (%d ms, want %d), again %v, wrong seq %v, another user %v; want only the first measured",
			first.measured, first.rtt, wantRTT, again.measured, wrongSeq.measured, foreign.measured)
	}
	var measured int
	if err := r.s.DB.QueryRow(r.ctx, `SELECT count(*) FROM campaign_attempt_questions WHERE attempt_id = ANY($1) AND rtt_ms IS NOT NULL`,
		r.attempts).Scan(&measured); err != nil || measured != 1 {
		t.Errorf("questions with a measured round trip = %d (%v), want 1", measured, err)
	}
}
