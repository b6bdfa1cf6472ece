// Package testenv gives tests their own real Postgres database and their own
// Redis key prefix, and removes both when the test ends. It never touches data
// it did not create.
//
// KEPU_TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres)
// names a server where the test may CREATE DATABASE; KEPU_TEST_REDIS_URL
// (default redis://127.0.0.1:6379/0) a Redis server.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/kepu/kepu/internal/postgres"
	"github.com/kepu/kepu/internal/rdb"
)

// AdminURL is the URL of the database server tests create databases on.
func AdminURL() string {
	if u := os.Getenv("KEPU_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

// RedisURL is the Redis server tests use.
func RedisURL() string {
	if u := os.Getenv("KEPU_TEST_REDIS_URL"); u != "" {
		return u
	}
	return "redis://127.0.0.1:6379/0"
}

// RandomName is prefix followed by 12 random hex digits.
func RandomName(prefix string) string {
	b := make([]byte, 6)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// DB is one test database.
type DB struct {
	Pool *pgxpool.Pool
	URL  string
	Name string
}

// NewDB creates an empty database, migrates it and drops it at cleanup.
func NewDB(tb testing.TB) *DB {
	tb.Helper()
	db := NewEmptyDB(tb)
	if err := postgres.Migrate(context.Background(), db.Pool, nil); err != nil {
		tb.Fatalf("testenv: migrate: %v", err)
	}
	return db
}

// NewEmptyDB creates an empty database (not migrated) and drops it at cleanup.
func NewEmptyDB(tb testing.TB) *DB {
	tb.Helper()
	return newDB(tb, "")
}

// NewDBFrom creates a database copied from template (CREATE DATABASE …
// TEMPLATE: much faster than migrating and seeding again) and drops it at
// cleanup. Nothing may be connected to template meanwhile.
func NewDBFrom(tb testing.TB, template string) *DB {
	tb.Helper()
	return newDB(tb, template)
}

func newDB(tb testing.TB, template string) *DB {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	name := RandomName("kepu_test_")
	if err := CreateDatabase(ctx, name, template); err != nil {
		tb.Fatalf("testenv: %v", err)
	}
	db := &DB{URL: DatabaseURL(name), Name: name}
	var err error
	db.Pool, err = postgres.Open(ctx, db.URL)
	if err != nil {
		tb.Fatalf("testenv: open: %v", err)
	}
	tb.Cleanup(func() {
		db.Pool.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := DropDatabase(ctx, name); err != nil {
			tb.Errorf("testenv: %v", err)
		}
	})
	return db
}

// CreateDatabase creates database name on the test server, as a copy of
// template unless template is "". Callers own it and must drop it
// (DropDatabase); NewDB and friends do that at cleanup.
func CreateDatabase(ctx context.Context, name, template string) error {
	admin, err := pgx.Connect(ctx, AdminURL())
	if err != nil {
		return fmt.Errorf("connect to %s: %w (is Postgres running? try `make services`)", AdminURL(), err)
	}
	defer admin.Close(ctx)
	sql := "CREATE DATABASE " + pgx.Identifier{name}.Sanitize()
	if template != "" {
		sql += " TEMPLATE " + pgx.Identifier{template}.Sanitize()
	}
	if _, err := admin.Exec(ctx, sql); err != nil {
		return fmt.Errorf("create database %s: %w", name, err)
	}
	return nil
}

// DropDatabase drops database name, closing its connections.
func DropDatabase(ctx context.Context, name string) error {
	admin, err := pgx.Connect(ctx, AdminURL())
	if err != nil {
		return fmt.Errorf("drop %s: %w", name, err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop %s: %w", name, err)
	}
	return nil
}

// DatabaseURL is the URL of database name on the test server.
func DatabaseURL(name string) string {
	u, _ := url.Parse(AdminURL())
	u.Path = "/" + name
	return u.String()
}

// Redis is one test's Redis client and key prefix.
type Redis struct {
	Client redis.UniversalClient
	Prefix string
	Keys   rdb.Keys
}

// NewRedis returns a client and a fresh key prefix; every key under the
// prefix is deleted at cleanup.
func NewRedis(tb testing.TB) *Redis {
	tb.Helper()
	ctx := context.Background()
	c, err := rdb.Open(ctx, RedisURL())
	if err != nil {
		tb.Fatalf("testenv: redis %s: %v (is Redis running? try `make services`)", RedisURL(), err)
	}
	prefix := RandomName("kepu-test-")
	r := &Redis{Client: c, Prefix: prefix, Keys: rdb.Keys{Prefix: prefix}}
	tb.Cleanup(func() {
		defer c.Close()
		if err := DeletePrefix(ctx, c, prefix); err != nil {
			tb.Errorf("testenv: clean redis: %v", err)
		}
	})
	return r
}

// DeletePrefix removes every key that starts with prefix + ":" (on every
// master of a cluster).
func DeletePrefix(ctx context.Context, c redis.UniversalClient, prefix string) error {
	cc, cluster := c.(*redis.ClusterClient)
	if !cluster {
		return deletePrefix(ctx, c, prefix, false)
	}
	return cc.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
		return deletePrefix(ctx, node, prefix, true)
	})
}

// deletePrefix is DeletePrefix on one server; oneByOne unlinks each key by
// itself (a cluster node refuses keys of several slots in one command).
func deletePrefix(ctx context.Context, c redis.Cmdable, prefix string, oneByOne bool) error {
	unlink := func(keys []string) error {
		if !oneByOne {
			return c.Unlink(ctx, keys...).Err()
		}
		p := c.Pipeline()
		for _, k := range keys {
			p.Unlink(ctx, k)
		}
		_, err := p.Exec(ctx)
		return err
	}
	iter := c.Scan(ctx, 0, prefix+":*", 1000).Iterator()
	var batch []string
	for iter.Next(ctx) {
		batch = append(batch, iter.Val())
		if len(batch) == 500 {
			if err := unlink(batch); err != nil {
				return fmt.Errorf("unlink: %w", err)
			}
			batch = batch[:0]
		}
	}
	if err := iter.Err(); err != nil {
		return fmt.Errorf("scan: %w", err)
	}
	if len(batch) > 0 {
		return unlink(batch)
	}
	return nil
}
