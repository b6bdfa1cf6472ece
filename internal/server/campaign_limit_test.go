package server_test

import (
	"testing"
	"time"
)

// TestCampaignAttemptTimeLimit: with 8 s for the whole attempt (20 s per
// question) the second question gets only what is left of the 8 s, and
// once the attempt's time (plus grace) is over every remaining question is
// a timeout and the attempt is finished. Speed points still scale with the
// per-question limit.
func TestCampaignAttemptTimeLimit(t *testing.T) {
	t.Parallel()
	f := newCampaign(t, map[string]any{"attempt_limit": 8})
	c := f.citizen(t, "erin")
	id := f.start(t, c)
	st, _ := current(t, c, id)
	if st.Question == nil || st.Question.RemainingMS != 8000 {
		t.Fatalf("first question: got %+v, want 8000 ms left", st.Question)
	}
	f.clock.Add(5 * time.Second)
	if r := answer(t, c, id, 1, f.rightChoice(t, id, 1), 200); r.Points != 900 {
		t.Errorf("points: got %d, want 900 (600 + 400·15/20)", r.Points)
	}
	st, _ = current(t, c, id)
	if st.Question == nil || st.Question.Seq != 2 || st.Question.RemainingMS != 3000 {
		t.Fatalf("second question: got %+v, want seq 2 with 3000 ms left", st.Question)
	}
	f.clock.Add(6 * time.Second) // past the attempt's end and the 2 s grace
	st, body := current(t, c, id)
	if st.Question != nil || st.Attempt.FinishedAt == nil || st.Attempt.Answered != 3 || st.Attempt.Score != 900 {
		t.Errorf("after the attempt's time: got %s, want finished, 3 locked, score 900", body)
	}
	if res := f.org.Do("POST", "/api/v1/manage/campaigns", map[string]any{"title": "x", "starts_at": f.clock.Now(),
		"ends_at": f.clock.Now().Add(time.Hour), "rules": map[string]any{"attempt_limit": -1}}); res.Status != 400 {
		t.Errorf("attempt_limit -1: got %d %s, want 400", res.Status, res.Body)
	}
}
