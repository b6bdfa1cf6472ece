package server_test

import (
	"testing"

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

	dropRedis(t, inst, proxy, inst.Redis.Keys.RoomChannel(run.ID))

	f.act(t, run, "next", 204) // start
	if q := pa.waitFor("question").data(); q.num("q") != 0 {
		t.Errorf("question after Redis came back: %v, want question 0", q)
	}
}
