package scoring

import (
	"sort"
	"testing"
)

func TestCredit(t *testing.T) {
	tests := []struct {
		name        string
		choice, key []int
		partial     bool
		want        float64
	}{
		{"single right", []int{2}, []int{2}, false, 1},
		{"single wrong", []int{1}, []int{2}, false, 0},
		{"empty choice", nil, []int{2}, true, 0},
		{"multi exact", []int{0, 2}, []int{2, 0}, false, 1},
		{"multi subset no partial", []int{0}, []int{0, 2}, false, 0},
		{"multi subset partial", []int{0}, []int{0, 2}, true, 0.5},
		{"multi with wrong partial", []int{0, 1}, []int{0, 2}, true, 0},
		{"duplicates ignored", []int{0, 0, 2}, []int{0, 2}, false, 1},
		{"two of three partial", []int{0, 1}, []int{0, 1, 3}, true, 2.0 / 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Credit(tt.choice, tt.key, tt.partial); got != tt.want {
				t.Errorf("Credit(%v, %v, %v) = %v, want %v", tt.choice, tt.key, tt.partial, got, tt.want)
			}
		})
	}
}

func TestSpeedPoints(t *testing.T) {
	tests := []struct {
		credit         float64
		elapsed, limit int64
		want           int
	}{
		{1, 0, 20000, 1000},
		{1, 10000, 20000, 800},
		{1, 20000, 20000, 600},
		{1, 25000, 20000, 600}, // late is clamped
		{1, -5, 20000, 1000},
		{0, 0, 20000, 0},
		{0.5, 0, 20000, 500},
		{1, 5000, 0, 1000},
	}
	for _, tt := range tests {
		if got := SpeedPoints(tt.credit, 600, 400, tt.elapsed, tt.limit); got != tt.want {
			t.Errorf("SpeedPoints(%v, 600, 400, %d, %d) = %d, want %d", tt.credit, tt.elapsed, tt.limit, got, tt.want)
		}
	}
	if got := FlatPoints(1, 10); got != 10 {
		t.Errorf("FlatPoints(1, 10) = %d, want 10", got)
	}
	if got := FlatPoints(0.5, 5); got != 3 {
		t.Errorf("FlatPoints(0.5, 5) = %d, want 3", got)
	}
}

func TestAssessmentPoints(t *testing.T) {
	got := AssessmentPoints(map[string]int{"knowledge": 40, "method": 20, "spirit": 20, "application": 20}, map[string]int{"knowledge": 20, "method": 10, "spirit": 10, "application": 10})
	total := 0
	for d, p := range got {
		if p != 2 {
			t.Errorf("points of %s = %d, want 2", d, p)
		}
		total += p * map[string]int{"knowledge": 20, "method": 10, "spirit": 10, "application": 10}[d]
	}
	if total != 100 {
		t.Errorf("total = %d, want 100", total)
	}
}

func TestTierOf(t *testing.T) {
	tests := []struct {
		pct  float64
		want string
	}{
		{100, "advanced"}, {85.5, "advanced"}, {85, "literate"}, {70.1, "literate"}, {70, "basic"},
		{55, "basic"}, {54.9, "low"}, {0, "low"},
	}
	for _, tt := range tests {
		if got := TierOf(tt.pct, DefaultTiers); got != tt.want {
			t.Errorf("TierOf(%v) = %q, want %q", tt.pct, got, tt.want)
		}
	}
	if got := TierOf(50, []Tier{{Key: "pass", Min: 60, Inclusive: true}}); got != "" {
		t.Errorf("TierOf(50, pass≥60) = %q, want none", got)
	}
}

func TestStandingOrder(t *testing.T) {
	// Listed best first.
	order := []Standing{
		{Score: 5000, TimeMS: 60000, ReachedMS: 0},
		{Score: 4999, TimeMS: 1000, ReachedMS: 0},
		{Score: 4999, TimeMS: 2000, ReachedMS: 0},
		{Score: 4999, TimeMS: 2000, ReachedMS: 60000},
		{Score: 4999, TimeMS: 2000, ReachedMS: 120000},
		{Score: 0, TimeMS: 0, ReachedMS: 0},
	}
	for i := 1; i < len(order); i++ {
		if !(order[i-1].Encode() > order[i].Encode()) {
			t.Errorf("%+v encodes %v, not above %+v (%v)", order[i-1], order[i-1].Encode(), order[i], order[i].Encode())
		}
	}
	vals := make([]float64, len(order))
	for i, s := range order {
		vals[i] = s.Encode()
	}
	if !sort.IsSorted(sort.Reverse(sort.Float64Slice(vals))) {
		t.Errorf("encoded values not descending: %v", vals)
	}
	score, ts, at := DecodeStanding(Standing{Score: StandingScoreMax, TimeMS: 1234567, ReachedMS: 7 * 60000}.Encode())
	if score != StandingScoreMax || ts != 1234 || at != 7 {
		t.Errorf("decode = %d, %d, %d; want %d, 1234, 7", score, ts, at, StandingScoreMax)
	}
	// The largest value stays below 2^53: exact in a float64.
	top := Standing{Score: 1 << 40, TimeMS: -1, ReachedMS: -1}.Encode()
	if top >= 1<<53 || float64(uint64(top)) != top {
		t.Errorf("max standing %v not exact below 2^53", top)
	}
	if a, b := (Standing{Score: 1 << 30}).Encode(), (Standing{Score: StandingScoreMax}).Encode(); a != b {
		t.Errorf("score not clamped: %v vs %v", a, b)
	}
}
