package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kepu/kepu/internal/postgres"
	"github.com/kepu/kepu/internal/testenv"
)

// groupJob is one row to insert; Flush fills in Tx, the id of the
// transaction that committed it.
type groupJob struct {
	ID int
	Tx int64
}

// groupRig is a Group whose Flush inserts its jobs' rows with one
// multi-row statement and records every call.
type groupRig struct {
	db    *pgxpool.Pool
	g     *postgres.Group[*groupJob]
	gate  chan struct{} // a Flush containing job 0 waits for it
	mu    sync.Mutex
	calls [][]int // job ids per Flush call, in call order
	inFly atomic.Int32
	peak  atomic.Int32
	ctxs  []context.Context
}

func newGroupRig(t *testing.T, running, maxBatch int) *groupRig {
	t.Helper()
	db := testenv.NewEmptyDB(t)
	if _, err := db.Pool.Exec(context.Background(), `CREATE TABLE grp (id int PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	r := &groupRig{db: db.Pool, gate: make(chan struct{})}
	r.g = &postgres.Group[*groupJob]{Flush: r.flush, MaxBatch: maxBatch, Running: running, Timeout: 10 * time.Second}
	return r
}

func (r *groupRig) flush(ctx context.Context, jobs []*groupJob) error {
	n := r.inFly.Add(1)
	defer r.inFly.Add(-1)
	for p := r.peak.Load(); n > p && !r.peak.CompareAndSwap(p, n); p = r.peak.Load() {
	}
	ids := make([]int32, len(jobs))
	for i, j := range jobs {
		ids[i] = int32(j.ID)
	}
	r.mu.Lock()
	r.calls = append(r.calls, intsOf(ids))
	r.ctxs = append(r.ctxs, ctx)
	r.mu.Unlock()
	if slices.Contains(ids, 0) {
		<-r.gate
	}
	rows, err := r.db.Query(ctx, `INSERT INTO grp (id) SELECT unnest($1::int[]) RETURNING id, txid_current()`, ids)
	if err != nil {
		return err
	}
	defer rows.Close()
	tx := map[int]int64{}
	for rows.Next() {
		var id int
		var x int64
		if err := rows.Scan(&id, &x); err != nil {
			return err
		}
		tx[id] = x
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for _, j := range jobs {
		j.Tx = tx[j.ID]
	}
	return nil
}

func intsOf(ids []int32) []int {
	out := make([]int, len(ids))
	for i, id := range ids {
		out[i] = int(id)
	}
	return out
}

// committed reports whether row id is visible to another connection.
func (r *groupRig) committed(t *testing.T, id int) bool {
	t.Helper()
	var n int
	if err := r.db.QueryRow(context.Background(), `SELECT count(*) FROM grp WHERE id = $1`, id).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n == 1
}

// waitFlushing waits until the first flush (job 0's) has started.
func (r *groupRig) waitFlushing(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r.mu.Lock()
		n := len(r.calls)
		r.mu.Unlock()
		if n > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("no flush started")
		}
		time.Sleep(time.Millisecond)
	}
}

// waitQueued waits until n jobs wait for a flush.
func (r *groupRig) waitQueued(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for r.g.Queued() != n {
		if time.Now().After(deadline) {
			t.Fatalf("queued = %d, want %d", r.g.Queued(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// result is one Do's outcome, with whether its row was visible to another
// connection as Do returned.
type result struct {
	job       *groupJob
	err       error
	committed bool
}

// do runs Do for id in a goroutine and delivers its result.
func (r *groupRig) do(t *testing.T, ctx context.Context, id int) <-chan result {
	out := make(chan result, 1)
	go func() {
		j := &groupJob{ID: id}
		err := r.g.Do(ctx, j)
		var n int
		if qerr := r.db.QueryRow(context.Background(), `SELECT count(*) FROM grp WHERE id = $1`, id).Scan(&n); qerr != nil {
			t.Error(qerr)
		}
		out <- result{job: j, err: err, committed: n == 1}
	}()
	return out
}

func TestGroupFlushesAtOnceWhenIdle(t *testing.T) {
	r := newGroupRig(t, 1, 64)
	close(r.gate)
	for id := 1; id <= 3; id++ {
		j := &groupJob{ID: id}
		if err := r.g.Do(context.Background(), j); err != nil {
			t.Fatalf("Do(%d): %v", id, err)
		}
		if j.Tx == 0 || !r.committed(t, id) {
			t.Fatalf("after Do(%d): tx %d, committed %v; want the row committed", id, j.Tx, r.committed(t, id))
		}
	}
	if want := [][]int{{1}, {2}, {3}}; !slices.EqualFunc(r.calls, want, slices.Equal) {
		t.Fatalf("flushes = %v, want %v (one each, no waiting for company)", r.calls, want)
	}
}

func TestGroupBatchesWhileBusy(t *testing.T) {
	r := newGroupRig(t, 1, 3)
	first := r.do(t, context.Background(), 0)
	r.waitFlushing(t) // the first flush took job 0 and waits at the gate
	var waiting []<-chan result
	for id := 1; id <= 5; id++ {
		waiting = append(waiting, r.do(t, context.Background(), id))
		r.waitQueued(t, id) // queue order = id order
	}
	close(r.gate)
	if res := <-first; res.err != nil || !res.committed {
		t.Fatalf("job 0: %v, committed %v", res.err, res.committed)
	}
	tx := map[int]int64{}
	for i, ch := range waiting {
		res := <-ch
		if res.err != nil || !res.committed {
			t.Fatalf("job %d: err %v, committed as Do returned %v; want nil, true", i+1, res.err, res.committed)
		}
		tx[res.job.ID] = res.job.Tx
	}
	if want := [][]int{{0}, {1, 2, 3}, {4, 5}}; !slices.EqualFunc(r.calls, want, slices.Equal) {
		t.Fatalf("flushes = %v, want %v", r.calls, want)
	}
	if tx[1] != tx[2] || tx[2] != tx[3] || tx[4] != tx[5] || tx[3] == tx[4] {
		t.Fatalf("transactions per job = %v, want 1-3 in one, 4-5 in another", tx)
	}
}

func TestGroupRetriesFailedBatchAlone(t *testing.T) {
	r := newGroupRig(t, 1, 64)
	if _, err := r.db.Exec(context.Background(), `INSERT INTO grp VALUES (42)`); err != nil {
		t.Fatal(err)
	}
	first := r.do(t, context.Background(), 0)
	r.waitFlushing(t)
	a := r.do(t, context.Background(), 1)
	r.waitQueued(t, 1)
	dup := r.do(t, context.Background(), 42)
	r.waitQueued(t, 2)
	b := r.do(t, context.Background(), 2)
	r.waitQueued(t, 3)
	close(r.gate)
	<-first
	for _, ch := range []<-chan result{a, b} {
		if res := <-ch; res.err != nil || !res.committed || res.job.Tx == 0 {
			t.Fatalf("job %d: err %v, committed %v, tx %d; want its row committed despite job 42's error",
				res.job.ID, res.err, res.committed, res.job.Tx)
		}
	}
	if res := <-dup; !postgres.IsUniqueViolation(res.err, "") {
		t.Fatalf("job 42: err %v, want its own unique violation", res.err)
	}
	if want := [][]int{{0}, {1, 42, 2}, {1}, {42}, {2}}; !slices.EqualFunc(r.calls, want, slices.Equal) {
		t.Fatalf("flushes = %v, want %v", r.calls, want)
	}
	var n int
	if err := r.db.QueryRow(context.Background(), `SELECT count(*) FROM grp`).Scan(&n); err != nil || n != 4 {
		t.Fatalf("rows = %d (%v), want 4 (0, 1, 2, 42)", n, err)
	}
}

func TestGroupCallerContextEndsWithoutCancellingBatch(t *testing.T) {
	r := newGroupRig(t, 1, 64)
	ctx, cancel := context.WithCancel(context.Background())
	res := r.do(t, ctx, 0)
	r.waitFlushing(t)
	cancel()
	if got := <-res; !errors.Is(got.err, context.Canceled) || got.committed {
		t.Fatalf("Do after cancel: err %v, committed %v; want context.Canceled before the commit", got.err, got.committed)
	}
	close(r.gate)
	// The flush goes on; the next job queues behind it and commits after it.
	if err := r.g.Do(context.Background(), &groupJob{ID: 1}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !r.committed(t, 0) {
		if time.Now().After(deadline) {
			t.Fatal("job 0 never committed: the caller's cancel cancelled its batch")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := r.g.Do(ctx, &groupJob{ID: 7}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Do with an ended ctx: %v, want context.Canceled", err)
	}
	if r.committed(t, 7) {
		t.Fatal("a job whose ctx had ended before Do was flushed")
	}
}

func TestGroupFlushContextHasTimeout(t *testing.T) {
	r := newGroupRig(t, 1, 64)
	r.g.Timeout = 300 * time.Millisecond
	type key struct{}
	ctx := context.WithValue(context.Background(), key{}, "caller")
	var flushCtx context.Context
	r.g.Flush = func(ctx context.Context, jobs []*groupJob) error {
		flushCtx = ctx
		_, err := r.db.Exec(ctx, `SELECT pg_sleep(30)`)
		return err
	}
	err := r.g.Do(ctx, &groupJob{ID: 1})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Do with a 30 s flush: %v, want the flush's own deadline exceeded", err)
	}
	if flushCtx.Value(key{}) != nil {
		t.Fatal("Flush ran with the caller's context, want its own")
	}
}

func TestGroupConcurrent(t *testing.T) {
	const n, running, maxBatch = 300, 2, 8
	r := newGroupRig(t, running, maxBatch)
	close(r.gate)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for id := 1; id <= n; id++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			j := &groupJob{ID: id}
			if err := r.g.Do(context.Background(), j); err != nil {
				errs <- fmt.Errorf("job %d: %w", id, err)
			} else if j.Tx == 0 {
				errs <- fmt.Errorf("job %d: no result", id)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	var rows int
	if err := r.db.QueryRow(context.Background(), `SELECT count(*) FROM grp`).Scan(&rows); err != nil || rows != n {
		t.Fatalf("rows = %d (%v), want %d", rows, err, n)
	}
	total := 0
	for _, c := range r.calls {
		if len(c) > maxBatch {
			t.Fatalf("a flush of %d jobs, want ≤ %d", len(c), maxBatch)
		}
		total += len(c)
	}
	if total != n {
		t.Fatalf("jobs flushed = %d, want %d (each exactly once)", total, n)
	}
	if p := r.peak.Load(); p > running {
		t.Fatalf("%d flushes in flight at once, want ≤ %d", p, running)
	}
}
