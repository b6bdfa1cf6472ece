package app_test

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/kepu/kepu/internal/app"
	"github.com/kepu/kepu/internal/apptest"
	"github.com/kepu/kepu/internal/config"
	"github.com/kepu/kepu/internal/testenv"
)

// backgroundFuncs are the long-lived goroutines an instance runs besides
// requests: none may outlive Serve.
var backgroundFuncs = []string{
	"app.(*App).housekeeping",
	"contest.(*Service).Run",
	"dashboard.(*Refresher).Run",
	"realtime.RedisBroker.",
	"account.(*SessionCache).Listen",
	"server.(*Server).startLeaderboardLive",
	"server.(*Server).startDashLive",
	"server.(*Server).sendResults",
}

// stillRunning returns the background functions on some goroutine's stack.
func stillRunning() []string {
	buf := make([]byte, 4<<20)
	stacks := string(buf[:runtime.Stack(buf, true)])
	var out []string
	for _, f := range backgroundFuncs {
		if strings.Contains(stacks, f) {
			out = append(out, f)
		}
	}
	return out
}

// TestServeStopsItsBackgroundWork: when Serve returns after a graceful
// shutdown, every goroutine it started has stopped (before, the live
// subscriptions and the refresher outlived it and logged "client is
// closed" once the pools were closed).
func TestServeStopsItsBackgroundWork(t *testing.T) {
	inst := apptest.Start(t)
	apptest.Expect(t, inst.Client().Do("GET", "/readyz", nil), 200, "the instance serves")
	inst.Stop()
	if left := stillRunning(); len(left) > 0 {
		t.Fatalf("after Serve returned, still running: %v", left)
	}
}

// TestServeStopsOnListenError: a listener that fails ends Serve with the
// error, and the background work it started stops too.
func TestServeStopsOnListenError(t *testing.T) {
	db, rd := testenv.NewDB(t), testenv.NewRedis(t)
	env := map[string]string{
		"KEPU_DATABASE_URL": db.URL, "KEPU_REDIS_URL": testenv.RedisURL(), "KEPU_REDIS_PREFIX": rd.Prefix,
	}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil))
	a, err := app.Open(context.Background(), cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln.Close() // Accept fails at once
	done := make(chan error, 1)
	go func() { done <- a.Serve(context.Background(), ln) }()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("Serve on a closed listener: got nil, want the listen error")
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Serve did not return after its listener failed")
	}
	if left := stillRunning(); len(left) > 0 {
		t.Fatalf("after Serve failed, still running: %v", left)
	}
}
