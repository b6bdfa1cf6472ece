package main

// The reference runs (--reference): what the same machine does with the
// same engine and nothing of Kepu in between, measured in the same run so
// that the ratio, not the absolute figure, is the result (absolute figures
// move from machine to machine and from hour to hour; docs/benchmarks.md).
//
// Postgres: 32 clients insert single rows with a primary key, each its own
// transaction with synchronous commit — what pgbench does with a one-line
// INSERT script (`pgbench -n -c 32 -j 2 -T 20 -f insert.sql`). The table is
// made for the run and dropped after it.

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

// referenceClients is pgbench's -c of the reference insert run.
const referenceClients = 32

// runInsertReference runs the insert reference for d before a scenario
// and reports it (the summary's reference_inserts_per_s).
func runInsertReference(ctx context.Context, env *Env, d time.Duration) (float64, error) {
	fmt.Fprintf(env.Out, "reference: %d clients insert single rows (primary key, synchronous commit) for %v …\n", referenceClients, d)
	reference, err := insertReference(ctx, env.DatabaseURL, d)
	if err != nil {
		return 0, err
	}
	env.Checks["reference_inserts_per_s"] = fmt.Sprintf("%.0f/s (%d clients, single-row INSERT with primary key, synchronous commit, %v)", reference, referenceClients, d)
	fmt.Fprintf(env.Out, "reference: %.0f inserts/s\n", reference)
	return reference, nil
}

// insertReference runs the single-row insert reference against
// databaseURL for d and returns the committed inserts a second.
func insertReference(ctx context.Context, databaseURL string, d time.Duration) (float64, error) {
	admin, err := pgx.Connect(ctx, databaseURL)
	if err != nil {
		return 0, fmt.Errorf("reference: connect (--database-url): %w", err)
	}
	defer admin.Close(context.Background())
	table := fmt.Sprintf("loadtest_reference_%d", rand.Uint32())
	if _, err := admin.Exec(ctx, `CREATE TABLE `+table+` (id bigint PRIMARY KEY, client int NOT NULL, at timestamptz NOT NULL DEFAULT now(), payload int NOT NULL)`); err != nil {
		return 0, fmt.Errorf("reference: create table: %w", err)
	}
	defer admin.Exec(context.Background(), `DROP TABLE IF EXISTS `+table)

	conns := make([]*pgx.Conn, referenceClients)
	for i := range conns {
		if conns[i], err = pgx.Connect(ctx, databaseURL); err != nil {
			return 0, fmt.Errorf("reference: connect client %d: %w", i, err)
		}
		defer conns[i].Close(context.Background())
		if _, err := conns[i].Exec(ctx, `SET synchronous_commit = on`); err != nil {
			return 0, fmt.Errorf("reference: %w", err)
		}
	}
	var next, done atomic.Int64
	var firstErr error
	var errOnce sync.Once
	runCtx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Go(func() {
			sql := `INSERT INTO ` + table + ` (id, client, payload) VALUES ($1, $2, $3)`
			for runCtx.Err() == nil {
				if _, err := c.Exec(runCtx, sql, next.Add(1), i, rand.Int32()); err != nil {
					if runCtx.Err() == nil {
						errOnce.Do(func() { firstErr = err })
					}
					return
				}
				done.Add(1)
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return 0, fmt.Errorf("reference: insert: %w", firstErr)
	}
	return float64(done.Load()) / time.Since(start).Seconds(), nil
}
