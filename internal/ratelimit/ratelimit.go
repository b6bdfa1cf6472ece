// Package ratelimit is an atomic Redis rate limiter (GCRA, via
// github.com/go-redis/redis_rate) that holds across every server instance
// sharing the Redis server, and a growing per-key backoff (backoff.go).
//
// When Redis does not answer, the rules (Allow, Check, Refund, Reset) fail
// open to the same rules counted in this process alone (local.go), so that
// what can work on Postgres alone goes on; the outage is logged once when
// it starts and once when it ends, every decision taken in-process is
// counted (Fallbacks), and while it lasts Redis is tried again at most
// once a second (the other calls do not wait for it). The backoff methods
// (login) fail closed: they return a kepu.EUNAVAILABLE error (HTTP 503
// with Retry-After).
package ratelimit

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/prometheus/client_golang/prometheus"
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

// Limiter checks rules against Redis, or in-process while Redis is away.
type Limiter struct {
	// Outage follows Redis as the limiter sees it; set its Log to have
	// outages logged (New names it).
	Outage kepu.Outage
	// Fallbacks counts decisions taken in-process because Redis did not
	// answer (kepu_ratelimit_fallbacks_total).
	Fallbacks prometheus.Counter

	l     *redis_rate.Limiter
	rdb   redis.UniversalClient
	keys  rdb.Keys
	local *local
	probe atomic.Int64 // unix ns of the last call sent to Redis during an outage
}

// probeEvery is how often, during an outage, one call tries Redis again.
const probeEvery = time.Second

// New returns a limiter whose keys live under keys' prefix.
func New(c redis.UniversalClient, keys rdb.Keys) *Limiter {
	return &Limiter{l: redis_rate.NewLimiter(c), rdb: c, keys: keys, local: newLocal(),
		Outage: kepu.Outage{Name: "rate limits (Redis)"},
		Fallbacks: prometheus.NewCounter(prometheus.CounterOpts{Name: "kepu_ratelimit_fallbacks_total",
			Help: "Rate-limit decisions taken in-process because Redis did not answer."})}
}

// tryRedis reports whether a rule call should go to Redis: always while
// Redis answers, once per probeEvery during an outage.
func (l *Limiter) tryRedis() bool {
	if !l.Outage.Down() {
		return true
	}
	now, last := time.Now().UnixNano(), l.probe.Load()
	return now-last >= int64(probeEvery) && l.probe.CompareAndSwap(last, now)
}

// redisResult records the outcome of a call to Redis; it reports whether
// the call failed (and the decision must be taken in-process).
func (l *Limiter) redisResult(err error) bool {
	if err == nil {
		l.Outage.OK()
		return false
	}
	l.probe.Store(time.Now().UnixNano())
	l.Outage.Fail(err)
	return true
}

// fallback decides n events of rule for id in-process.
func (l *Limiter) fallback(rule Rule, id string, n int) error {
	l.Fallbacks.Inc()
	if ok, retry := l.local.allowN(rule, rule.Name+":"+id, n, time.Now()); !ok {
		return errLimited(retry)
	}
	return nil
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
	if l.tryRedis() {
		res, err := l.l.Allow(ctx, l.keys.RateLimit(rule.Name, id), rule.limit())
		if !l.redisResult(err) {
			if res.Allowed == 0 {
				return errLimited(res.RetryAfter)
			}
			return nil
		}
	}
	return l.fallback(rule, id, 1)
}

// Check returns a 429 error if rule's budget for id is spent, without spending.
func (l *Limiter) Check(ctx context.Context, rule Rule, id string) error {
	if l.tryRedis() {
		res, err := l.l.AllowN(ctx, l.keys.RateLimit(rule.Name, id), rule.limit(), 0)
		if !l.redisResult(err) {
			if res.Remaining < 1 {
				retry := res.RetryAfter
				if retry <= 0 {
					retry = rule.Period / time.Duration(rule.Burst)
				}
				return errLimited(retry)
			}
			return nil
		}
	}
	return l.fallback(rule, id, 0)
}

// Reset forgets rule's history for id (after a successful login).
func (l *Limiter) Reset(ctx context.Context, rule Rule, id string) error {
	l.local.reset(rule.Name + ":" + id)
	if l.tryRedis() {
		l.redisResult(l.l.Reset(ctx, l.keys.RateLimit(rule.Name, id)))
	}
	return nil
}

// Refund gives back one event of rule for id that Allow spent (an attempt
// admitted before its outcome was known turned out not to count). GCRA
// moves the bucket's theoretical arrival time back by one emission
// interval, never before now, so a refund can only restore spent budget.
// During an outage the in-process bucket gets it back.
func (l *Limiter) Refund(ctx context.Context, rule Rule, id string) error {
	if l.tryRedis() {
		_, err := l.l.AllowN(ctx, l.keys.RateLimit(rule.Name, id), rule.limit(), -1)
		if !l.redisResult(err) {
			return nil
		}
	}
	return l.fallback(rule, id, -1)
}
