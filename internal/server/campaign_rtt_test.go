package server_test

import (
	"fmt"
	"testing"
	"time"
)

// TestCampaignLatencyCredit: half the round trip the page reports comes
// off the scored time, at most 300 ms, so a faked slow link gains little;
// a nonsense round trip is a 400.
func TestCampaignLatencyCredit(t *testing.T) {
	f := newCampaign(t, nil)
	c := f.citizen(t, "dora")
	id := f.start(t, c)
	url := fmt.Sprintf("/api/v1/attempts/%d/answers", id)
	tests := []struct {
		rtt        any
		wantStatus int
		wantPoints int
	}{
		{-1, 400, 0},
		{60001, 400, 0},
		{400, 200, 904},   // 5 s - 200 ms: 600 + 400·15.2/20
		{10000, 200, 906}, // credit capped at 300 ms: 600 + 400·15.3/20
		{0, 200, 900},     // no credit: 600 + 400·15/20
	}
	seq := 1
	current(t, c, id)
	f.clock.Add(5 * time.Second)
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.rtt), func(t *testing.T) {
			right := f.rightChoice(t, id, seq)
			res := c.Do("POST", url, map[string]any{"seq": seq, "choice": right, "rtt_ms": tt.rtt})
			if res.Status != tt.wantStatus {
				t.Fatalf("got %d %s, want %d", res.Status, res.Body, tt.wantStatus)
			}
			if tt.wantStatus != 200 {
				return
			}
			var r answerResult
			res.JSON(t, &r)
			if r.Points != tt.wantPoints {
				t.Errorf("points: got %d, want %d", r.Points, tt.wantPoints)
			}
			seq++
			if seq <= 3 {
				current(t, c, id)
				f.clock.Add(5 * time.Second)
			}
		})
	}
}
