package scoring

// Contest scoring: a correct answer earns its full points when given at
// once and less the slower it comes, never below half; a wrong or missing
// answer earns nothing; an answer streak may add a bonus.

// DefaultContestPoints is what a correct answer is worth unless the host
// chooses otherwise.
const DefaultContestPoints = 1000

// ContestPoints returns the points of one answer. base is the question's
// full value (0 for a practice question); elapsedMS is how long the player
// took, already credited for network latency; limitMS is the question's
// time. The result falls linearly from base (instant) to base/2 (at the
// limit) and is clamped to that range.
func ContestPoints(correct bool, base int, elapsedMS, limitMS int64) int {
	if !correct || base <= 0 {
		return 0
	}
	if limitMS <= 0 {
		return base
	}
	if elapsedMS < 0 {
		elapsedMS = 0
	}
	if elapsedMS > limitMS {
		elapsedMS = limitMS
	}
	// base * (1 - elapsed/(2*limit)), rounded half up in integers.
	num := int64(base) * (2*limitMS - elapsedMS)
	den := 2 * limitMS
	p := int((num + den/2) / den)
	if half := (base + 1) / 2; p < half {
		p = half
	}
	return p
}

// Streak bonus: from the second correct answer in a row, each answer earns
// StreakStep more, up to StreakMax.
const (
	StreakStep = 100
	StreakMax  = 500
)

// StreakBonus returns the bonus of an answer that makes streak correct
// answers in a row (streak counts this answer). Practice questions
// (base 0) earn no bonus.
func StreakBonus(streak int, base int) int {
	if streak < 2 || base <= 0 {
		return 0
	}
	b := (streak - 1) * StreakStep
	if b > StreakMax {
		b = StreakMax
	}
	return b
}

// LatencyCreditMaxMS bounds how much measured network latency may be
// subtracted from an answer's time (see docs/fairness.md, "Contests").
const LatencyCreditMaxMS = 300

// CreditedElapsed returns the answer time that counts: the time between
// the question opening and the answer arriving at the server, less half the
// connection's measured round trip, the credit bounded by
// LatencyCreditMaxMS, never below zero.
func CreditedElapsed(receivedMS, rttMS int64) int64 {
	credit := rttMS / 2
	if credit < 0 {
		credit = 0
	}
	if credit > LatencyCreditMaxMS {
		credit = LatencyCreditMaxMS
	}
	e := receivedMS - credit
	if e < 0 {
		e = 0
	}
	return e
}

// ValidChoice reports whether c is an acceptable answer to a question of
// type typ with options options: at least one option, distinct, in range,
// and exactly one unless typ is "multiple". Contests and PK battles use it.
func ValidChoice(typ string, options int, c []int) bool {
	if len(c) == 0 || len(c) > options {
		return false
	}
	if typ != "multiple" && len(c) != 1 {
		return false
	}
	seen := map[int]bool{}
	for _, x := range c {
		if x < 0 || x >= options || seen[x] {
			return false
		}
		seen[x] = true
	}
	return true
}
