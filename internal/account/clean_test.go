package account

import (
	"errors"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/kepu/kepu/internal/kepu"
)

func TestCleanNames(t *testing.T) {
	tests := []struct {
		name  string
		in    []string
		want  []string
		key   string
		param int // the "line" parameter of a bad line
	}{
		{"trims and drops blanks", []string{" 小明 ", "", "  ", "小  红"}, []string{"小明", "小 红"}, "", 0},
		{"markup is text", []string{"<b>x</b>"}, []string{"<b>x</b>"}, "", 0},
		{"nothing", []string{" ", ""}, nil, "error.roster_empty", 0},
		{"too long", []string{"ok", strings.Repeat("长", MaxNickname+1)}, nil, "error.roster_line", 2},
		{"control character", []string{"a\x07b"}, nil, "error.roster_line", 1},
		{"bidi override", []string{"abc\u202edcba"}, nil, "error.roster_line", 1},
		{"too many", strings.Split(strings.Repeat("x,", MaxRosterBatch)+"x", ","), nil, "error.roster_too_many", 0},
		{"just enough", strings.Split(strings.TrimSuffix(strings.Repeat("x,", MaxRosterBatch), ","), ","), nil, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := CleanNames(tt.in)
			if tt.key == "" {
				if err != nil {
					t.Fatalf("got error %v, want none", err)
				}
				if tt.want != nil && strings.Join(got, "|") != strings.Join(tt.want, "|") {
					t.Errorf("got %q, want %q", got, tt.want)
				}
				return
			}
			var ke *kepu.Error
			if !errors.As(err, &ke) || ke.Key != tt.key || ke.Field != "names" {
				t.Fatalf("got error %v, want %s on field names", err, tt.key)
			}
			if tt.param != 0 && ke.Params["line"] != tt.param {
				t.Errorf("got line %v, want %d", ke.Params["line"], tt.param)
			}
		})
	}
}

func TestLikePattern(t *testing.T) {
	for in, want := range map[string]string{"ab": "%ab%", "50%": `%50\%%`, "a_b": `%a\_b%`, `a\b`: `%a\\b%`} {
		if got := likePattern(in); got != want {
			t.Errorf("likePattern(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzCleanNickname: whatever comes in, a nickname that is accepted is
// 1–MaxNickname characters of valid UTF-8 without control characters, and
// cleaning it again changes nothing.
func FuzzCleanNickname(f *testing.F) {
	for _, s := range []string{"小明", " a  b ", "<script>x</script>", "\x00", "\xff", strings.Repeat("长", 30)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := CleanNickname(in)
		if err != nil {
			return
		}
		if n := utf8.RuneCountInString(out); n < 1 || n > MaxNickname || !utf8.ValidString(out) {
			t.Fatalf("CleanNickname(%q) = %q: %d characters or invalid UTF-8", in, out, n)
		}
		if strings.ContainsFunc(out, func(r rune) bool { return unicode.IsControl(r) || (unicode.Is(unicode.Cf, r) && r != '\u200d') }) {
			t.Fatalf("CleanNickname(%q) = %q keeps a control character", in, out)
		}
		if again, err := CleanNickname(out); err != nil || again != out {
			t.Fatalf("CleanNickname is not idempotent on %q: %q, %v", out, again, err)
		}
	})
}

// FuzzCleanUsername: an accepted username is 3–32 letters, digits, '_', '.', '-'.
func FuzzCleanUsername(f *testing.F) {
	for _, s := range []string{"alice", " bob ", "a b", "ab", "名字abc", "x\x00y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := CleanUsername(in)
		if err != nil {
			return
		}
		if n := utf8.RuneCountInString(out); n < MinUsername || n > MaxUsername {
			t.Fatalf("CleanUsername(%q) = %q: %d characters", in, out, n)
		}
		for _, r := range out {
			if !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' || r == '.' || r == '-') {
				t.Fatalf("CleanUsername(%q) = %q holds %q", in, out, r)
			}
		}
	})
}
