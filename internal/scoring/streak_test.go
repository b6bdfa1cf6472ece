package scoring

import (
	"testing"
	"time"
)

func TestDayStreak(t *testing.T) {
	sh := time.FixedZone("CST", 8*3600)
	d := func(m time.Month, day int) time.Time { return time.Date(2026, m, day, 0, 0, 0, 0, sh) }
	today := d(3, 1) // the day after 28 February
	for _, tc := range []struct {
		name string
		days []time.Time
		want int
	}{
		{"none", nil, 0},
		{"today only", []time.Time{today}, 1},
		{"yesterday keeps it alive", []time.Time{d(2, 28), d(2, 27)}, 2},
		{"across the month, repeats", []time.Time{today, d(2, 28), d(2, 28), d(2, 27), d(2, 25)}, 3},
		{"broken two days ago", []time.Time{d(2, 27), d(2, 26)}, 0},
		{"unordered", []time.Time{d(2, 27), today, d(2, 28)}, 3},
	} {
		if got := DayStreak(tc.days, today); got != tc.want {
			t.Errorf("%s: got %d, want %d", tc.name, got, tc.want)
		}
	}
}
