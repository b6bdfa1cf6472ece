package dashboard

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The refresher folds new rows of the campaign engineer's tables into the
// dash_* rollups. Every instance runs it; a Postgres advisory lock lets one
// at a time do the work. Each step reads rows past its watermark, in
// bounded batches, and updates the rollups and the watermark in one
// transaction, so a crash loses nothing and counts nothing twice.
//
// Rows are folded only once they are CommitLag old: a transaction that took
// a lower id but commits later than a higher one is still picked up, as
// long as it commits within CommitLag.

// refreshLockKey is the advisory lock of the refresher ("dash" in ASCII).
const refreshLockKey = 0x64617368

// Batch sizes of one refresh step.
const (
	answerBatch  = 100000
	attemptBatch = 50000
)

// Refresher keeps the rollups up to date.
type Refresher struct {
	DB        *pgxpool.Pool
	Log       *slog.Logger
	Every     time.Duration // how often Run refreshes (default 3s)
	CommitLag time.Duration // how old a row must be before it is folded (default 2s)
	// OnRefresh, when set, is called after a refresh that folded rows.
	OnRefresh func()
}

// Run refreshes every r.Every until ctx ends.
func (r *Refresher) Run(ctx context.Context) {
	every := r.Every
	if every <= 0 {
		every = 3 * time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		n, err := r.Refresh(ctx)
		if err != nil && ctx.Err() == nil && r.Log != nil {
			r.Log.Warn("dashboard refresh", "err", err)
		}
		if n > 0 && r.OnRefresh != nil {
			r.OnRefresh()
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Refresh folds everything pending (in batches) and returns how many rows
// it folded. It returns 0, nil when another instance holds the lock.
func (r *Refresher) Refresh(ctx context.Context) (int64, error) {
	var total int64
	for range 1000 {
		n, err := r.step(ctx)
		if err != nil {
			return total, err
		}
		total += n
		if n == 0 {
			break
		}
	}
	return total, nil
}

func (r *Refresher) lag() string {
	lag := r.CommitLag
	if lag == 0 {
		lag = 2 * time.Second
	}
	if lag < 0 {
		lag = 0
	}
	return fmt.Sprintf("%d milliseconds", lag.Milliseconds())
}

// step runs one batch of each fold inside one transaction.
func (r *Refresher) step(ctx context.Context) (int64, error) {
	tx, err := r.DB.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("dashboard: refresh: %w", err)
	}
	defer tx.Rollback(ctx)
	var locked bool
	if err := tx.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock($1)`, refreshLockKey).Scan(&locked); err != nil {
		return 0, fmt.Errorf("dashboard: refresh: lock: %w", err)
	}
	if !locked {
		return 0, nil
	}
	lag := r.lag()
	var total int64
	for _, f := range []struct {
		name string
		fn   func(context.Context, pgx.Tx, string) (int64, error)
	}{
		{"started", foldByID("started", sqlStartedBound, sqlFoldStarted, attemptBatch)},
		{"answers", foldByID("answers", sqlAnswersBound, sqlFoldAnswers, answerBatch)},
		{"finished", foldFinished},
	} {
		n, err := f.fn(ctx, tx, lag)
		if err != nil {
			return 0, fmt.Errorf("dashboard: refresh %s: %w", f.name, err)
		}
		total += n
	}
	if _, err := tx.Exec(ctx, `DELETE FROM dash_minute WHERE minute < now() - interval '1 day'`); err != nil {
		return 0, fmt.Errorf("dashboard: refresh: prune: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("dashboard: refresh: commit: %w", err)
	}
	return total, nil
}

// watermark returns the last id folded in by the named step.
func watermark(ctx context.Context, tx pgx.Tx, name string) (int64, error) {
	var id int64
	err := tx.QueryRow(ctx, `SELECT last_id FROM dash_watermarks WHERE name = $1`, name).Scan(&id)
	return id, err
}

// foldByID folds the next batch of an id-ordered table: bound finds the
// batch's last id (from $1, at most $2 rows older than $3), fold folds ids
// in ($1, $2] and counts them, and the watermark moves on.
func foldByID(name, bound, fold string, batch int) func(context.Context, pgx.Tx, string) (int64, error) {
	return func(ctx context.Context, tx pgx.Tx, lag string) (int64, error) {
		from, err := watermark(ctx, tx, name)
		if err != nil {
			return 0, err
		}
		var to int64
		if err := tx.QueryRow(ctx, bound, from, batch, lag).Scan(&to); err != nil {
			return 0, err
		}
		if to <= from {
			return 0, nil
		}
		var n int64
		if err := tx.QueryRow(ctx, fold, from, to).Scan(&n); err != nil {
			return 0, err
		}
		_, err = tx.Exec(ctx, `UPDATE dash_watermarks SET last_id = $2 WHERE name = $1`, name, to)
		return n, err
	}
}

func foldFinished(ctx context.Context, tx pgx.Tx, lag string) (int64, error) {
	var from time.Time
	if err := tx.QueryRow(ctx, `SELECT last_at FROM dash_watermarks WHERE name = 'finished'`).Scan(&from); err != nil {
		return 0, err
	}
	var to *time.Time
	if err := tx.QueryRow(ctx, sqlFinishedBound, from, attemptBatch, lag).Scan(&to); err != nil {
		return 0, err
	}
	if to == nil || !to.After(from) {
		return 0, nil
	}
	var n int64
	if err := tx.QueryRow(ctx, sqlFoldFinished, from, *to).Scan(&n); err != nil {
		return 0, err
	}
	_, err := tx.Exec(ctx, `UPDATE dash_watermarks SET last_at = $2 WHERE name = $1`, "finished", *to)
	return n, err
}
