package scoring

import "time"

// DayStreak is how many consecutive days up to today have at least one of
// days (dates at midnight in one location, any order, repeats allowed):
// the run that ends today, or yesterday when today has none yet (a streak
// stays alive until the day ends). 0 when neither today nor yesterday is
// among days.
func DayStreak(days []time.Time, today time.Time) int {
	have := make(map[[3]int]bool, len(days))
	key := func(t time.Time) [3]int { y, m, d := t.Date(); return [3]int{y, int(m), d} }
	for _, d := range days {
		have[key(d)] = true
	}
	day := today
	if !have[key(day)] {
		day = day.AddDate(0, 0, -1)
	}
	n := 0
	for have[key(day)] {
		n++
		day = day.AddDate(0, 0, -1)
	}
	return n
}
