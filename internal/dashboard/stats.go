package dashboard

import (
	"math"
	"sort"
)

// Facility is the share of answers that were correct (0..1); 0 when n is 0.
func Facility(correct, n int64) float64 {
	if n <= 0 {
		return 0
	}
	return float64(correct) / float64(n)
}

// Moments are the sufficient statistics of one question's point-biserial
// correlation: over the completed attempts that answered it, the number of
// attempts N, how many answered it correctly, and sums of the attempts'
// total scores (all, squared, and among the correct ones). They add up, so
// rollups keep them per question and combine them across groups.
type Moments struct {
	N             int64
	Correct       int64
	SumScore      float64
	SumScoreSq    float64
	SumScoreRight float64
}

// Add counts one attempt with total score and whether it got the item right.
func (m *Moments) Add(score float64, correct bool) {
	m.N++
	m.SumScore += score
	m.SumScoreSq += score * score
	if correct {
		m.Correct++
		m.SumScoreRight += score
	}
}

// PointBiserial is the correlation between getting the item right and the
// attempt's total score: (M1 − M0) / s · √(p·q), with s the population
// standard deviation of scores. ok is false when it is undefined (fewer
// than two attempts, everyone right or everyone wrong, or no score spread).
func (m Moments) PointBiserial() (r float64, ok bool) {
	if m.N < 2 || m.Correct == 0 || m.Correct == m.N {
		return 0, false
	}
	n := float64(m.N)
	mean := m.SumScore / n
	variance := m.SumScoreSq/n - mean*mean
	if variance <= 1e-12 {
		return 0, false
	}
	n1 := float64(m.Correct)
	n0 := n - n1
	m1 := m.SumScoreRight / n1
	m0 := (m.SumScore - m.SumScoreRight) / n0
	p := n1 / n
	return (m1 - m0) / math.Sqrt(variance) * math.Sqrt(p*(1-p)), true
}

// ScoreCell counts, for one item, the attempts with one total score and how
// many of them got the item right.
type ScoreCell struct {
	Score   int
	N       int64
	Correct int64
}

// UpperLower is the discrimination index D = p(upper) − p(lower), where the
// upper and lower groups are the top and bottom frac (usually 0.27) of the
// attempts by total score. cells may come in any order; at a group boundary
// that falls inside a run of equal scores, that score's attempts count
// pro rata. ok is false when the groups would be empty.
func UpperLower(cells []ScoreCell, frac float64) (d float64, ok bool) {
	var total int64
	for _, c := range cells {
		total += c.N
	}
	k := frac * float64(total)
	if k < 1 || frac <= 0 || frac > 0.5 {
		return 0, false
	}
	sorted := append([]ScoreCell(nil), cells...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Score < sorted[j].Score })
	lower := groupShare(sorted, k)
	for i, j := 0, len(sorted)-1; i < j; i, j = i+1, j-1 {
		sorted[i], sorted[j] = sorted[j], sorted[i]
	}
	upper := groupShare(sorted, k)
	return upper - lower, true
}

// groupShare returns the share correct among the first k attempts of cells.
func groupShare(cells []ScoreCell, k float64) float64 {
	taken, right := 0.0, 0.0
	for _, c := range cells {
		if taken >= k {
			break
		}
		take := math.Min(float64(c.N), k-taken)
		if c.N > 0 {
			right += take * float64(c.Correct) / float64(c.N)
		}
		taken += take
	}
	return right / taken
}

// Item flags: why a question looks broken.
const (
	FlagNegative   = "negative_discrimination" // stronger players get it wrong more often
	FlagNobody     = "nobody_right"            // no one answered it correctly
	FlagDistractor = "distractor_beats_key"    // a wrong option drew more answers than the key
)

// MinFlagAnswers is how many answers an item needs before it is flagged
// (Service.MinFlagAnswers overrides it).
const MinFlagAnswers = 20

// ItemFlags returns the flags of one item: answers in all, how many were
// correct, its discrimination (when defined), and the option counts with
// the key's indexes. Items with fewer than minAnswers answers get none.
func ItemFlags(minAnswers, n, correct int64, disc float64, discOK bool, optionCounts []int64, key []int) []string {
	if n < minAnswers {
		return nil
	}
	var flags []string
	if discOK && disc < 0 {
		flags = append(flags, FlagNegative)
	}
	if correct == 0 {
		flags = append(flags, FlagNobody)
	}
	var keyMax, wrongMax int64
	isKey := map[int]bool{}
	for _, k := range key {
		isKey[k] = true
	}
	for i, c := range optionCounts {
		if isKey[i] {
			keyMax = max(keyMax, c)
		} else {
			wrongMax = max(wrongMax, c)
		}
	}
	if len(key) == 1 && wrongMax > keyMax {
		flags = append(flags, FlagDistractor)
	}
	return flags
}

// Tiers of a literacy assessment, best first: the keys the campaign
// engine stores in campaign_attempts.tier (internal/scoring.DefaultTiers).
var Tiers = []string{"advanced", "literate", "basic", "low"}
