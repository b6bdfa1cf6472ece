package server_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/fasthttp/websocket"

	"github.com/kepu/kepu/internal/apptest"
	"github.com/kepu/kepu/internal/testenv"
)

// TestContestSurvivesRedisDrop: the instance reaches Redis through a proxy
// that is cut (its room subscription drops) and then restored; without a
// restart the subscription comes back by itself, and a player whose socket
// stayed open gets the next question the host starts.
func TestContestSurvivesRedisDrop(t *testing.T) {
	t.Parallel()
	proxy := testenv.NewRedisProxy(t)
	f := newContestFixture(t, nil, apptest.Options{Env: map[string]string{"KEPU_REDIS_URL": proxy.RedisURL()}})
	inst := f.inst
	run := f.newRun(t)
	ann := join(t, inst, run.PIN, "ann", 201)
	pa := connect(t, inst, nil, ann.Room, ann.Token, 0, 0)
	pa.waitFor("snapshot")

	dropRedis(t, inst, proxy, inst.Redis.Keys.RoomChannel(run.ID))

	f.act(t, run, "next", 204) // start
	if q := pa.waitFor("question").data(); q.num("q") != 0 {
		t.Errorf("question after Redis came back: %v, want question 0", q)
	}
}

// TestContestHelloDuringRedisOutage: a phone that reconnects while Redis is
// away is told to try again later (1013, the page says the room is
// recovering and retries), not that its token is bad (4001, after which
// the page drops the token and the player is out of the game); an answer
// that cannot be recorded is answered "unavailable" (the page lets the
// player tap again). Once Redis is back the same token resumes the game.
func TestContestHelloDuringRedisOutage(t *testing.T) {
	t.Parallel()
	proxy := testenv.NewRedisProxy(t)
	f := newContestFixture(t, nil, apptest.Options{Env: map[string]string{"KEPU_REDIS_URL": proxy.RedisURL(), "KEPU_REQUEST_TIMEOUT": "2s"}})
	inst := f.inst
	run := f.newRun(t)
	ann := join(t, inst, run.PIN, "ann", 201)
	pa := connect(t, inst, nil, ann.Room, ann.Token, 0, 0)
	pa.waitFor("snapshot")
	f.act(t, run, "next", 204)
	pa.waitFor("question")

	proxy.Cut()
	pa.send(msg{"type": "answer", "q": 0, "choice": []int{1}})
	if m := pa.waitFor("answer_error"); m["error"] != "unavailable" {
		t.Errorf("answer with Redis away: %v, want error unavailable", m)
	}
	again := connect(t, inst, nil, ann.Room, ann.Token, ann.Epoch, 0)
	if code := again.closeCode(); code != websocket.CloseTryAgainLater {
		t.Errorf("hello with Redis away: close code %d, want 1013 (try again later), not 4001 (bad token)", code)
	}

	proxy.Restore()
	back := connect(t, inst, nil, ann.Room, ann.Token, ann.Epoch, 0)
	back.waitFor("welcome")
}

// TestContestRoomRebuiltAfterRedisLoss: Redis loses every key of the
// instance (what FLUSHALL does) while a question is open. Nobody has to do
// anything: the timer's sweep rebuilds the room from Postgres, and the open
// sockets get an event of a new epoch (the page then reconnects and
// resyncs). The player who had answered reconnects with her token and
// finds her answer; the other player answers, which closes the round (all
// have answered), the host moves on, and both answers are in Postgres.
func TestContestRoomRebuiltAfterRedisLoss(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newContestFixture(t, nil)
	inst := f.inst
	run := f.newRun(t)
	ann := join(t, inst, run.PIN, "ann", 201)
	bob := join(t, inst, run.PIN, "bob", 201)
	pa := connect(t, inst, nil, ann.Room, ann.Token, 0, 0)
	pa.waitFor("snapshot")
	f.act(t, run, "next", 204)
	pa.waitFor("question")
	pa.send(msg{"type": "answer", "q": 0, "choice": []int{1}})
	pa.waitFor("ack")
	stored := func() (n int) {
		inst.DB.Pool.QueryRow(ctx, `SELECT count(*) FROM contest_answers WHERE run_id = $1`, run.ID).Scan(&n)
		return n
	}
	if n := stored(); n != 1 {
		t.Fatalf("after the ack: %d answers in Postgres, want 1", n)
	}

	if err := testenv.DeletePrefix(ctx, inst.Redis.Client, inst.Redis.Prefix); err != nil {
		t.Fatal(err)
	}
	if m := pa.waitFor("resync"); int64(m.num("epoch")) <= ann.Epoch {
		t.Errorf("resync event of epoch %v, want newer than %d", m.num("epoch"), ann.Epoch)
	}
	again := connect(t, inst, nil, ann.Room, ann.Token, 0, 0)
	snap := again.waitFor("snapshot")
	me, _ := snap["me"].(map[string]any)
	if snap["phase"] != "question" || fmt.Sprint(me["answered"]) != "[1]" || me["score"].(float64) <= 0 {
		t.Errorf("Ann's snapshot after the rebuild: phase %v, me %v; want the open question with her scored answer", snap["phase"], me)
	}
	pb := connect(t, inst, nil, bob.Room, bob.Token, 0, 0)
	pb.waitFor("snapshot")
	pb.send(msg{"type": "answer", "q": 0, "choice": []int{0}})
	pb.waitFor("ack")
	if r := pb.waitFor("reveal").data(); r.num("answered") != 2 {
		t.Errorf("reveal after the rebuild: %v answered, want 2", r.num("answered"))
	}
	f.act(t, run, "next", 204)
	pb.waitFor("board")
	if n := stored(); n != 2 {
		t.Errorf("in Postgres: %d answers, want 2", n)
	}
}
