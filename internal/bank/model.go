package bank

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/width"

	"github.com/kepu/kepu/internal/kepu"
)

// Languages a question may be written in; zh-CN is the original, en a
// linked translation.
var Languages = []string{"zh-CN", "en"}

// Limits of one question.
const (
	MinOptions     = 2
	MaxOptions     = 6
	MaxStem        = 500  // runes
	MaxOption      = 200  // runes
	MaxExplanation = 1000 // runes
	MaxSource      = 200  // runes
	MaxTags        = 10
	MaxTag         = 20 // runes
)

// Input is a question as an author writes it: the content of one version
// plus its language and (for an en version) the zh-CN question it
// translates. Answer holds zero-based indexes into Options.
type Input struct {
	Lang          string   `json:"lang"`
	TranslationOf int64    `json:"translation_of,omitempty"`
	Type          string   `json:"type"`
	Stem          string   `json:"stem"`
	Options       []string `json:"options"`
	Answer        []int    `json:"answer"`
	Explanation   string   `json:"explanation"`
	Category      string   `json:"category"`
	Dimension     string   `json:"dimension"`
	Difficulty    int      `json:"difficulty"`
	Tags          []string `json:"tags"`
	Source        string   `json:"source"`
	ImageID       int64    `json:"image_id,omitempty"`
	// Private puts the question in the private pool (questions.private):
	// only admins and organizers whose scope holds its bank read it, and
	// only campaigns with rules.pool "private" draw it. It belongs to the
	// question, not a version; a translation follows its original.
	Private bool `json:"private"`
}

// Normalize trims every text, drops empty tags and sorts the answer. It is
// idempotent; Problems calls it first.
func (in *Input) Normalize() {
	in.Lang = strings.TrimSpace(in.Lang)
	if in.Lang == "" {
		in.Lang = "zh-CN"
	}
	in.Type = strings.TrimSpace(in.Type)
	in.Stem = strings.TrimSpace(in.Stem)
	for i := range in.Options {
		in.Options[i] = strings.TrimSpace(in.Options[i])
	}
	in.Explanation = strings.TrimSpace(in.Explanation)
	in.Category = strings.TrimSpace(in.Category)
	in.Dimension = strings.TrimSpace(in.Dimension)
	in.Source = strings.TrimSpace(in.Source)
	tags := make([]string, 0, len(in.Tags))
	for _, t := range in.Tags {
		if t = strings.TrimSpace(t); t != "" && !slices.Contains(tags, t) {
			tags = append(tags, t)
		}
	}
	in.Tags = tags
	if in.Options == nil {
		in.Options = []string{}
	}
	if in.Answer == nil {
		in.Answer = []int{}
	}
	slices.Sort(in.Answer)
}

// Problems normalizes the input and returns every rule it breaks, each an
// EINVALID error naming its field (stem, options, answer, …). An empty
// result means the question is valid.
func (in *Input) Problems() []*kepu.Error {
	in.Normalize()
	var out []*kepu.Error
	bad := func(field, key string, kv ...any) {
		e := kepu.Invalid(field, key)
		for i := 0; i+1 < len(kv); i += 2 {
			e = e.With(kv[i].(string), kv[i+1])
		}
		out = append(out, e)
	}
	if !slices.Contains(Languages, in.Lang) {
		bad("lang", "error.bank_lang")
	}
	if !slices.Contains(Types, in.Type) {
		bad("type", "error.bank_type")
	}
	if n := utf8.RuneCountInString(in.Stem); n < 1 || n > MaxStem {
		bad("stem", "error.bank_stem", "max", MaxStem)
	}
	if len(in.Options) < MinOptions || len(in.Options) > MaxOptions {
		bad("options", "error.bank_option_count", "min", MinOptions, "max", MaxOptions)
	} else if in.Type == TypeTrueFalse && len(in.Options) != 2 {
		bad("options", "error.bank_truefalse_options")
	}
	seen := map[string]bool{}
	for i, o := range in.Options {
		if n := utf8.RuneCountInString(o); n < 1 || n > MaxOption {
			bad("options", "error.bank_option", "n", i+1, "max", MaxOption)
			continue
		}
		if k := strings.ToLower(width.Fold.String(o)); seen[k] {
			bad("options", "error.bank_option_duplicate", "n", i+1)
		} else {
			seen[k] = true
		}
	}
	switch {
	case len(in.Answer) == 0:
		bad("answer", "error.bank_answer_missing")
	case slices.ContainsFunc(in.Answer, func(a int) bool { return a < 0 || a >= len(in.Options) }):
		bad("answer", "error.bank_answer_range")
	case len(slices.Compact(slices.Clone(in.Answer))) != len(in.Answer):
		bad("answer", "error.bank_answer_duplicate")
	case in.Type == TypeMultiple && len(in.Answer) < 2:
		bad("answer", "error.bank_answer_multiple")
	case in.Type != TypeMultiple && len(in.Answer) != 1:
		bad("answer", "error.bank_answer_single")
	}
	if n := utf8.RuneCountInString(in.Explanation); n < 1 || n > MaxExplanation {
		bad("explanation", "error.bank_explanation", "max", MaxExplanation)
	}
	if !slices.Contains(Categories, in.Category) {
		bad("category", "error.bank_category")
	}
	if !slices.Contains(Dimensions, in.Dimension) {
		bad("dimension", "error.bank_dimension")
	}
	if in.Difficulty < 1 || in.Difficulty > 5 {
		bad("difficulty", "error.bank_difficulty")
	}
	if len(in.Tags) > MaxTags {
		bad("tags", "error.bank_tags", "max", MaxTags, "len", MaxTag)
	} else {
		for _, t := range in.Tags {
			if utf8.RuneCountInString(t) > MaxTag || strings.ContainsAny(t, tagSeparators) {
				bad("tags", "error.bank_tags", "max", MaxTags, "len", MaxTag)
				break
			}
		}
	}
	if utf8.RuneCountInString(in.Source) > MaxSource {
		bad("source", "error.bank_source", "max", MaxSource)
	}
	if in.Lang != "en" && in.TranslationOf != 0 {
		bad("translation_of", "error.bank_translation_lang")
	}
	if in.ImageID < 0 || in.TranslationOf < 0 {
		bad("image_id", "error.invalid_id")
	}
	for _, s := range append([]string{in.Stem, in.Explanation, in.Source}, append(in.Options, in.Tags...)...) {
		if hasControl(s) {
			bad("stem", "error.bank_control")
			break
		}
	}
	return out
}

// Validate returns the first problem of the input, or nil.
func (in *Input) Validate() error {
	if p := in.Problems(); len(p) > 0 {
		return p[0]
	}
	return nil
}

// sentencePunct is what NormalizeStem ignores (after width folding).
const sentencePunct = ".,;:?!'\"()[]。、；：？！“”‘’（）【】《》…—"

// tagSeparators split a tags cell of a spreadsheet; a tag may not hold them.
const tagSeparators = "|;,；，、"

// hasControl reports control characters other than newline and tab, or
// invalid UTF-8.
func hasControl(s string) bool {
	if !utf8.ValidString(s) {
		return true
	}
	for _, r := range s {
		if r != '\n' && r != '\t' && r != '\r' && unicode.IsControl(r) {
			return true
		}
	}
	return false
}

// NormalizeStem is the key duplicate detection compares: full-width forms
// folded to narrow ones, lower case, with spaces and sentence punctuation
// removed, so "水的沸点是多少？" and "水的沸点是多少 ?" are the same question
// (while "1+1" and "1-1" stay different).
func NormalizeStem(s string) string {
	s = width.Fold.String(s)
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if unicode.IsSpace(r) || strings.ContainsRune(sentencePunct, r) {
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Equal reports whether two inputs have the same content (after Normalize).
func (in Input) Equal(o Input) bool {
	return in.Lang == o.Lang && in.Type == o.Type && in.Stem == o.Stem &&
		slices.Equal(in.Options, o.Options) && slices.Equal(in.Answer, o.Answer) &&
		in.Explanation == o.Explanation && in.Category == o.Category && in.Dimension == o.Dimension &&
		in.Difficulty == o.Difficulty && slices.Equal(in.Tags, o.Tags) && in.Source == o.Source &&
		in.ImageID == o.ImageID
}
