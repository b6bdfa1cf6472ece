// Package ratelimit is an atomic Redis rate limiter (GCRA, via
// github.com/go-redis/redis_rate) that holds across every server instance
// sharing the Redis server, and a growing per-key backoff (backoff.go).
//
// When Redis does not answer, every method returns a kepu.EUNAVAILABLE
// error (HTTP 503 with Retry-After): limits fail closed, never open.
package ratelimit

import (
	"context"
	"fmt"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"

	"github.com/kepu/kepu/internal/kepu"
	"github.com/kepu/kepu/internal/rdb"
)

// Rule is a named limit: Burst events at once, refilled at Burst per Period.
type Rule struct {
	Name   string
	Burst  int
	Period time.Duration
}

// Limiter checks rules against Redis.
type Limiter struct {
	l    *redis_rate.Limiter
	rdb  *redis.Client
	keys rdb.Keys
}

// New returns a limiter whose keys live under keys' prefix.
func New(c *redis.Client, keys rdb.Keys) *Limiter {
	return &Limiter{l: redis_rate.NewLimiter(c), rdb: c, keys: keys}
}

func (r Rule) limit() redis_rate.Limit {
	return redis_rate.Limit{Rate: r.Burst, Burst: r.Burst, Period: r.Period}
}

// unavailableRetry is the Retry-After given while Redis does not answer.
const unavailableRetry = 5

// unavailable wraps a Redis failure of the limiter named name.
func unavailable(name string, err error) error {
	return (&kepu.Error{Code: kepu.EUNAVAILABLE, Key: "error.unavailable",
		Err: fmt.Errorf("ratelimit: %s: %w", name, err)}).With("seconds", unavailableRetry)
}

// ErrLimited is returned when a rule's budget is spent; RetryAfter gives seconds.
func errLimited(retry time.Duration) *kepu.Error {
	secs := int(retry.Seconds() + 0.999)
	if secs < 1 {
		secs = 1
	}
	return kepu.Errorf(kepu.ERATELIMIT, "error.rate_limited").With("seconds", secs).With("minutes", (secs+59)/60)
}

// Allow spends one event of rule for id, or returns a 429 error.
func (l *Limiter) Allow(ctx context.Context, rule Rule, id string) error {
	res, err := l.l.Allow(ctx, l.keys.RateLimit(rule.Name, id), rule.limit())
	if err != nil {
		return unavailable(rule.Name, err)
	}
	if res.Allowed == 0 {
		return errLimited(res.RetryAfter)
	}
	return nil
}

// Check returns a 429 error if rule's budget for id is spent, without spending.
func (l *Limiter) Check(ctx context.Context, rule Rule, id string) error {
	res, err := l.l.AllowN(ctx, l.keys.RateLimit(rule.Name, id), rule.limit(), 0)
	if err != nil {
		return unavailable(rule.Name, err)
	}
	if res.Remaining < 1 {
		retry := res.RetryAfter
		if retry <= 0 {
			retry = rule.Period / time.Duration(rule.Burst)
		}
		return errLimited(retry)
	}
	return nil
}

// Reset forgets rule's history for id (after a successful login).
func (l *Limiter) Reset(ctx context.Context, rule Rule, id string) error {
	if err := l.l.Reset(ctx, l.keys.RateLimit(rule.Name, id)); err != nil {
		return unavailable(rule.Name, err)
	}
	return nil
}

// Refund gives back one event of rule for id that Allow spent (an attempt
// admitted before its outcome was known turned out not to count). GCRA
// moves the bucket's theoretical arrival time back by one emission
// interval, never before now, so a refund can only restore spent budget.
func (l *Limiter) Refund(ctx context.Context, rule Rule, id string) error {
	if _, err := l.l.AllowN(ctx, l.keys.RateLimit(rule.Name, id), rule.limit(), -1); err != nil {
		return unavailable(rule.Name, err)
	}
	return nil
}
