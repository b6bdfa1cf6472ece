package literacy

import (
	"math"
	"strings"
	"testing"
)

var testDistricts = []District{{ID: 1, Code: "430702", Name: "武陵区"}, {ID: 2, Code: "430703", Name: "鼎城区"}, {ID: 3, Code: "430781", Name: "津市市"}}

// people makes n people of a district and age band, lit of them literate.
func people(district int64, age string, n, lit int) []Person {
	var out []Person
	for i := range n {
		out = append(out, Person{District: district, AgeBand: age, Occupation: "worker", Literate: i < lit})
	}
	return out
}

// TestEstimateWeighted: the young are over-represented among participants
// and more literate; weighting to the population brings the share down to
// the population's mix, worked out by hand.
func TestEstimateWeighted(t *testing.T) {
	var ps []Person
	ps = append(ps, people(1, "18_29", 10, 8)...) // 80% literate
	ps = append(ps, people(1, "30_39", 10, 2)...) // 20%
	ps = append(ps, people(2, "18_29", 3, 3)...)  // a small district: suppressed
	ps = append(ps, people(0, "18_29", 2, 0)...)  // no district: only in the unweighted total
	margins := []MarginRow{{DistrictID: 1, AgeBand: "18_29", Population: 100}, {DistrictID: 1, AgeBand: "30_39", Population: 300}}

	raw := Estimate(ps, testDistricts, nil)
	if raw.Weighted || raw.Total.N != 25 || math.Abs(raw.Total.Estimate.Share-13.0/25) > 1e-12 {
		t.Fatalf("unweighted total: got %+v, want 25 people, share 13/25", raw.Total)
	}
	if d := raw.Districts[1]; !d.Suppressed || d.Estimate != nil || d.N != 3 {
		t.Errorf("district of 3: got %+v, want suppressed with no estimate", d)
	}

	w := Estimate(ps, testDistricts, margins)
	if !w.Weighted {
		t.Fatal("with margins: not weighted")
	}
	// Weighted: (100 × 0.8 + 300 × 0.2) / 400 = 0.35 (raw district share 0.5).
	d1 := w.Districts[0]
	if !d1.Weighted || d1.Estimate == nil || math.Abs(d1.Estimate.Share-0.35) > 1e-9 {
		t.Fatalf("district 1: got %+v, want weighted share 0.35", d1)
	}
	if math.Abs(w.Total.Estimate.Share-0.35) > 1e-9 || w.Total.N != 20 || w.InWeighting != 20 || w.People != 25 {
		t.Errorf("weighted total: got %+v (in weighting %d of %d), want 0.35 over the 20 people of district 1", w.Total, w.InWeighting, w.People)
	}
	if w.Districts[1].Weighted || !w.Districts[1].Suppressed {
		t.Errorf("district without margins: got %+v, want unweighted and suppressed", w.Districts[1])
	}
	e := d1.Estimate
	// Post-stratification, by hand: V = n/(n−q) Σ (w·r)², r = (y − cell
	// share)/400. Young (weight 10): 8 × (10·0.2/400)² + 2 × (10·0.8/400)²
	// = 0.001; older (weight 30): 2 × (30·0.8/400)² + 8 × (30·0.2/400)² =
	// 0.009. n = 20 weighted people, q = 2 cells: V = 0.01 × 20/18.
	v := 0.01 * 20 / 18
	if math.Abs(e.SE-math.Sqrt(v)) > 1e-9 || math.Abs(e.ESS-float64(e.N)/e.Deff) > 1e-9 || e.Lo >= 0.35 || e.Hi <= 0.35 {
		t.Errorf("district 1 uncertainty: got %+v, want SE %g, ESS = N/deff, interval around 0.35", e, math.Sqrt(v))
	}
}

// TestEstimateCollapsesEmptyCells: an age band with population but no
// participant is merged with its neighbour instead of failing the raking.
func TestEstimateCollapsesEmptyCells(t *testing.T) {
	ps := append(people(1, "18_29", 10, 5), people(1, "50_59", 10, 5)...)
	margins := []MarginRow{{DistrictID: 1, AgeBand: "18_29", Population: 100}, {DistrictID: 1, AgeBand: "30_39", Population: 100},
		{DistrictID: 1, AgeBand: "50_59", Population: 100}, {DistrictID: 2, AgeBand: "18_29", Population: 50}}
	w := Estimate(ps, testDistricts, margins)
	if !w.Weighted || w.Total.Estimate == nil || math.Abs(w.Total.Estimate.Share-0.5) > 1e-9 {
		t.Fatalf("got %+v, want a weighted share of 0.5", w.Total)
	}
	if len(w.Dropped) != 1 || w.Dropped[0] != "鼎城区" {
		t.Errorf("dropped %v, want the district with margins and no participant", w.Dropped)
	}
}

func TestParseMargins(t *testing.T) {
	good := "\xef\xbb\xbf区县,年龄段,职业,人口\n430702,18-29,,\"1,200\"\n武陵区,60+,,800\n430702,,worker,900\n430702,,farmer,1100\n"
	rows, problems, err := ParseMargins([]byte(good), testDistricts)
	if err != nil || len(problems) > 0 || len(rows) != 4 {
		t.Fatalf("good file: got %d rows, problems %v, err %v", len(rows), problems, err)
	}
	if rows[0].AgeBand != "18_29" || rows[0].Population != 1200 || rows[1].AgeBand != "60p" || rows[2].Occupation != "worker" {
		t.Errorf("rows %+v", rows)
	}

	bad := strings.Join([]string{
		"district,age_band,occupation,population",
		"430702,18_29,,100",
		"999999,18_29,,100",   // 3: unknown district
		"430702,18_29,,100",   // 4: duplicate of 2
		"430702,,,100",        // 5: neither
		"430702,18_29,tech,1", // 6: both
		"430702,old,,1",       // 7: unknown age band
		"430702,,pilot,1",     // 8: unknown occupation
		"430702,30_39,,-4",    // 9: negative
		"430702,40_49,1",      // 10: too few columns
	}, "\n")
	rows, problems, err = ParseMargins([]byte(bad), testDistricts)
	if err != nil || rows != nil {
		t.Fatalf("bad file: got rows %v, err %v; want problems only", rows, err)
	}
	want := map[int]string{3: "error.literacy_row_district", 4: "error.literacy_row_duplicate", 5: "error.literacy_row_neither",
		6: "error.literacy_row_both", 7: "error.literacy_row_age", 8: "error.literacy_row_occupation",
		9: "error.literacy_row_population", 10: "error.literacy_row_columns"}
	if len(problems) != len(want) {
		t.Fatalf("got %d problems %v, want %d", len(problems), problems, len(want))
	}
	for _, p := range problems {
		if want[p.Row] != p.Key {
			t.Errorf("row %d: got %s, want %s", p.Row, p.Key, want[p.Row])
		}
	}

	for name, data := range map[string]string{
		"no header column": "district,population\n430702,5\n",
		"unknown column":   "district,age_band,population,colour\n",
		"empty":            "",
		"not utf-8":        "district,age_band,population\n\xff\xfe,18_29,5\n",
		"only occupations": "district,age_band,occupation,population\n430702,,worker,5\n",
	} {
		rows, problems, err := ParseMargins([]byte(data), testDistricts)
		if rows != nil || (err == nil && len(problems) == 0) {
			t.Errorf("%s: got rows %v, problems %v, err %v; want it refused", name, rows, problems, err)
		}
	}
	if _, _, err := ParseMargins(make([]byte, MaxMarginBytes+1), testDistricts); err == nil {
		t.Error("a file over the size limit: no error")
	}
}

func FuzzParseMargins(f *testing.F) {
	f.Add([]byte("district,age_band,occupation,population\n430702,18_29,,100\n"))
	f.Add([]byte("区县,年龄段,人口\n武陵区,60+,5\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, problems, err := ParseMargins(data, testDistricts)
		if err == nil && len(problems) == 0 && len(rows) == 0 {
			t.Fatal("no rows, no problems, no error")
		}
		for _, r := range rows {
			if r.Population < 0 || (r.AgeBand == "") == (r.Occupation == "") {
				t.Fatalf("bad row %+v", r)
			}
		}
	})
}
