package contest

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/kepu/kepu/internal/org"
	"github.com/kepu/kepu/internal/rdb"
	"github.com/kepu/kepu/internal/testenv"
)

// While Redis is away the timer loop fails on every tick: it logs one
// warning when the outage starts and one line when it ends, and counts
// every failure in kepu_contest_tick_failures_total.
func TestTickOutageLoggedOnce(t *testing.T) {
	db := testenv.NewDB(t)
	rd := testenv.NewRedis(t)
	proxy := testenv.NewRedisProxy(t)
	rc, err := rdb.Open(context.Background(), proxy.RedisURL())
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	rc.(*redis.Client).Options().MaxRetries = -1 // one attempt per call: failures come at the tick rate
	s := NewService(db.Pool, rc, rd.Keys, &org.Service{DB: db.Pool})
	logs := &testenv.LogBuffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx, 5*time.Millisecond, log); close(done) }()
	defer func() { cancel(); <-done }()

	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); !ok(); time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 10 s; failures %v; log:\n%s", what, testenv.Counted(s.TickFailures), logs.String())
			}
		}
	}
	proxy.Cut()
	waitFor("50 failed ticks", func() bool { return testenv.Counted(s.TickFailures) >= 50 })
	if n := logs.Count("contest tick: failing"); n != 1 {
		t.Errorf("after %v failed ticks: got %d warnings, want 1", testenv.Counted(s.TickFailures), n)
	}
	proxy.Restore()
	waitFor("recovery logged", func() bool { return logs.Count("contest tick: recovered") == 1 })
	failed := testenv.Counted(s.TickFailures)
	proxy.Cut()
	waitFor("a second outage", func() bool { return testenv.Counted(s.TickFailures) >= failed+20 })
	proxy.Restore()
	waitFor("second recovery", func() bool { return logs.Count("contest tick: recovered") == 2 })
	if n := logs.Count("contest tick: failing"); n != 2 {
		t.Errorf("two outages: got %d warnings, want 2", n)
	}
}
