package scoring

import (
	"math"
	"sort"
)

// Campaign scoring. A campaign scores each question by one rule:
//
//   - speed: a correct answer earns Base plus a bonus that falls linearly
//     from Bonus (answered at once) to 0 (at the time limit);
//   - flat: a correct answer earns Base;
//   - assessment: the literacy survey's 100 points split by dimension
//     (the weights come from bank.DimensionWeight) over the
//     questions drawn in each dimension; the result falls into a tier.
//
// Multiple-choice questions are all-or-nothing unless partial credit is on:
// then each correctly chosen option earns its share and any wrong choice
// earns nothing.

// Campaign scoring rules.
const (
	RuleSpeed      = "speed"
	RuleFlat       = "flat"
	RuleAssessment = "assessment"
)

// Credit returns the fraction (0..1) of a question's points that choice
// earns against answer (both sets of option indexes). Without partial
// credit it is 1 for the exact set and 0 otherwise; with it, a choice that
// holds no wrong option earns |choice ∩ answer| / |answer|.
func Credit(choice, answer []int, partial bool) float64 {
	if len(answer) == 0 || len(choice) == 0 {
		return 0
	}
	key := make(map[int]bool, len(answer))
	for _, a := range answer {
		key[a] = true
	}
	seen := map[int]bool{}
	right := 0
	for _, c := range choice {
		if seen[c] {
			continue
		}
		seen[c] = true
		if !key[c] {
			return 0
		}
		right++
	}
	if right == len(key) {
		return 1
	}
	if !partial {
		return 0
	}
	return float64(right) / float64(len(key))
}

// SpeedPoints returns base + bonus·(1 − elapsed/limit) for a full-credit
// answer, scaled by credit, rounded half up. elapsedMS is clamped to
// [0, limitMS]; limitMS ≤ 0 earns the whole bonus.
func SpeedPoints(credit float64, base, bonus int, elapsedMS, limitMS int64) int {
	if credit <= 0 {
		return 0
	}
	b := float64(bonus)
	if limitMS > 0 {
		e := min(max(elapsedMS, 0), limitMS)
		b = float64(bonus) * float64(limitMS-e) / float64(limitMS)
	}
	return int(math.Floor(credit*(float64(base)+b) + 0.5))
}

// FlatPoints returns base scaled by credit, rounded half up.
func FlatPoints(credit float64, base int) int {
	if credit <= 0 {
		return 0
	}
	return int(math.Floor(credit*float64(base) + 0.5))
}

// AssessmentPoints splits each dimension's weight over the questions drawn
// in it: counts maps dimension to its number of questions. The result maps
// dimension to points per question (a weight that does not divide evenly
// is rounded down; the total is then below 100 and max_score says so).
func AssessmentPoints(weights, counts map[string]int) map[string]int {
	out := map[string]int{}
	for d, n := range counts {
		if n > 0 {
			out[d] = weights[d] / n
		}
	}
	return out
}

// Tier is one literacy level: a percentage above Min (or at least Min when
// Inclusive) reaches it. Key names it in the locale files
// ("campaign.tier_<key>").
type Tier struct {
	Key       string  `json:"key"`
	Min       float64 `json:"min"`
	Inclusive bool    `json:"inclusive,omitempty"`
}

// DefaultTiers are the survey's levels: >85 advanced, >70 literate,
// ≥55 basic, otherwise low.
var DefaultTiers = []Tier{
	{Key: "advanced", Min: 85},
	{Key: "literate", Min: 70},
	{Key: "basic", Min: 55, Inclusive: true},
	{Key: "low", Min: 0, Inclusive: true},
}

// TierOf returns the key of the highest tier pct reaches, or "" when none.
// tiers may come in any order.
func TierOf(pct float64, tiers []Tier) string {
	ts := append([]Tier(nil), tiers...)
	sort.SliceStable(ts, func(i, j int) bool { return ts[i].Min > ts[j].Min })
	for _, t := range ts {
		if pct > t.Min || (t.Inclusive && pct == t.Min) {
			return t.Key
		}
	}
	return ""
}

// Leaderboard ordering. A standing is packed into one float64 so that a
// Redis sorted set orders it by score descending, then time used ascending,
// then who reached it first. Bits (53 in all, every value exact):
//
//	[52..32] score        21 bits  0 … 2,097,151 points (clamped)
//	[31..17] 32767 − time 15 bits  time used in whole seconds, 0 … 32,767 (≈ 9.1 h, clamped)
//	[16..0]  131071 − at  17 bits  minutes from the campaign's start to when the
//	                               standing was reached, 0 … 131,071 (≈ 91 days, clamped)
//
// Higher is better. Standings equal in all three (same score, same second
// of time used, reached in the same minute) tie; Redis then orders them by
// member (user id) in reverse byte order. docs/leaderboards.md has more.
const (
	StandingScoreMax = 1<<21 - 1
	StandingTimeMax  = 1<<15 - 1
	StandingAtMax    = 1<<17 - 1
)

// Standing is a leaderboard position's inputs.
type Standing struct {
	Score     int64 // points
	TimeMS    int64 // time used, milliseconds
	ReachedMS int64 // milliseconds from the campaign's start
}

// Encode packs s into a float64 with 53 exact bits (see above).
func (s Standing) Encode() float64 {
	score := min(max(s.Score, 0), StandingScoreMax)
	t := min(max(s.TimeMS, 0)/1000, StandingTimeMax)
	at := min(max(s.ReachedMS, 0)/60000, StandingAtMax)
	v := uint64(score)<<32 | uint64(StandingTimeMax-t)<<17 | uint64(StandingAtMax-at)
	return float64(v)
}

// DecodeStanding unpacks an encoded standing: the score, the time used in
// whole seconds and the minute it was reached.
func DecodeStanding(f float64) (score, timeS, atMin int64) {
	v := uint64(f)
	score = int64(v >> 32)
	timeS = StandingTimeMax - int64(v>>17&StandingTimeMax)
	atMin = StandingAtMax - int64(v&StandingAtMax)
	return
}
