package cluster_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kepu/kepu/internal/apptest"
	"github.com/kepu/kepu/internal/rdb"
)

// TestContestRedisFlushedMidQuestion: two instances behind nginx on a
// private Redis; a class plays a three-question contest and Redis is
// flushed (FLUSHALL) while the second question is open. The first
// instance to notice rebuilds the room from Postgres, once; the phones see
// a new epoch and reconnect with their tokens; every answer a player sent
// is acknowledged and in Postgres, the host's next works and the game
// finishes with every player on the podium.
func TestContestRedisFlushedMidQuestion(t *testing.T) {
	t.Parallel()
	const players, questions = 20, 3
	rs := startRedis(t, "", false)
	port := freePort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	c := newCluster(t, base)
	c.env = append(c.env, "KEPU_REDIS_URL=redis://"+rs.addr())
	c.run("user", "create", "--username", "host1", "--role", "teacher", "--password", "host1-pass-123456")
	insts := []*instance{c.start(), c.start()}
	startNginx(t, port, []string{insts[0].addr, insts[1].addr})

	teacher := apptest.NewClient(t, base)
	apptest.Expect(t, teacher.Do("POST", "/api/v1/auth/login", map[string]string{"username": "host1", "password": "host1-pass-123456"}), 200, "teacher logs in through nginx")
	runID, pin := newContestRun(t, c.db.Pool, teacher, questions)
	rc := rs.client()
	defer rc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	g := &game{t: t, base: base, acked: make([]atomic.Int32, questions), revealed: make(chan int, players*questions)}
	g.play(ctx, teacher, runID, pin, players, func(q int) {
		if q == 1 {
			time.Sleep(300 * time.Millisecond) // some have answered, some not yet
			if err := rc.FlushAll(ctx).Err(); err != nil {
				t.Fatal(err)
			}
			t.Logf("FLUSHALL during question 2 (%d of %d answers acknowledged)", g.acked[1].Load(), players)
		}
	})
	g.check(c.db.Pool, runID)

	acked, missing := 0, 0
	for _, p := range g.phones {
		for q := range p.answered {
			acked++
			var n int
			c.db.Pool.QueryRow(ctx, `SELECT count(*) FROM contest_answers WHERE run_id = $1 AND player_id = $2 AND position = $3`,
				runID, p.j.Player, q).Scan(&n)
			if n != 1 {
				missing++
			}
		}
	}
	var stored int
	c.db.Pool.QueryRow(ctx, `SELECT count(*) FROM contest_answers WHERE run_id = $1`, runID).Scan(&stored)
	evs, _ := rc.LRange(ctx, rdb.Keys{Prefix: c.prefix}.Room(runID, "events"), 0, -1).Result()
	resyncs := strings.Count(strings.Join(evs, "\n"), `"type":"resync"`)
	t.Logf("answers acknowledged %d, in Postgres %d (acknowledged but missing: %d); phones reconnected %d times; resync events %d",
		acked, stored, missing, g.reconnects.Load(), resyncs)
	if missing != 0 {
		t.Errorf("%d acknowledged answers missing from Postgres", missing)
	}
	if resyncs != 1 {
		t.Errorf("%d resync events (rebuilds) in the room's events, want 1", resyncs)
	}
	if g.reconnects.Load() == 0 {
		t.Error("no phone reconnected after the rebuild")
	}
}
