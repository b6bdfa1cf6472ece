package server_test

import (
	"context"
	"testing"
	"time"

	"github.com/kepu/kepu/internal/apptest"
	"github.com/kepu/kepu/internal/testenv"
)

// TestContestSurvivesRedisDrop: the instance reaches Redis through a proxy
// that is cut (its room subscription drops) and then restored; without a
// restart the subscription comes back by itself, and a player whose socket
// stayed open gets the next question the host starts.
func TestContestSurvivesRedisDrop(t *testing.T) {
	proxy := testenv.NewRedisProxy(t)
	f := newContestFixture(t, nil, apptest.Options{Env: map[string]string{"KEPU_REDIS_URL": proxy.RedisURL()}})
	inst := f.inst
	run := f.newRun(t)
	ann := join(t, inst, run.PIN, "ann", 201)
	pa := connect(t, inst, nil, ann.Room, ann.Token, 0, 0)
	pa.waitFor("snapshot")

	// subscribers counts the instance's subscriptions matching the room's
	// channel (the prefix is this test's alone): PUBLISH returns it. An
	// empty message is no event and is dropped by every instance.
	ctx := context.Background()
	channel := inst.Redis.Keys.RoomChannel(run.ID)
	subscribers := func() int64 {
		n, err := inst.Redis.Client.Publish(ctx, channel, "").Result()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	waitSubscribers := func(what string, ok func(int64) bool) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for n := subscribers(); !ok(n); n = subscribers() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: %d subscribers", what, n)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitSubscribers("before the cut", func(n int64) bool { return n >= 1 })
	proxy.Cut()
	waitSubscribers("after the cut", func(n int64) bool { return n == 0 })
	proxy.Restore()
	waitSubscribers("after the restore", func(n int64) bool { return n >= 1 })

	f.act(t, run, "next", 204) // start
	if q := pa.waitFor("question").data(); q.num("q") != 0 {
		t.Errorf("question after Redis came back: %v, want question 0", q)
	}
}
