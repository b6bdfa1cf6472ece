package scoring

import "testing"

func TestContestPoints(t *testing.T) {
	tests := []struct {
		name           string
		correct        bool
		base           int
		elapsed, limit int64
		want           int
	}{
		{"instant", true, 1000, 0, 20000, 1000},
		{"half time", true, 1000, 10000, 20000, 750},
		{"at the limit", true, 1000, 20000, 20000, 500},
		{"after the limit never below half", true, 1000, 25000, 20000, 500},
		{"negative elapsed counts as instant", true, 1000, -5, 20000, 1000},
		{"wrong", false, 1000, 0, 20000, 0},
		{"practice", true, 0, 0, 20000, 0},
		{"odd base keeps half rounded up", true, 999, 20000, 20000, 500},
		{"zero limit", true, 1000, 10, 0, 1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ContestPoints(tt.correct, tt.base, tt.elapsed, tt.limit); got != tt.want {
				t.Errorf("ContestPoints(%v, %d, %d, %d) = %d, want %d", tt.correct, tt.base, tt.elapsed, tt.limit, got, tt.want)
			}
		})
	}
}

func TestContestPointsMonotonic(t *testing.T) {
	prev := ContestPoints(true, 1000, 0, 5000)
	for e := int64(1); e <= 5000; e += 7 {
		p := ContestPoints(true, 1000, e, 5000)
		if p > prev {
			t.Fatalf("points rose from %d to %d at %d ms", prev, p, e)
		}
		prev = p
	}
}

func TestStreakBonus(t *testing.T) {
	tests := []struct{ streak, base, want int }{
		{0, 1000, 0}, {1, 1000, 0}, {2, 1000, 100}, {3, 1000, 200}, {6, 1000, 500}, {20, 1000, 500}, {5, 0, 0},
	}
	for _, tt := range tests {
		if got := StreakBonus(tt.streak, tt.base); got != tt.want {
			t.Errorf("StreakBonus(%d, %d) = %d, want %d", tt.streak, tt.base, got, tt.want)
		}
	}
}

func TestCreditedElapsed(t *testing.T) {
	tests := []struct{ received, rtt, want int64 }{
		{1000, 0, 1000}, {1000, 200, 900}, {1000, 600, 700}, {1000, 5000, 700}, {100, 400, 0}, {500, -10, 500},
	}
	for _, tt := range tests {
		if got := CreditedElapsed(tt.received, tt.rtt); got != tt.want {
			t.Errorf("CreditedElapsed(%d, %d) = %d, want %d", tt.received, tt.rtt, got, tt.want)
		}
	}
}
