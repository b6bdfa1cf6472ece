// Package postgres is Kepu's thin shared Postgres infrastructure: the pool,
// the migration runner and transaction helpers. Feature packages own their SQL.
package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/kepu/kepu/migrations"
)

// Limits bound every wait on Postgres (zero: no bound): the session's
// statement_timeout and lock_timeout, and the longest wait for a
// connection of the pool (a full pool then fails with
// context.DeadlineExceeded instead of queueing for as long as the caller's
// context allows).
type Limits struct {
	StatementTimeout, LockTimeout, AcquireTimeout time.Duration
}

// Open connects a pool to url and checks it answers.
func Open(ctx context.Context, url string, limits ...Limits) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: parse url: %w", err)
	}
	if cfg.MaxConns < 16 {
		cfg.MaxConns = 16
	}
	applyLimits(cfg, limits)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: ping: %w", err)
	}
	return pool, nil
}

// applyLimits sets the bounds of limits on a pool's configuration.
func applyLimits(cfg *pgxpool.Config, limits []Limits) {
	for _, l := range limits {
		if l.StatementTimeout > 0 {
			cfg.ConnConfig.RuntimeParams["statement_timeout"] = fmt.Sprint(l.StatementTimeout.Milliseconds())
		}
		if l.LockTimeout > 0 {
			cfg.ConnConfig.RuntimeParams["lock_timeout"] = fmt.Sprint(l.LockTimeout.Milliseconds())
		}
		if l.AcquireTimeout > 0 {
			cfg.ConnConfig.Tracer = acquireTimeout(l.AcquireTimeout)
		}
	}
}

// acquireTimeout bounds the wait for a connection of the pool: pgxpool
// acquires with the context TraceAcquireStart returns.
type acquireTimeout time.Duration

type acquireCancel struct{}

func (d acquireTimeout) TraceAcquireStart(ctx context.Context, _ *pgxpool.Pool, _ pgxpool.TraceAcquireStartData) context.Context {
	ctx, cancel := context.WithTimeout(ctx, time.Duration(d))
	return context.WithValue(ctx, acquireCancel{}, cancel)
}

func (acquireTimeout) TraceAcquireEnd(ctx context.Context, _ *pgxpool.Pool, _ pgxpool.TraceAcquireEndData) {
	if cancel, ok := ctx.Value(acquireCancel{}).(context.CancelFunc); ok {
		cancel()
	}
}

func (acquireTimeout) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	return ctx
}

func (acquireTimeout) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func provider(pool *pgxpool.Pool) (*goose.Provider, *sql.DB, error) {
	db := stdlib.OpenDBFromPool(pool)
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return nil, nil, fmt.Errorf("postgres: migration lock: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, migrations.FS, goose.WithSessionLocker(locker),
		// Features own number ranges (000xx, 001xx, 002xx …), so a lower number
		// can arrive after a higher one was applied.
		goose.WithAllowOutofOrder(true))
	if err != nil {
		db.Close()
		return nil, nil, fmt.Errorf("postgres: migrations: %w", err)
	}
	return p, db, nil
}

// Migrate applies every pending migration, each in its own transaction, under
// a session advisory lock so that several instances starting together do not race.
func Migrate(ctx context.Context, pool *pgxpool.Pool, log *slog.Logger) error {
	p, db, err := provider(pool)
	if err != nil {
		return err
	}
	defer db.Close()
	results, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("postgres: migrate up: %w", err)
	}
	for _, r := range results {
		if log != nil {
			log.Info("migration applied", "version", r.Source.Version, "file", r.Source.Path, "took", r.Duration)
		}
	}
	return nil
}

// Pending reports whether some embedded migration has not been applied.
func Pending(ctx context.Context, pool *pgxpool.Pool) (bool, error) {
	p, db, err := provider(pool)
	if err != nil {
		return false, err
	}
	defer db.Close()
	ok, err := p.HasPending(ctx)
	if err != nil {
		return false, fmt.Errorf("postgres: pending migrations: %w", err)
	}
	return ok, nil
}

// Tx runs fn in a transaction, committing when fn returns nil.
func Tx(ctx context.Context, pool *pgxpool.Pool, fn func(pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, pool, fn)
}

// IsUniqueViolation reports whether err is a unique-constraint violation,
// optionally of the named constraint.
func IsUniqueViolation(err error, constraint string) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" {
		return constraint == "" || pe.ConstraintName == constraint
	}
	return false
}

// IsNotFound reports whether err is pgx.ErrNoRows.
func IsNotFound(err error) bool { return errors.Is(err, pgx.ErrNoRows) }

var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// LikeEscape escapes s for use inside an ILIKE/LIKE pattern with the default
// escape character, so user text matches literally: `'%' || $1 || '%'`.
func LikeEscape(s string) string { return likeEscaper.Replace(s) }
