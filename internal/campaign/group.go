package campaign

// Group commit of the hot path's statements. Every answer must be durable
// (committed, WAL flushed: synchronous_commit stays on) before it is
// acknowledged, and at thousands of answers a second the commits — one
// WAL flush each, plus a transaction's start and end — cost more than the
// statements. So statements of concurrent requests share a transaction:
// while groupRunning batches are in flight, new statements queue; the next
// batch takes everything queued (up to groupMax) and sends it as ONE pgx
// batch — one round trip, one implicit transaction, one commit — and every
// request learns its result only after that commit (BatchResults.Close
// returns after Postgres answered the Sync, i.e. after the commit). When
// fewer batches are in flight a statement starts at once: no waiting
// window, no added latency at low load.
//
// A failure of any statement aborts the shared transaction; then each
// statement runs again alone, so one request's error is never another's.
// Statements in one batch run in their queue order; each locks rows by its
// attempt's primary key only, so batches cannot deadlock on each other.

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Group commit limits.
const (
	groupRunning = 4                // batches in flight (each holds one pool connection)
	groupMax     = 64               // statements per batch
	groupTimeout = 10 * time.Second // one batch, including its commit
)

// groupJob is one statement waiting for its batch.
type groupJob struct {
	sql  string
	args []any
	scan func(pgx.Row) error // reads the statement's one row (pgx.ErrNoRows: none)
	err  error
	done chan struct{}
}

// groupCommit batches hot statements into shared transactions.
type groupCommit struct {
	mu      sync.Mutex
	queue   []*groupJob
	running int
}

// row runs sql in a shared transaction and scans its one row with scan
// after the transaction committed. ErrNoRows (from scan) is returned as it is.
func (g *groupCommit) row(ctx context.Context, db *pgxpool.Pool, sql string, args []any, scan func(pgx.Row) error) error {
	j := &groupJob{sql: sql, args: args, scan: scan, done: make(chan struct{})}
	g.mu.Lock()
	g.queue = append(g.queue, j)
	lead := g.running < groupRunning
	if lead {
		g.running++
	}
	g.mu.Unlock()
	if lead {
		g.drain(db, j)
	}
	select {
	case <-j.done:
		return j.err
	case <-ctx.Done():
		// The statement still runs (and may commit); the caller is gone.
		return ctx.Err()
	}
}

// drain runs batches until the queue is empty, or until own is done, when
// it hands the rest to a new drainer so that its request can answer.
func (g *groupCommit) drain(db *pgxpool.Pool, own *groupJob) {
	for {
		g.mu.Lock()
		if len(g.queue) == 0 {
			g.running--
			g.mu.Unlock()
			return
		}
		select {
		case <-own.done:
			g.mu.Unlock()
			go g.drain(db, &groupJob{done: make(chan struct{})})
			return
		default:
		}
		n := min(len(g.queue), groupMax)
		batch := g.queue[:n:n]
		g.queue = g.queue[n:]
		g.mu.Unlock()
		runBatch(db, batch)
	}
}

// runBatch sends the jobs as one pgx batch (one implicit transaction) and
// finishes each job after the commit; if anything failed, each job runs
// again alone.
func runBatch(db *pgxpool.Pool, batch []*groupJob) {
	ctx, cancel := context.WithTimeout(context.Background(), groupTimeout)
	defer cancel()
	if len(batch) == 1 {
		j := batch[0]
		j.err = j.scan(db.QueryRow(ctx, j.sql, j.args...))
		close(j.done)
		return
	}
	b := &pgx.Batch{}
	for _, j := range batch {
		b.Queue(j.sql, j.args...)
	}
	br := db.SendBatch(ctx, b)
	failed := false
	for _, j := range batch {
		j.err = j.scan(br.QueryRow())
		if j.err != nil && !errors.Is(j.err, pgx.ErrNoRows) {
			failed = true
		}
	}
	if err := br.Close(); err != nil {
		failed = true
	}
	for _, j := range batch {
		if failed {
			j.err = j.scan(db.QueryRow(ctx, j.sql, j.args...))
		}
		close(j.done)
	}
}
