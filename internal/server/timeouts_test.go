package server_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kepu/kepu/internal/apptest"
	"github.com/kepu/kepu/internal/testenv"
)

// expectBusy fails unless r is a 503 "busy" with Retry-After that came
// within limit.
func expectBusy(t *testing.T, r apptest.Response, took, limit time.Duration, what string) {
	t.Helper()
	if r.Status != 503 || r.Header.Get("Retry-After") == "" || r.ErrorCode() != "unavailable" {
		t.Errorf("%s: got %d Retry-After %q %s, want 503 unavailable with Retry-After", what, r.Status, r.Header.Get("Retry-After"), r.Body)
	}
	if took > limit {
		t.Errorf("%s: took %v, want at most %v", what, took, limit)
	}
	t.Logf("%s: %d in %v", what, r.Status, took.Round(time.Millisecond))
}

// A table locked by someone else: a request waits at most its deadline
// (KEPU_REQUEST_TIMEOUT) or Postgres's lock_timeout, whichever comes
// first, and answers 503 with Retry-After and "busy", never 500.
func TestLockedTableEndsWithinDeadline(t *testing.T) {
	for _, tt := range []struct {
		name  string
		env   map[string]string
		limit time.Duration
	}{
		{"request deadline", map[string]string{"KEPU_REQUEST_TIMEOUT": "1s"}, 2 * time.Second},
		{"lock_timeout", map[string]string{"KEPU_DB_LOCK_TIMEOUT": "300ms"}, 1500 * time.Millisecond},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newCampaignOn(t, apptest.Options{Env: tt.env}, nil)
			pupil := f.citizen(t, "pupil1")
			attempt := f.start(t, pupil)
			tx, err := f.inst.DB.Pool.Begin(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback(context.Background())
			if _, err := tx.Exec(context.Background(), `LOCK TABLE campaign_attempts IN ACCESS EXCLUSIVE MODE`); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			r := pupil.Do("GET", fmt.Sprintf("/api/v1/attempts/%d", attempt), nil)
			expectBusy(t, r, time.Since(start), tt.limit, "current question with the table locked")
			if msg := r.ErrorMessage(); msg != "服务器正忙，请 2 秒后再试（这是暂时的）" {
				t.Errorf("message: got %q", msg)
			}
			tx.Rollback(context.Background())
			current(t, pupil, attempt) // and it works again
		})
	}
}

// holdPool takes every connection of pool until the test ends.
func holdPool(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	var held []*pgxpool.Conn
	t.Cleanup(func() {
		for _, c := range held {
			c.Release()
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for int32(len(held)) < pool.Config().MaxConns {
		c, err := pool.Acquire(context.Background()) // the instance's own loops may hold one for a moment
		if err == nil {
			held = append(held, c)
		} else if time.Now().After(deadline) {
			t.Fatalf("hold the pool: %d of %d connections: %v", len(held), pool.Config().MaxConns, err)
		}
	}
}

// A full pool answers 503 at once (KEPU_DB_ACQUIRE_TIMEOUT) instead of
// queueing the request; /readyz says Postgres is not ready and Redis is,
// each checked with its own deadline.
func TestFullPool(t *testing.T) {
	f := newCampaignOn(t, apptest.Options{Env: map[string]string{"KEPU_DB_ACQUIRE_TIMEOUT": "200ms"}}, nil)
	pupil := f.citizen(t, "pupil1")
	attempt := f.start(t, pupil)
	holdPool(t, f.inst.App.DB)
	start := time.Now()
	r := pupil.Do("GET", fmt.Sprintf("/api/v1/attempts/%d", attempt), nil)
	expectBusy(t, r, time.Since(start), time.Second, "current question with the pool full")
	if r, ready := readyz(t, pupil); r.Status != 503 || ready.Postgres == "ok" || ready.Redis != "ok" {
		t.Errorf("/readyz with the pool full: got %d %s, want 503 with postgres not ok, redis ok", r.Status, r.Body)
	}
}

type readiness struct{ Postgres, Redis, Status string }

// readyz asks /readyz, which must answer within 3 s.
func readyz(t *testing.T, c *apptest.Client) (apptest.Response, readiness) {
	t.Helper()
	start := time.Now()
	r := c.Do("GET", "/readyz", nil)
	took := time.Since(start)
	var ready readiness
	r.JSON(t, &ready)
	if took > 3*time.Second {
		t.Errorf("/readyz took %v, want at most 3 s", took)
	}
	t.Logf("/readyz: %d %s in %v", r.Status, r.Body, took.Round(time.Millisecond))
	return r, ready
}

// /readyz with Redis away: Redis unreachable, Postgres ok.
func TestReadyzEachDependency(t *testing.T) {
	proxy := testenv.NewRedisProxy(t)
	inst := apptest.Start(t, apptest.Options{NoSeed: true, Env: map[string]string{"KEPU_REDIS_URL": proxy.RedisURL()}})
	c := inst.Client()
	if r, ready := readyz(t, c); r.Status != 200 || ready.Postgres != "ok" || ready.Redis != "ok" {
		t.Fatalf("/readyz: got %d %s, want 200, both ok", r.Status, r.Body)
	}
	proxy.Cut()
	r, ready := readyz(t, c)
	if r.Status != 503 || ready.Postgres != "ok" || ready.Redis != "unreachable" || r.Header.Get("Retry-After") == "" {
		t.Errorf("/readyz with Redis away: got %d %s, want 503, postgres ok, redis unreachable, Retry-After", r.Status, r.Body)
	}
}

// An answer that arrives in time is judged at its arrival, even when the
// server can store it only after the deadline has passed (the attempt row
// locked by someone else meanwhile). It once was judged when the lock was
// granted, and scored as a timeout.
func TestAnswerJudgedAtArrival(t *testing.T) {
	f := newCampaign(t, nil) // 20 s per question
	pupil := f.citizen(t, "pupil1")
	attempt := f.start(t, pupil)
	current(t, pupil, attempt)
	f.clock.Add(15 * time.Second)
	ctx := context.Background()
	tx, err := f.inst.DB.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `SELECT 1 FROM campaign_attempts WHERE id = $1 FOR UPDATE`, attempt); err != nil {
		t.Fatal(err)
	}
	right := f.rightChoice(t, attempt, 1)
	// A second instance has no hot cache of the attempt: its answer path
	// locks the attempt row first, then judges.
	inst2 := apptest.Start(t, apptest.Options{Shared: f.inst, Now: f.clock.Now})
	other := *pupil
	other.Base = inst2.URL
	done := make(chan answerResult, 1)
	go func() { done <- answer(t, &other, attempt, 1, right, 200) }()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		var waiting int
		if err := f.inst.DB.Pool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the answer never waited for the row lock")
		}
	}
	f.clock.Add(30 * time.Second) // the server is slow: the deadline passes while it waits
	tx.Rollback(ctx)
	res := <-done
	if res.TimedOut || !res.Correct || res.Points != 700 { // 600 + 400·(5/20)
		t.Errorf("answer that arrived 15 s into 20 s: got %+v, want correct, in time, 700 points", res)
	}
}
