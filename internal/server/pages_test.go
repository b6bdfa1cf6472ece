package server_test

import (
	"io/fs"
	"regexp"
	"strings"
	"testing"

	"github.com/kepu/kepu/internal/i18n"
	"github.com/kepu/kepu/web"
)

// Every message key that a template or a page script names literally must
// exist (in both languages: TestLocalesComplete checks that), or the page
// would show the raw key.
func TestLiteralMessageKeysExist(t *testing.T) {
	t.Parallel()
	b, err := i18n.Load(web.Locales)
	if err != nil {
		t.Fatal(err)
	}
	patterns := map[string]*regexp.Regexp{
		".html": regexp.MustCompile(`\.T "([A-Za-z0-9_.]+)"`),
		".js":   regexp.MustCompile(`\bt\('([A-Za-z0-9_]+\.[A-Za-z0-9_.]+)'`), // full keys only
	}
	for _, root := range []fs.FS{web.Templates, web.Static} {
		err := fs.WalkDir(root, ".", func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || strings.Contains(path, "vendor/") {
				return err
			}
			for ext, re := range patterns {
				if !strings.HasSuffix(path, ext) {
					continue
				}
				src, err := fs.ReadFile(root, path)
				if err != nil {
					return err
				}
				for _, m := range re.FindAllStringSubmatch(string(src), -1) {
					if !b.Has(i18n.Default, m[1]) {
						t.Errorf("%s names message %q, which no locale file defines", path, m[1])
					}
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}
