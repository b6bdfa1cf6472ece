package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Reads routes the reads that tolerate seconds of lag (dashboards, exports,
// certificate checks) to a streaming replica while it is up and close
// enough behind the primary, and to the primary otherwise. The zero of
// Standby (no replica configured) always answers the primary.
//
// Run checks the replica every CheckEvery: it is used while it answers and
// its replay lag is at most MaxLag; a replica that fails a check, or lags
// more, is left until a later check finds it well again. Pool is what a
// read uses; Status is what /readyz reports.
type Reads struct {
	Primary    *pgxpool.Pool
	Standby    *pgxpool.Pool // nil: no replica
	MaxLag     time.Duration // default 10 s
	CheckEvery time.Duration // default 1 s
	Log        *slog.Logger  // state changes; none when nil

	mu     sync.Mutex
	status ReadsStatus
}

// ReadsStatus is the state of the replica as the last check saw it.
type ReadsStatus struct {
	Replica bool          `json:"replica"`         // a replica is configured
	Using   string        `json:"reads_from"`      // "replica" or "primary"
	Lag     time.Duration `json:"-"`               // replay lag at the last check
	LagMS   int64         `json:"lag_ms"`          // the same, in ms
	Error   string        `json:"error,omitempty"` // why the replica is not used
	Checked time.Time     `json:"checked_at,omitzero"`
}

// Pool returns the pool a lag-tolerant read should use now.
func (r *Reads) Pool() *pgxpool.Pool {
	if r == nil {
		return nil
	}
	if r.Standby == nil {
		return r.Primary
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.status.Using == "replica" {
		return r.Standby
	}
	return r.Primary
}

// Status returns the replica's state at the last check.
func (r *Reads) Status() ReadsStatus {
	if r == nil || r.Standby == nil {
		return ReadsStatus{Using: "primary"}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.status
}

// lagSQL is the replay lag of a replica: 0 when it has replayed all it
// received (an idle primary sends nothing, which is not lag), else the age
// of the last transaction it replayed.
const lagSQL = `SELECT CASE
	WHEN NOT pg_is_in_recovery() THEN -1
	WHEN pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn() THEN 0
	ELSE coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()) * 1000, 0) END::bigint`

// errNotReplica: the read URL names a server that is not in recovery.
var errNotReplica = errors.New("not a replica (pg_is_in_recovery is false)")

// Check measures the replica once and decides whether reads use it.
func (r *Reads) Check(ctx context.Context) ReadsStatus {
	if r.Standby == nil {
		return r.Status()
	}
	maxLag := r.MaxLag
	if maxLag <= 0 {
		maxLag = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	st := ReadsStatus{Replica: true, Using: "primary", Checked: time.Now()}
	var ms int64
	err := r.Standby.QueryRow(ctx, lagSQL).Scan(&ms)
	switch {
	case err != nil:
		st.Error = fmt.Sprintf("unreachable: %v", err)
	case ms < 0:
		st.Error = errNotReplica.Error()
	default:
		st.Lag, st.LagMS = time.Duration(ms)*time.Millisecond, ms
		if st.Lag > maxLag {
			st.Error = fmt.Sprintf("lag %v above %v", st.Lag.Round(time.Millisecond), maxLag)
		} else {
			st.Using = "replica"
		}
	}
	r.mu.Lock()
	prev := r.status
	r.status = st
	r.mu.Unlock()
	if r.Log != nil && prev.Using != st.Using {
		if st.Using == "replica" {
			r.Log.Info("postgres: reads go to the replica", "lag_ms", st.LagMS)
		} else {
			r.Log.Warn("postgres: reads go to the primary", "reason", st.Error)
		}
	}
	return st
}

// Run checks the replica every CheckEvery until ctx ends.
func (r *Reads) Run(ctx context.Context) {
	if r.Standby == nil {
		return
	}
	every := r.CheckEvery
	if every <= 0 {
		every = time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		r.Check(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// OpenReplica makes the pool of a read replica without waiting for it: a
// replica that is down at start is only left unused until it answers.
// limits bound its waits as they do Open's.
func OpenReplica(url string, limits ...Limits) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: parse read url: %w", err)
	}
	if cfg.MaxConns < 16 {
		cfg.MaxConns = 16
	}
	if cfg.ConnConfig.ConnectTimeout == 0 || cfg.ConnConfig.ConnectTimeout > 2*time.Second {
		cfg.ConnConfig.ConnectTimeout = 2 * time.Second
	}
	applyLimits(cfg, limits)
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: open replica: %w", err)
	}
	return pool, nil
}
