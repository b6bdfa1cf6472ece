package survey

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

// population is a simulated city: every person's district, age band,
// occupation and whether they are literate.
type population struct {
	district, age, occ []int
	literate           []float64
	ageTotals          []float64 // district × age
	occTotals          []float64 // district × occupation
}

const (
	simDistricts = 4
	simAges      = 5
	simOccs      = 3
)

func newPopulation(rng *rand.Rand, n int) population {
	var p population
	p.ageTotals = make([]float64, simDistricts*simAges)
	p.occTotals = make([]float64, simDistricts*simOccs)
	for range n {
		d, a, o := rng.IntN(simDistricts), rng.IntN(simAges), rng.IntN(simOccs)
		// Literacy falls with age, rises with district and occupation.
		logit := -0.4 + 0.3*float64(d) - 0.35*float64(a) + 0.5*float64(o)
		y := 0.0
		if rng.Float64() < 1/(1+math.Exp(-logit)) {
			y = 1
		}
		p.district, p.age, p.occ = append(p.district, d), append(p.age, a), append(p.occ, o)
		p.literate = append(p.literate, y)
		p.ageTotals[d*simAges+a]++
		p.occTotals[d*simOccs+o]++
	}
	return p
}

// truth is the population share literate in district d (−1: everywhere).
func (p population) truth(d int) float64 {
	var n, y float64
	for i := range p.literate {
		if d < 0 || p.district[i] == d {
			n++
			y += p.literate[i]
		}
	}
	return y / n
}

// sample draws a self-selected (Poisson) sample: the young, the third
// occupation and the last district take part far more often, so the raw
// share is biased upwards.
func (p population) sample(rng *rand.Rand, rate float64) (y []float64, dims [][]int, district []int) {
	dims = [][]int{nil, nil}
	for i := range p.literate {
		pi := rate * (1.6 - 0.3*float64(p.age[i])) * (0.5 + 0.5*float64(p.occ[i])) * (0.6 + 0.3*float64(p.district[i]))
		if rng.Float64() < pi {
			y = append(y, p.literate[i])
			dims[0] = append(dims[0], p.district[i]*simAges+p.age[i])
			dims[1] = append(dims[1], p.district[i]*simOccs+p.occ[i])
			district = append(district, p.district[i])
		}
	}
	return y, dims, district
}

func TestRakeReproducesMargins(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	pop := newPopulation(rng, 20000)
	y, dims, _ := pop.sample(rng, 0.05)
	targets := [][]float64{pop.ageTotals, pop.occTotals}
	for _, trim := range []bool{false, true} {
		var w []float64
		var err error
		if trim {
			w, _, err = RakeTrimmed(dims, targets, 2) // a tight cap, so trimming bites
		} else {
			w, _, err = Rake(dims, targets, nil, 0, 0)
		}
		if err != nil {
			t.Fatal(err)
		}
		if e := MarginError(dims, targets, w); e > 0.001 {
			t.Errorf("trim %v: margins off by %.4f%%, want within 0.1%%", trim, 100*e)
		}
		if len(w) != len(y) {
			t.Fatalf("got %d weights, want %d", len(w), len(y))
		}
	}
}

func TestRakeTrimmedCapsWeights(t *testing.T) {
	// Two respondents stand for a huge cell: their weights are capped at
	// 5× the median, and the others absorb the rest after re-raking.
	dims := [][]int{{0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}}
	targets := [][]float64{{1000, 100}}
	w, res, err := RakeTrimmed(dims, targets, 0)
	if err != nil {
		t.Fatal(err)
	}
	// One dimension: raking puts every weight back on the margin, so the
	// cap cannot hold; the result says so instead of missing the margin.
	if e := MarginError(dims, targets, w); e > 1e-6 {
		t.Errorf("margin error %g, want 0", e)
	}
	if res.Rounds == 0 || res.MaxRatio < 5 {
		t.Errorf("got %d rounds, max ratio %.1f; want trimming tried and the ratio reported", res.Rounds, res.MaxRatio)
	}
}

func TestRakeEmptyCell(t *testing.T) {
	_, _, err := Rake([][]int{{0, 0}}, [][]float64{{5, 5}}, nil, 0, 0)
	if !errors.Is(err, ErrEmptyCell) {
		t.Fatalf("got %v, want ErrEmptyCell", err)
	}
	if _, _, err := Rake([][]int{{0}, {0}}, [][]float64{{5}, {9}}, nil, 0, 0); err == nil {
		t.Fatal("dimensions with different totals: got no error")
	}
}

func TestCollapse(t *testing.T) {
	for _, tc := range []struct {
		n    []int
		want []int
		k    int
	}{
		{[]int{10, 10, 10}, []int{0, 1, 2}, 3},
		{[]int{0, 3, 4, 10}, []int{0, 0, 0, 1}, 2},
		{[]int{10, 2}, []int{0, 0}, 1},
		{[]int{1, 1}, []int{0, 0}, 1},
		{[]int{6, 0, 0, 6}, []int{0, 1, 1, 1}, 2},
	} {
		got, k := Collapse(tc.n, 5)
		if k != tc.k || len(got) != len(tc.want) {
			t.Errorf("Collapse(%v) = %v, %d; want %v, %d", tc.n, got, k, tc.want, tc.k)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("Collapse(%v) = %v; want %v", tc.n, got, tc.want)
				break
			}
		}
	}
}

func TestShareUnweighted(t *testing.T) {
	y := []float64{1, 1, 1, 0, 0, 0, 0, 0, 0, 0}
	e := Share(y, nil, nil, nil)
	if e.N != 10 || math.Abs(e.Share-0.3) > 1e-12 || e.Weighted {
		t.Fatalf("got %+v, want n 10, share 0.3, unweighted", e)
	}
	if want := math.Sqrt(0.3 * 0.7 / 9); math.Abs(e.SE-want) > 1e-12 {
		t.Errorf("SE %g, want %g", e.SE, want)
	}
	if e.Lo <= 0 || e.Hi >= 1 || e.Lo >= 0.3 || e.Hi <= 0.3 {
		t.Errorf("interval [%g, %g] does not hold 0.3 inside (0, 1)", e.Lo, e.Hi)
	}
	// All literate: the interval still has width.
	all := Share([]float64{1, 1, 1, 1, 1}, nil, nil, nil)
	if all.Hi != 1 || all.Lo > 0.7 || all.Lo <= 0 {
		t.Errorf("share 1 of 5: interval [%g, %g], want about [0.57, 1]", all.Lo, all.Hi)
	}
}

// TestIntervalCoverage: over 1,000 self-selected samples of one simulated
// population, the raked and trimmed estimate's 95% interval holds the
// population's true share 93–97% of the time, for the city and for one
// district; the unweighted interval, biased by self-selection, does not.
func TestIntervalCoverage(t *testing.T) {
	rng := rand.New(rand.NewPCG(2026, 18))
	pop := newPopulation(rng, 20000)
	targets := [][]float64{pop.ageTotals, pop.occTotals}
	city, d2 := pop.truth(-1), pop.truth(2)
	const sims = 1000
	var coverCity, coverDistrict, coverRaw int
	var deff float64
	for range sims {
		y, dims, district := pop.sample(rng, 0.06)
		w, _, err := RakeTrimmed(dims, targets, 0)
		if err != nil {
			t.Fatal(err)
		}
		e := Share(y, w, dims, nil)
		if e.Lo <= city && city <= e.Hi {
			coverCity++
		}
		deff += e.Deff
		in := make([]bool, len(y))
		for i, d := range district {
			in[i] = d == 2
		}
		if e := Share(y, w, dims, in); e.Lo <= d2 && d2 <= e.Hi {
			coverDistrict++
		}
		if raw := Share(y, nil, nil, nil); raw.Lo <= city && city <= raw.Hi {
			coverRaw++
		}
	}
	for _, c := range []struct {
		name string
		n    int
	}{{"city", coverCity}, {"district", coverDistrict}} {
		if got := float64(c.n) / sims; got < 0.93 || got > 0.97 {
			t.Errorf("%s coverage %.3f, want 0.93–0.97", c.name, got)
		}
	}
	if got := float64(coverRaw) / sims; got > 0.5 {
		t.Errorf("unweighted coverage %.3f: the simulated self-selection should bias it", got)
	}
	t.Logf("coverage: city %.3f, district %.3f, unweighted %.3f; mean deff %.2f", float64(coverCity)/sims,
		float64(coverDistrict)/sims, float64(coverRaw)/sims, deff/sims)
}
