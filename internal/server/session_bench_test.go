package server_test

import (
	"io"
	"net/http"
	"testing"

	"github.com/kepu/kepu/internal/apptest"
)

// BenchmarkSessionMiddleware is an authenticated request through the whole
// server (GET /api/v1/me: the session middleware's lookup, then a small
// JSON answer) on real Postgres, with the session cache off and on. The
// client shares the machine, so the difference understates the server's
// saving; BenchmarkSessionUser in internal/account isolates the lookup.
//
//	go test -run '^$' -bench SessionMiddleware -benchmem ./internal/server
func BenchmarkSessionMiddleware(b *testing.B) {
	for _, tt := range []struct{ name, ttl string }{{"uncached", "0"}, {"cached", "5s"}} {
		b.Run(tt.name, func(b *testing.B) {
			inst := apptest.Start(b, apptest.Options{Env: map[string]string{"KEPU_SESSION_CACHE_TTL": tt.ttl, "KEPU_LOG_LEVEL": "warn"}})
			_, pw := inst.CreateUser("bench", "participant")
			cookie := "kepu_session=" + inst.Login("bench", pw).Cookie("kepu_session")
			tr := &http.Transport{MaxIdleConnsPerHost: 64}
			defer tr.CloseIdleConnections()
			client := &http.Client{Transport: tr}
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req, _ := http.NewRequest("GET", inst.URL+"/api/v1/me", nil)
					req.Header.Set("Cookie", cookie)
					res, err := client.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, res.Body)
					res.Body.Close()
					if res.StatusCode != 200 {
						b.Errorf("status %d", res.StatusCode)
						return
					}
				}
			})
		})
	}
}
