package dashboard_test

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kepu/kepu/internal/apptest"
	"github.com/kepu/kepu/internal/dashboard"
	"github.com/kepu/kepu/internal/seed"
)

// TestDashboardVolume measures every dashboard view at a year's volume. It
// runs only with KEPU_DASH_BENCH set (minutes, not seconds):
//
//	KEPU_DASH_BENCH=1 KEPU_DASH_PARTICIPANTS=100000 KEPU_DASH_ATTEMPTS=420000 \
//	  go test ./internal/dashboard -run TestDashboardVolume -v -timeout 60m
//
// The figures go to docs/benchmarks.md (Dashboards).
func TestDashboardVolume(t *testing.T) {
	if os.Getenv("KEPU_DASH_BENCH") == "" {
		t.Skip("set KEPU_DASH_BENCH=1 to run the dashboard volume benchmark")
	}
	participants := envInt("KEPU_DASH_PARTICIPANTS", 100000)
	attempts := envInt("KEPU_DASH_ATTEMPTS", 420000)
	inst := apptest.Start(t)
	ctx := context.Background()
	db := inst.DB.Pool
	volume := seed.Volume{DB: db, Orgs: inst.App.Org, Campaigns: inst.App.Campaigns}
	res, err := volume.Generate(ctx, seed.GenerateOptions{Participants: participants, Attempts: attempts, Seed: 1,
		Progress: func(f string, a ...any) { t.Logf(f, a...) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("generated %d users, %d attempts, %d answers in %s", res.Users, res.Attempts, res.Answers, res.Took)
	// The server's own refresher (every 3s, under the advisory lock) folded
	// most of it while it was loaded; wait until it has caught up.
	start := time.Now()
	waitFolded(t, db)
	t.Logf("caught up %s after loading", time.Since(start))
	checkRollups(t, db)

	// A full rebuild: empty the rollups and let the refresher fold the year.
	if _, err := db.Exec(ctx, `TRUNCATE dash_hourly, dash_minute, dash_participants, dash_items, dash_item_options,
		dash_item_scores, dash_categories, dash_folded_attempts; UPDATE dash_watermarks SET last_id = 0, last_at = 'epoch'`); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	waitFolded(t, db)
	t.Logf("full rebuild of the rollups by the server's refresher: %s", time.Since(start))
	checkRollups(t, db)

	// Incremental refresh after 1000 more answers (what runs every few seconds).
	var attemptID int64
	db.QueryRow(ctx, `SELECT max(id) FROM campaign_attempts`).Scan(&attemptID)
	db.Exec(ctx, `INSERT INTO campaign_answers (attempt_id, question_version_id, choice, correct, elapsed_ms, answered_at)
		SELECT attempt_id, question_version_id, choice, correct, elapsed_ms, now() FROM campaign_answers ORDER BY id DESC LIMIT 1000`)
	start = time.Now()
	waitFolded(t, db)
	t.Logf("1000 new answers visible in the rollups after %s (refresh every 3s, commit lag 2s)", time.Since(start))

	annual := res.Campaigns[len(res.Campaigns)-1]
	_, apw := inst.CreateUser("bench-admin", "admin")
	_, opw := inst.CreateUser("bench-org", "organizer", inst.Seed.DistrictIDs["430703"])
	clients := map[string]*apptest.Client{"admin": inst.Login("bench-admin", apw), "district organizer": inst.Login("bench-org", opw)}
	base := "/api/v1/dash/campaigns/" + strconv.FormatInt(annual, 10)
	paths := []string{"/api/v1/dash/overview", base}
	for _, s := range dashboard.CampaignSections(true) {
		paths = append(paths, base+"/views/"+s.Name)
	}
	paths = append(paths, base+"/items", base+"/export/school?format=xlsx", "/dash/campaigns/"+strconv.FormatInt(annual, 10)+"/report")
	// The generator breaks about 2% of the questions: the analysis must flag them.
	var items struct{ Items []dashboard.Item }
	clients["admin"].Do("GET", base+"/items", nil).JSON(t, &items)
	flagged := 0
	for _, it := range items.Items {
		if len(it.Flags) > 0 {
			flagged++
		}
	}
	t.Logf("item analysis: %d questions, %d flagged", len(items.Items), flagged)
	if flagged == 0 {
		t.Errorf("no question flagged; the generator breaks about 2%%")
	}
	for _, who := range []string{"admin", "district organizer"} {
		c := clients[who]
		for _, p := range paths {
			var took []time.Duration
			status := 0
			for range 5 {
				t0 := time.Now()
				r := c.Do("GET", p, nil)
				took = append(took, time.Since(t0))
				status = r.Status
			}
			sort.Slice(took, func(i, j int) bool { return took[i] < took[j] })
			fmt.Printf("| %s | %s | %d | %d | %d |\n", who, p, status, took[2].Milliseconds(), took[4].Milliseconds())
		}
	}
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func waitFolded(t *testing.T, db *pgxpool.Pool) {
	t.Helper()
	ctx := context.Background()
	for {
		var behind bool
		err := db.QueryRow(ctx, `SELECT (SELECT last_id FROM dash_watermarks WHERE name = 'answers') < (SELECT max(id) FROM campaign_answers)
			OR (SELECT last_at FROM dash_watermarks WHERE name = 'finished') < (SELECT max(finished_at) FROM campaign_attempts)`).Scan(&behind)
		if err != nil {
			t.Fatal(err)
		}
		if !behind {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// checkRollups compares rollup totals with the source tables.
func checkRollups(t *testing.T, db *pgxpool.Pool) {
	t.Helper()
	for _, q := range []struct{ name, rollup, source string }{
		{"answers", `SELECT sum(answers) FROM dash_items`, `SELECT count(*) FROM campaign_answers`},
		{"answers by hour", `SELECT sum(answers) FROM dash_hourly`, `SELECT count(*) FROM campaign_answers`},
		{"attempts", `SELECT sum(attempts) FROM dash_participants`, `SELECT count(*) FROM campaign_attempts`},
		{"finished", `SELECT sum(finished) FROM dash_participants`, `SELECT count(*) FROM campaign_attempts WHERE finished_at IS NOT NULL`},
		{"participants", `SELECT count(*) FROM dash_participants`, `SELECT count(*) FROM (SELECT DISTINCT campaign_id, user_id FROM campaign_attempts) x`},
		{"moments", `SELECT sum(m_n) FROM dash_items`, `SELECT count(*) FROM campaign_answers a JOIN campaign_attempts t ON t.id = a.attempt_id WHERE t.finished_at IS NOT NULL`},
	} {
		var got, want int64
		db.QueryRow(context.Background(), q.rollup).Scan(&got)
		db.QueryRow(context.Background(), q.source).Scan(&want)
		if got != want {
			t.Errorf("rollup %s: got %d, want %d", q.name, got, want)
		}
	}
}
