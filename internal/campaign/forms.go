package campaign

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/kepu/kepu/internal/calibrate"
	"github.com/kepu/kepu/internal/irt"
)

// Parallel forms (docs/measurement.md "Item calibration"): an assessment
// whose rules ask for them (rules.parallel_forms) draws each person a form
// whose test information — how precisely it measures — around the ability
// of the pass mark matches a target, so that two people's scores mean the
// same although their questions differ.
//
//   - Only calibrated items that are not flagged (misfit, discrimination
//     below irt.LowDiscrimination) are candidates.
//   - The pass-mark ability θp is where the candidates' mean chance of a
//     right answer equals the pass mark's share.
//   - The target at θp − 0.5, θp and θp + 0.5 is the information a form
//     drawn at random from the candidates has on average: per quota, its
//     count × the mean item information of its candidates.
//   - Each quota is drawn at random as usual, then single questions are
//     swapped for other candidates of the same quota while that brings the
//     information closer to the target (swapForm): forms stay as varied
//     as random ones, and no item is favoured.
//   - A form whose information is within FormTolerance of the target at the
//     three points is kept; else the best of FormTries is used and the miss
//     is logged.
//   - When a quota has fewer than FormPoolFactor × its count candidates
//     (the items are not calibrated yet, or too many are flagged), the
//     attempt falls back to the normal random draw and the reason is logged.
const (
	FormTolerance  = 0.10 // relative, at each of the three points
	FormChoices    = 20   // candidates tried per swap
	FormSwaps      = 400  // swaps tried per form
	FormTries      = 4
	FormPoolFactor = 2
	formSpread     = 0.5 // the points are θp − formSpread, θp, θp + formSpread
	maxCandidates  = 2000
)

// Calibrated reads the latest item parameters (internal/calibrate.Service).
type Calibrated interface {
	Latest(ctx context.Context, versionIDs []int64) (map[int64]calibrate.Params, error)
}

// PassAbility is the ability θ at which the mean chance of a right answer
// over items equals passMark percent (bisection on [−4, 4]).
func PassAbility(items []irt.Item, passMark int) float64 {
	target := float64(passMark) / 100
	lo, hi := -4.0, 4.0
	for range 60 {
		mid := (lo + hi) / 2
		s := 0.0
		for _, it := range items {
			s += it.P(mid)
		}
		if s/float64(len(items)) < target {
			lo = mid
		} else {
			hi = mid
		}
	}
	return (lo + hi) / 2
}

// FormPoints are the abilities where a form's information is matched.
func FormPoints(passAbility float64) [3]float64 {
	return [3]float64{passAbility - formSpread, passAbility, passAbility + formSpread}
}

// formQuota is one quota's candidates and their information at the points.
type formQuota struct {
	count  int
	items  []drawn
	info   [][3]float64
	target [3]float64
}

// parallelDraw draws a parallel form, or returns a reason ("" when it
// drew one) for the caller to fall back to the normal draw.
// lang is the participant's (drawLang): the form is built from the versions
// served to them, with those versions' calibration.
func (s *Service) parallelDraw(ctx context.Context, tx pgx.Tx, r Rules, regionID int64, lang string) ([]drawn, string, error) {
	if s.Calibrated == nil {
		return nil, "no calibration service", nil
	}
	pool, english := r.drawLang(lang)
	quotas := r.allQuotas()
	// Candidates of every quota (a question may match several; it is taken once).
	cands := make([][]drawn, len(quotas))
	var ids []int64
	for i, q := range quotas {
		rows, err := tx.Query(ctx, sqlDraw, pool, q.Category, q.Dimension, q.Type, []int64{}, maxCandidates, r.Pool == PoolPrivate, regionID, english)
		if err != nil {
			return nil, "", fmt.Errorf("campaign: parallel form: %w", err)
		}
		var d drawn
		var qid int64
		if _, err := pgx.ForEachRow(rows, []any{&d.VersionID, &d.Dimension, &d.Options, &qid}, func() error {
			d.QuestionID = qid
			cands[i] = append(cands[i], d)
			ids = append(ids, d.VersionID)
			return nil
		}); err != nil {
			return nil, "", fmt.Errorf("campaign: parallel form: %w", err)
		}
	}
	params, err := s.Calibrated.Latest(ctx, ids)
	if err != nil {
		return nil, "", fmt.Errorf("campaign: parallel form: %w", err)
	}
	usable := map[int64]irt.Item{}
	for v, p := range params {
		if len(p.Flags()) == 0 {
			usable[v] = p.Item
		}
	}
	var all []irt.Item
	for i, q := range quotas {
		cands[i] = slices.DeleteFunc(cands[i], func(d drawn) bool { _, ok := usable[d.VersionID]; return !ok })
		if len(cands[i]) < FormPoolFactor*q.Count {
			return nil, fmt.Sprintf("quota %d (%s): %d calibrated questions, want at least %d", i+1, q.Describe(i+1),
				len(cands[i]), FormPoolFactor*q.Count), nil
		}
		for _, d := range cands[i] {
			all = append(all, usable[d.VersionID])
		}
	}
	points := FormPoints(PassAbility(all, r.PassMark))
	fq := make([]formQuota, len(quotas))
	var target [3]float64
	for i, q := range quotas {
		f := &fq[i]
		f.count, f.items = q.Count, cands[i]
		f.info = make([][3]float64, len(f.items))
		for j, d := range f.items {
			for k, t := range points {
				f.info[j][k] = usable[d.VersionID].Information(t)
				f.target[k] += f.info[j][k]
			}
		}
		for k := range f.target {
			f.target[k] *= float64(q.Count) / float64(len(f.items))
			target[k] += f.target[k]
		}
	}
	var best []drawn
	bestMiss := math.Inf(1)
	for range FormTries {
		form, info := swapForm(fq, target)
		miss := 0.0
		for k := range target {
			miss = math.Max(miss, math.Abs(info[k]-target[k])/target[k])
		}
		if miss < bestMiss {
			best, bestMiss = form, miss
		}
		if miss <= FormTolerance {
			break
		}
	}
	if len(best) != r.Questions { // overlapping quotas took each other's candidates
		return nil, fmt.Sprintf("%d of %d questions from the calibrated candidates", len(best), r.Questions), nil
	}
	if bestMiss > FormTolerance && s.Log != nil {
		s.Log.Warn("parallel form: outside the tolerance", "miss", bestMiss, "tolerance", FormTolerance)
	}
	rand.Shuffle(len(best), func(i, j int) { best[i], best[j] = best[j], best[i] })
	return best, "", nil
}

// swapForm draws each quota at random (as the normal draw does), then
// swaps single questions for other candidates of the same quota while
// that brings the form's information closer to the target, until it is
// within half the tolerance or FormSwaps swaps were tried. Starting from a
// random draw keeps forms as varied as random ones; the swaps only correct
// the information. It returns the form and its information at the points.
func swapForm(fq []formQuota, target [3]float64) ([]drawn, [3]float64) {
	type slot struct{ quota, j int }
	var form []slot
	var info [3]float64
	taken := map[int64]bool{}
	for qi, f := range fq {
		n := 0
		for _, j := range rand.Perm(len(f.items)) {
			if n == f.count {
				break
			}
			if taken[f.items[j].QuestionID] {
				continue
			}
			taken[f.items[j].QuestionID] = true
			form = append(form, slot{qi, j})
			for k := range info {
				info[k] += f.info[j][k]
			}
			n++
		}
	}
	cost := func(in [3]float64) (sum, worst float64) {
		for k := range in {
			e := (in[k] - target[k]) / target[k]
			sum += e * e
			worst = math.Max(worst, math.Abs(e))
		}
		return sum, worst
	}
	cur, worst := cost(info)
	for range FormSwaps {
		if worst <= FormTolerance/2 {
			break
		}
		p := rand.IntN(len(form))
		f := fq[form[p].quota]
		out := f.info[form[p].j]
		bestJ, bestCost := -1, cur
		var bestInfo [3]float64
		for range FormChoices {
			j := rand.IntN(len(f.items))
			if taken[f.items[j].QuestionID] {
				continue
			}
			var in [3]float64
			for k := range in {
				in[k] = info[k] - out[k] + f.info[j][k]
			}
			if c, _ := cost(in); c < bestCost {
				bestJ, bestCost, bestInfo = j, c, in
			}
		}
		if bestJ < 0 {
			continue
		}
		delete(taken, f.items[form[p].j].QuestionID)
		taken[f.items[bestJ].QuestionID] = true
		form[p].j, info = bestJ, bestInfo
		cur, worst = cost(info)
	}
	out := make([]drawn, len(form))
	for i, sl := range form {
		out[i] = fq[sl.quota].items[sl.j]
	}
	return out, info
}
