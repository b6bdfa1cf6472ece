package bank

import (
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/width"

	"github.com/kepu/kepu/internal/kepu"
)

// Test-wiseness cues: properties of a bank that let someone score without
// knowing the science (issue 18). AnalyzeCues measures them over a set of
// questions; the shipped bank must pass CueReport.Failures (TestSeedBankCues)
// and imports warn about them per item (docs/question-import.md "Cue checks").
const (
	// MaxLengthCue is how far (as a share, 0.10 = 10 percentage points)
	// "always pick the longest option" may beat chance in single-choice
	// questions of one dimension and language.
	MaxLengthCue = 0.10
	// MaxCountShare is the largest share of multiple-choice questions of one
	// language that may have the same number of correct options.
	MaxCountShare = 0.50
	// MinCueItems is the fewest questions a rate is judged on: below it one
	// question moves a rate by more than 10 points and the rate says nothing.
	MinCueItems = 10
	// NearDuplicate is the Dice similarity of two questions' text (stem,
	// options other than true/false, explanation; see Shingles) from which
	// they count as near-duplicates: one gives the other away.
	//
	// Why 0.40: over the 124,750 zh-CN pairs of the shipped bank before
	// issue 18, 99.99% of pairs were below 0.27 and the two known duplicate
	// pairs stood apart at 0.61 (earth_space-022 / history_method-047, the
	// same claim) and 0.47 (health-036 / info_literacy-009, the same 酸碱体质
	// fact in opposite polarity). The next pair, at 0.40, was a giveaway too
	// (environment-014's explanation answered environment-015); below it
	// came related but distinct questions, 0.36 and less. Pairs that share
	// only a frame ("下列哪些做法是正确的？") or a topic stay low once the
	// options and explanation are part of the text. English pairs (units
	// are words) spread lower still: the highest in that bank was 0.22.
	NearDuplicate = 0.40
	// LongestMargin is how much longer than every distractor the key of one
	// imported single-choice question must be for its own warning (file-wide
	// rates use plain "longest"): 25% longer is visible at a glance.
	LongestMargin = 1.25
)

// CueItem is what the cue checks read of one question.
type CueItem struct {
	Key         string // a name for reports (seed key, "row 7", "#123")
	Lang        string
	Type        string
	Dimension   string
	Stem        string
	Options     []string
	Answer      []int
	Explanation string
}

// CueItemOf returns the cue view of an input under a name.
func CueItemOf(key string, in Input) CueItem {
	return CueItem{Key: key, Lang: in.Lang, Type: in.Type, Dimension: in.Dimension, Stem: in.Stem,
		Options: in.Options, Answer: in.Answer, Explanation: in.Explanation}
}

// LengthStat is, for the single-choice questions of one language and
// dimension, what "always pick the longest option" and "always pick the
// shortest option" score (ties split at random: a key tied with one other
// longest option counts one half), against chance (the mean of 1/options).
// Rates are shares in [0, 1].
type LengthStat struct {
	Lang      string  `json:"lang"`
	Dimension string  `json:"dimension"`
	Items     int     `json:"items"`
	Longest   float64 `json:"longest"`
	Shortest  float64 `json:"shortest"`
	Chance    float64 `json:"chance"`
	// StrictlyLongest counts keys longer than every other option.
	StrictlyLongest int `json:"strictly_longest"`
}

// CountStat is how many multiple-choice questions of one language have
// each number of correct options.
type CountStat struct {
	Lang   string      `json:"lang"`
	Items  int         `json:"items"`
	Counts map[int]int `json:"counts"`
}

// Pair is two near-duplicate questions of one language.
type Pair struct {
	Lang       string  `json:"lang"`
	A, B       string  `json:"-"`
	Similarity float64 `json:"similarity"`
}

// CueReport is the result of AnalyzeCues: length cues per language and
// dimension (in Languages × Dimensions order, empty groups left out), the
// correct-option counts per language, and the near-duplicate pairs, most
// similar first.
type CueReport struct {
	Length     []LengthStat
	Counts     []CountStat
	Duplicates []Pair
}

// AnalyzeCues measures the cues of items (any languages mixed; questions
// are compared only with others of their language).
func AnalyzeCues(items []CueItem) CueReport {
	var r CueReport
	for _, lang := range Languages {
		var mine []CueItem
		for _, it := range items {
			if it.Lang == lang {
				mine = append(mine, it)
			}
		}
		for _, dim := range Dimensions {
			s := LengthStat{Lang: lang, Dimension: dim}
			for _, it := range mine {
				if it.Dimension != dim || it.Type != TypeSingle || len(it.Answer) != 1 || len(it.Options) < 2 {
					continue
				}
				lc := lengthCue(it.Options, it.Answer[0])
				s.Items++
				s.Longest += lc.longest
				s.Shortest += lc.shortest
				s.Chance += 1 / float64(len(it.Options))
				if lc.strict {
					s.StrictlyLongest++
				}
			}
			if s.Items > 0 {
				n := float64(s.Items)
				s.Longest, s.Shortest, s.Chance = s.Longest/n, s.Shortest/n, s.Chance/n
				r.Length = append(r.Length, s)
			}
		}
		c := CountStat{Lang: lang, Counts: map[int]int{}}
		for _, it := range mine {
			if it.Type == TypeMultiple {
				c.Items++
				c.Counts[len(it.Answer)]++
			}
		}
		if c.Items > 0 {
			r.Counts = append(r.Counts, c)
		}
		idx := newSimIndex()
		for i, it := range mine {
			sh := Shingles(it)
			for _, m := range idx.near(sh, NearDuplicate) {
				r.Duplicates = append(r.Duplicates, Pair{Lang: lang, A: mine[m.item].Key, B: mine[i].Key, Similarity: m.sim})
			}
			idx.add(sh)
		}
	}
	slices.SortStableFunc(r.Duplicates, func(a, b Pair) int {
		switch {
		case a.Similarity > b.Similarity:
			return -1
		case a.Similarity < b.Similarity:
			return 1
		}
		return 0
	})
	return r
}

// Kinds of Finding.
const (
	FindLongest   = "longest"   // "pick the longest option" beats chance
	FindShortest  = "shortest"  // "pick the shortest option" beats chance
	FindCount     = "count"     // one number of correct options is too common
	FindDuplicate = "duplicate" // two questions are near-duplicates
)

// Finding is one way a set of questions breaks the cue rules.
type Finding struct {
	Kind      string
	Lang      string
	Dimension string  // FindLongest, FindShortest
	Items     int     // the questions Rate is a share of
	Rate      float64 // the strategy's score, or the count's share
	Chance    float64 // FindLongest, FindShortest
	Count     int     // FindCount: the number of correct options
	Pair      Pair    // FindDuplicate
}

// Findings returns every way the report breaks the rules: a length rate
// above chance by more than MaxLengthCue in a group of at least
// MinCueItems, a number of correct options held by more than MaxCountShare
// of at least MinCueItems multiple-choice questions, a near-duplicate pair.
// None means the questions pass.
func (r CueReport) Findings() []Finding {
	var out []Finding
	for _, s := range r.Length {
		if s.Items < MinCueItems {
			continue
		}
		for _, f := range []Finding{
			{Kind: FindLongest, Rate: s.Longest},
			{Kind: FindShortest, Rate: s.Shortest},
		} {
			if f.Rate-s.Chance > MaxLengthCue {
				f.Lang, f.Dimension, f.Items, f.Chance = s.Lang, s.Dimension, s.Items, s.Chance
				out = append(out, f)
			}
		}
	}
	for _, c := range r.Counts {
		if c.Items < MinCueItems {
			continue
		}
		for _, k := range sortedKeys(c.Counts) {
			if share := float64(c.Counts[k]) / float64(c.Items); share > MaxCountShare {
				out = append(out, Finding{Kind: FindCount, Lang: c.Lang, Items: c.Items, Rate: share, Count: k})
			}
		}
	}
	for _, p := range r.Duplicates {
		out = append(out, Finding{Kind: FindDuplicate, Lang: p.Lang, Pair: p})
	}
	return out
}

// Failures returns the findings in English, for tests and logs.
func (r CueReport) Failures() []string {
	var out []string
	for _, f := range r.Findings() {
		switch f.Kind {
		case FindLongest, FindShortest:
			out = append(out, fmt.Sprintf("%s %s: the %s option is the key in %.0f%% of %d single-choice questions (chance %.0f%%)",
				f.Lang, f.Dimension, f.Kind, 100*f.Rate, f.Items, 100*f.Chance))
		case FindCount:
			out = append(out, fmt.Sprintf("%s: %.0f of %d multiple-choice questions have exactly %d correct options",
				f.Lang, f.Rate*float64(f.Items), f.Items, f.Count))
		case FindDuplicate:
			out = append(out, fmt.Sprintf("%s: %s and %s are near-duplicates (similarity %.2f)", f.Lang, f.Pair.A, f.Pair.B, f.Pair.Similarity))
		}
	}
	return out
}

func sortedKeys(m map[int]int) []int {
	ks := make([]int, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// lengthResult is what the length strategies score on one question.
type lengthResult struct {
	longest, shortest float64 // 1/ties when the key is among them, else 0
	strict            bool    // the key is longer than every other option
	margin            float64 // key length / longest distractor length
}

// lengthCue scores one single-choice question. Length is counted in runes
// after trimming, so a Chinese character and a Latin letter weigh the same
// (within one language that is what a reader sees).
func lengthCue(options []string, key int) lengthResult {
	ls := make([]int, len(options))
	for i, o := range options {
		ls[i] = utf8.RuneCountInString(strings.TrimSpace(o))
	}
	maxL, minL := slices.Max(ls), slices.Min(ls)
	var nMax, nMin, other int
	for i, l := range ls {
		if l == maxL {
			nMax++
		}
		if l == minL {
			nMin++
		}
		if i != key {
			other = max(other, l)
		}
	}
	var r lengthResult
	if ls[key] == maxL {
		r.longest = 1 / float64(nMax)
		r.strict = nMax == 1
	}
	if ls[key] == minL {
		r.shortest = 1 / float64(nMin)
	}
	if other > 0 {
		r.margin = float64(ls[key]) / float64(other)
	}
	return r
}

// KeyStandsOut reports whether the key of a single-choice question is the
// longest option by LongestMargin or more: the per-question warning of an
// import.
func KeyStandsOut(in Input) bool {
	if in.Type != TypeSingle || len(in.Answer) != 1 || len(in.Options) < 2 || in.Answer[0] < 0 || in.Answer[0] >= len(in.Options) {
		return false
	}
	r := lengthCue(in.Options, in.Answer[0])
	return r.strict && r.margin >= LongestMargin
}

// Shingles returns the set the near-duplicate check compares: bigrams of
// the units of the question's text (stem, the options unless it is a
// true/false question, and the explanation), where a unit is one Chinese
// character or one word of letters and digits, after width folding and
// lower-casing; punctuation and spaces only separate words. For Chinese
// these are the character bigrams; for English, word bigrams. The options
// and explanation are part of the text because many stems are only a frame
// ("下列哪些做法是正确的？") whose content is in the options, and because the
// explanation names the fact a question tests.
func Shingles(it CueItem) map[string]struct{} {
	var units []string
	add := func(s string) {
		s = strings.ToLower(width.Fold.String(s))
		var word strings.Builder
		flush := func() {
			if word.Len() > 0 {
				units = append(units, word.String())
				word.Reset()
			}
		}
		for _, r := range s {
			switch {
			case unicode.Is(unicode.Han, r):
				flush()
				units = append(units, string(r))
			case unicode.IsLetter(r) || unicode.IsDigit(r):
				word.WriteRune(r)
			default:
				flush()
			}
		}
		flush()
	}
	add(it.Stem)
	if it.Type != TypeTrueFalse {
		for _, o := range it.Options {
			add(o)
		}
	}
	add(it.Explanation)
	out := make(map[string]struct{}, len(units))
	if len(units) == 1 {
		out[units[0]] = struct{}{}
	}
	for i := 0; i+1 < len(units); i++ {
		out[units[i]+"\x00"+units[i+1]] = struct{}{}
	}
	return out
}

// Similarity is the Dice coefficient of two shingle sets: twice the shared
// shingles over the sum of their sizes, 0 (nothing shared) to 1 (same set).
func Similarity(a, b map[string]struct{}) float64 {
	if len(a)+len(b) == 0 {
		return 0
	}
	n := 0
	for s := range a {
		if _, ok := b[s]; ok {
			n++
		}
	}
	return 2 * float64(n) / float64(len(a)+len(b))
}

// simIndex finds the indexed shingle sets most similar to a query without
// comparing every pair: an inverted index from shingle to sets.
type simIndex struct {
	post  map[string][]int32
	sizes []int
	count []int32 // scratch: shared shingles per set
}

type simMatch struct {
	item int
	sim  float64
}

func newSimIndex() *simIndex { return &simIndex{post: map[string][]int32{}} }

func (x *simIndex) add(sh map[string]struct{}) {
	id := int32(len(x.sizes))
	for s := range sh {
		x.post[s] = append(x.post[s], id)
	}
	x.sizes = append(x.sizes, len(sh))
	x.count = append(x.count, 0)
}

// near returns the indexed sets at least min similar to sh, in index order.
func (x *simIndex) near(sh map[string]struct{}, min float64) []simMatch {
	var touched []int32
	for s := range sh {
		for _, id := range x.post[s] {
			if x.count[id] == 0 {
				touched = append(touched, id)
			}
			x.count[id]++
		}
	}
	slices.Sort(touched)
	var out []simMatch
	for _, id := range touched {
		sim := 2 * float64(x.count[id]) / float64(len(sh)+x.sizes[id])
		x.count[id] = 0
		if sim >= min {
			out = append(out, simMatch{item: int(id), sim: sim})
		}
	}
	return out
}

// CueText is a question already in a bank, as the import's near-duplicate
// check compares it.
type CueText struct {
	ID   int64
	Item CueItem
}

// CueWarnings returns the import warnings (never errors) of the rows marked
// ok, in row order: per row, a key that stands out as the longest option
// (KeyStandsOut) and the most similar other question of its language — a
// row earlier in the file or a question of bank — when they are
// near-duplicates; then, for the file as a whole (Row 0), every length or
// count rule its ok rows break (CueReport.Findings). Parameters: row,
// id, similarity (percent), lang and dimension (kepu.Msg labels), rate and
// chance (percent), count and items.
func CueWarnings(rows []Row, ok []bool, bank []CueText) []Problem {
	var out []Problem
	idx := map[string]*simIndex{}
	type source struct {
		id   int64 // a bank question, or 0
		line int   // a row of the file
	}
	sources := map[string][]source{}
	index := func(lang string, sh map[string]struct{}, src source) {
		if idx[lang] == nil {
			idx[lang] = newSimIndex()
		}
		idx[lang].add(sh)
		sources[lang] = append(sources[lang], src)
	}
	for _, b := range bank {
		index(b.Item.Lang, Shingles(b.Item), source{id: b.ID})
	}
	var items []CueItem
	for i, r := range rows {
		if !ok[i] {
			continue
		}
		in := r.Record.Input
		it := CueItemOf("", in)
		items = append(items, it)
		if KeyStandsOut(in) {
			out = append(out, Problem{Row: r.Line, Column: "answer", Key: "warning.bank_cue_longest"})
		}
		sh := Shingles(it)
		if x := idx[in.Lang]; x != nil {
			var best simMatch
			for _, m := range x.near(sh, NearDuplicate) {
				if m.sim > best.sim {
					best = m
				}
			}
			if best.sim > 0 {
				pct := int(100*best.sim + 0.5)
				if src := sources[in.Lang][best.item]; src.id != 0 {
					out = append(out, Problem{Row: r.Line, Column: "stem", Key: "warning.bank_cue_similar_bank",
						Params: map[string]any{"id": src.id, "similarity": pct}})
				} else {
					out = append(out, Problem{Row: r.Line, Column: "stem", Key: "warning.bank_cue_similar_row",
						Params: map[string]any{"row": src.line, "similarity": pct}})
				}
			}
		}
		index(in.Lang, sh, source{line: r.Line})
	}
	for _, f := range AnalyzeCues(items).Findings() {
		p := Problem{Params: map[string]any{"lang": kepu.Msg{Key: "bank.lang." + f.Lang}, "items": f.Items, "rate": int(100*f.Rate + 0.5)}}
		switch f.Kind {
		case FindLongest, FindShortest:
			p.Key = "warning.bank_cue_" + f.Kind + "_file"
			p.Params["dimension"] = kepu.Msg{Key: "bank.dimension." + f.Dimension}
			p.Params["chance"] = int(100*f.Chance + 0.5)
		case FindCount:
			p.Key = "warning.bank_cue_count_file"
			p.Params["count"] = f.Count
		default:
			continue // reported per row above
		}
		out = append(out, p)
	}
	return out
}
