package ratelimit

import (
	"context"
	_ "embed"
	"time"

	"github.com/redis/go-redis/v9"
)

// Backoff is a named per-key delay that grows with failures: the first
// Free-1 attempts pass freely; the Free-th and every later attempt, once it
// fails, closes the key for Base·2^(n−Free), at most Max, counted from the
// failure. A success ends it (ResetBackoff); Forget of quiet ends it too.
// Attempts while the key is closed are refused and do not count, so the
// wait never grows past Max however hard a key is hammered.
type Backoff struct {
	Name   string
	Free   int
	Base   time.Duration
	Max    time.Duration
	Forget time.Duration
}

//go:embed lua/backoff.lua
var backoffLua string

var backoffScript = redis.NewScript(backoffLua)

func (l *Limiter) backoff(ctx context.Context, b Backoff, id, op string, now time.Time) (time.Duration, error) {
	ms, err := backoffScript.Run(ctx, l.rdb, []string{l.keys.RateLimit(b.Name, id)}, op, now.UnixMilli(), b.Free,
		b.Base.Milliseconds(), b.Max.Milliseconds(), int64(b.Forget/time.Second)).Int64()
	if err != nil {
		return 0, unavailable(b.Name, err)
	}
	return time.Duration(ms) * time.Millisecond, nil
}

// Begin admits one attempt for id at now, counting it, or returns a 429
// error (seconds and minutes to wait) while id is closed.
func (l *Limiter) Begin(ctx context.Context, b Backoff, id string, now time.Time) error {
	wait, err := l.backoff(ctx, b, id, "begin", now)
	if err != nil {
		return err
	}
	if wait > 0 {
		return errLimited(wait)
	}
	return nil
}

// Fail records that the attempt Begin admitted for id failed at now.
func (l *Limiter) Fail(ctx context.Context, b Backoff, id string, now time.Time) error {
	_, err := l.backoff(ctx, b, id, "fail", now)
	return err
}

// ResetBackoff forgets id's failures (after a success).
func (l *Limiter) ResetBackoff(ctx context.Context, b Backoff, id string) error {
	if err := l.rdb.Del(ctx, l.keys.RateLimit(b.Name, id)).Err(); err != nil {
		return unavailable(b.Name, err)
	}
	return nil
}
