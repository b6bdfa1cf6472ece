package bank_test

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/kepu/kepu/internal/bank"
	"github.com/kepu/kepu/internal/kepu"
)

func validInput() bank.Input {
	return bank.Input{Lang: "zh-CN", Type: bank.TypeSingle, Stem: "水在标准大气压下的沸点是多少？",
		Options: []string{"90℃", "100℃", "120℃"}, Answer: []int{1}, Explanation: "标准大气压下水在100℃沸腾。",
		Category: "physics_chemistry", Dimension: bank.DimKnowledge, Difficulty: 1, Tags: []string{"水"}, Source: "初中物理"}
}

func TestInputProblems(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*bank.Input)
		field string // "" means valid
	}{
		{"valid single", func(*bank.Input) {}, ""},
		{"valid multiple", func(in *bank.Input) { in.Type = bank.TypeMultiple; in.Answer = []int{2, 0} }, ""},
		{"valid truefalse", func(in *bank.Input) {
			in.Type = bank.TypeTrueFalse
			in.Options = []string{"正确", "错误"}
		}, ""},
		{"valid en", func(in *bank.Input) { in.Lang = "en"; in.TranslationOf = 7 }, ""},
		{"six options", func(in *bank.Input) { in.Options = []string{"a", "b", "c", "d", "e", "f"} }, ""},
		{"bad lang", func(in *bank.Input) { in.Lang = "fr" }, "lang"},
		{"bad type", func(in *bank.Input) { in.Type = "essay" }, "type"},
		{"empty stem", func(in *bank.Input) { in.Stem = "  " }, "stem"},
		{"long stem", func(in *bank.Input) { in.Stem = strings.Repeat("长", bank.MaxStem+1) }, "stem"},
		{"one option", func(in *bank.Input) { in.Options = []string{"a"}; in.Answer = []int{0} }, "options"},
		{"seven options", func(in *bank.Input) { in.Options = []string{"a", "b", "c", "d", "e", "f", "g"} }, "options"},
		{"empty option", func(in *bank.Input) { in.Options[2] = " " }, "options"},
		{"duplicate option", func(in *bank.Input) { in.Options[2] = "100℃" }, "options"},
		{"truefalse with three options", func(in *bank.Input) { in.Type = bank.TypeTrueFalse }, "options"},
		{"no answer", func(in *bank.Input) { in.Answer = nil }, "answer"},
		{"answer out of range", func(in *bank.Input) { in.Answer = []int{3} }, "answer"},
		{"negative answer", func(in *bank.Input) { in.Answer = []int{-1} }, "answer"},
		{"single with two answers", func(in *bank.Input) { in.Answer = []int{0, 1} }, "answer"},
		{"multiple with one answer", func(in *bank.Input) { in.Type = bank.TypeMultiple }, "answer"},
		{"repeated answer", func(in *bank.Input) { in.Type = bank.TypeMultiple; in.Answer = []int{1, 1} }, "answer"},
		{"no explanation", func(in *bank.Input) { in.Explanation = "" }, "explanation"},
		{"bad category", func(in *bank.Input) { in.Category = "astrology" }, "category"},
		{"bad dimension", func(in *bank.Input) { in.Dimension = "luck" }, "dimension"},
		{"difficulty 0", func(in *bank.Input) { in.Difficulty = 0 }, "difficulty"},
		{"difficulty 6", func(in *bank.Input) { in.Difficulty = 6 }, "difficulty"},
		{"tag with separator", func(in *bank.Input) { in.Tags = []string{"a|b"} }, "tags"},
		{"too many tags", func(in *bank.Input) { in.Tags = strings.Split("a b c d e f g h i j k", " ") }, "tags"},
		{"long source", func(in *bank.Input) { in.Source = strings.Repeat("s", bank.MaxSource+1) }, "source"},
		{"zh-CN translating", func(in *bank.Input) { in.TranslationOf = 3 }, "translation_of"},
		{"control character", func(in *bank.Input) { in.Stem = "a\x00b" }, "stem"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := validInput()
			tt.edit(&in)
			p := in.Problems()
			if tt.field == "" {
				if len(p) > 0 {
					t.Fatalf("got problems %v, want none", p)
				}
				return
			}
			if len(p) == 0 {
				t.Fatalf("got no problem, want one on %q", tt.field)
			}
			if !slices.ContainsFunc(p, func(e *kepu.Error) bool { return e.Field == tt.field }) {
				t.Errorf("got problems %v, want one on field %q", p, tt.field)
			}
			for _, e := range p {
				if !strings.HasPrefix(e.Key, "error.") {
					t.Errorf("problem key %q: want an error.* locale key", e.Key)
				}
			}
		})
	}
}

func TestNormalizeStem(t *testing.T) {
	tests := []struct {
		a, b string
		same bool
	}{
		{"水的沸点是多少？", "水的沸点是多少?", true},
		{"水的 沸点 是多少", "水的沸点是多少。", true},
		{"ＡＢＣ是什么", "abc是什么", true},
		{"1+1=?", "1-1=?", false},
		{"光速", "音速", false},
	}
	for _, tt := range tests {
		if got := bank.NormalizeStem(tt.a) == bank.NormalizeStem(tt.b); got != tt.same {
			t.Errorf("NormalizeStem(%q) == NormalizeStem(%q): got %v, want %v", tt.a, tt.b, got, tt.same)
		}
	}
}

// The shipped bank: every question valid, and the coverage the issue asks.
func TestSeedBank(t *testing.T) {
	qs, err := bank.SeedBank()
	if err != nil {
		t.Fatal(err)
	}
	if len(qs) < 500 {
		t.Errorf("seed questions: got %d, want at least 500", len(qs))
	}
	cats, dims, types, diffs := map[string]int{}, map[string]int{}, map[string]int{}, map[int]int{}
	keys, stems := map[string]bool{}, map[string]string{}
	en := 0
	for _, q := range qs {
		if keys[q.Key] {
			t.Errorf("%s: duplicate key", q.Key)
		}
		keys[q.Key] = true
		if !strings.HasPrefix(q.Key, q.Category+"-") {
			t.Errorf("%s: key does not start with its category %q", q.Key, q.Category)
		}
		langs := []string{"zh-CN"}
		if q.En != nil {
			langs = append(langs, "en")
			en++
		}
		for _, lang := range langs {
			in := q.Input(lang)
			for _, p := range in.Problems() {
				t.Errorf("%s (%s): %s on %s %v", q.Key, lang, p.Key, p.Field, p.Params)
			}
			if in.Source == "" {
				t.Errorf("%s (%s): no source", q.Key, lang)
			}
			norm := lang + ":" + bank.NormalizeStem(in.Stem)
			if other, ok := stems[norm]; ok {
				t.Errorf("%s (%s): same stem as %s", q.Key, lang, other)
			}
			stems[norm] = q.Key
			if in.Type == bank.TypeTrueFalse {
				want := []string{"正确", "错误"}
				if lang == "en" {
					want = []string{"True", "False"}
				}
				if !slices.Equal(in.Options, want) {
					t.Errorf("%s (%s): true/false options %q, want %q", q.Key, lang, in.Options, want)
				}
			}
		}
		if q.En != nil && len(q.En.Options) != len(q.Zh.Options) {
			t.Errorf("%s: en has %d options, zh %d", q.Key, len(q.En.Options), len(q.Zh.Options))
		}
		cats[q.Category]++
		dims[q.Dimension]++
		types[q.Type]++
		diffs[q.Difficulty]++
	}
	for _, c := range bank.Categories {
		if cats[c] == 0 {
			t.Errorf("category %s: no questions", c)
		}
	}
	for _, d := range bank.Dimensions {
		share := 100 * float64(dims[d]) / float64(len(qs))
		if want := float64(bank.DimensionWeight[d]); math.Abs(share-want) > 5 {
			t.Errorf("dimension %s: %.1f%% of questions, want %.0f±5%%", d, share, want)
		}
	}
	for _, ty := range bank.Types {
		if types[ty] < len(qs)/10 {
			t.Errorf("type %s: %d questions, want at least a tenth", ty, types[ty])
		}
	}
	if len(diffs) < 4 {
		t.Errorf("difficulties used: %v, want a spread", diffs)
	}
	if en < 150 {
		t.Errorf("questions with English: got %d, want at least 150", en)
	}
}
