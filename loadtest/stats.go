package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
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

// errorN counts n errors of a kind.
func (s *Stats) errorN(kind string, n int64) {
	s.mu.Lock()
	s.errors[kind] += n
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
		p99 := ""
		if h, ok := s.hists[p99Hist]; ok {
			p99 = fmt.Sprintf(" p99(%s)=%.1fms", p99Hist, float64(h.ValueAtQuantile(99))/1000)
		}
		s.mu.Unlock()
		fmt.Fprintf(&b, " %s/s=%d errors=%d%s", rateCounter, now-last, s.Errors(), p99)
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
	// Instances: each server's share when the run spread over several.
	Instances []InstanceSummary `json:"instances,omitempty"`
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
	for _, n := range slices.Sorted(maps.Keys(sum.Counters)) {
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
	for _, k := range slices.Sorted(maps.Keys(sum.Checks)) {
		fmt.Fprintf(w, "check %-22s %s\n", k, sum.Checks[k])
	}
	instanceTable(w, sum.Instances)
}

// WriteJSON prints the summary as JSON.
func (sum Summary) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(sum)
}

// StatsExport is a Stats in a form that crosses a process boundary (a
// worker's share of a run, merged by the parent).
type StatsExport struct {
	Hists    map[string]*hdrhistogram.Snapshot `json:"hists"`
	Counters map[string]int64                  `json:"counters"`
	Errors   map[string]int64                  `json:"errors"`
}

// Export copies the histograms, counters and errors.
func (s *Stats) Export() StatsExport {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := StatsExport{Hists: map[string]*hdrhistogram.Snapshot{}, Counters: map[string]int64{}, Errors: map[string]int64{}}
	for n, h := range s.hists {
		e.Hists[n] = h.Export()
	}
	for n, c := range s.counters {
		e.Counters[n] = c.Load()
	}
	for k, v := range s.errors {
		e.Errors[k] = v
	}
	return e
}

// Merge adds an exported share to s: histograms merged value by value,
// counters and errors summed.
func (s *Stats) Merge(e StatsExport) {
	s.mu.Lock()
	for _, n := range slices.Sorted(maps.Keys(e.Hists)) {
		h, ok := s.hists[n]
		if !ok {
			h = hdrhistogram.New(1, 120_000_000, 3)
			s.hists[n] = h
			s.order = append(s.order, n)
		}
		h.Merge(hdrhistogram.Import(e.Hists[n]))
	}
	for k, v := range e.Errors {
		s.errors[k] += v
	}
	s.mu.Unlock()
	for n, v := range e.Counters {
		s.Count(n, v)
	}
}

// InstanceSummary is one server instance's share of a run over several.
type InstanceSummary struct {
	URL       string                  `json:"url"`
	Latencies map[string]LatencyStats `json:"latencies_ms"`
	Counters  map[string]int64        `json:"counters"`
	Errors    map[string]int64        `json:"errors,omitempty"`
	ServerRSS string                  `json:"server_rss,omitempty"`
}

// instanceTable prints the per-instance lines of a run over several
// instances: the counts and the p99 of each latency.
func instanceTable(w io.Writer, insts []InstanceSummary) {
	if len(insts) == 0 {
		return
	}
	names := map[string]bool{}
	for _, in := range insts {
		for n := range in.Latencies {
			names[n] = true
		}
	}
	lat := slices.Sorted(maps.Keys(names))
	fmt.Fprintf(w, "\nper instance: %-22s %8s %8s %8s %8s", "url", "joined", "dropped", "answers", "errors")
	for _, n := range lat {
		fmt.Fprintf(w, " %14s", shortName(n)+" p99")
	}
	fmt.Fprintln(w)
	for _, in := range insts {
		var errs int64
		for _, v := range in.Errors {
			errs += v
		}
		fmt.Fprintf(w, "              %-22s %8d %8d %8d %8d", in.URL, in.Counters["players_joined"], in.Counters["players_dropped"],
			in.Counters["answers"], errs)
		for _, n := range lat {
			fmt.Fprintf(w, " %14.1f", in.Latencies[n].P99)
		}
		fmt.Fprintln(w)
		if in.ServerRSS != "" {
			fmt.Fprintf(w, "              %-22s server %s\n", "", in.ServerRSS)
		}
	}
}

// shortName is a latency's name in a narrow column.
func shortName(n string) string {
	if s, ok := map[string]string{"question_broadcast": "broadcast", "answer_ack": "ack", "leaderboard": "board",
		"result_after_reveal": "result"}[n]; ok {
		return s
	}
	if len(n) > 10 {
		return n[:10]
	}
	return n
}

// instanceSummary freezes one instance's figures.
func (s *Stats) instanceSummary(url string) InstanceSummary {
	sum := s.Summary("", nil)
	return InstanceSummary{URL: url, Latencies: sum.Latencies, Counters: sum.Counters, Errors: sum.Errors}
}
