package server_test

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/kepu/kepu/internal/apptest"
)

// /debug/pprof is off unless KEPU_PPROF is set, and then only for loopback
// peers that are not behind a proxy.
func TestPprofSwitch(t *testing.T) {
	t.Run("off by default", func(t *testing.T) {
		inst := apptest.Start(t, apptest.Options{NoSeed: true})
		c := inst.Client()
		for _, path := range []string{"/debug/pprof/", "/debug/pprof/heap", "/debug/pprof/profile?seconds=1"} {
			apptest.Expect(t, c.Do("GET", path, nil), 404, path+" with KEPU_PPROF unset")
		}
	})
	t.Run("on: loopback only", func(t *testing.T) {
		inst := apptest.Start(t, apptest.Options{NoSeed: true, Env: map[string]string{"KEPU_PPROF": "true"}})
		c := inst.Client()
		r := c.Do("GET", "/debug/pprof/heap?debug=1", nil)
		apptest.Expect(t, r, 200, "heap profile from loopback")
		if !strings.Contains(string(r.Body), "heap profile") {
			t.Errorf("heap profile: got %.80q, want a text heap profile", r.Body)
		}
		r = c.Do("GET", "/debug/pprof/profile?seconds=1", nil)
		apptest.Expect(t, r, 200, "CPU profile from loopback")
		if len(r.Body) < 2 || r.Body[0] != 0x1f || r.Body[1] != 0x8b {
			t.Errorf("CPU profile: got %d bytes, want a gzipped profile", len(r.Body))
		}
		r = c.DoHeader("GET", "/debug/pprof/heap", nil, map[string]string{"X-Forwarded-For": "203.0.113.1"})
		apptest.Expect(t, r, 403, "pprof through a proxy")
		// A peer that is not loopback (Fiber's test connection comes from 0.0.0.0).
		for _, path := range []string{"/debug/pprof/", "/debug/pprof/heap", "/debug/pprof/cmdline"} {
			res, err := inst.App.Server.App.Test(httptest.NewRequest("GET", path, nil))
			if err != nil {
				t.Fatal(err)
			}
			if res.StatusCode != 403 {
				t.Errorf("%s from a remote peer: got %d, want 403", path, res.StatusCode)
			}
		}
	})
}
