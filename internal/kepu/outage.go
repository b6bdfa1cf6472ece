package kepu

import (
	"log/slog"
	"sync"
	"time"
)

// Outage follows one user of a dependency (the contest ticker, the rate
// limiter …) through failures and recoveries, so that an outage is logged
// once when it starts and once when it ends instead of on every failed
// call, and every failure is counted. Name names the user in the logs; Log
// (nil: no logs) and Failures (nil: no count; a prometheus.Counter fits)
// are optional. Safe for concurrent use.
type Outage struct {
	Name     string
	Log      *slog.Logger
	Failures interface{ Inc() }

	mu    sync.Mutex
	down  bool
	since time.Time
	n     int64 // failures in the current outage
}

// Fail records a failure. The first failure after a success (or the
// first ever) logs a warning with err; it reports whether it did.
func (o *Outage) Fail(err error) bool {
	if o.Failures != nil {
		o.Failures.Inc()
	}
	o.mu.Lock()
	started := !o.down
	if started {
		o.down, o.since, o.n = true, time.Now(), 0
	}
	o.n++
	o.mu.Unlock()
	if started && o.Log != nil {
		o.Log.Warn(o.Name+": failing", "err", err)
	}
	return started
}

// OK records a success. The first success after a failure logs that the
// outage ended, how long it lasted and how many failures it had.
func (o *Outage) OK() {
	o.mu.Lock()
	if !o.down {
		o.mu.Unlock()
		return
	}
	o.down = false
	took, n := time.Since(o.since), o.n
	o.mu.Unlock()
	if o.Log != nil {
		o.Log.Info(o.Name+": recovered", "failures", n, "took_ms", took.Milliseconds())
	}
}

// Down reports whether the last outcome recorded was a failure.
func (o *Outage) Down() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.down
}
