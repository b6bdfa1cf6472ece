package ratelimit

import (
	"sync"
	"time"
)

// local is the in-process stand-in for the Redis limiter while Redis does
// not answer: the same GCRA rule, but counted by this instance alone (a
// client spread over n instances gets up to n times the budget). It holds
// at most localMaxKeys buckets; a full bucket needs no entry, so those go
// first, and if that is not enough every bucket is forgotten (the limit
// fails further open rather than grow without bound).
type local struct {
	mu  sync.Mutex
	tat map[string]time.Time // theoretical arrival time per rule and id
}

const localMaxKeys = 100_000

func newLocal() *local { return &local{tat: map[string]time.Time{}} }

// allowN spends n events of rule for key at now (n = 0 only checks, n < 0
// gives back); it reports whether they fit and, if not, when to retry.
func (lo *local) allowN(rule Rule, key string, n int, now time.Time) (bool, time.Duration) {
	interval := rule.Period / time.Duration(rule.Burst)
	lo.mu.Lock()
	defer lo.mu.Unlock()
	tat, ok := lo.tat[key]
	if !ok || tat.Before(now) {
		tat = now
	}
	switch {
	case n < 0:
		if t := tat.Add(time.Duration(n) * interval); t.After(now) {
			lo.tat[key] = t
		} else {
			delete(lo.tat, key)
		}
		return true, 0
	case n == 0:
		if at := tat.Add(interval - rule.Period); at.After(now) {
			return false, at.Sub(now)
		}
		return true, 0
	}
	next := tat.Add(time.Duration(n) * interval)
	if at := next.Add(-rule.Period); at.After(now) {
		return false, at.Sub(now)
	}
	if _, ok := lo.tat[key]; !ok && len(lo.tat) >= localMaxKeys {
		lo.sweep(now)
	}
	lo.tat[key] = next
	return true, 0
}

// sweep drops full buckets, or all of them when that frees nothing.
func (lo *local) sweep(now time.Time) {
	for k, t := range lo.tat {
		if !t.After(now) {
			delete(lo.tat, k)
		}
	}
	if len(lo.tat) >= localMaxKeys {
		clear(lo.tat)
	}
}

func (lo *local) reset(key string) {
	lo.mu.Lock()
	delete(lo.tat, key)
	lo.mu.Unlock()
}
