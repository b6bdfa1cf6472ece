package cluster_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/kepu/kepu/internal/apptest"
	"github.com/kepu/kepu/internal/postgres"
)

// TestPostgresRestartMidCampaign: Postgres (a private server process) dies
// with all its backends while citizens answer, and comes back 2 s later on
// the same data. Meanwhile Kepu answers 503 with Retry-After, never 500;
// afterwards answering goes on without a restart of Kepu, and every answer
// acknowledged before, during or after the gap is in Postgres.
func TestPostgresRestartMidCampaign(t *testing.T) {
	t.Parallel()
	const citizens, perCitizen = 6, 12
	ctx := context.Background()
	pg := initPostgres(t)
	if _, err := pg.pool(t, "postgres").Exec(ctx, `CREATE DATABASE kepu`); err != nil {
		t.Fatal(err)
	}
	if err := postgres.Migrate(ctx, pg.pool(t, "kepu"), nil); err != nil {
		t.Fatal(err)
	}
	inst := apptest.Start(t, apptest.Options{Env: map[string]string{"KEPU_DATABASE_URL": pg.url("kepu"), "KEPU_REQUEST_TIMEOUT": "3s"}})
	campaignID, passwords := demoCitizens(t, inst, "pgcitizen", citizens)

	runCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	log := newAnswerLog()
	var wg sync.WaitGroup
	for name, pw := range passwords {
		wg.Go(func() { log.citizen(runCtx, inst.URL, name, pw, campaignID, perCitizen, false) })
	}
	waitFor(t, time.Minute, "a third of the answers", func() bool { return log.answered.Load() >= citizens*perCitizen/3 })
	pg.kill(t)
	t.Logf("killed Postgres after %d acknowledged answers", log.answered.Load())
	// The gap: 2 s. Responses already on their way when it died may still
	// arrive in its first moments; after that nothing may be acknowledged.
	time.Sleep(500 * time.Millisecond)
	before := log.answered.Load()
	time.Sleep(1500 * time.Millisecond)
	during := log.answered.Load() - before
	pg = pg.restart(t)
	t.Logf("Postgres back on :%d", pg.port)
	wg.Wait()
	if runCtx.Err() != nil {
		t.Fatalf("citizens did not finish: %d of %d answers", log.answered.Load(), citizens*perCitizen)
	}
	if during != 0 {
		t.Errorf("%d answers acknowledged while Postgres was down, want 0 (an answer is acknowledged only once committed)", during)
	}
	t.Logf("%d answers acknowledged; failed requests by status: %v", log.answered.Load(), log.failed)
	for status, n := range log.failed {
		if status != "503" && status != "0" {
			t.Errorf("%d requests failed with %s during the gap, want only 503 with Retry-After", n, status)
		}
	}
	if log.failed["503"] == 0 {
		t.Error("no 503 during the gap: did the citizens keep answering through it?")
	}
	log.checkStored(t, pg.pool(t, "kepu"))
}
