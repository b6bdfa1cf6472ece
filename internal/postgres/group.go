package postgres

import (
	"context"
	"sync"
	"time"
)

// Group is a group commit: concurrent callers' jobs are flushed together,
// typically as one multi-row statement in one transaction, so that at high
// rates many jobs share one round trip and one commit (one WAL flush)
// instead of paying one each.
//
// While fewer than Running flushes are in flight, a job is flushed at once:
// there is no waiting window and no added latency at low load. Otherwise
// jobs queue, and the next flush takes up to MaxBatch of them, in queue
// order, in one Flush call.
//
// Flush must be all or nothing (one transaction): when it fails for a batch
// of more than one job, Group calls it again for each job alone, so one
// job's error is never another's. Jobs are typically pointers whose results
// Flush fills in; a retried job's results are those of its own Flush.
//
// The fields must be set before the first Do and not changed after it; a
// Group must not be copied after its first use.
type Group[J any] struct {
	// Flush commits jobs (never empty) and fills in their results. Its
	// context carries Timeout and is not the context of any caller.
	Flush func(ctx context.Context, jobs []J) error
	// MaxBatch is the most jobs one Flush gets (≤ 0: no limit).
	MaxBatch int
	// Running is the most flushes in flight at once (≤ 0: 1); each
	// typically holds one pool connection.
	Running int
	// Timeout bounds one Flush call, including its commit (0: no bound).
	Timeout time.Duration

	mu      sync.Mutex
	queue   []*groupEntry[J]
	running int // flushing goroutines
}

// groupEntry is one job waiting for its flush.
type groupEntry[J any] struct {
	job  J
	err  error
	done chan struct{}
}

// Do queues job and returns after the Flush that contained it returned,
// that is after its commit, with that Flush's error. When ctx ends first
// Do returns ctx.Err() and the job is still flushed (and may commit): the
// caller must not read the job's results then. A ctx that has already
// ended returns ctx.Err() without queueing the job.
func (g *Group[J]) Do(ctx context.Context, job J) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	e := &groupEntry[J]{job: job, done: make(chan struct{})}
	g.mu.Lock()
	g.queue = append(g.queue, e)
	start := g.running < max(g.Running, 1)
	if start {
		g.running++
	}
	g.mu.Unlock()
	if start {
		go g.drain()
	}
	select {
	case <-e.done:
		return e.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// drain flushes batches until the queue is empty.
func (g *Group[J]) drain() {
	for {
		g.mu.Lock()
		if len(g.queue) == 0 {
			g.running--
			g.mu.Unlock()
			return
		}
		n := len(g.queue)
		if g.MaxBatch > 0 {
			n = min(n, g.MaxBatch)
		}
		batch := g.queue[:n:n]
		g.queue = g.queue[n:]
		if len(g.queue) == 0 {
			g.queue = nil // let the backing array go
		}
		g.mu.Unlock()
		g.flush(batch)
	}
}

// flush runs one batch and finishes its entries; a failed batch of more
// than one job is flushed again job by job.
func (g *Group[J]) flush(batch []*groupEntry[J]) {
	jobs := make([]J, len(batch))
	for i, e := range batch {
		jobs[i] = e.job
	}
	err := g.call(jobs)
	if err != nil && len(batch) > 1 {
		for i, e := range batch {
			e.err = g.call(jobs[i : i+1 : i+1])
			close(e.done)
		}
		return
	}
	for _, e := range batch {
		e.err = err
		close(e.done)
	}
}

// call runs Flush with its own context.
func (g *Group[J]) call(jobs []J) error {
	ctx := context.Background()
	if g.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, g.Timeout)
		defer cancel()
	}
	return g.Flush(ctx, jobs)
}
