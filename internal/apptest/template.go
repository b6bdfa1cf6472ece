package apptest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/kepu/kepu/internal/app"
	"github.com/kepu/kepu/internal/config"
	"github.com/kepu/kepu/internal/postgres"
	"github.com/kepu/kepu/internal/seed"
	"github.com/kepu/kepu/internal/testenv"
)

// Most tests start an instance on the same seeded data: migrating and
// seeding (the bank's hundreds of questions, argon2id hashes of the demo
// accounts) takes seconds, copying a database takes a fraction of one. So
// a package whose TestMain calls Main migrates and seeds once, into a
// template database of its own, and every plain Start (no Env, Now,
// Shared or NoSeed option) copies it. The template is dropped when the
// package's tests end.
var template struct {
	enabled bool
	once    sync.Once
	name    string
	seed    seed.Result
	err     error
}

// Main runs a package's tests with the seeded template (see above); call
// it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(apptest.Main(m)) }
func Main(m *testing.M) int {
	template.enabled = true
	code := m.Run()
	if template.name != "" {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := testenv.DropDatabase(ctx, template.name); err != nil {
			fmt.Printf("apptest: %v\n", err)
		}
	}
	return code
}

// seededTemplate returns the template's name and seed, making it on the
// first call.
func seededTemplate() (string, seed.Result, error) {
	template.once.Do(func() {
		template.name = testenv.RandomName("kepu_test_tmpl_")
		template.seed, template.err = makeTemplate(template.name)
	})
	return template.name, template.seed, template.err
}

// makeTemplate creates database name, migrates it and loads the seed
// through a Kepu instance that is opened on it (not served) and closed
// again, so that nothing stays connected to it.
func makeTemplate(name string) (seed.Result, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var res seed.Result
	if err := testenv.CreateDatabase(ctx, name, ""); err != nil {
		return res, err
	}
	url := testenv.DatabaseURL(name)
	pool, err := postgres.Open(ctx, url)
	if err != nil {
		return res, fmt.Errorf("open template: %w", err)
	}
	err = postgres.Migrate(ctx, pool, nil)
	pool.Close()
	if err != nil {
		return res, fmt.Errorf("migrate template: %w", err)
	}
	prefix := testenv.RandomName("kepu-test-tmpl-")
	cfg, err := config.Load(func(k string) string {
		return map[string]string{"KEPU_DATABASE_URL": url, "KEPU_REDIS_URL": testenv.RedisURL(),
			"KEPU_REDIS_PREFIX": prefix, "KEPU_MAX_HASHES": "8"}[k]
	})
	if err != nil {
		return res, fmt.Errorf("template config: %w", err)
	}
	a, err := app.Open(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		return res, fmt.Errorf("open template instance: %w", err)
	}
	cheapHashes(a)
	defer func() {
		testenv.DeletePrefix(context.Background(), a.Redis, prefix)
		a.Close()
	}()
	if res, err = seed.Foundation(ctx, a.DB, a.Accounts, a.Org); err != nil {
		return res, fmt.Errorf("seed template: %w", err)
	}
	if _, err := seed.Bank(ctx, a.DB, res.CityID); err != nil {
		return res, fmt.Errorf("seed template bank: %w", err)
	}
	return res, nil
}
