package contest

import (
	_ "embed"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/kepu/kepu/internal/kepu"
)

// MaxNick is the longest nickname, in characters.
const MaxNick = 16

//go:embed badwords.txt
var badwordsFile string

var badwords = func() []string {
	var out []string
	for _, l := range strings.Split(badwordsFile, "\n") {
		l = strings.TrimSpace(l)
		if l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, foldNick(l))
		}
	}
	return out
}()

// foldNick lowercases s and drops everything but letters and digits, so
// "F.u c-k" and "fuck" compare equal.
func foldNick(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// CleanNick trims a player's nickname, checks its length (1–MaxNick) and
// characters, and refuses abusive ones. The result is plain text that pages
// always render escaped.
func CleanNick(s string) (string, error) {
	s = strings.Join(strings.Fields(s), " ")
	if n := utf8.RuneCountInString(s); n < 1 || n > MaxNick {
		return "", kepu.Invalid("nickname", "error.contest_nick_length").With("max", MaxNick)
	}
	for _, r := range s {
		if unicode.IsControl(r) || r == utf8.RuneError || unicode.Is(unicode.Cf, r) {
			return "", kepu.Invalid("nickname", "error.contest_nick_chars")
		}
	}
	f := foldNick(s)
	if f == "" {
		return "", kepu.Invalid("nickname", "error.contest_nick_chars")
	}
	for _, w := range badwords {
		if strings.Contains(f, w) {
			return "", kepu.Invalid("nickname", "error.contest_nick_abuse")
		}
	}
	return s, nil
}

// nickKey is the form of a nickname that must be unique in a room.
func nickKey(s string) string { return strings.ToLower(s) }
