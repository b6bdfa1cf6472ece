package cluster_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/kepu/kepu/internal/apptest"
	"github.com/kepu/kepu/internal/postgres"
)

// TestReadReplica: with KEPU_DATABASE_READ_URL naming a streaming replica,
// the campaign dashboard reads from it while it keeps up (what the primary
// wrote a moment ago is not there yet), from the primary once it falls
// more than KEPU_READ_MAX_LAG behind, from it again once it caught up, and
// from the primary when it stops; /readyz tells which and the lag, and
// stays 200 throughout.
func TestReadReplica(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	primary := initPostgres(t)
	if _, err := primary.pool(t, "postgres").Exec(ctx, `CREATE DATABASE kepu`); err != nil {
		t.Fatal(err)
	}
	pp := primary.pool(t, "kepu")
	if err := postgres.Migrate(ctx, pp, nil); err != nil {
		t.Fatal(err)
	}
	replica := primary.replica(t)
	rp := replica.pool(t, "kepu")

	inst := apptest.Start(t, apptest.Options{Env: map[string]string{
		"KEPU_DATABASE_URL": primary.url("kepu"), "KEPU_DATABASE_READ_URL": replica.url("kepu"), "KEPU_READ_MAX_LAG": "4s",
	}})
	campaignID, _, err := inst.App.Campaigns.SeedDemo(ctx, inst.Seed.CityID)
	if err != nil {
		t.Fatal(err)
	}
	admin := inst.Login("demo-admin", inst.DemoPassword("demo-admin"))
	readsFrom := func() (string, int64) {
		var v struct {
			Replica struct {
				ReadsFrom string `json:"reads_from"`
				LagMS     int64  `json:"lag_ms"`
			}
		}
		r := inst.Client().Do("GET", "/readyz", nil)
		apptest.Expect(t, r, 200, "readyz")
		r.JSON(t, &v)
		return v.Replica.ReadsFrom, v.Replica.LagMS
	}
	inProgress := func() int64 {
		var v struct {
			Headline struct {
				InProgress int64 `json:"in_progress"`
			}
		}
		r := admin.Do("GET", fmt.Sprintf("/api/v1/dash/campaigns/%d", campaignID), nil)
		apptest.Expect(t, r, 200, "dashboard")
		r.JSON(t, &v)
		return v.Headline.InProgress
	}
	caughtUp := func() bool {
		var lsn string
		pp.QueryRow(ctx, `SELECT pg_current_wal_lsn()::text`).Scan(&lsn)
		var done bool
		rp.QueryRow(ctx, `SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn`, lsn).Scan(&done)
		return done
	}
	waitFor(t, 15*time.Second, "reads from the replica", func() bool { f, _ := readsFrom(); return f == "replica" })

	// The replica stops replaying just after a fresh commit: from now on
	// it falls behind by the time that passes.
	if _, err := pp.Exec(ctx, `CREATE TABLE lag_probe (at timestamptz); INSERT INTO lag_probe VALUES (now())`); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "replica caught up", caughtUp)
	if _, err := rp.Exec(ctx, `SELECT pg_wal_replay_pause()`); err != nil {
		t.Fatal(err)
	}
	_, pw := inst.CreateUser("replica-citizen", "participant")
	citizen := inst.Login("replica-citizen", pw)
	apptest.Expect(t, citizen.Do("POST", fmt.Sprintf("/api/v1/campaigns/%d/attempts", campaignID), nil), 201, "start an attempt")
	if got := inProgress(); got != 0 {
		t.Errorf("in progress while the replica is a moment behind: %d, want 0 (read from the replica)", got)
	}
	waitFor(t, 20*time.Second, "reads go to the primary once the lag passes 4 s", func() bool { f, _ := readsFrom(); return f == "primary" })
	if got := inProgress(); got != 1 {
		t.Errorf("in progress with the replica too far behind: %d, want 1 (read from the primary)", got)
	}

	if _, err := rp.Exec(ctx, `SELECT pg_wal_replay_resume()`); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "reads back on the replica once it caught up", func() bool { f, _ := readsFrom(); return f == "replica" })
	if got := inProgress(); got != 1 {
		t.Errorf("in progress from the caught-up replica: %d, want 1", got)
	}

	replica.kill(t)
	waitFor(t, 20*time.Second, "reads go to the primary when the replica stops", func() bool { f, _ := readsFrom(); return f == "primary" })
	if got := inProgress(); got != 1 {
		t.Errorf("in progress without the replica: %d, want 1", got)
	}
}
