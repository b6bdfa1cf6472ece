package ratelimit_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/kepu/kepu/internal/kepu"
	"github.com/kepu/kepu/internal/ratelimit"
	"github.com/kepu/kepu/internal/rdb"
	"github.com/kepu/kepu/internal/testenv"
)

// A refund gives back what Allow spent, and never more than the burst.
func TestRefund(t *testing.T) {
	r := testenv.NewRedis(t)
	l := ratelimit.New(r.Client, r.Keys)
	ctx := context.Background()
	rule := ratelimit.Rule{Name: "t", Burst: 3, Period: time.Hour}
	for _, id := range []string{"a", "b"} {
		if err := l.Refund(ctx, rule, id); err != nil { // nothing spent: no credit
			t.Fatal(err)
		}
		for i := 1; i <= 3; i++ {
			if err := l.Allow(ctx, rule, id); err != nil {
				t.Fatalf("%s: event %d: %v", id, i, err)
			}
		}
		if err := l.Allow(ctx, rule, id); kepu.ErrorCode(err) != kepu.ERATELIMIT {
			t.Fatalf("%s: event 4: got %v, want rate limited", id, err)
		}
		if err := l.Refund(ctx, rule, id); err != nil {
			t.Fatal(err)
		}
		if err := l.Allow(ctx, rule, id); err != nil {
			t.Fatalf("%s: after a refund: %v", id, err)
		}
		if err := l.Allow(ctx, rule, id); kepu.ErrorCode(err) != kepu.ERATELIMIT {
			t.Fatalf("%s: refund gave more than one: got %v", id, err)
		}
	}
}

func TestBackoff(t *testing.T) {
	r := testenv.NewRedis(t)
	l := ratelimit.New(r.Client, r.Keys)
	ctx := context.Background()
	b := ratelimit.Backoff{Name: "bo", Free: 3, Base: time.Second, Max: 5 * time.Second, Forget: time.Hour}
	now := time.Unix(1_800_000_000, 0)
	var got []string
	for i := 0; i < 8; i++ {
		err := l.Begin(ctx, b, "x", now)
		if err != nil {
			got = append(got, fmt.Sprint(err.(*kepu.Error).Params["seconds"]))
			now = now.Add(time.Duration(err.(*kepu.Error).Params["seconds"].(int)) * time.Second)
			continue
		}
		got = append(got, "ok")
		if err := l.Fail(ctx, b, "x", now); err != nil {
			t.Fatal(err)
		}
	}
	// attempts 1–3 pass; the 3rd failure closes for 1 s, the 4th for 2 s, the 5th for 4 s, then 5 s (max).
	if want := "[ok ok ok 1 ok 2 ok 4]"; fmt.Sprint(got) != want {
		t.Errorf("got %v, want %s", got, want)
	}
	if err := l.ResetBackoff(ctx, b, "x"); err != nil {
		t.Fatal(err)
	}
	if err := l.Begin(ctx, b, "x", now); err != nil {
		t.Errorf("after reset: %v", err)
	}
	// Parallel attempts are counted before their outcome: of 10 at once, Free pass.
	passed := 0
	for i := 0; i < 10; i++ {
		if l.Begin(ctx, b, "y", now) == nil {
			passed++
		}
	}
	if passed != 3 {
		t.Errorf("10 attempts before any outcome: %d passed, want 3", passed)
	}
}

// Without Redis the backoff (login) fails closed with a 503-coded error,
// and the rules fail open to the same rule counted in-process.
func TestUnavailable(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1}) // nothing listens there
	defer c.Close()
	l := ratelimit.New(c, rdb.Keys{Prefix: "kepu-test-down"})
	ctx := context.Background()
	b := ratelimit.Backoff{Name: "bo", Free: 3, Base: time.Second, Max: 5 * time.Second, Forget: time.Hour}
	for name, err := range map[string]error{
		"Begin": l.Begin(ctx, b, "a", time.Now()), "Fail": l.Fail(ctx, b, "a", time.Now()),
		"ResetBackoff": l.ResetBackoff(ctx, b, "a"),
	} {
		if kepu.ErrorCode(err) != kepu.EUNAVAILABLE {
			t.Errorf("%s without Redis: got %v, want %s", name, err, kepu.EUNAVAILABLE)
		}
	}
	rule := ratelimit.Rule{Name: "t", Burst: 3, Period: time.Hour}
	for name, err := range map[string]error{
		"Check": l.Check(ctx, rule, "a"), "Refund": l.Refund(ctx, rule, "a"), "Reset": l.Reset(ctx, rule, "a"),
	} {
		if err != nil {
			t.Errorf("%s without Redis: got %v, want nil (in-process)", name, err)
		}
	}
}

// While Redis is away a rule is enforced by the process: the burst passes,
// the next event is refused with 429 and a wait, a refund gives one back;
// the outage is logged once when it starts and once when it ends, and
// every in-process decision is counted. Once Redis answers again the rule
// is Redis's again.
func TestFailOpenToLocal(t *testing.T) {
	r := testenv.NewRedis(t)
	proxy := testenv.NewRedisProxy(t)
	c := redis.NewClient(&redis.Options{Addr: proxy.Addr(), MaxRetries: -1})
	defer c.Close()
	l := ratelimit.New(c, r.Keys)
	logs := &testenv.LogBuffer{}
	l.Outage.Log = slog.New(slog.NewTextHandler(logs, nil))
	ctx := context.Background()
	rule := ratelimit.Rule{Name: "answers", Burst: 5, Period: time.Minute}
	if err := l.Allow(ctx, rule, "u1"); err != nil { // one event in Redis
		t.Fatal(err)
	}
	proxy.Cut()
	start := time.Now()
	for i := 0; i < 5; i++ {
		if err := l.Allow(ctx, rule, "u1"); err != nil {
			t.Fatalf("event %d of the burst during the outage: %v", i+1, err)
		}
	}
	err := l.Allow(ctx, rule, "u1")
	var ke *kepu.Error
	if !errors.As(err, &ke) || ke.Code != kepu.ERATELIMIT || ke.Params["seconds"].(int) < 1 {
		t.Fatalf("6th event during the outage: got %v, want 429 with a wait", err)
	}
	if err := l.Allow(ctx, rule, "u2"); err != nil {
		t.Errorf("another id during the outage: %v", err)
	}
	if err := l.Refund(ctx, rule, "u1"); err != nil {
		t.Fatal(err)
	}
	if err := l.Allow(ctx, rule, "u1"); err != nil {
		t.Errorf("after a refund during the outage: %v", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("9 decisions during the outage took %v, want well under 2 s", took)
	}
	if n := logs.Count("failing"); n != 1 {
		t.Errorf("outage warnings: got %d, want 1; log:\n%s", n, logs)
	}
	if got := testenv.Counted(l.Fallbacks); got != 9 {
		t.Errorf("in-process decisions: got %v, want 9", got)
	}
	proxy.Restore()
	deadline := time.Now().Add(10 * time.Second)
	for logs.Count("recovered") == 0 { // Redis is probed once a second
		if time.Now().After(deadline) {
			t.Fatalf("no recovery within 10 s; log:\n%s", logs)
		}
		l.Allow(ctx, rule, "u3")
		time.Sleep(20 * time.Millisecond)
	}
	for i := 0; i < 4; i++ { // u1 has 4 events left in Redis
		if err := l.Allow(ctx, rule, "u1"); err != nil {
			t.Fatalf("event %d after the outage: %v", i+2, err)
		}
	}
	if err := l.Allow(ctx, rule, "u1"); kepu.ErrorCode(err) != kepu.ERATELIMIT {
		t.Errorf("6th event in Redis: got %v, want 429", err)
	}
}
