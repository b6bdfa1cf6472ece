package server_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kepu/kepu/internal/campaign"
)

// lockedResult is GET /attempts/:id/answers/:seq.
type lockedResult struct {
	answerResult
	Next *struct{ Seq int }
}

// After a question's time runs out the page asks for its lesson: the
// server reveals nothing while the question is open (its grace included),
// then locks the timeout and returns the right answer and the explanation,
// exactly as after a wrong answer, with the next question.
func TestCampaignTimeoutRevealsLesson(t *testing.T) {
	t.Parallel()
	f := newCampaign(t, nil)
	c := f.citizen(t, "tina")
	id := f.start(t, c)
	current(t, c, id)
	path := fmt.Sprintf("/api/v1/attempts/%d/answers/1", id)
	for _, wait := range []time.Duration{0, 21 * time.Second} { // open; then past the limit, within the 2 s grace
		f.clock.Add(wait)
		res := c.Do("GET", path, nil)
		if res.Status != 409 {
			t.Fatalf("lesson of an open question after %v: got %d %s, want 409", wait, res.Status, res.Body)
		}
		keyFree(t, string(res.Body))
	}
	f.clock.Add(2 * time.Second)
	right := f.rightChoice(t, id, 1)
	for i := range 2 { // the second read returns the same lesson and changes nothing
		res := c.Do("GET", path, nil)
		if res.Status != 200 {
			t.Fatalf("lesson after the timeout (read %d): got %d %s", i+1, res.Status, res.Body)
		}
		var r lockedResult
		res.JSON(t, &r)
		if !r.TimedOut || r.Correct || r.Points != 0 || !reflect.DeepEqual(r.CorrectChoice, right) ||
			!strings.HasPrefix(r.Explanation, "秘密解释") || r.Answered != 1 || r.Next == nil || r.Next.Seq != 2 {
			t.Errorf("lesson after the timeout (read %d): got %+v next %+v, want timed out, key %v, explanation, question 2 next",
				i+1, r.answerResult, r.Next, right)
		}
	}
	for _, tc := range []struct {
		path string
		want int
	}{
		{fmt.Sprintf("/api/v1/attempts/%d/answers/2", id), 409}, // being played
		{fmt.Sprintf("/api/v1/attempts/%d/answers/3", id), 409}, // not served
		{fmt.Sprintf("/api/v1/attempts/%d/answers/0", id), 400},
	} {
		res := c.Do("GET", tc.path, nil)
		if res.Status != tc.want {
			t.Errorf("GET %s: got %d %s, want %d", tc.path, res.Status, res.Body, tc.want)
		}
		keyFree(t, string(res.Body))
	}
	if res := f.citizen(t, "mallory").Do("GET", path, nil); res.Status != 404 {
		t.Errorf("another user's lesson: got %d %s, want 404", res.Status, res.Body)
	}
}

type resultJSON struct {
	Attempt struct {
		Score     int
		MaxScore  int `json:"max_score"`
		Questions int
		TimeMS    int64 `json:"time_ms"`
	}
	Tally struct {
		Right  int
		UsedMS int64 `json:"used_ms"`
	}
	PassScore int    `json:"pass_score"`
	Again     string `json:"again"`
	Left      int
	NextAt    *time.Time `json:"next_at"`
}

// The result says how many questions were right of how many, the score
// that passes and whether another attempt may start now; once today's are
// used it says to come back at 00:00 Beijing time. Giving up shows the time
// really used, not the full limit of every question never served.
func TestCampaignResultRightPassAndAgain(t *testing.T) {
	t.Parallel()
	f := newCampaign(t, map[string]any{"per_day": 2, "pass_mark": 50})
	c := f.citizen(t, "rita")
	id := f.start(t, c)
	for seq := 1; seq <= 3; seq++ {
		current(t, c, id)
		f.clock.Add(time.Second)
		choice := f.rightChoice(t, id, seq)
		if seq == 3 {
			choice = wrongChoice(choice)
		}
		answer(t, c, id, seq, choice, 200)
	}
	var r resultJSON
	c.Do("GET", fmt.Sprintf("/api/v1/attempts/%d/result", id), nil).JSON(t, &r)
	if r.Tally.Right != 2 || r.Attempt.Questions != 3 || r.PassScore != (r.Attempt.MaxScore+1)/2 || r.Again != "now" || r.Left != 1 {
		t.Errorf("result: got %+v, want 2 of 3 right, pass score half of %d, again now with 1 left", r, r.Attempt.MaxScore)
	}
	page := string(c.Do("GET", fmt.Sprintf("/attempts/%d/result", id), nil).Body)
	for _, want := range []string{"答对 2 / 3", "合格线", "50%", `data-testid="start"`} {
		if !strings.Contains(page, want) {
			t.Errorf("result page lacks %q", want)
		}
	}

	// The second and last attempt of the day, given up on question 1 after 3 s.
	id2 := f.start(t, c)
	current(t, c, id2)
	f.clock.Add(3 * time.Second)
	if res := c.Do("POST", fmt.Sprintf("/api/v1/attempts/%d/finish", id2), nil); res.Status != 200 {
		t.Fatalf("give up: got %d %s", res.Status, res.Body)
	}
	r = resultJSON{}
	c.Do("GET", fmt.Sprintf("/api/v1/attempts/%d/result", id2), nil).JSON(t, &r)
	next := campaign.NextDay(f.clock.Now())
	if r.Again != "tomorrow" || r.NextAt == nil || !r.NextAt.Equal(next) || r.Tally.Right != 0 || r.Tally.UsedMS != 3000 {
		t.Errorf("given up: got %+v, want again tomorrow at %v, 0 right, 3000 ms used", r, next)
	}
	page = string(c.Do("GET", fmt.Sprintf("/attempts/%d/result", id2), nil).Body)
	for _, want := range []string{"答对 0 / 3", "明天 00:00（北京时间）", "3.0 秒"} {
		if !strings.Contains(page, want) {
			t.Errorf("given-up result page lacks %q", want)
		}
	}
	if strings.Contains(page, `data-testid="start"`) {
		t.Error("given-up result page offers another attempt with none left today")
	}
}
