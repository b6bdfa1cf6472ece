package main

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kepu/kepu/internal/apptest"
)

// A room over three instances, its phones held by two worker processes:
// players are dealt round-robin to the instances, every worker's figures
// reach the one summary, per instance and overall, and every acknowledged
// answer is in Postgres after the podium.
func TestContestOverInstancesAndWorkers(t *testing.T) {
	first, args := scenarioServer(t)
	b := apptest.Start(t, apptest.Options{Shared: first, Env: map[string]string{"KEPU_LOG_LEVEL": "warn"}})
	c := apptest.Start(t, apptest.Options{Shared: first, Env: map[string]string{"KEPU_LOG_LEVEL": "warn"}})
	const players, questions = 300, 2
	args = append(args[2:], "--url", first.URL+","+b.URL, "--url", c.URL, // both forms
		"--players", fmt.Sprint(players), "--procs", "2", "--questions", fmt.Sprint(questions), "--time-limit", "10",
		"--join-over", "2s", "--answer-within", "1s", "--idle", "200ms", "--duration", "90s")
	sum := runJSON(t, append([]string{"contest"}, args...))

	want := int64(players * questions)
	if got := sum.Counters["answers"]; got != want {
		t.Errorf("answers %d, want %d (every player, every question)", got, want)
	}
	for _, h := range []string{"question_broadcast", "answer_ack", "leaderboard"} {
		if got := sum.Latencies[h].Count; got != want {
			t.Errorf("%s: %d observations, want %d", h, got, want)
		}
	}
	if sum.Counters["players_joined"] != players || sum.Counters["players_final"] != players || sum.Counters["players_dropped"] != 0 {
		t.Errorf("joined %d, final %d, dropped %d; want %d, %d, 0", sum.Counters["players_joined"], sum.Counters["players_final"],
			sum.Counters["players_dropped"], players, players)
	}
	if len(sum.Errors) != 0 {
		t.Errorf("errors: %v", sum.Errors)
	}
	if c := sum.Checks["acknowledged_answers"]; !strings.HasPrefix(c, fmt.Sprintf("%d acknowledged, %d rows", want, want)) || !strings.HasSuffix(c, ": 0 missing") {
		t.Errorf("acknowledged_answers: %q, want all %d in Postgres", c, want)
	}
	if !strings.Contains(sum.Checks["worker_rss"], "worker 1:") {
		t.Errorf("worker_rss %q, want both workers", sum.Checks["worker_rss"])
	}
	urls := []string{first.URL, b.URL, c.URL}
	if len(sum.Instances) != len(urls) {
		t.Fatalf("%d instance summaries, want %d", len(sum.Instances), len(urls))
	}
	var joined, answers int64
	for i, in := range sum.Instances {
		if in.URL != urls[i] || in.Counters["players_joined"] != players/3 || in.Counters["answers"] != want/3 ||
			in.Latencies["question_broadcast"].Count != want/3 {
			t.Errorf("instance %d: %s joined %d answers %d broadcasts %d; want %s with %d, %d, %d", i, in.URL,
				in.Counters["players_joined"], in.Counters["answers"], in.Latencies["question_broadcast"].Count, urls[i], players/3, want/3, want/3)
		}
		joined += in.Counters["players_joined"]
		answers += in.Counters["answers"]
	}
	if joined != players || answers != want {
		t.Errorf("instances add up to %d joined, %d answers; want %d, %d", joined, answers, players, want)
	}
}

// A worker may hear of the host's time after its player saw the event:
// the latency waits for it and is recorded then, not lost or negative.
func TestLatencyWaitsForTheHostsMark(t *testing.T) {
	st := NewStats()
	r := newContestRun(contestOpts{Questions: 2}, 1, "123456", newContestInsts([]string{"http://127.0.0.1:1"}, false), st)
	rc := recorder{all: st}
	at := time.Now()
	r.observeSince(rc, "question_broadcast", "next", 1, at.Add(40*time.Millisecond))
	if n := st.Summary("", nil).Latencies["question_broadcast"].Count; n != 0 {
		t.Fatalf("%d observations before the mark, want 0", n)
	}
	r.setMark("board", 1, at.UnixNano()) // another mark: still waiting
	r.setMark("next", 1, at.UnixNano())
	r.observeSince(rc, "question_broadcast", "next", 1, at.Add(10*time.Millisecond))
	l := st.Summary("", nil).Latencies["question_broadcast"]
	if l.Count != 2 || l.Max < 39.9 || l.Max > 40.1 || l.P50 < 9.9 || l.P50 > 10.1 {
		t.Errorf("got %+v, want 2 observations: 10 and 40 ms", l)
	}
	r.observeSince(rc, "leaderboard", "board", 0, at)
	r.finish()
	if sum := st.Summary("", nil); len(sum.Errors) != 1 {
		t.Errorf("errors %v, want the one latency whose mark never came", sum.Errors)
	}
}

// Workers' shares merge into one histogram: the percentiles of the whole,
// not an average of percentiles.
func TestStatsMerge(t *testing.T) {
	a, b, all := NewStats(), NewStats(), NewStats()
	for i := 1; i <= 90; i++ {
		a.Observe("ack", time.Millisecond)
	}
	for i := 1; i <= 10; i++ {
		b.Observe("ack", time.Second)
	}
	a.Count("answers", 90)
	b.Count("answers", 10)
	b.Error("ws closed")
	all.Merge(a.Export())
	all.Merge(b.Export())
	sum := all.Summary("contest", nil)
	if l := sum.Latencies["ack"]; l.Count != 100 || l.P50 > 1.01 || l.P95 < 999 || l.Max < 999 {
		t.Errorf("merged ack %+v, want 100 with p50 1 ms and p95 1 s", l)
	}
	if sum.Counters["answers"] != 100 || sum.Errors["ws closed"] != 1 {
		t.Errorf("counters %v errors %v, want 100 answers, one error", sum.Counters, sum.Errors)
	}
	var tbl bytes.Buffer
	sum.Instances = []InstanceSummary{a.instanceSummary("http://a"), b.instanceSummary("http://b")}
	sum.WriteTable(&tbl)
	if !strings.Contains(tbl.String(), "per instance") || !strings.Contains(tbl.String(), "http://b") {
		t.Errorf("table lacks the instances:\n%s", tbl.String())
	}
}
