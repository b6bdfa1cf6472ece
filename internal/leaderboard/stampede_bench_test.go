package leaderboard_test

import (
	"context"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kepu/kepu/internal/apptest"
	"github.com/kepu/kepu/internal/leaderboard"
	"github.com/kepu/kepu/internal/seed"
)

// TestStampedeFigures measures the rebuild stampede of issue 13: a board of
// KEPU_STAMPEDE_ENTRIES entries is flushed, then 40 readers (half HTTP
// reads, half websocket first pushes, over four instances) read it at
// once. It logs the time until all are answered, the slowest reader, the
// rebuilds announced, and Redis's used_memory after the flush and at its
// highest while the readers ran (sampled every 5 ms: run it against a
// private Redis, docs/benchmarks.md). Skipped unless the variable is set.
func TestStampedeFigures(t *testing.T) {
	entries, _ := strconv.Atoi(os.Getenv("KEPU_STAMPEDE_ENTRIES"))
	if entries <= 0 {
		t.Skip("set KEPU_STAMPEDE_ENTRIES")
	}
	const readers = 40
	inst := apptest.Start(t)
	ctx := context.Background()
	id, err := seed.Volume{DB: inst.DB.Pool, Orgs: inst.App.Org, Campaigns: inst.App.Campaigns}.Ranked(ctx, 0, entries, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	boards := inst.App.Boards
	t0 := time.Now()
	if err := boards.Rebuild(ctx, id); err != nil {
		t.Fatal(err)
	}
	one := time.Since(t0)
	instances := []*leaderboard.Service{boards, peer(inst), peer(inst), peer(inst)}
	used := func() int64 {
		info, err := boards.Redis.Info(ctx, "memory").Result()
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(info, "\r\n") {
			if v, ok := strings.CutPrefix(l, "used_memory:"); ok {
				n, _ := strconv.ParseInt(v, 10, 64)
				return n
			}
		}
		return 0
	}
	flush(t, inst, id)
	count := changes(t, inst, id)
	base := used()
	var peak int64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			peak = max(peak, used())
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	users := make([]int64, readers)
	for i := range users {
		users[i] = int64(i + 1)
	}
	start := time.Now()
	took, errs := readAtOnce(ctx, instances, id, users)
	all := time.Since(start)
	var slowest time.Duration
	failed := 0
	for i := range took {
		slowest = max(slowest, took[i])
		if errs[i] != nil {
			failed++
		}
	}
	waitFor(t, "the rebuilt board", func() bool { return markerExists(t, inst, id) })
	close(stop)
	<-sampled
	t.Logf("%d entries: one rebuild %s; %d readers after a flush: all answered in %s, slowest %s, %d answered 503 rebuilding; "+
		"rebuilds %d; Redis used_memory %.1f MiB after the flush, peak %.1f MiB",
		entries, one.Round(time.Millisecond), readers, all.Round(time.Millisecond), slowest.Round(time.Millisecond), failed,
		count(), float64(base)/(1<<20), float64(peak)/(1<<20))
}
