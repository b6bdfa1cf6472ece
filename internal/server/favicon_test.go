package server_test

import (
	"strings"
	"testing"

	"github.com/kepu/kepu/internal/apptest"
)

// Browsers ask every site for /favicon.ico: Kepu answers with its icon
// (a redirect to the SVG the pages name), not a 404 in every log.
func TestFavicon(t *testing.T) {
	t.Parallel()
	inst := apptest.Start(t)
	c := inst.Client()
	r := c.Do("GET", "/favicon.ico", nil)
	if r.Status != 301 || r.Header.Get("Location") != "/static/img/favicon.svg" {
		t.Fatalf("GET /favicon.ico: %d, Location %q", r.Status, r.Header.Get("Location"))
	}
	r = c.Do("GET", "/static/img/favicon.svg", nil)
	if r.Status != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "image/svg+xml") || !strings.Contains(string(r.Body), "<svg") {
		t.Fatalf("GET the icon: %d %s", r.Status, r.Header.Get("Content-Type"))
	}
	page := string(c.Do("GET", "/", nil).Body)
	if !strings.Contains(page, `<link rel="icon" href="/static/img/favicon.svg?v=`) {
		t.Errorf("the home page names no icon")
	}
}
