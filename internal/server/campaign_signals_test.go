package server_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestCampaignSignalsReport: an answer faster than the question can be read
// and a page hidden mid-attempt show up for the campaign's organizers (API
// and page, in both languages), the attempt still counts, a clean attempt
// is not listed, and nobody else may read the report.
func TestCampaignSignalsReport(t *testing.T) {
	t.Parallel()
	f := newCampaign(t, nil)
	quick, steady := f.citizen(t, "quick"), f.citizen(t, "steady")

	id := f.start(t, quick)
	current(t, quick, id)
	if res := quick.Do("POST", fmt.Sprintf("/api/v1/attempts/%d/signals", id), map[string]any{"kind": "hidden", "seq": 1}); res.Status != 204 {
		t.Fatalf("hidden signal: got %d %s", res.Status, res.Body)
	}
	if res := quick.Do("POST", fmt.Sprintf("/api/v1/attempts/%d/signals", id), map[string]any{"kind": "peeking", "seq": 1}); res.Status != 400 {
		t.Errorf("unknown signal kind: got %d, want 400", res.Status)
	}
	first := answer(t, quick, id, 1, f.rightChoice(t, id, 1), 200) // at once: faster than reading
	if !first.Correct || first.Points == 0 {
		t.Errorf("a fast right answer must still count: got %+v", first)
	}
	for seq := 2; seq <= 3; seq++ {
		current(t, quick, id)
		f.clock.Add(5 * time.Second)
		answer(t, quick, id, seq, f.rightChoice(t, id, seq), 200)
	}
	other := f.start(t, steady)
	for seq := 1; seq <= 3; seq++ {
		current(t, steady, other)
		f.clock.Add(5 * time.Second)
		answer(t, steady, other, seq, f.rightChoice(t, other, seq), 200)
	}

	url := fmt.Sprintf("/api/v1/manage/campaigns/%d/signals", f.id)
	res := f.org.Do("GET", url, nil)
	if res.Status != 200 {
		t.Fatalf("report: got %d %s", res.Status, res.Body)
	}
	var rep struct {
		Attempts, Flagged int64
		Rows              []struct {
			AttemptID    int64 `json:"attempt_id"`
			Nickname     string
			Fast, Hidden int
			FastSeqs     []int `json:"fast_seqs"`
			Finished     bool
			Score        int
		}
	}
	res.JSON(t, &rep)
	if rep.Attempts != 2 || rep.Flagged != 1 || len(rep.Rows) != 1 {
		t.Fatalf("report: got %+v, want 2 attempts, 1 flagged row", rep)
	}
	r := rep.Rows[0]
	if r.AttemptID != id || r.Nickname != "quick" || r.Fast != 1 || r.Hidden != 1 || !slices.Equal(r.FastSeqs, []int{1}) || !r.Finished || r.Score == 0 {
		t.Errorf("row: got %+v, want quick's finished attempt with 1 fast (question 1) and 1 hidden", r)
	}

	page := f.org.Do("GET", fmt.Sprintf("/manage/campaigns/%d/signals", f.id), nil)
	if page.Status != 200 || !strings.Contains(string(page.Body), "诚信信号") || !strings.Contains(string(page.Body), "共 2 次答题，其中 1 次有信号") ||
		!strings.Contains(string(page.Body), `data-attempt="`+fmt.Sprint(id)+`"`) || strings.Contains(string(page.Body), `data-attempt="`+fmt.Sprint(other)+`"`) {
		t.Errorf("page (zh-CN): got %d %s", page.Status, page.Body)
	}
	f.org.Do("GET", "/lang/en?next=/", nil) // the language switch
	if page := f.org.Do("GET", fmt.Sprintf("/manage/campaigns/%d/signals", f.id), nil); !strings.Contains(string(page.Body), "2 attempts, 1 of them with signals") {
		t.Errorf("page (en): got %d %s", page.Status, page.Body)
	}

	if res := quick.Do("GET", url, nil); res.Status != 403 {
		t.Errorf("citizen reads the report: got %d, want 403", res.Status)
	}
	if res := f.districtOrganizer(t, "county-org").Do("GET", url, nil); res.Status != 403 {
		t.Errorf("organizer outside the campaign's region: got %d, want 403", res.Status)
	}
	if res := f.org.Do("GET", "/api/v1/manage/campaigns/999999/signals", nil); res.Status != 404 {
		t.Errorf("unknown campaign: got %d, want 404", res.Status)
	}
}
