package ratelimit_test

import (
	"context"
	"fmt"
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

// Without Redis every method fails closed with a 503-coded error.
func TestUnavailable(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1}) // nothing listens there
	defer c.Close()
	l := ratelimit.New(c, rdb.Keys{Prefix: "kepu-test-down"})
	ctx := context.Background()
	rule := ratelimit.Rule{Name: "t", Burst: 3, Period: time.Hour}
	b := ratelimit.Backoff{Name: "bo", Free: 3, Base: time.Second, Max: 5 * time.Second, Forget: time.Hour}
	for name, err := range map[string]error{
		"Allow": l.Allow(ctx, rule, "a"), "Check": l.Check(ctx, rule, "a"), "Refund": l.Refund(ctx, rule, "a"),
		"Reset": l.Reset(ctx, rule, "a"), "Begin": l.Begin(ctx, b, "a", time.Now()), "Fail": l.Fail(ctx, b, "a", time.Now()),
		"ResetBackoff": l.ResetBackoff(ctx, b, "a"),
	} {
		if kepu.ErrorCode(err) != kepu.EUNAVAILABLE {
			t.Errorf("%s without Redis: got %v, want %s", name, err, kepu.EUNAVAILABLE)
		}
	}
}
