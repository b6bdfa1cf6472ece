package main

import (
	"strings"
	"testing"
	"time"

	"github.com/kepu/kepu/internal/app"
	"github.com/kepu/kepu/internal/apptest"
)

func TestPKOptsValidate(t *testing.T) {
	checkOpts(t, pkOpts{Players: 10, Mode: 2, Think: time.Second, Ramp: time.Second}, pkOpts.validate, []optsCase[pkOpts]{
		{"one player", func(o *pkOpts) { o.Players = 1 }, "--players"},
		{"three a match", func(o *pkOpts) { o.Mode = 3 }, "--mode"},
		{"four a match", func(o *pkOpts) { o.Mode = 4 }, ""},
		{"thinking past the round", func(o *pkOpts) { o.Think = 9 * time.Second }, "--think"},
	})
}

// A short pk run on two instances: players are matched (across the
// instances), play whole matches, and every acknowledged answer is in
// Postgres.
func TestPKScenarioAgainstServer(t *testing.T) {
	t.Parallel()
	inst := pkServers(t, 2)
	a, b := inst[0], inst[1]
	sum := runJSON(t, []string{"pk", "--url", a.URL + "," + b.URL, "--database-url", a.DB.URL, "--json",
		"--players", "4", "--think", "50ms", "--ramp", "100ms", "--duration", "5s"})
	if sum.Counters["matches"] < 2 || sum.Latencies["match_found"].Count < 4 {
		t.Errorf("matches %d, match_found %d: want every player matched and 2 matches finished", sum.Counters["matches"], sum.Latencies["match_found"].Count)
	}
	if sum.Latencies["answer_ack"].Count < 20 {
		t.Errorf("answer acks %d, want at least 20 (4 players × 5 questions)", sum.Latencies["answer_ack"].Count)
	}
	if c := sum.Checks["acked_answers_in_postgres"]; !strings.Contains(c, "rows for") {
		t.Errorf("check: %q", c)
	}
	if len(sum.Errors) != 0 {
		t.Errorf("errors: %v", sum.Errors)
	}
}

// A player never thinks past the time a question's state says is left:
// one sent back mid-round to a match an earlier run left open (the server
// sends a queueing player to their live match) saw the question with a
// second or less to go, answered after the whole think time anyway, and
// was refused "closed". Here every round is shorter than the think time:
// the answers must still come in time, and no ack may say "closed".
func TestPKScenarioThinksWithinTheRound(t *testing.T) {
	t.Parallel()
	a := pkServers(t, 1)[0]
	sum := runJSON(t, []string{"pk", "--url", a.URL, "--database-url", a.DB.URL, "--json",
		"--players", "2", "--think", "4s", "--ramp", "0s", "--duration", "6s"})
	if sum.Latencies["answer_ack"].Count < 3 {
		t.Errorf("answer acks %d, want at least 3", sum.Latencies["answer_ack"].Count)
	}
	if len(sum.Errors) != 0 {
		t.Errorf("errors: %v, want none (every answer sent before its deadline)", sum.Errors)
	}
}

// pkServers starts n instances on one database with short PK matches
// (2 s rounds).
func pkServers(t *testing.T, n int) []*apptest.Instance {
	if testing.Short() {
		t.Skip("starts servers")
	}
	fast := func(a *app.App) {
		a.PK.Round, a.PK.Reveal, a.PK.Ready = 2*time.Second, 100*time.Millisecond, 100*time.Millisecond
	}
	env := map[string]string{"KEPU_LOG_LEVEL": "warn"}
	out := []*apptest.Instance{apptest.Start(t, apptest.Options{Env: env, Setup: fast})}
	for len(out) < n {
		out = append(out, apptest.Start(t, apptest.Options{Env: env, Shared: out[0], Setup: fast}))
	}
	return out
}
