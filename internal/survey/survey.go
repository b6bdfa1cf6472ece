// Package survey holds the survey statistics behind the literacy share
// (docs/measurement.md, "Literacy share and weighting"): raking
// (iterative proportional fitting) of a sample to population margins,
// weight trimming, and the weighted share of a domain with its
// linearization variance, design effect, effective sample size and 95%
// Wilson interval. It is pure Go: no database, no clock, no randomness.
//
// A sample of n respondents is described by Dims: Dims[k][i] is the
// category of respondent i in calibration dimension k (for Kepu: the
// district × age-band cell, and optionally the district × occupation cell),
// and Targets[k][c] is the population of category c of dimension k. Every
// dimension must describe the same population total.
package survey

import (
	"errors"
	"fmt"
	"math"
	"sort"
)

// Z95 is the normal quantile of a two-sided 95% interval.
const Z95 = 1.959963984540054

// TrimFactor is the default weight cap: a weight may be at most this many
// times the median weight (see Trim).
const TrimFactor = 5.0

// ErrEmptyCell is returned by Rake when a category has a positive
// population but no respondent: no weight can reach it. Callers collapse
// such cells first (Collapse).
var ErrEmptyCell = errors.New("survey: a margin cell with population has no respondent")

// RakeResult describes a raking run.
type RakeResult struct {
	Iterations int
	Converged  bool
	// MaxRelError is the largest |weighted total − target| / target over
	// every category with a positive target, after the last iteration.
	MaxRelError float64
}

// Rake returns weights that reproduce every margin: for each dimension k
// and category c, the weights of the respondents in c sum to
// targets[k][c]. It starts from base (nil: every weight 1) and alternates
// over the dimensions, scaling each category to its target, until every
// margin is within tol (relative; 0: 1e-9) or maxIter sweeps (0: 500).
// A category with a target of 0 gets weight 0. ErrEmptyCell when a
// positive target has no respondent; an error when the dimensions'
// totals differ by more than 0.1%.
func Rake(dims [][]int, targets [][]float64, base []float64, tol float64, maxIter int) ([]float64, RakeResult, error) {
	if len(dims) != len(targets) {
		return nil, RakeResult{}, fmt.Errorf("survey: %d dimensions, %d target lists", len(dims), len(targets))
	}
	n := -1
	var total float64
	for k, d := range dims {
		if n >= 0 && len(d) != n {
			return nil, RakeResult{}, fmt.Errorf("survey: dimension %d has %d respondents, want %d", k, len(d), n)
		}
		n = len(d)
		counts := make([]int, len(targets[k]))
		for i, c := range d {
			if c < 0 || c >= len(targets[k]) {
				return nil, RakeResult{}, fmt.Errorf("survey: respondent %d: category %d out of range in dimension %d", i, c, k)
			}
			counts[c]++
		}
		var t float64
		for c, v := range targets[k] {
			if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, RakeResult{}, fmt.Errorf("survey: target %d of dimension %d is %v", c, k, v)
			}
			if v > 0 && counts[c] == 0 {
				return nil, RakeResult{}, ErrEmptyCell
			}
			t += v
		}
		if k == 0 {
			total = t
		} else if math.Abs(t-total) > 1e-3*math.Max(total, 1) {
			return nil, RakeResult{}, fmt.Errorf("survey: dimension %d totals %.0f, dimension 0 totals %.0f", k, t, total)
		}
	}
	if n < 0 {
		return nil, RakeResult{}, fmt.Errorf("survey: no dimensions")
	}
	if tol <= 0 {
		tol = 1e-9
	}
	if maxIter <= 0 {
		maxIter = 500
	}
	w := make([]float64, n)
	for i := range w {
		w[i] = 1
		if base != nil {
			w[i] = base[i]
		}
	}
	var res RakeResult
	sums := make([][]float64, len(dims))
	for k := range dims {
		sums[k] = make([]float64, len(targets[k]))
	}
	for res.Iterations = 1; res.Iterations <= maxIter; res.Iterations++ {
		for k, d := range dims {
			s := sums[k]
			clear(s)
			for i, c := range d {
				s[c] += w[i]
			}
			for i, c := range d {
				if s[c] > 0 {
					w[i] *= targets[k][c] / s[c]
				} else {
					w[i] = 0
				}
			}
		}
		res.MaxRelError = MarginError(dims, targets, w)
		if res.MaxRelError <= tol {
			res.Converged = true
			break
		}
	}
	if res.Iterations > maxIter {
		res.Iterations = maxIter
	}
	return w, res, nil
}

// MarginError is the largest relative difference between the weighted
// totals of w and the targets, over every category with a positive target.
func MarginError(dims [][]int, targets [][]float64, w []float64) float64 {
	worst := 0.0
	for k, d := range dims {
		s := make([]float64, len(targets[k]))
		for i, c := range d {
			s[c] += w[i]
		}
		for c, t := range targets[k] {
			if t > 0 {
				worst = math.Max(worst, math.Abs(s[c]-t)/t)
			}
		}
	}
	return worst
}

// TrimResult describes a trim-and-rake run.
type TrimResult struct {
	RakeResult
	Rounds  int     // trim-then-rake rounds (0: no weight was above the cap)
	Trimmed int     // respondents whose weight was capped in the last round
	Cap     float64 // the cap of the last round
	// MaxRatio is the largest final weight over the median weight; re-raking
	// may lift a capped weight a little above the cap.
	MaxRatio float64
}

// RakeTrimmed rakes, then caps every weight at factor (0: TrimFactor) times
// the median positive weight and rakes again from the capped weights,
// repeating (at most 10 rounds) until no weight exceeds the cap by more
// than 1%. The result always reproduces the margins (the last step is a
// rake); MaxRatio says how far the cap held.
func RakeTrimmed(dims [][]int, targets [][]float64, factor float64) ([]float64, TrimResult, error) {
	if factor <= 0 {
		factor = TrimFactor
	}
	w, rr, err := Rake(dims, targets, nil, 1e-7, 0)
	if err != nil {
		return nil, TrimResult{}, err
	}
	res := TrimResult{RakeResult: rr}
	for round := 1; round <= 10; round++ {
		med := Median(w)
		capW := factor * med
		over := 0
		for _, x := range w {
			if x > capW*1.01 {
				over++
			}
		}
		res.Cap = capW
		if over == 0 {
			break
		}
		res.Rounds, res.Trimmed = round, over
		base := make([]float64, len(w))
		for i, x := range w {
			base[i] = math.Min(x, capW)
		}
		if w, rr, err = Rake(dims, targets, base, 1e-7, 0); err != nil {
			return nil, res, err
		}
		res.RakeResult = rr
	}
	if med := Median(w); med > 0 {
		for _, x := range w {
			res.MaxRatio = math.Max(res.MaxRatio, x/med)
		}
	}
	return w, res, nil
}

// Median is the median of the positive values of xs (0 when none).
func Median(xs []float64) float64 {
	pos := make([]float64, 0, len(xs))
	for _, x := range xs {
		if x > 0 {
			pos = append(pos, x)
		}
	}
	if len(pos) == 0 {
		return 0
	}
	sort.Float64s(pos)
	m := len(pos) / 2
	if len(pos)%2 == 1 {
		return pos[m]
	}
	return (pos[m-1] + pos[m]) / 2
}

// Collapse groups ordered categories with counts n into runs of adjacent
// categories holding at least min respondents each: it returns the group of
// every category (groups numbered from 0 in order) and the number of
// groups. A short run at the end joins the run before it; when the counts
// total fewer than min, everything is one group. Categories with no
// respondents join a neighbour, so no group of positive population is
// empty (see ErrEmptyCell).
func Collapse(n []int, min int) ([]int, int) {
	group := make([]int, len(n))
	g, run := 0, 0
	for c, x := range n {
		group[c] = g
		run += x
		if run >= min && c < len(n)-1 {
			g++
			run = 0
		}
	}
	if run < min && g > 0 { // the last run is short: join it to the one before
		for c := range group {
			if group[c] == g {
				group[c] = g - 1
			}
		}
		g--
	}
	return group, g + 1
}

// Estimate is a share with its uncertainty.
type Estimate struct {
	N        int     `json:"n"`        // respondents in the domain
	Share    float64 `json:"share"`    // weighted share, 0..1
	SE       float64 `json:"se"`       // standard error of Share
	Lo       float64 `json:"lo"`       // 95% interval
	Hi       float64 `json:"hi"`       //
	Deff     float64 `json:"deff"`     // design effect: variance over that of a simple random sample of N
	ESS      float64 `json:"ess"`      // effective sample size N / Deff
	Weighted bool    `json:"weighted"` // weights were not all equal
}

// Share estimates the weighted share of y (0 or 1 per respondent) among
// the respondents in domain (nil: everyone) with weights w (nil: all 1)
// calibrated on dims (nil: no calibration).
//
// Variance: Taylor linearization of the ratio Σwy/Σw with the
// calibration taken into account (Deville and Särndal 1992): the
// linearized values z = 1[domain](y − share)/Σ_domain w are replaced by
// their residuals r from a weighted regression on the categories of every
// dimension (solved by backfitting), and V = n/(n−q) Σ (w·r)², q being
// the number of calibration cells fitted (1 without calibration). Without
// calibration this is the usual ratio variance. The design effect is
// V / (share(1−share)/N) (for a share of 0 or 1, Kish's 1 + CV² of the
// domain's weights), ESS = N/Deff, and the interval is Wilson's score
// interval computed with ESS in place of N, which stays inside [0, 1] and
// behaves at small N and shares near 0 or 1.
func Share(y, w []float64, dims [][]int, domain []bool) Estimate {
	n := len(y)
	in := func(i int) bool { return domain == nil || domain[i] }
	wt := func(i int) float64 {
		if w == nil {
			return 1
		}
		return w[i]
	}
	var e Estimate
	var sw, swy, sw2 float64
	for i := range n {
		if !in(i) || wt(i) <= 0 {
			continue
		}
		e.N++
		sw += wt(i)
		sw2 += wt(i) * wt(i)
		swy += wt(i) * y[i]
	}
	if e.N == 0 || sw <= 0 {
		return e
	}
	p := swy / sw
	e.Share = p
	for i := range n {
		if in(i) && wt(i) > 0 && math.Abs(wt(i)-sw/float64(e.N)) > 1e-9*sw/float64(e.N) {
			e.Weighted = true
			break
		}
	}
	r := make([]float64, n)
	for i := range n {
		if in(i) && wt(i) > 0 {
			r[i] = (y[i] - p) / sw
		}
	}
	q := residualize(r, w, dims)
	var v float64
	m := 0
	for i := range n {
		if wt(i) > 0 {
			m++
			x := wt(i) * r[i]
			v += x * x
		}
	}
	if m > q {
		v *= float64(m) / float64(m-q)
	}
	e.SE = math.Sqrt(v)
	srs := p * (1 - p) / float64(e.N)
	if srs > 0 && v > 0 {
		e.Deff = v / srs
	} else {
		e.Deff = float64(e.N) * sw2 / (sw * sw) // Kish: 1 + CV² of the weights
	}
	e.ESS = float64(e.N) / e.Deff
	e.Lo, e.Hi = Wilson(p, e.ESS)
	return e
}

// residualize replaces r by its residuals from the weighted least-squares
// fit on the indicator variables of every category of every dimension
// (an additive model, fitted by backfitting: alternately subtract each
// category's weighted mean residual until the means vanish). It returns
// the number of parameters fitted (1 without dimensions: the share
// itself), for the degrees-of-freedom factor of the variance.
func residualize(r, w []float64, dims [][]int) int {
	if len(dims) == 0 {
		return 1
	}
	wt := func(i int) float64 {
		if w == nil {
			return 1
		}
		return w[i]
	}
	cats := make([]int, len(dims))
	for k, d := range dims {
		for _, c := range d {
			cats[k] = max(cats[k], c+1)
		}
	}
	q := 1 - len(dims) // every dimension's categories span the constant
	for k := range dims {
		q += cats[k]
	}
	var scale float64
	for _, x := range r {
		scale = math.Max(scale, math.Abs(x))
	}
	if scale == 0 {
		return q
	}
	nums, dens := make([][]float64, len(dims)), make([][]float64, len(dims))
	for k := range dims {
		nums[k], dens[k] = make([]float64, cats[k]), make([]float64, cats[k])
	}
	for iter := 0; iter < 200; iter++ {
		worst := 0.0
		for k, d := range dims {
			num, den := nums[k], dens[k]
			clear(num)
			clear(den)
			for i, c := range d {
				if wt(i) > 0 {
					num[c] += wt(i) * r[i]
					den[c] += wt(i)
				}
			}
			for c := range num {
				if den[c] > 0 {
					num[c] /= den[c]
					worst = math.Max(worst, math.Abs(num[c]))
				}
			}
			for i, c := range d {
				if wt(i) > 0 {
					r[i] -= num[c]
				}
			}
		}
		if len(dims) == 1 || worst <= 1e-8*scale {
			return q
		}
	}
	return q
}

// Wilson is the 95% Wilson score interval of a share p observed in n
// (possibly fractional, effective) respondents.
func Wilson(p, n float64) (lo, hi float64) {
	if n <= 0 {
		return 0, 1
	}
	z2 := Z95 * Z95
	den := 1 + z2/n
	centre := (p + z2/(2*n)) / den
	half := Z95 / den * math.Sqrt(p*(1-p)/n+z2/(4*n*n))
	return math.Max(0, centre-half), math.Min(1, centre+half)
}

// Difference is the change b − a between two independent estimates with
// its 95% normal interval (the samples of two years are independent).
func Difference(a, b Estimate) (d, lo, hi float64) {
	d = b.Share - a.Share
	se := math.Sqrt(a.SE*a.SE + b.SE*b.SE)
	return d, d - Z95*se, d + Z95*se
}
