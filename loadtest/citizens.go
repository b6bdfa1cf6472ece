package main

// Simulated citizens: accounts made in bulk through Postgres, then logged
// in over HTTP like any browser.
//
// Why Postgres and not an API: Kepu has no bulk API for adult citizens (the
// class roster API makes u14 pupils, 20 batches an hour, one argon2id hash
// per pupil). The tool computes ONE argon2id hash of a per-run password with
// Kepu's own hasher and COPYs every account with it: thousands of accounts
// take a second, and the server still verifies a real argon2id hash at each
// login (that cost is part of the ramp-up, as in real life).

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kepu/kepu/internal/account"
)

// citizen is one simulated account.
type citizen struct {
	ID       int64
	Username string
	Nickname string
}

// citizenSet is the accounts of a run and their shared password.
type citizenSet struct {
	List     []citizen
	Password string
}

// ensureCitizens makes sure participants prefix-1 … prefix-n exist (in the
// city's districts, every third one in a class of a demo school, so
// district, school and class boards fill too), all with one fresh password.
// It is idempotent: existing accounts get the new password and are enabled.
func ensureCitizens(ctx context.Context, databaseURL, prefix string, n int) (citizenSet, error) {
	var set citizenSet
	db, err := pgx.Connect(ctx, databaseURL)
	if err != nil {
		return set, fmt.Errorf("citizens: connect (--database-url): %w", err)
	}
	defer db.Close(ctx)
	b := make([]byte, 12)
	rand.Read(b)
	set.Password = "lt-" + hex.EncodeToString(b)
	hash, err := account.NewHasher(1).Hash(ctx, set.Password)
	if err != nil {
		return set, fmt.Errorf("citizens: hash: %w", err)
	}
	districts, err := pgx.CollectRows(mustQuery(ctx, db, `SELECT id FROM regions WHERE kind = 'district' ORDER BY sort, id`), pgx.RowTo[int64])
	if err != nil || len(districts) == 0 {
		return set, fmt.Errorf("citizens: no districts (run kepu seed first): %v", err)
	}
	type class struct{ id, school, region int64 }
	classes, err := pgx.CollectRows(mustQuery(ctx, db, `SELECT c.id, c.school_id, s.region_id FROM classes c
		JOIN schools s ON s.id = c.school_id ORDER BY c.id LIMIT 50`), func(r pgx.CollectableRow) (class, error) {
		var c class
		return c, r.Scan(&c.id, &c.school, &c.region)
	})
	if err != nil {
		return set, fmt.Errorf("citizens: classes: %w", err)
	}
	rows := make([][]any, n)
	for i := range n {
		var region, school, cls *int64
		d := districts[i%len(districts)]
		region = &d
		if len(classes) > 0 && i%3 == 0 {
			c := classes[(i/3)%len(classes)]
			region, school, cls = &c.region, &c.school, &c.id
		}
		name := fmt.Sprintf("%s-%d", prefix, i+1)
		rows[i] = []any{name, hash, name, region, school, cls}
	}
	tx, err := db.Begin(ctx)
	if err != nil {
		return set, fmt.Errorf("citizens: %w", err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `CREATE TEMP TABLE lt_citizens (username text, password_hash text, nickname text,
		region_id bigint, school_id bigint, class_id bigint) ON COMMIT DROP`); err != nil {
		return set, fmt.Errorf("citizens: temp table: %w", err)
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"lt_citizens"}, []string{"username", "password_hash", "nickname", "region_id",
		"school_id", "class_id"}, pgx.CopyFromRows(rows)); err != nil {
		return set, fmt.Errorf("citizens: copy: %w", err)
	}
	list, err := pgx.CollectRows(mustQuery(ctx, tx, `INSERT INTO users (username, password_hash, role, nickname, region_id,
			school_id, class_id, age_band, occupation)
		SELECT username, password_hash, 'participant', nickname, region_id, school_id, class_id, '30_39', 'other' FROM lt_citizens
		ON CONFLICT ((lower(username))) DO UPDATE SET password_hash = EXCLUDED.password_hash, disabled_at = NULL,
			deleted_at = NULL, updated_at = now()
		RETURNING id, username, nickname`), func(r pgx.CollectableRow) (citizen, error) {
		var c citizen
		return c, r.Scan(&c.ID, &c.Username, &c.Nickname)
	})
	if err != nil {
		return set, fmt.Errorf("citizens: insert: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return set, fmt.Errorf("citizens: commit: %w", err)
	}
	set.List = list
	return set, nil
}

type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// mustQuery runs a query whose error surfaces from CollectRows.
func mustQuery(ctx context.Context, q querier, sql string, args ...any) pgx.Rows {
	rows, _ := q.Query(ctx, sql, args...)
	return rows
}

// login logs c in over HTTP as the login page does, retrying 429s (the
// per-address login limit) after the time the server asks for.
func login(ctx context.Context, stopping *atomic.Bool, st *Stats, c *Client, username, password string) error {
	t0 := time.Now()
	for {
		err := c.Do(ctx, "POST", "/api/v1/auth/login", map[string]string{"username": username, "password": password}, nil)
		if err == nil {
			st.Observe("login", time.Since(t0))
			return nil
		}
		st.Error("login: " + errKind(err))
		if he, ok := err.(*HTTPError); !ok || he.Status != 429 || ctx.Err() != nil || stopping.Load() {
			return err
		}
		sleepCtx(ctx, 5*time.Second)
	}
}
