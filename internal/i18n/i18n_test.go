package i18n_test

import (
	"testing"

	"github.com/kepu/kepu/internal/i18n"
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
