package server_test

import (
	"context"
	"testing"
	"time"

	"github.com/kepu/kepu/internal/apptest"
	"github.com/kepu/kepu/internal/testenv"
)

// dropRedis cuts the proxy between inst and Redis and restores it, waiting
// each time until inst's subscriptions matching channel are as expected:
// present before, gone after the cut, back by themselves after the
// restore. PUBLISH and SPUBLISH (shard channels) of an empty message (no event, dropped by every
// handler) returns how many subscriptions match; channel is under the
// test's own prefix, so only inst counts.
func dropRedis(t *testing.T, inst *apptest.Instance, proxy *testenv.Proxy, channel string) {
	t.Helper()
	ctx := context.Background()
	subscribers := func() int64 {
		// Pattern subscriptions count on PUBLISH, shard ones on SPUBLISH.
		n, err := inst.Redis.Client.Publish(ctx, channel, "").Result()
		if err != nil {
			t.Fatal(err)
		}
		ns, err := inst.Redis.Client.SPublish(ctx, channel, "").Result()
		if err != nil {
			t.Fatal(err)
		}
		return n + ns
	}
	wait := func(what string, ok func(int64) bool) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for n := subscribers(); !ok(n); n = subscribers() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: %d subscribers", what, n)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	wait("before the cut", func(n int64) bool { return n >= 1 })
	proxy.Cut()
	wait("after the cut", func(n int64) bool { return n == 0 })
	time.Sleep(time.Second) // a few failed attempts to subscribe again
	proxy.Restore()
	wait("after the restore", func(n int64) bool { return n >= 1 })
}
