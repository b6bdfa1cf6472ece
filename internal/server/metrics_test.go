package server_test

import (
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/kepu/kepu/internal/apptest"
)

// /metrics answers after concurrent traffic of several methods and routes,
// and every label is one the server produced (the method and route labels
// once came from Fiber's reused buffers: "POS", "GETT", and the scrape
// failed with "was collected before with the same name and label values").
func TestMetricsAfterConcurrentTraffic(t *testing.T) {
	inst := apptest.Start(t, apptest.Options{NoSeed: true})
	type req struct{ method, path string }
	reqs := []req{
		{"GET", "/healthz"}, {"GET", "/api/v1/csrf"}, {"POST", "/api/v1/auth/login"},
		{"DELETE", "/api/v1/auth/session"}, {"PUT", "/api/v1/me"}, {"PATCH", "/api/v1/nowhere/at/all"},
		{"HEAD", "/healthz"}, {"OPTIONS", "/api/v1/csrf"}, {"GET", "/no/such/page/with/a/long/path"},
		{"POST", "/api/v1/contests/join"}, {"GET", "/static/does-not-exist.css"},
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	var wg sync.WaitGroup
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 60; i++ {
				r := reqs[(w+i)%len(reqs)]
				hr, err := http.NewRequest(r.method, inst.URL+r.path, strings.NewReader(`{"x":1}`))
				if err != nil {
					t.Error(err)
					return
				}
				res, err := client.Do(hr)
				if err != nil {
					t.Error(err)
					return
				}
				res.Body.Close()
			}
		}(w)
	}
	wg.Wait()
	res := inst.Client().Do("GET", "/metrics", nil)
	apptest.Expect(t, res, 200, "scrape after concurrent traffic")
	if !strings.Contains(string(res.Body), "\nkepu_contest_tick_failures_total ") {
		t.Errorf("scrape has no kepu_contest_tick_failures_total")
	}
	methods := map[string]bool{"GET": true, "POST": true, "PUT": true, "DELETE": true, "PATCH": true, "HEAD": true, "OPTIONS": true}
	label := regexp.MustCompile(`^kepu_http_requests_total\{method="([^"]*)",route="([^"]*)",status="(\d+)"\}`)
	seen := map[string]bool{}
	for _, line := range strings.Split(string(res.Body), "\n") {
		if !strings.HasPrefix(line, "kepu_http_requests_total{") {
			continue
		}
		m := label.FindStringSubmatch(line)
		if m == nil {
			t.Errorf("unparsable sample %q", line)
			continue
		}
		if !methods[m[1]] {
			t.Errorf("sample %q: method %q is not an HTTP method", line, m[1])
		}
		if !strings.HasPrefix(m[2], "/") {
			t.Errorf("sample %q: route %q is not a route", line, m[2])
		}
		seen[m[1]] = true
	}
	for _, m := range []string{"GET", "POST", "PUT", "DELETE", "PATCH"} {
		if !seen[m] {
			t.Errorf("no kepu_http_requests_total sample for method %s; got %v", m, seen)
		}
	}
}
