package server_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/kepu/kepu/internal/apptest"
)

// TestCampaignLatencyCredit: half the round trip comes off the scored time,
// at most 300 ms — the smaller of the round trip the page reports and the
// one the server measured itself (question served → POST …/seen), so a
// claimed slow link earns nothing the server did not see; a page that never
// acknowledges gets no credit; a nonsense round trip is a 400.
func TestCampaignLatencyCredit(t *testing.T) {
	f := newCampaign(t, map[string]any{"questions": 6})
	c := f.citizen(t, "dora")
	id := f.start(t, c)
	url := fmt.Sprintf("/api/v1/attempts/%d/answers", id)
	seen := fmt.Sprintf("/api/v1/attempts/%d/seen", id)
	const none = -1 // the page never acknowledges
	tests := []struct {
		name       string
		rtt        int
		measuredMS int // served → acknowledged, on the server's clock
		wantPoints int
	}{
		{"honest", 400, 400, 904},                 // 5 s - 200 ms: 600 + 400·15.2/20
		{"honest slow, capped", 10000, 1000, 906}, // credit capped at 300 ms: 600 + 400·15.3/20
		{"claimed, never acknowledged", 60000, none, 900},
		{"claimed, acknowledged at once", 60000, 0, 900},
		{"claimed, measured 200 ms", 60000, 200, 902}, // 100 ms credit: 600 + 400·15.1/20
		{"no claim, slow ack", 0, 4000, 900},
	}
	current(t, c, id)
	for _, rtt := range []any{-1, 60001} {
		if res := c.Do("POST", url, map[string]any{"seq": 1, "choice": []int{0}, "rtt_ms": rtt}); res.Status != 400 {
			t.Errorf("rtt_ms %v: got %d %s, want 400", rtt, res.Status, res.Body)
		}
	}
	seq := 1
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			current(t, c, id) // serves seq
			if tt.measuredMS != none {
				f.clock.Add(time.Duration(tt.measuredMS) * time.Millisecond)
				if r := c.Do("POST", seen, map[string]any{"seq": seq}); r.Status != 204 {
					t.Fatalf("seen: got %d %s, want 204", r.Status, r.Body)
				}
				// A second acknowledgment changes nothing.
				f.clock.Add(time.Duration(5000-tt.measuredMS) * time.Millisecond)
				c.Do("POST", seen, map[string]any{"seq": seq})
			} else {
				f.clock.Add(5 * time.Second)
			}
			right := f.rightChoice(t, id, seq)
			res := c.Do("POST", url, map[string]any{"seq": seq, "choice": right, "rtt_ms": tt.rtt})
			if res.Status != 200 {
				t.Fatalf("got %d %s, want 200", res.Status, res.Body)
			}
			var r answerResult
			res.JSON(t, &r)
			if r.Points != tt.wantPoints {
				t.Errorf("points: got %d, want %d", r.Points, tt.wantPoints)
			}
			seq++
		})
	}
	if r := c.Do("POST", seen, map[string]any{"seq": 4294967297}); r.Status != 400 {
		t.Errorf("seen seq out of range: got %d %s, want 400", r.Status, r.Body)
	}
}

// The acknowledgment may reach another instance than the one serving the
// question and taking the answer: the answer still gets the measured credit.
func TestCampaignLatencyCreditAcrossInstances(t *testing.T) {
	f := newCampaign(t, nil)
	second := apptest.Start(t, apptest.Options{Shared: f.inst, Now: f.clock.Now})
	c := f.citizen(t, "erin")
	id := f.start(t, c)
	current(t, c, id)
	answer(t, c, id, 1, f.rightChoice(t, id, 1), 200)
	current(t, c, id) // question 2, served by the first instance's hot path, which caches it
	f.clock.Add(400 * time.Millisecond)
	c.Base = second.URL
	if r := c.Do("POST", fmt.Sprintf("/api/v1/attempts/%d/seen", id), map[string]any{"seq": 2}); r.Status != 204 {
		t.Fatalf("seen on the second instance: got %d %s", r.Status, r.Body)
	}
	c.Base = f.inst.URL
	f.clock.Add(4600 * time.Millisecond)
	r := answer400(t, c, id, f.rightChoice(t, id, 2))
	if r.Points != 904 { // 5 s - 200 ms: 600 + 400·15.2/20
		t.Errorf("points: got %d, want 904 (the credit measured through the other instance)", r.Points)
	}
}

// answer400 answers question 2 claiming a 400 ms round trip.
func answer400(t *testing.T, c *apptest.Client, id int64, choice []int) answerResult {
	t.Helper()
	res := c.Do("POST", fmt.Sprintf("/api/v1/attempts/%d/answers", id), map[string]any{"seq": 2, "choice": choice, "rtt_ms": 400})
	if res.Status != 200 {
		t.Fatalf("answer: got %d %s", res.Status, res.Body)
	}
	var r answerResult
	res.JSON(t, &r)
	return r
}
