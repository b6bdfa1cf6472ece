// Package i18n translates message keys into zh-CN (the default) or en.
// Messages live in web/locales/<lang>/*.json as flat key → text maps; every
// file of a language is merged. Text may hold {name} placeholders, and
// {name|one|other} plural forms: "one" when the parameter is the number 1,
// "other" for any other value (en "{n} {n|pupil|pupils}"; zh-CN needs none).
package i18n

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
)

// Languages Kepu speaks, default first.
var Languages = []string{"zh-CN", "en"}

// Default is the language of every page unless the user chooses otherwise.
const Default = "zh-CN"

// Bundle holds every message of every language.
type Bundle struct {
	msgs map[string]map[string]string
}

// Load reads locales/<lang>/*.json from fsys.
func Load(fsys fs.FS) (*Bundle, error) {
	b := &Bundle{msgs: map[string]map[string]string{}}
	for _, lang := range Languages {
		b.msgs[lang] = map[string]string{}
		files, err := fs.Glob(fsys, path.Join("locales", lang, "*.json"))
		if err != nil {
			return nil, fmt.Errorf("i18n: %w", err)
		}
		for _, f := range files {
			data, err := fs.ReadFile(fsys, f)
			if err != nil {
				return nil, fmt.Errorf("i18n: read %s: %w", f, err)
			}
			var m map[string]string
			if err := json.Unmarshal(data, &m); err != nil {
				return nil, fmt.Errorf("i18n: parse %s: %w", f, err)
			}
			for k, v := range m {
				if _, dup := b.msgs[lang][k]; dup {
					return nil, fmt.Errorf("i18n: %s: key %q defined twice", f, k)
				}
				b.msgs[lang][k] = v
			}
		}
	}
	return b, nil
}

// Lang returns a supported language for s, or Default.
func Lang(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if strings.HasPrefix(s, "en") {
		return "en"
	}
	return Default
}

// FromAcceptLanguage picks zh-CN or en from an Accept-Language header,
// honouring the order (q-values are rarely decisive between two languages).
func FromAcceptLanguage(h string) string {
	for _, part := range strings.Split(h, ",") {
		tag := strings.ToLower(strings.TrimSpace(strings.SplitN(part, ";", 2)[0]))
		switch {
		case strings.HasPrefix(tag, "zh"):
			return "zh-CN"
		case strings.HasPrefix(tag, "en"):
			return "en"
		}
	}
	return Default
}

// Nested is a parameter that is itself a message (kepu.Msg): T translates
// it into the same language before filling it in.
type Nested interface {
	Message() (key string, params map[string]any)
}

// maxNesting bounds how deep nested parameters are translated.
const maxNesting = 4

// T returns the message key in lang with params filled in; a Nested
// parameter is translated too. A missing key falls back to Default, then to
// the key itself.
func (b *Bundle) T(lang, key string, params map[string]any) string {
	return b.t(lang, key, params, 0)
}

func (b *Bundle) t(lang, key string, params map[string]any, depth int) string {
	msg, ok := b.msgs[lang][key]
	if !ok {
		if msg, ok = b.msgs[Default][key]; !ok {
			msg = key
		}
	}
	if len(params) == 0 || !strings.Contains(msg, "{") {
		return msg
	}
	for k, v := range params {
		var text string
		if n, ok := v.(Nested); ok && depth < maxNesting {
			nk, np := n.Message()
			text = b.t(lang, nk, np, depth+1)
		} else {
			text = fmt.Sprint(v)
		}
		msg = plural(msg, k, text)
		msg = strings.ReplaceAll(msg, "{"+k+"}", text)
	}
	return msg
}

// plural replaces every {k|one|other} in msg by one when text is "1" and by
// other otherwise.
func plural(msg, k, text string) string {
	open := "{" + k + "|"
	for {
		i := strings.Index(msg, open)
		if i < 0 {
			return msg
		}
		end := strings.IndexByte(msg[i:], '}')
		if end < 0 {
			return msg
		}
		one, other, _ := strings.Cut(msg[i+len(open):i+end], "|")
		if text != "1" {
			one = other
		}
		msg = msg[:i] + one + msg[i+end+1:]
	}
}

// Has reports whether key exists in lang.
func (b *Bundle) Has(lang, key string) bool {
	_, ok := b.msgs[lang][key]
	return ok
}

// Keys returns the sorted keys of lang.
func (b *Bundle) Keys(lang string) []string {
	out := make([]string, 0, len(b.msgs[lang]))
	for k := range b.msgs[lang] {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Messages returns the messages of lang whose keys start with prefix, for
// pages whose scripts need them.
func (b *Bundle) Messages(lang, prefix string) map[string]string {
	out := map[string]string{}
	for k, v := range b.msgs[lang] {
		if strings.HasPrefix(k, prefix) {
			out[k] = v
		}
	}
	return out
}
