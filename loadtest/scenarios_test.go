package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/kepu/kepu/internal/apptest"
	"github.com/kepu/kepu/internal/testenv"
)

// optsCase changes valid options; want is "" (still valid) or a piece of
// the error.
type optsCase[T any] struct {
	name   string
	change func(*T)
	want   string
}

func checkOpts[T any](t *testing.T, ok T, validate func(T) error, cases []optsCase[T]) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			o := ok
			tt.change(&o)
			err := validate(o)
			if (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("got %v, want %q", err, tt.want)
			}
		})
	}
}

func TestCampaignOptsValidate(t *testing.T) {
	ok := campaignOpts{Users: 10, Questions: 10, TimeLimit: 30, Think: time.Second, PerSource: 50, Prefix: "x"}
	checkOpts(t, ok, campaignOpts.validate, []optsCase[campaignOpts]{
		{"defaults", func(*campaignOpts) {}, ""},
		{"no users", func(o *campaignOpts) { o.Users = 0 }, "--users"},
		{"too many questions", func(o *campaignOpts) { o.Questions = 101 }, "--questions"},
		{"thinking past the limit", func(o *campaignOpts) { o.Think = 25 * time.Second }, "--think"},
		{"too many per address", func(o *campaignOpts) { o.PerSource = 101 }, "--per-address"},
		{"no prefix", func(o *campaignOpts) { o.Prefix = "" }, "--prefix"},
		{"a reference", func(o *campaignOpts) { o.Reference = 20 * time.Second }, ""},
		{"negative reference", func(o *campaignOpts) { o.Reference = -time.Second }, "--reference"},
		{"endless reference", func(o *campaignOpts) { o.Reference = time.Hour }, "--reference"},
	})
}

func TestLeaderboardOptsValidate(t *testing.T) {
	ok := leaderboardOpts{Watchers: 10, Citizens: 5, Period: "all", Questions: 3, Think: time.Second, StreamFor: time.Second,
		Readers: 5, ReadRate: 100, ReadN: 100, PerSource: 100}
	checkOpts(t, ok, leaderboardOpts.validate, []optsCase[leaderboardOpts]{
		{"defaults", func(*leaderboardOpts) {}, ""},
		{"more citizens than the page shows", func(o *leaderboardOpts) { o.Citizens = 21 }, "--citizens"},
		{"bad period", func(o *leaderboardOpts) { o.Period = "week" }, "--period"},
		{"attempts too short to see", func(o *leaderboardOpts) { o.Think = 500 * time.Millisecond }, "--think"},
		{"n over 100", func(o *leaderboardOpts) { o.ReadN = 101 }, "--read-n"},
		{"a reference", func(o *leaderboardOpts) { o.Reference = 10 * time.Second }, ""},
		{"a reference without readers", func(o *leaderboardOpts) { o.Reference, o.Readers = 10*time.Second, 0 }, "--reference"},
	})
}

// scenarioServer starts a whole Kepu in-process with a few published
// questions and an organizer for the scenarios to create campaigns as.
func scenarioServer(t *testing.T) (inst *apptest.Instance, args []string) {
	if testing.Short() {
		t.Skip("starts a server")
	}
	inst = apptest.Start(t, apptest.Options{Env: map[string]string{"KEPU_LOG_LEVEL": "warn"}})
	if err := insertLoadQuestions(context.Background(), inst.DB.URL, 12); err != nil {
		t.Fatal(err)
	}
	_, pw := inst.CreateUser("lt-org", "organizer")
	return inst, []string{"--url", inst.URL, "--database-url", inst.DB.URL, "--admin", "lt-org", "--admin-password", pw, "--json"}
}

// runJSON runs the tool and decodes its summary.
func runJSON(t *testing.T, args []string) Summary {
	t.Helper()
	var out, errb bytes.Buffer
	if code := run(args, &out, &errb); code != 0 {
		t.Fatalf("run %q = %d, want 0; stderr:\n%s", args[0], code, errb.String())
	}
	var sum Summary
	if err := json.Unmarshal(out.Bytes(), &sum); err != nil {
		t.Fatalf("summary: %v\n%s", err, out.String())
	}
	return sum
}

// A short campaign run against a real server: citizens log in, play, and
// every acknowledged answer is found in Postgres with its points.
func TestCampaignScenarioAgainstServer(t *testing.T) {
	t.Parallel()
	_, args := scenarioServer(t)
	sum := runJSON(t, append([]string{"campaign"}, append(args, "--users", "4", "--questions", "3", "--ramp", "200ms",
		"--think", "100ms", "--duration", "8s")...))
	if sum.Counters["answers"] < 4 || sum.Latencies["answer"].Count != sum.Counters["answers"] {
		t.Errorf("answers %d (histogram %d), want at least one per citizen", sum.Counters["answers"], sum.Latencies["answer"].Count)
	}
	if c := sum.Checks["acknowledged_answers"]; !strings.Contains(c, " 0 with other points") {
		t.Errorf("check: %s", c)
	}
	if len(sum.Errors) != 0 {
		t.Errorf("errors: %v", sum.Errors)
	}
	// One request per question, as the page plays: each attempt is read
	// once (its first question); every other question comes with an answer.
	if gets, starts := sum.Latencies["question"].Count, sum.Latencies["start"].Count; gets > starts || gets >= sum.Counters["answers"] {
		t.Errorf("GET of the attempt %d times for %d attempts and %d answers, want one per attempt", gets, starts, sum.Counters["answers"])
	}
}

// A short leaderboard run: every finish reaches every watcher, and the
// HTTP readers read the board with their rank.
func TestLeaderboardScenarioAgainstServer(t *testing.T) {
	t.Parallel()
	_, args := scenarioServer(t)
	sum := runJSON(t, append([]string{"leaderboard"}, append(args, "--watchers", "5", "--citizens", "2", "--questions", "2",
		"--think", "1200ms", "--stream-for", "4s", "--readers", "2", "--read-rate", "50", "--reference", "2s", "--duration", "30s")...))
	if sum.Counters["finishes"] < 2 || sum.Latencies["update_delay"].Count == 0 {
		t.Errorf("finishes %d, update delays %d: want finishes seen by the watchers", sum.Counters["finishes"], sum.Latencies["update_delay"].Count)
	}
	if !strings.HasSuffix(sum.Checks["updates"], "; 0 updates never seen") {
		t.Errorf("updates: %s", sum.Checks["updates"])
	}
	if sum.Counters["reads"] == 0 || !strings.Contains(sum.Checks["read_shape"], "my_rank present: true") {
		t.Errorf("reads %d, shape %q: want reads with my_rank", sum.Counters["reads"], sum.Checks["read_shape"])
	}
	// The bare route was read at the same rate first; the ratio is given.
	if sum.Counters["reference_reads"] == 0 || !strings.Contains(sum.Checks["ratio_to_reference"], "bare Fiber JSON route") {
		t.Errorf("reference reads %d, ratio %q: want both", sum.Counters["reference_reads"], sum.Checks["ratio_to_reference"])
	}
	if len(sum.Errors) != 0 {
		t.Errorf("errors: %v", sum.Errors)
	}
}

// The raw-insert reference commits rows from 32 clients and leaves no
// table behind.
func TestInsertReference(t *testing.T) {
	t.Parallel()
	db := testenv.NewDB(t)
	rate, err := insertReference(context.Background(), db.URL, 500*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if rate <= 0 {
		t.Errorf("reference rate %.0f/s, want > 0", rate)
	}
	var left int
	db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM pg_tables WHERE tablename LIKE 'loadtest_reference_%'`).Scan(&left)
	if left != 0 {
		t.Errorf("%d reference tables left behind", left)
	}
}
