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

func randomName(prefix string) string {
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
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, AdminURL())
	if err != nil {
		tb.Fatalf("testenv: connect to %s: %v (is Postgres running? try `make services`)", AdminURL(), err)
	}
	defer admin.Close(ctx)
	name := randomName("kepu_test_")
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		tb.Fatalf("testenv: create database: %v", err)
	}
	u, _ := url.Parse(AdminURL())
	u.Path = "/" + name
	db := &DB{URL: u.String(), Name: name}
	db.Pool, err = postgres.Open(ctx, db.URL)
	if err != nil {
		tb.Fatalf("testenv: open: %v", err)
	}
	tb.Cleanup(func() {
		db.Pool.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		admin, err := pgx.Connect(ctx, AdminURL())
		if err != nil {
			tb.Errorf("testenv: drop %s: %v", name, err)
			return
		}
		defer admin.Close(ctx)
		if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			tb.Errorf("testenv: drop %s: %v", name, err)
		}
	})
	return db
}

// Redis is one test's Redis client and key prefix.
type Redis struct {
	Client *redis.Client
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
	prefix := randomName("kepu-test-")
	r := &Redis{Client: c, Prefix: prefix, Keys: rdb.Keys{Prefix: prefix}}
	tb.Cleanup(func() {
		defer c.Close()
		if err := DeletePrefix(ctx, c, prefix); err != nil {
			tb.Errorf("testenv: clean redis: %v", err)
		}
	})
	return r
}

// DeletePrefix removes every key that starts with prefix + ":".
func DeletePrefix(ctx context.Context, c *redis.Client, prefix string) error {
	iter := c.Scan(ctx, 0, prefix+":*", 1000).Iterator()
	var batch []string
	for iter.Next(ctx) {
		batch = append(batch, iter.Val())
		if len(batch) == 500 {
			if err := c.Unlink(ctx, batch...).Err(); err != nil {
				return fmt.Errorf("unlink: %w", err)
			}
			batch = batch[:0]
		}
	}
	if err := iter.Err(); err != nil {
		return fmt.Errorf("scan: %w", err)
	}
	if len(batch) > 0 {
		return c.Unlink(ctx, batch...).Err()
	}
	return nil
}
