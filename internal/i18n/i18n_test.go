package i18n_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/kepu/kepu/internal/i18n"
	"github.com/kepu/kepu/internal/kepu"
	"github.com/kepu/kepu/web"
)

// Every key must exist in both languages, so no page shows a raw key.
func TestLocalesComplete(t *testing.T) {
	b, err := i18n.Load(web.Locales)
	if err != nil {
		t.Fatal(err)
	}
	zh, en := b.Keys("zh-CN"), b.Keys("en")
	if len(zh) == 0 {
		t.Fatal("no zh-CN messages loaded")
	}
	for _, k := range zh {
		if !b.Has("en", k) {
			t.Errorf("key %q is in zh-CN but not in en", k)
		}
	}
	for _, k := range en {
		if !b.Has("zh-CN", k) {
			t.Errorf("key %q is in en but not in zh-CN", k)
		}
	}
}

func TestLanguagePick(t *testing.T) {
	tests := []struct{ header, want string }{
		{"", "zh-CN"},
		{"en-US,en;q=0.9", "en"},
		{"zh-TW,en;q=0.5", "zh-CN"},
		{"fr-FR,en;q=0.8", "en"},
		{"fr-FR", "zh-CN"},
	}
	for _, tt := range tests {
		if got := i18n.FromAcceptLanguage(tt.header); got != tt.want {
			t.Errorf("FromAcceptLanguage(%q) = %q, want %q", tt.header, got, tt.want)
		}
	}
}

func TestParams(t *testing.T) {
	b, err := i18n.Load(web.Locales)
	if err != nil {
		t.Fatal(err)
	}
	got := b.T("en", "error.rate_limited", map[string]any{"seconds": 30, "minutes": 1})
	if got == "error.rate_limited" || got == "" {
		t.Fatalf("got %q, want a translated message", got)
	}
}

// A parameter that is itself a message (kepu.Msg) is translated into the
// same language, however deep, and plain parameters stay as they are.
func TestNestedParams(t *testing.T) {
	b, err := i18n.Load(web.Locales)
	if err != nil {
		t.Fatal(err)
	}
	q := kepu.Msg{Key: "campaign.quota_nth", Params: map[string]any{"n": 2, "category": kepu.Msg{Key: "bank.category.safety"},
		"dimension": kepu.Msg{Key: "campaign.any"}, "type": kepu.Msg{Key: "bank.type.multiple"}}}
	tests := []struct{ lang, want string }{
		{"zh-CN", "题库不足：第 2 条配额（分类：安全与应急，维度：不限，题型：多选题）需要 4 题，只有 3 道符合条件的已发布中文题。"},
		{"en", "The bank is short: quota 2 (category: Safety and emergencies, dimension: Any, type: Multiple choice) needs 4 questions, only 3 published Chinese questions match."},
	}
	for _, tt := range tests {
		got := b.T(tt.lang, "error.campaign_quota_short", map[string]any{"quota": q, "want": 4, "have": 3,
			"lang": kepu.Msg{Key: "bank.lang.zh-CN"}})
		if got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.lang, got, tt.want)
		}
	}
}

// English counts take the singular for one: "1 pupil", "2 pupils", "0 pupils";
// Chinese has no plural forms.
func TestPlurals(t *testing.T) {
	b, err := i18n.Load(web.Locales)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		lang, key string
		n         any
		want      string
	}{
		{"en", "org.pupils_n", 1, "1 pupil"},
		{"en", "org.pupils_n", 2, "2 pupils"},
		{"en", "org.pupils_n", 0, "0 pupils"},
		{"en", "org.pupils_n", int64(1), "1 pupil"},
		{"en", "contest.questions_n", 1, "1 question"},
		{"en", "contest.questions_n", 11, "11 questions"},
		{"zh-CN", "org.pupils_n", 1, "1 名学生"},
	}
	for _, tt := range tests {
		if got := b.T(tt.lang, tt.key, map[string]any{"n": tt.n}); got != tt.want {
			t.Errorf("%s %s n=%v: got %q, want %q", tt.lang, tt.key, tt.n, got, tt.want)
		}
	}
}

// countedNoun finds a placeholder followed by a word ending in "s" ("{n}
// questions", "{seconds} seconds"): a count that needs a plural form in
// English. Limits ({max}, {min}, {len}) are never 1, and a few words after a
// placeholder are verbs, not nouns.
var (
	countedNoun  = regexp.MustCompile(`\{(\w+)\} (\pL{3,})\b`)
	pluralForm   = regexp.MustCompile(`\{(\w+)\|`)
	wellFormed   = regexp.MustCompile(`^\{(\w+)\|[^|{}]+\|[^|{}]+\}`)
	parenPlural  = regexp.MustCompile(`\pL\(s\)`)
	limitParams  = map[string]bool{"max": true, "min": true, "len": true}
	notNounWords = map[string]bool{"repeats": true, "needs": true}
)

// Every English message that counts something says "1 pupil" and "2
// pupils": a count placeholder followed by a plural noun has a
// {name|one|other} form, no message writes "attempt(s)", and every plural
// form has exactly two forms and names a parameter the zh-CN message uses
// too (the one callers pass).
func TestEnglishCountsHavePlurals(t *testing.T) {
	b, err := i18n.Load(web.Locales)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range b.Keys("en") {
		msg := b.T("en", key, nil)
		for _, m := range countedNoun.FindAllStringSubmatch(msg, -1) {
			param, word := m[1], m[2]
			if limitParams[param] || notNounWords[word] || !strings.HasSuffix(word, "s") {
				continue
			}
			if !strings.Contains(msg, "{"+param+"|") {
				t.Errorf("en %s: %q counts %q with {%s} but has no {%s|one|other} form: %q", key, word, param, param, param, msg)
			}
		}
		if parenPlural.MatchString(msg) {
			t.Errorf("en %s: write a {n|one|other} form instead of (s): %q", key, msg)
		}
		for _, i := range pluralForm.FindAllStringIndex(msg, -1) {
			m := wellFormed.FindStringSubmatch(msg[i[0]:])
			if m == nil {
				t.Errorf("en %s: a plural form needs exactly {name|one|other}: %q", key, msg)
				continue
			}
			if zh := b.T("zh-CN", key, nil); !strings.Contains(zh, "{"+m[1]+"}") {
				t.Errorf("en %s: plural form of {%s}, but the zh-CN message %q has no {%s}", key, m[1], zh, m[1])
			}
		}
	}
}
