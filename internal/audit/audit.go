// Package audit records administrative actions (role changes, account
// disabling, password resets, roster changes) in the audit_log table.
package audit

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Execer is what Record needs: a pool or a transaction, so that an action
// and its audit entry commit together.
type Execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// Entry is one audited action.
type Entry struct {
	ID        int64          `json:"id"`
	At        time.Time      `json:"at"`
	ActorID   int64          `json:"actor_id"`
	ActorName string         `json:"actor_name"`
	Action    string         `json:"action"`
	Target    string         `json:"target"`
	Detail    map[string]any `json:"detail"`
	IP        string         `json:"ip"`
}

// Record writes one entry. detail must not hold secrets (passwords, tokens).
func Record(ctx context.Context, db Execer, actorID int64, action, target string, detail map[string]any, ip string) error {
	if detail == nil {
		detail = map[string]any{}
	}
	var actor *int64
	if actorID != 0 {
		actor = &actorID
	}
	if _, err := db.Exec(ctx, `INSERT INTO audit_log (actor_id, action, target, detail, ip) VALUES ($1, $2, $3, $4, $5)`,
		actor, action, target, detail, ip); err != nil {
		return fmt.Errorf("audit: record %s: %w", action, err)
	}
	return nil
}

// List returns the newest entries first, at most limit, older than beforeID
// when it is non-zero.
func List(ctx context.Context, db *pgxpool.Pool, beforeID int64, limit int) ([]Entry, error) {
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	rows, _ := db.Query(ctx, `SELECT a.id, a.at, coalesce(a.actor_id, 0), coalesce(u.username, ''), a.action, a.target, a.detail, a.ip
		FROM audit_log a LEFT JOIN users u ON u.id = a.actor_id
		WHERE ($1::bigint = 0 OR a.id < $1) ORDER BY a.id DESC LIMIT $2`, beforeID, limit)
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[Entry])
	if err != nil {
		return nil, fmt.Errorf("audit: list: %w", err)
	}
	return out, nil
}
