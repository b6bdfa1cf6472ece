// Package irt fits the two-parameter logistic (2PL) item response model to
// right/wrong answers and scores people on it. It is pure Go with no I/O.
//
// The model: a person of ability θ answers item i correctly with
// probability P_i(θ) = 1 / (1 + exp(−a_i(θ − b_i))), where b_i is the
// difficulty (the ability with a 50% chance) and a_i the discrimination
// (how sharply the chance rises around b_i). Abilities are on the scale of
// the population: N(0, 1).
//
// Fit estimates a and b by marginal maximum likelihood with the EM
// algorithm of Bock and Aitkin (1981): abilities are integrated out over a
// fixed grid of quadrature nodes on N(0, 1) (Nodes, from −4 to 4). The
// E-step gives each person a posterior over the nodes from their answers;
// the M-step maximizes, item by item, the expected complete-data
// log-likelihood by Newton–Raphson. Each person may answer any subset of
// the items (missing answers carry no information), so answers from
// campaigns that each draw different questions go into one fit.
//
// Weak priors keep every estimate finite, also for an item that (almost)
// everyone gets right or wrong: the M-step works on the slope a and the
// intercept c = −a·b, a ~ N(1, 1) and c ~ N(0, 3²) (so the objective is
// concave and Newton converges); b = −c/a is reported. The prior on a is
// centred on 1 but allows negative slopes, so a miskeyed item shows up with
// a < 0 instead of being pushed to a small positive value.
package irt

import (
	"errors"
	"math"
)

// Response is one answer: item index (0-based) and whether it was right.
type Response struct {
	Item    int32
	Correct bool
}

// Options tune Fit; the zero value uses the defaults.
type Options struct {
	Nodes     int     // quadrature nodes (default 41, from −4 to 4)
	MaxIter   int     // EM cycles (default 500)
	Tolerance float64 // stop when no parameter moves more than this (default 1e-4)
	PriorA    Normal  // prior on the slope (default N(1, 1))
	PriorC    Normal  // prior on the intercept −a·b (default N(0, 3²))
	FitGroups int     // ability groups of the fit statistic (default 10)
}

// Normal is a normal prior N(Mean, SD²).
type Normal struct{ Mean, SD float64 }

func (o *Options) defaults() {
	if o.Nodes <= 1 {
		o.Nodes = 41
	}
	if o.MaxIter <= 0 {
		o.MaxIter = 500
	}
	if o.Tolerance <= 0 {
		o.Tolerance = 1e-4
	}
	if o.PriorA.SD <= 0 {
		o.PriorA = Normal{1, 1}
	}
	if o.PriorC.SD <= 0 {
		o.PriorC = Normal{0, 3}
	}
	if o.FitGroups < 3 {
		o.FitGroups = 10
	}
}

// Item holds one item's estimates.
type Item struct {
	A   float64 `json:"a"`    // discrimination (slope)
	B   float64 `json:"b"`    // difficulty
	SEA float64 `json:"se_a"` // standard error of A
	SEB float64 `json:"se_b"` // standard error of B (delta method; large when A is near 0)
	N   int     `json:"n"`    // answers
	// PValue is the classical facility: the share of answers that were right.
	PValue float64 `json:"p_value"`
	Fit    ItemFit `json:"fit"`
}

// P is the probability that a person of ability theta answers right.
func (it Item) P(theta float64) float64 { return logistic(it.A * (theta - it.B)) }

// Information is the item's Fisher information at theta: a²·P·(1−P).
func (it Item) Information(theta float64) float64 {
	p := it.P(theta)
	return it.A * it.A * p * (1 - p)
}

// TestInformation is the information of a set of items at theta; the
// standard error of an ability estimate there is about 1/√information.
func TestInformation(items []Item, theta float64) float64 {
	s := 0.0
	for _, it := range items {
		s += it.Information(theta)
	}
	return s
}

// Result is a fitted model.
type Result struct {
	Items      []Item
	Persons    int     // people with at least one answer
	Responses  int     // answers used
	Iterations int     // EM cycles run
	Converged  bool    // stopped by Tolerance, not MaxIter
	LogLik     float64 // marginal log-likelihood at the estimates (without the priors)
	// Theta and SE are each person's EAP ability (posterior mean) and its
	// standard error (posterior standard deviation), in the input's order.
	Theta, SE []float64

	nodes, weights []float64
}

// ErrNoData is returned by Fit when no person answered any item.
var ErrNoData = errors.New("irt: no responses")

// Fit estimates the 2PL model for nItems items from each person's answers
// (persons[p] lists person p's answers; an item index out of range is an
// error). Deterministic: the same input gives the same result.
func Fit(nItems int, persons [][]Response, opt Options) (*Result, error) {
	opt.defaults()
	nodes, weights := grid(opt.Nodes)
	nq := len(nodes)
	res := &Result{Items: make([]Item, nItems), nodes: nodes, weights: weights}
	right := make([]int, nItems)
	for _, rs := range persons {
		if len(rs) > 0 {
			res.Persons++
		}
		for _, r := range rs {
			if r.Item < 0 || int(r.Item) >= nItems {
				return nil, errors.New("irt: item index out of range")
			}
			res.Items[r.Item].N++
			res.Responses++
			if r.Correct {
				right[r.Item]++
			}
		}
	}
	if res.Responses == 0 {
		return nil, ErrNoData
	}
	// Start: slope 1, intercept from the logit of the facility.
	a := make([]float64, nItems)
	c := make([]float64, nItems)
	for i := range a {
		a[i] = 1
		if n := res.Items[i].N; n > 0 {
			p := (float64(right[i]) + 0.5) / (float64(n) + 1)
			res.Items[i].PValue = float64(right[i]) / float64(n)
			c[i] = math.Log(p / (1 - p))
		}
	}
	lp := make([]float64, nItems*nq) // log P_i(θ_q)
	lq := make([]float64, nItems*nq) // log (1 − P_i(θ_q))
	nExp := make([]float64, nItems*nq)
	rExp := make([]float64, nItems*nq)
	post := make([]float64, nq)
	for iter := 1; iter <= opt.MaxIter; iter++ {
		tables(a, c, nodes, lp, lq)
		clear(nExp)
		clear(rExp)
		ll := 0.0
		for _, rs := range persons {
			if len(rs) == 0 {
				continue
			}
			ll += posterior(rs, lp, lq, weights, post)
			for _, r := range rs {
				off := int(r.Item) * nq
				for q, w := range post {
					nExp[off+q] += w
				}
				if r.Correct {
					for q, w := range post {
						rExp[off+q] += w
					}
				}
			}
		}
		res.LogLik = ll
		move := 0.0
		for i := range a {
			if res.Items[i].N == 0 {
				continue
			}
			na, nc := mstep(a[i], c[i], nodes, nExp[i*nq:(i+1)*nq], rExp[i*nq:(i+1)*nq], opt)
			move = math.Max(move, math.Max(math.Abs(na-a[i]), math.Abs(nc-c[i])))
			a[i], c[i] = na, nc
		}
		res.Iterations = iter
		if move < opt.Tolerance {
			res.Converged = true
			break
		}
	}
	tables(a, c, nodes, lp, lq)
	// Standard errors from the expected information of the last E-step
	// (the usual approximation: it ignores the uncertainty in the posterior).
	for i := range a {
		it := &res.Items[i]
		it.A = a[i]
		if a[i] != 0 {
			it.B = -c[i] / a[i]
		}
		if it.N == 0 {
			continue
		}
		haa, hac, hcc := information(a[i], c[i], nodes, nExp[i*nq:(i+1)*nq], opt)
		det := haa*hcc - hac*hac
		if det > 0 {
			va, vc, cac := hcc/det, haa/det, -hac/det
			it.SEA = math.Sqrt(va)
			// b = −c/a: ∂b/∂a = c/a², ∂b/∂c = −1/a.
			if a[i] != 0 {
				ga, gc := c[i]/(a[i]*a[i]), -1/a[i]
				it.SEB = math.Sqrt(math.Max(ga*ga*va+gc*gc*vc+2*ga*gc*cac, 0))
			}
		}
	}
	res.Theta = make([]float64, len(persons))
	res.SE = make([]float64, len(persons))
	for p, rs := range persons {
		posterior(rs, lp, lq, weights, post)
		res.Theta[p], res.SE[p] = moments(nodes, post)
	}
	res.fit(persons, lp, lq, opt.FitGroups)
	return res, nil
}

// grid returns n equally spaced nodes on [−4, 4] and their normalized
// N(0, 1) density weights.
func grid(n int) (nodes, weights []float64) {
	nodes, weights = make([]float64, n), make([]float64, n)
	sum := 0.0
	for q := range nodes {
		nodes[q] = -4 + 8*float64(q)/float64(n-1)
		weights[q] = math.Exp(-nodes[q] * nodes[q] / 2)
		sum += weights[q]
	}
	for q := range weights {
		weights[q] /= sum
	}
	return nodes, weights
}

func logistic(z float64) float64 { return 1 / (1 + math.Exp(-z)) }

// tables fills log P and log(1 − P) per item and node.
func tables(a, c, nodes, lp, lq []float64) {
	nq := len(nodes)
	for i := range a {
		for q, t := range nodes {
			z := a[i]*t + c[i]
			// log σ(z) = −log(1+e^−z), computed stably.
			lp[i*nq+q] = -softplus(-z)
			lq[i*nq+q] = -softplus(z)
		}
	}
}

func softplus(x float64) float64 {
	if x > 0 {
		return x + math.Log1p(math.Exp(-x))
	}
	return math.Log1p(math.Exp(x))
}

// posterior fills post with the person's normalized posterior over the
// nodes and returns the log of their marginal likelihood.
func posterior(rs []Response, lp, lq, weights, post []float64) float64 {
	nq := len(weights)
	for q := range post {
		post[q] = 0
	}
	for _, r := range rs {
		off := int(r.Item) * nq
		t := lq[off : off+nq]
		if r.Correct {
			t = lp[off : off+nq]
		}
		for q, v := range t {
			post[q] += v
		}
	}
	top := math.Inf(-1)
	for _, v := range post {
		top = math.Max(top, v)
	}
	sum := 0.0
	for q, v := range post {
		post[q] = math.Exp(v-top) * weights[q]
		sum += post[q]
	}
	for q := range post {
		post[q] /= sum
	}
	return top + math.Log(sum)
}

// moments returns the mean and standard deviation of a distribution over the nodes.
func moments(nodes, post []float64) (mean, sd float64) {
	for q, w := range post {
		mean += w * nodes[q]
	}
	v := 0.0
	for q, w := range post {
		d := nodes[q] - mean
		v += w * d * d
	}
	return mean, math.Sqrt(v)
}

// mstep maximizes one item's expected log-likelihood plus log priors over
// (a, c) by Newton–Raphson, from the current values.
func mstep(a, c float64, nodes, n, r []float64, opt Options) (float64, float64) {
	for range 20 {
		ga := -(a - opt.PriorA.Mean) / (opt.PriorA.SD * opt.PriorA.SD)
		gc := -(c - opt.PriorC.Mean) / (opt.PriorC.SD * opt.PriorC.SD)
		for q, t := range nodes {
			res := r[q] - n[q]*logistic(a*t+c)
			ga += res * t
			gc += res
		}
		haa, hac, hcc := information(a, c, nodes, n, opt)
		det := haa*hcc - hac*hac
		if det <= 0 {
			break
		}
		da := (hcc*ga - hac*gc) / det
		dc := (haa*gc - hac*ga) / det
		// Keep steps modest: the posterior weights are only an estimate.
		if s := math.Max(math.Abs(da), math.Abs(dc)); s > 1 {
			da, dc = da/s, dc/s
		}
		a, c = a+da, c+dc
		if math.Abs(da) < 1e-7 && math.Abs(dc) < 1e-7 {
			break
		}
	}
	return a, c
}

// information is the negative Hessian of the expected log-likelihood plus
// log priors of one item in (a, c).
func information(a, c float64, nodes, n []float64, opt Options) (haa, hac, hcc float64) {
	haa = 1 / (opt.PriorA.SD * opt.PriorA.SD)
	hcc = 1 / (opt.PriorC.SD * opt.PriorC.SD)
	for q, t := range nodes {
		p := logistic(a*t + c)
		w := n[q] * p * (1 - p)
		haa += w * t * t
		hac += w * t
		hcc += w
	}
	return haa, hac, hcc
}
