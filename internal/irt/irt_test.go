package irt

import (
	"math"
	"math/rand/v2"
	"testing"
)

// simulate draws true parameters and answers: nPersons people of ability
// N(0,1), each answering perPerson of the items (all when 0), with a fixed
// seed. chance, when set, replaces item i's response curve.
func simulate(seed uint64, nPersons, nItems, perPerson int, chance map[int]func(theta float64) float64) (truth []Item, theta []float64, persons [][]Response) {
	rng := rand.New(rand.NewPCG(seed, 1))
	truth = make([]Item, nItems)
	for i := range truth {
		truth[i] = Item{A: 0.5 + 1.5*rng.Float64(), B: rng.NormFloat64()}
	}
	theta = make([]float64, nPersons)
	persons = make([][]Response, nPersons)
	for p := range persons {
		theta[p] = rng.NormFloat64()
		items := rng.Perm(nItems)
		if perPerson > 0 {
			items = items[:perPerson]
		}
		for _, i := range items {
			pr := truth[i].P(theta[p])
			if f := chance[i]; f != nil {
				pr = f(theta[p])
			}
			persons[p] = append(persons[p], Response{Item: int32(i), Correct: rng.Float64() < pr})
		}
	}
	return truth, theta, persons
}

func correlation(x, y []float64) float64 {
	n := float64(len(x))
	var sx, sy, sxx, syy, sxy float64
	for i := range x {
		sx += x[i]
		sy += y[i]
		sxx += x[i] * x[i]
		syy += y[i] * y[i]
		sxy += x[i] * y[i]
	}
	return (n*sxy - sx*sy) / math.Sqrt((n*sxx-sx*sx)*(n*syy-sy*sy))
}

func params(items []Item, f func(Item) float64) []float64 {
	out := make([]float64, len(items))
	for i, it := range items {
		out[i] = f(it)
	}
	return out
}

func rmse(x, y []float64) float64 {
	s := 0.0
	for i := range x {
		s += (x[i] - y[i]) * (x[i] - y[i])
	}
	return math.Sqrt(s / float64(len(x)))
}

// The check: 2,000 simulated people × 50 items, the recovered
// difficulties correlate at least 0.95 with the true ones; so do the
// discriminations (≥ 0.85: they are harder to estimate), abilities are
// recovered, and the standard errors are about right.
func TestRecoverParameters(t *testing.T) {
	cases := []struct {
		name      string
		persons   int
		perPerson int
		minR      float64 // difficulty
		minRA     float64 // discrimination
	}{
		{"complete 2000x50", 2000, 0, 0.95, 0.85},
		{"each answers 20 of 50", 5000, 20, 0.95, 0.85},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			truth, theta, persons := simulate(18, tc.persons, 50, tc.perPerson, nil)
			res, err := Fit(50, persons, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if !res.Converged {
				t.Errorf("not converged after %d iterations", res.Iterations)
			}
			tb, gb := params(truth, func(i Item) float64 { return i.B }), params(res.Items, func(i Item) float64 { return i.B })
			ta, ga := params(truth, func(i Item) float64 { return i.A }), params(res.Items, func(i Item) float64 { return i.A })
			if r := correlation(tb, gb); r < tc.minR {
				t.Errorf("difficulty: correlation %.3f, want ≥ %.2f", r, tc.minR)
			}
			if r := correlation(ta, ga); r < tc.minRA {
				t.Errorf("discrimination: correlation %.3f, want ≥ %.2f", r, tc.minRA)
			}
			if e := rmse(tb, gb); e > 0.2 {
				t.Errorf("difficulty RMSE %.3f, want ≤ 0.2", e)
			}
			if e := rmse(ta, ga); e > 0.25 {
				t.Errorf("discrimination RMSE %.3f, want ≤ 0.25", e)
			}
			if r := correlation(theta, res.Theta); r < 0.85 {
				t.Errorf("EAP abilities: correlation %.3f with the true ones, want ≥ 0.85", r)
			}
			// The posterior SD should match the actual error of the EAP (within 20%).
			se2, err2 := 0.0, 0.0
			for p := range theta {
				se2 += res.SE[p] * res.SE[p]
				err2 += (res.Theta[p] - theta[p]) * (res.Theta[p] - theta[p])
			}
			if ratio := math.Sqrt(se2 / err2); ratio < 0.8 || ratio > 1.2 {
				t.Errorf("standard errors: RMS SE / RMS error = %.2f, want 0.8–1.2", ratio)
			}
			// The items' standard errors match their actual errors too (within 35%).
			seB, errB := 0.0, 0.0
			for i := range truth {
				seB += res.Items[i].SEB * res.Items[i].SEB
				errB += (truth[i].B - res.Items[i].B) * (truth[i].B - res.Items[i].B)
			}
			if ratio := math.Sqrt(seB / errB); ratio < 0.65 || ratio > 1.35 {
				t.Errorf("difficulty SE: RMS SE / RMS error = %.2f, want 0.65–1.35", ratio)
			}
			misfits := 0
			for _, it := range res.Items {
				if it.Fit.Misfits() {
					misfits++
				}
			}
			if misfits > 1 {
				t.Errorf("%d of 50 well-fitting items flagged as misfitting, want at most 1", misfits)
			}
			t.Logf("r(b)=%.3f r(a)=%.3f rmse(b)=%.3f rmse(a)=%.3f iterations=%d", correlation(tb, gb), correlation(ta, ga), rmse(tb, gb), rmse(ta, ga), res.Iterations)
		})
	}
}

// Fit is deterministic: the same answers give the same estimates.
func TestDeterministic(t *testing.T) {
	_, _, persons := simulate(7, 500, 20, 0, nil)
	r1, _ := Fit(20, persons, Options{})
	r2, _ := Fit(20, persons, Options{})
	for i := range r1.Items {
		if r1.Items[i] != r2.Items[i] {
			t.Fatalf("item %d: %+v then %+v", i, r1.Items[i], r2.Items[i])
		}
	}
}

// A bad item is told apart: one whose chance is highest in the middle of
// the ability range misfits; one answered at random has a slope near 0;
// a miskeyed one (the better you are, the likelier wrong) a negative
// slope. The good items around them keep their fit.
func TestBadItems(t *testing.T) {
	chance := map[int]func(float64) float64{
		0: func(th float64) float64 { return 0.9 * math.Exp(-th*th) },     // non-monotone
		1: func(float64) float64 { return 0.5 },                           // random
		2: func(th float64) float64 { return 1 - logistic(1.5*(th-0.3)) }, // miskeyed
	}
	_, _, persons := simulate(3, 2000, 30, 0, chance)
	res, err := Fit(30, persons, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if f := res.Items[0].Fit; !f.Misfits() {
		t.Errorf("non-monotone item: fit %+v, want a misfit", f)
	}
	if a := res.Items[1].A; math.Abs(a) > 0.15 || a >= LowDiscrimination {
		t.Errorf("random item: a = %.3f, want near 0", a)
	}
	if a := res.Items[2].A; a > -0.8 {
		t.Errorf("miskeyed item: a = %.3f, want clearly negative", a)
	}
	for i := 3; i < 30; i++ {
		if f := res.Items[i].Fit; f.Misfits() {
			t.Errorf("good item %d: fit %+v, want no misfit", i, f)
		}
	}
}

// Everyone right or everyone wrong: the priors keep the estimates finite.
func TestExtremeItemsFinite(t *testing.T) {
	_, _, persons := simulate(5, 300, 10, 0, map[int]func(float64) float64{
		0: func(float64) float64 { return 1 },
		1: func(float64) float64 { return 0 },
	})
	res, err := Fit(10, persons, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		it := res.Items[i]
		if math.IsNaN(it.A) || math.IsNaN(it.B) || math.IsInf(it.B, 0) || math.Abs(it.B) > 30 {
			t.Errorf("item %d: a=%v b=%v, want finite", i, it.A, it.B)
		}
	}
	if res.Items[0].B > -2 || res.Items[1].B < 2 {
		t.Errorf("all right: b=%.2f (want very easy), all wrong: b=%.2f (want very hard)", res.Items[0].B, res.Items[1].B)
	}
}

func TestNoData(t *testing.T) {
	if _, err := Fit(3, [][]Response{{}, nil}, Options{}); err != ErrNoData {
		t.Errorf("got %v, want ErrNoData", err)
	}
	if _, err := Fit(3, [][]Response{{{Item: 3}}}, Options{}); err == nil {
		t.Error("item out of range: got no error")
	}
}

// Information: a²PQ peaks at b with a²/4, a test's is the sum, and the
// scored SE is about 1/√(1 + information) for a long test.
func TestInformationAndScore(t *testing.T) {
	it := Item{A: 2, B: 0.5}
	if got := it.Information(0.5); math.Abs(got-1) > 1e-12 {
		t.Errorf("information at b: got %v, want a²/4 = 1", got)
	}
	if it.Information(3) >= it.Information(0.5) {
		t.Error("information should fall away from b")
	}
	items := make([]Item, 40)
	for i := range items {
		items[i] = Item{A: 1.5, B: -1 + 2*float64(i)/39}
	}
	info := TestInformation(items, 0)
	if want := 40 * items[0].Information(0); math.Abs(info-want) > 0.5*want {
		t.Errorf("test information %.2f, want about %.2f", info, want)
	}
	r := &Result{Items: items}
	r.nodes, r.weights = grid(41)
	var rs []Response
	for i := range items {
		rs = append(rs, Response{Item: int32(i), Correct: i%2 == 0})
	}
	theta, se := r.Score(rs)
	if math.Abs(theta) > 0.3 {
		t.Errorf("half right on a symmetric test: θ = %.2f, want near 0", theta)
	}
	if want := 1 / math.Sqrt(1+info); math.Abs(se-want) > 0.05 {
		t.Errorf("SE %.3f, want about %.3f", se, want)
	}
	if th, se := r.Score(nil); th != 0 && math.Abs(th) > 1e-9 || math.Abs(se-1) > 0.01 {
		t.Errorf("no answers: θ=%.3f SE=%.3f, want the prior 0 and 1", th, se)
	}
}
