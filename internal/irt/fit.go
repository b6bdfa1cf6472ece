package irt

import (
	"math"
	"slices"
)

// ItemFit is an item's misfit statistic: a grouped chi-square in the manner
// of Yen's Q1, made to work when each person answers a different set of
// items. For each answer to the item, the person's ability posterior is
// recomputed without that answer (as Orlando and Thissen's S-X2 leaves the
// item out of the sum score), which gives a rest-ability (its mean) and
// the model's expected chance of a right answer (P averaged over that
// posterior). The answers are grouped by rest-ability into Groups of about
// equal size (cut at quantiles of everyone's EAP ability) and
//
//	X2 = Σ_g n_g (O_g − E_g)² / (E_g (1 − E_g)),  df = groups − 2,
//
// where O_g is the share right and E_g the mean expected chance in group g.
// P is its upper tail (Wilson–Hilferty approximation of the chi-square).
// With thousands of answers a trivial misfit is significant, so RMSEA
// measures its size: √(max(X2 − df, 0) / (df · (n − 1))).
type ItemFit struct {
	X2    float64 `json:"x2"`
	DF    int     `json:"df"`
	P     float64 `json:"p"`
	RMSEA float64 `json:"rmsea"`
}

// Misfit thresholds: an item misfits when its fit statistic is both
// significant (P below MisfitP) and large (RMSEA above MisfitRMSEA).
const (
	MisfitP     = 0.01
	MisfitRMSEA = 0.05
)

// Misfits reports whether the item misfits (see ItemFit and the thresholds).
func (f ItemFit) Misfits() bool { return f.DF > 0 && f.P < MisfitP && f.RMSEA > MisfitRMSEA }

// LowDiscrimination is the slope below which an item tells people apart
// too little to be worth asking (Baker's "very low" band, a < 0.35, rounded).
const LowDiscrimination = 0.3

// fit computes every item's ItemFit; lp and lq are the final tables.
func (r *Result) fit(persons [][]Response, lp, lq []float64, groups int) {
	nq := len(r.nodes)
	// Group boundaries: quantiles of the EAP abilities of people who answered.
	var th []float64
	for p, rs := range persons {
		if len(rs) > 0 {
			th = append(th, r.Theta[p])
		}
	}
	slices.Sort(th)
	cuts := make([]float64, groups-1)
	for g := range cuts {
		cuts[g] = th[(g+1)*len(th)/groups]
	}
	type cell struct{ n, o, e float64 }
	cells := make([]cell, len(r.Items)*groups)
	post := make([]float64, nq)
	loo := make([]float64, nq)
	for _, rs := range persons {
		if len(rs) == 0 {
			continue
		}
		posterior(rs, lp, lq, r.weights, post)
		for _, resp := range rs {
			off := int(resp.Item) * nq
			t := lq[off : off+nq]
			if resp.Correct {
				t = lp[off : off+nq]
			}
			// Divide the answer's likelihood out and renormalize.
			sum := 0.0
			for q := range loo {
				loo[q] = post[q] * math.Exp(-t[q])
				sum += loo[q]
			}
			mean, e := 0.0, 0.0
			for q := range loo {
				loo[q] /= sum
				mean += loo[q] * r.nodes[q]
				e += loo[q] * math.Exp(lp[off+q])
			}
			g, _ := slices.BinarySearch(cuts, mean)
			c := &cells[int(resp.Item)*groups+g]
			c.n++
			c.e += e
			if resp.Correct {
				c.o++
			}
		}
	}
	for i := range r.Items {
		x2, used, n := 0.0, 0, 0.0
		for g := range groups {
			c := cells[i*groups+g]
			if c.n < 1 {
				continue
			}
			o, e := c.o/c.n, c.e/c.n
			e = math.Min(math.Max(e, 1e-6), 1-1e-6)
			x2 += c.n * (o - e) * (o - e) / (e * (1 - e))
			used++
			n += c.n
		}
		df := used - 2
		if df < 1 {
			continue
		}
		f := ItemFit{X2: x2, DF: df, P: chiSquareUpper(x2, float64(df))}
		if n > 1 {
			f.RMSEA = math.Sqrt(math.Max(x2-float64(df), 0) / (float64(df) * (n - 1)))
		}
		r.Items[i].Fit = f
	}
}

// chiSquareUpper is P(χ²_df > x) by the Wilson–Hilferty cube-root
// normal approximation (good to about two decimals in the tail for df ≥ 3).
func chiSquareUpper(x, df float64) float64 {
	if x <= 0 {
		return 1
	}
	v := 2 / (9 * df)
	z := (math.Cbrt(x/df) - (1 - v)) / math.Sqrt(v)
	return 0.5 * math.Erfc(z/math.Sqrt2)
}

// Score returns the EAP ability and its standard error of one person
// with the given answers to r's items (no answers: 0 and 1, the prior).
func (r *Result) Score(rs []Response) (theta, se float64) {
	nq := len(r.nodes)
	lp := make([]float64, len(r.Items)*nq)
	lq := make([]float64, len(r.Items)*nq)
	a, c := make([]float64, len(r.Items)), make([]float64, len(r.Items))
	for i, it := range r.Items {
		a[i], c[i] = it.A, -it.A*it.B
	}
	tables(a, c, r.nodes, lp, lq)
	post := make([]float64, nq)
	posterior(rs, lp, lq, r.weights, post)
	return moments(r.nodes, post)
}
