package cluster_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/kepu/kepu/internal/apptest"
)

// TestSentinelFailoverMidCampaign: Kepu reaches Redis through Sentinel
// (KEPU_REDIS_URL=redis+sentinel://…). While citizens answer the demo
// campaign the master is killed with SIGKILL; the sentinel promotes the
// replica, Kepu follows it without a restart, every citizen finishes, and
// every acknowledged answer is in Postgres.
func TestSentinelFailoverMidCampaign(t *testing.T) {
	t.Parallel()
	const citizens, perCitizen = 8, 12
	set := startSentinelSet(t)
	inst := apptest.Start(t, apptest.Options{Env: map[string]string{"KEPU_REDIS_URL": set.url()}})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	campaignID, passwords := demoCitizens(t, inst, "sentinel", citizens)
	log := newAnswerLog()
	var wg sync.WaitGroup
	for name, pw := range passwords {
		wg.Go(func() { log.citizen(ctx, inst.URL, name, pw, campaignID, perCitizen, true) })
	}
	waitFor(t, time.Minute, "a third of the answers", func() bool { return log.answered.Load() >= citizens*perCitizen/3 })
	old := fmt.Sprint(set.master.port)
	set.master.kill(t)
	t.Logf("killed the Redis master :%s after %d answers", old, log.answered.Load())
	waitFor(t, 30*time.Second, "the sentinel promotes the replica", func() bool {
		p := set.masterPort(t)
		return p != "" && p != old
	})
	wg.Wait()
	if ctx.Err() != nil {
		t.Fatalf("citizens did not finish: %d of %d answers", log.answered.Load(), citizens*perCitizen)
	}
	t.Logf("%d answers acknowledged; %d requests failed during the failover and were tried again", log.answered.Load(), log.retried.Load())
	log.checkStored(t, inst.DB.Pool)
	// Kepu writes to the promoted master now: the boards of the attempts
	// finished after the failover are there.
	rc := set.replica.client()
	defer rc.Close()
	keys, _ := rc.Keys(context.Background(), inst.Redis.Keys.BoardPattern(campaignID)).Result()
	if len(keys) == 0 {
		t.Errorf("no board %s on the promoted master: Kepu did not follow the failover", inst.Redis.Keys.BoardPattern(campaignID))
	}
	apptest.Expect(t, inst.Client().Do("GET", "/readyz", nil), 200, "ready after the failover")
}
