package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Stats collects latencies (HDR histograms, microseconds) and counters for
// one run. It is safe for concurrent use.
type Stats struct {
	start    time.Time
	mu       sync.Mutex
	hists    map[string]*hdrhistogram.Histogram
	order    []string
	counters map[string]*atomic.Int64
	errors   map[string]int64
	gauges   map[string]func() int64
}

// NewStats starts a run's statistics clock.
func NewStats() *Stats {
	return &Stats{start: time.Now(), hists: map[string]*hdrhistogram.Histogram{},
		counters: map[string]*atomic.Int64{}, errors: map[string]int64{}, gauges: map[string]func() int64{}}
}

// Observe records one latency under name.
func (s *Stats) Observe(name string, d time.Duration) {
	us := d.Microseconds()
	if us < 1 {
		us = 1
	}
	s.mu.Lock()
	h, ok := s.hists[name]
	if !ok {
		h = hdrhistogram.New(1, 120_000_000, 3) // 1 µs … 120 s
		s.hists[name] = h
		s.order = append(s.order, name)
	}
	h.RecordValue(us)
	s.mu.Unlock()
}

// Count adds n to the named counter.
func (s *Stats) Count(name string, n int64) {
	s.mu.Lock()
	c, ok := s.counters[name]
	if !ok {
		c = &atomic.Int64{}
		s.counters[name] = c
	}
	s.mu.Unlock()
	c.Add(n)
}

// Counter returns the named counter's value.
func (s *Stats) Counter(name string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.counters[name]; ok {
		return c.Load()
	}
	return 0
}

// Gauge registers a value read at each progress line (e.g. open connections).
func (s *Stats) Gauge(name string, f func() int64) {
	s.mu.Lock()
	s.gauges[name] = f
	s.mu.Unlock()
}

// Error counts one error of a kind (short, stable text: "http 500", "ws closed").
func (s *Stats) Error(kind string) {
	if len(kind) > 80 {
		kind = kind[:80]
	}
	s.mu.Lock()
	s.errors[kind]++
	s.mu.Unlock()
}

// Errors returns the total error count.
func (s *Stats) Errors() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int64
	for _, v := range s.errors {
		n += v
	}
	return n
}

// Progress prints one line a second until stop is closed: gauges, the rate
// of rateCounter, errors and the p99 so far of p99Hist.
func (s *Stats) Progress(w io.Writer, rateCounter, p99Hist string, stop <-chan struct{}) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	var last int64
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		now := s.Counter(rateCounter)
		var b strings.Builder
		fmt.Fprintf(&b, "[%5.0fs]", time.Since(s.start).Seconds())
		s.mu.Lock()
		names := make([]string, 0, len(s.gauges))
		for n := range s.gauges {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			fmt.Fprintf(&b, " %s=%d", n, s.gauges[n]())
		}
		p99 := int64(0)
		if h, ok := s.hists[p99Hist]; ok {
			p99 = h.ValueAtQuantile(99)
		}
		s.mu.Unlock()
		fmt.Fprintf(&b, " %s/s=%d errors=%d p99(%s)=%.1fms", rateCounter, now-last, s.Errors(), p99Hist, float64(p99)/1000)
		last = now
		fmt.Fprintln(w, b.String())
	}
}

// Summary is the machine-readable result of a run (--json).
type Summary struct {
	Scenario  string                  `json:"scenario"`
	Params    map[string]any          `json:"params"`
	StartedAt time.Time               `json:"started_at"`
	Seconds   float64                 `json:"seconds"`
	Latencies map[string]LatencyStats `json:"latencies_ms"`
	Counters  map[string]int64        `json:"counters"`
	Errors    map[string]int64        `json:"errors"`
	Checks    map[string]string       `json:"checks,omitempty"`
}

// LatencyStats are one histogram's figures in milliseconds.
type LatencyStats struct {
	Count int64   `json:"count"`
	P50   float64 `json:"p50"`
	P95   float64 `json:"p95"`
	P99   float64 `json:"p99"`
	Max   float64 `json:"max"`
}

// Summary freezes the run's figures.
func (s *Stats) Summary(scenario string, params map[string]any) Summary {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := Summary{Scenario: scenario, Params: params, StartedAt: s.start, Seconds: time.Since(s.start).Seconds(),
		Latencies: map[string]LatencyStats{}, Counters: map[string]int64{}, Errors: map[string]int64{}, Checks: map[string]string{}}
	ms := func(us int64) float64 { return float64(us) / 1000 }
	for n, h := range s.hists {
		out.Latencies[n] = LatencyStats{Count: h.TotalCount(), P50: ms(h.ValueAtQuantile(50)), P95: ms(h.ValueAtQuantile(95)),
			P99: ms(h.ValueAtQuantile(99)), Max: ms(h.Max())}
	}
	for n, c := range s.counters {
		out.Counters[n] = c.Load()
	}
	for k, v := range s.errors {
		out.Errors[k] = v
	}
	return out
}

// WriteTable prints the summary as a human-readable table.
func (sum Summary) WriteTable(w io.Writer) {
	fmt.Fprintf(w, "\n%s: %.1f s\n\n", sum.Scenario, sum.Seconds)
	names := make([]string, 0, len(sum.Latencies))
	for n := range sum.Latencies {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintf(w, "%-28s %10s %10s %10s %10s %10s\n", "latency (ms)", "count", "p50", "p95", "p99", "max")
	for _, n := range names {
		l := sum.Latencies[n]
		fmt.Fprintf(w, "%-28s %10d %10.2f %10.2f %10.2f %10.2f\n", n, l.Count, l.P50, l.P95, l.P99, l.Max)
	}
	fmt.Fprintln(w)
	cn := make([]string, 0, len(sum.Counters))
	for n := range sum.Counters {
		cn = append(cn, n)
	}
	sort.Strings(cn)
	for _, n := range cn {
		fmt.Fprintf(w, "%-28s %10d\n", n, sum.Counters[n])
	}
	if len(sum.Errors) == 0 {
		fmt.Fprintln(w, "errors                                0")
	} else {
		fmt.Fprintln(w, "errors by kind:")
		for k, v := range sum.Errors {
			fmt.Fprintf(w, "  %-40s %8d\n", k, v)
		}
	}
	for k, v := range sum.Checks {
		fmt.Fprintf(w, "check %-22s %s\n", k, v)
	}
}

// WriteJSON prints the summary as JSON.
func (sum Summary) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(sum)
}
