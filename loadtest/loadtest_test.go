package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestContestOptsValidate(t *testing.T) {
	ok := contestOpts{Players: 100, Questions: 3, TimeLimit: 20, AnswerWithin: 5 * time.Second, PerSource: 40, JoinOver: time.Second}
	tests := []struct {
		name   string
		change func(*contestOpts)
		want   string // "" = valid, else a piece of the error
	}{
		{"defaults", func(*contestOpts) {}, ""},
		{"no players", func(o *contestOpts) { o.Players = 0 }, "--players"},
		{"too many questions", func(o *contestOpts) { o.Questions = 51 }, "--questions"},
		{"time limit too short", func(o *contestOpts) { o.TimeLimit = 4 }, "--time-limit"},
		{"answer after the deadline", func(o *contestOpts) { o.AnswerWithin = 20 * time.Second }, "--answer-within"},
		{"zero per address", func(o *contestOpts) { o.PerSource = 0 }, "--per-address"},
		{"negative idle", func(o *contestOpts) { o.Idle = -time.Second }, "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := ok
			tt.change(&o)
			err := o.validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("got %v, want valid", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("got %v, want an error naming %s", err, tt.want)
			}
		})
	}
}

func TestSummary(t *testing.T) {
	s := NewStats()
	for i := 1; i <= 100; i++ {
		s.Observe("ack", time.Duration(i)*time.Millisecond)
	}
	s.Count("answers", 7)
	s.Error("http 429 rate_limited")
	s.Error("http 429 rate_limited")
	sum := s.Summary("contest", map[string]any{"players": "100"})
	l := sum.Latencies["ack"]
	if l.Count != 100 || l.P50 < 49.9 || l.P50 > 50.1 || l.P99 < 98.9 || l.P99 > 99.1 || l.Max < 99.9 || l.Max > 100.1 {
		t.Errorf("ack latencies = %+v, want count 100, p50 50, p99 99, max 100 (ms)", l)
	}
	if sum.Counters["answers"] != 7 || sum.Errors["http 429 rate_limited"] != 2 {
		t.Errorf("counters %v errors %v, want answers 7 and two 429s", sum.Counters, sum.Errors)
	}
	var tbl, js bytes.Buffer
	sum.WriteTable(&tbl)
	if !strings.Contains(tbl.String(), "ack") || !strings.Contains(tbl.String(), "http 429 rate_limited") {
		t.Errorf("table lacks the latency or the error kind:\n%s", tbl.String())
	}
	if err := sum.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back Summary
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || back.Latencies["ack"].Count != 100 {
		t.Errorf("JSON round trip: got %+v (%v), want the ack histogram back", back.Latencies, err)
	}
}

func TestRunRejectsBadInvocations(t *testing.T) {
	tests := []struct {
		args []string
		want int
	}{
		{nil, 2},
		{[]string{"nosuch"}, 2},
		{[]string{"contest", "--url", "http://10.1.2.3:8080"}, 2},
		{[]string{"contest", "--players", "0"}, 1},
		{[]string{"contest", "--url", "http://127.0.0.1:1,http://10.1.2.3:8080"}, 2},            // every instance is checked
		{[]string{"campaign", "--url", "http://127.0.0.1:1", "--url", "http://127.0.0.1:2"}, 2}, // one instance only
		{[]string{"contest", "--players", "30000"}, 1},                                          // more than one process holds
		{[]string{"contest", "--url", "http://127.0.0.1:1,http://127.0.0.1:2", "--server-pid", "1,2,3"}, 1},
	}
	for _, tt := range tests {
		var out, errb bytes.Buffer
		if got := run(tt.args, &out, &errb); got != tt.want {
			t.Errorf("run(%q) = %d, want %d (stderr %s)", tt.args, got, tt.want, errb.String())
		}
	}
}

func TestSourceIPsAreDistinctLoopback(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 600; i++ {
		ip := sourceIP(i)
		if !ip.IsLoopback() || seen[ip.String()] {
			t.Fatalf("sourceIP(%d) = %v: want a new loopback address", i, ip)
		}
		seen[ip.String()] = true
	}
}

func TestDataQ(t *testing.T) {
	for _, tt := range []struct {
		msg string
		q   int
		ok  bool
	}{
		{`{"seq":41,"epoch":7,"type":"question","data":{"q":3,"stem":"\"q\":9","options":["a","b"]}}`, 3, true},
		{`{"seq":41,"epoch":7,"type":"question","data":{"stem":"x \"q\":9","q":12}}`, 12, true},
		{`{"type":"question","data":{"stem":"x"}}`, 0, false},
		{`{"type":"question","data":{"q":"x"}}`, 0, false},
	} {
		if q, ok := dataQ([]byte(tt.msg)); q != tt.q || ok != tt.ok {
			t.Errorf("dataQ(%s) = %d, %v; want %d, %v", tt.msg, q, ok, tt.q, tt.ok)
		}
	}
}
