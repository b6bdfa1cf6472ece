package bank_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/kepu/kepu/internal/bank"
)

// seedCueItems is the shipped bank as cue items, both languages.
func seedCueItems(t *testing.T) []bank.CueItem {
	t.Helper()
	qs, err := bank.SeedBank()
	if err != nil {
		t.Fatal(err)
	}
	var items []bank.CueItem
	for _, q := range qs {
		items = append(items, bank.CueItemOf(q.Key, q.Input("zh-CN")))
		if q.En != nil {
			items = append(items, bank.CueItemOf(q.Key, q.Input("en")))
		}
	}
	return items
}

// The shipped bank gives a guesser nothing: option length carries no
// information, the number of correct options is not predictable, and no two
// questions give each other away (issue 18).
func TestSeedBankCues(t *testing.T) {
	r := bank.AnalyzeCues(seedCueItems(t))
	for _, s := range r.Length {
		t.Logf("%-5s %-11s %3d single: longest %5.1f%%, shortest %5.1f%%, chance %4.1f%% (key strictly longest in %d)",
			s.Lang, s.Dimension, s.Items, 100*s.Longest, 100*s.Shortest, 100*s.Chance, s.StrictlyLongest)
	}
	for _, c := range r.Counts {
		t.Logf("%-5s %3d multiple: correct options %v", c.Lang, c.Items, c.Counts)
	}
	for _, f := range r.Failures() {
		t.Error(f)
	}
}

// The similarities of the shipped bank's pairs, for choosing NearDuplicate:
// go test ./internal/bank -run TestSeedSimilarityDistribution -v
func TestSeedSimilarityDistribution(t *testing.T) {
	items := seedCueItems(t)
	for _, lang := range bank.Languages {
		var sims []float64
		type pair struct {
			a, b string
			s    float64
		}
		var top []pair
		var mine []bank.CueItem
		for _, it := range items {
			if it.Lang == lang {
				mine = append(mine, it)
			}
		}
		sh := make([]map[string]struct{}, len(mine))
		for i, it := range mine {
			sh[i] = bank.Shingles(it)
		}
		for i := range mine {
			for j := i + 1; j < len(mine); j++ {
				s := bank.Similarity(sh[i], sh[j])
				sims = append(sims, s)
				top = append(top, pair{mine[i].Key, mine[j].Key, s})
			}
		}
		slices.Sort(sims)
		slices.SortFunc(top, func(a, b pair) int {
			if a.s > b.s {
				return -1
			}
			if a.s < b.s {
				return 1
			}
			return 0
		})
		var b strings.Builder
		for _, q := range []float64{0.5, 0.99, 0.999, 0.9999} {
			fmt.Fprintf(&b, " p%g=%.3f", 100*q, sims[int(q*float64(len(sims)))])
		}
		t.Logf("%s: %d pairs;%s; max %.3f", lang, len(sims), b.String(), sims[len(sims)-1])
		for _, p := range top[:min(8, len(top))] {
			t.Logf("  %.3f %s %s", p.s, p.a, p.b)
		}
		if n := len(top); n > 0 && top[0].s >= bank.NearDuplicate {
			t.Errorf("%s: %s and %s: similarity %.3f, want below %.2f", lang, top[0].a, top[0].b, top[0].s, bank.NearDuplicate)
		}
	}
}

// han returns n Chinese characters that no other (i, j) pair uses, so that
// the crafted questions share nothing but what a test puts in them.
func han(i, j, n int) string {
	r := make([]rune, n)
	for k := range r {
		r[k] = rune(0x4E00 + i*400 + j*40 + k)
	}
	return string(r)
}

// words returns n English words no other (i, j) pair uses.
func words(i, j, n int) string {
	w := make([]string, n)
	for k := range w {
		w[k] = fmt.Sprintf("w%dx%dx%d", i, j, k)
	}
	return strings.Join(w, " ")
}

// crafted builds single-choice questions whose key is the longest option,
// multiple-choice questions with three correct options each, and one
// near-duplicate pair: every check must fail on it.
func crafted() []bank.CueItem {
	var items []bank.CueItem
	for i := 0; i < 12; i++ {
		items = append(items, bank.CueItem{Key: fmt.Sprintf("s%d", i), Lang: "zh-CN", Type: bank.TypeSingle, Dimension: bank.DimSpirit,
			Stem:    han(i, 0, 12),
			Options: []string{han(i, 1, 3), han(i, 2, 4), han(i, 3, 15), han(i, 4, 3)}, Answer: []int{2},
			Explanation: han(i, 5, 20)})
	}
	for i := 0; i < 12; i++ {
		items = append(items, bank.CueItem{Key: fmt.Sprintf("m%d", i), Lang: "en", Type: bank.TypeMultiple, Dimension: bank.DimKnowledge,
			Stem: words(i, 0, 8), Options: []string{words(i, 1, 2), words(i, 2, 2), words(i, 3, 2), words(i, 4, 2), words(i, 5, 2)}, Answer: []int{0, 1, 3},
			Explanation: words(i, 6, 10)})
	}
	items = append(items,
		bank.CueItem{Key: "d1", Lang: "zh-CN", Type: bank.TypeTrueFalse, Dimension: bank.DimMethod, Options: []string{"正确", "错误"}, Answer: []int{1},
			Stem:        "测量气温时，应把温度计放在阳光直射的地方，这样测得更准确。",
			Explanation: "阳光直射会把温度计本身晒热，读数会明显高于真实气温。"},
		bank.CueItem{Key: "d2", Lang: "zh-CN", Type: bank.TypeTrueFalse, Dimension: bank.DimApplication, Options: []string{"正确", "错误"}, Answer: []int{1},
			Stem:        "在户外测量气温时，应该把温度计放在阳光直射的地方，这样读数最准确。",
			Explanation: "阳光直射会让温度计本身被晒热，读数高于真实气温。"},
		// The same text in English is compared only with English questions.
		bank.CueItem{Key: "d3", Lang: "en", Type: bank.TypeTrueFalse, Dimension: bank.DimMethod, Options: []string{"True", "False"}, Answer: []int{1},
			Stem:        "测量气温时，应把温度计放在阳光直射的地方，这样测得更准确。",
			Explanation: "Direct sunlight heats the thermometer itself."},
	)
	return items
}

func TestCueChecksFailOnCraftedBank(t *testing.T) {
	r := bank.AnalyzeCues(crafted())
	got := r.Failures()
	want := []string{
		"zh-CN spirit: the longest option is the key in 100% of 12 single-choice questions (chance 25%)",
		"en: 12 of 12 multiple-choice questions have exactly 3 correct options",
	}
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("failures %q: want %q among them", got, w)
		}
	}
	if len(r.Duplicates) != 1 || r.Duplicates[0].A != "d1" || r.Duplicates[0].B != "d2" {
		t.Errorf("duplicates: got %+v, want d1 ≈ d2 only", r.Duplicates)
	}
	if len(got) != 3 {
		t.Errorf("got %d failures %q, want 3", len(got), got)
	}

	// Balanced: the key's length varies, counts vary, nothing repeats.
	var fair []bank.CueItem
	for i := 0; i < 12; i++ {
		opts := []string{han(i, 1, 2), han(i, 2, 4), han(i, 3, 6), han(i, 4, 8)}
		fair = append(fair, bank.CueItem{Key: fmt.Sprintf("s%d", i), Lang: "zh-CN", Type: bank.TypeSingle, Dimension: bank.DimSpirit,
			Stem: han(i, 0, 12), Options: opts, Answer: []int{i % 4}, Explanation: han(i, 5, 20)})
		fair = append(fair, bank.CueItem{Key: fmt.Sprintf("m%d", i), Lang: "en", Type: bank.TypeMultiple, Dimension: bank.DimKnowledge,
			Stem: words(i, 0, 8), Options: []string{words(i, 1, 2), words(i, 2, 2), words(i, 3, 2), words(i, 4, 2), words(i, 5, 2)},
			Answer: []int{0, 1, 2, 3}[:2+i%3], Explanation: words(i, 6, 10)})
	}
	if f := bank.AnalyzeCues(fair).Failures(); len(f) != 0 {
		t.Errorf("balanced bank: got failures %q, want none", f)
	}
	// Too few questions to judge a rate: no failure.
	if f := bank.AnalyzeCues(crafted()[:bank.MinCueItems-1]).Failures(); len(f) != 0 {
		t.Errorf("%d questions: got failures %q, want none", bank.MinCueItems-1, f)
	}
}

func TestKeyStandsOut(t *testing.T) {
	tests := []struct {
		opts []string
		key  int
		want bool
	}{
		{[]string{"甲", "乙", "丙丁戊"}, 2, true},
		{[]string{"7～8小时", "5～6小时", "9～10小时"}, 2, false},                    // longest, but by less than a quarter
		{[]string{"甲乙丙丁戊", "乙乙乙乙乙", "丙"}, 0, false},                         // tied
		{[]string{"a short one", "the much longer keyed answer"}, 0, false}, // a distractor is the long one
	}
	for _, tt := range tests {
		in := bank.Input{Type: bank.TypeSingle, Options: tt.opts, Answer: []int{tt.key}}
		if got := bank.KeyStandsOut(in); got != tt.want {
			t.Errorf("KeyStandsOut(%q, key %d) = %v, want %v", tt.opts, tt.key, got, tt.want)
		}
	}
}

// Import warnings: per row (a key that stands out, a near-duplicate of an
// earlier row or of a bank question) and for the file (length and count
// cues); rows that are not ok get none.
func TestCueWarnings(t *testing.T) {
	row := func(line int, in bank.Input) bank.Row { return bank.Row{Line: line, Record: bank.Record{Input: in}} }
	single := func(stem string, opts []string, key int) bank.Input {
		return bank.Input{Lang: "zh-CN", Type: bank.TypeSingle, Dimension: bank.DimMethod, Stem: stem, Options: opts, Answer: []int{key}, Explanation: stem}
	}
	tf := func(stem, expl string) bank.Input {
		return bank.Input{Lang: "zh-CN", Type: bank.TypeTrueFalse, Dimension: bank.DimMethod, Stem: stem, Options: []string{"正确", "错误"}, Answer: []int{1}, Explanation: expl}
	}
	rows := []bank.Row{
		row(2, single(han(1, 0, 10), []string{han(1, 1, 2), han(1, 2, 2), han(1, 3, 9)}, 2)),
		row(3, tf("测量气温时，应把温度计放在阳光直射的地方，这样测得更准确。", "阳光直射会把温度计本身晒热，读数会明显高于真实气温。")),
		row(4, tf("在户外测量气温时，应该把温度计放在阳光直射的地方，这样读数最准确。", "阳光直射会让温度计本身被晒热，读数高于真实气温。")),
		row(5, tf("冥王星在2006年被国际天文学联合会重新归类为矮行星。", "国际天文学联合会在2006年给行星下了明确定义，冥王星被归为矮行星。")),
		row(6, single(han(2, 0, 10), []string{han(2, 1, 2), han(2, 2, 2), han(2, 3, 9)}, 2)), // not ok: no warning
	}
	ok := []bool{true, true, true, true, false}
	existing := []bank.CueText{{ID: 42, Item: bank.CueItem{Lang: "zh-CN", Type: bank.TypeTrueFalse,
		Stem: "2006年，国际天文学联合会把冥王星重新归类为矮行星。", Explanation: "国际天文学联合会在2006年给行星下了明确的定义，冥王星被归为矮行星。"}}}
	var got []string
	for _, w := range bank.CueWarnings(rows, ok, existing) {
		got = append(got, fmt.Sprintf("%d:%s:%s:%v", w.Row, w.Column, w.Key, w.Params["row"] != nil || w.Params["id"] != nil))
	}
	want := []string{"2:answer:warning.bank_cue_longest:false", "4:stem:warning.bank_cue_similar_row:true", "5:stem:warning.bank_cue_similar_bank:true"}
	if !slices.Equal(got, want) {
		t.Errorf("warnings: got %q, want %q", got, want)
	}

	// A file whose keys are the longest options, and whose multiple-choice
	// questions all have three correct options: one warning each for the file.
	rows, ok = nil, nil
	for i := 0; i < bank.MinCueItems; i++ {
		rows = append(rows, row(i+2, single(han(i, 0, 10), []string{han(i, 1, 4), han(i, 2, 5), han(i, 3, 6)}, 2)))
		m := bank.Input{Lang: "en", Type: bank.TypeMultiple, Dimension: bank.DimKnowledge, Stem: words(i, 0, 8),
			Options: []string{words(i, 1, 2), words(i, 2, 2), words(i, 3, 2), words(i, 4, 2)}, Answer: []int{0, 1, 2}, Explanation: words(i, 5, 9)}
		rows = append(rows, row(i+100, m))
		ok = append(ok, true, true)
	}
	got = nil
	for _, w := range bank.CueWarnings(rows, ok, nil) {
		if w.Row == 0 {
			got = append(got, fmt.Sprintf("%s:%v:%v:%v", w.Key, w.Params["rate"], w.Params["chance"], w.Params["count"]))
		}
	}
	want = []string{"warning.bank_cue_longest_file:100:33:<nil>", "warning.bank_cue_count_file:100:<nil>:3"}
	if !slices.Equal(got, want) {
		t.Errorf("file warnings: got %q, want %q", got, want)
	}
}
