package postgres_test

import (
	"context"
	"testing"

	"github.com/kepu/kepu/internal/postgres"
	"github.com/kepu/kepu/internal/testenv"
)

func TestMigrateEmptyAndIdempotent(t *testing.T) {
	db := testenv.NewEmptyDB(t)
	ctx := context.Background()
	if pending, err := postgres.Pending(ctx, db.Pool); err != nil || !pending {
		t.Fatalf("empty database: pending = %v, %v; want true", pending, err)
	}
	for i := 0; i < 2; i++ {
		if err := postgres.Migrate(ctx, db.Pool, nil); err != nil {
			t.Fatalf("migrate run %d: %v", i+1, err)
		}
	}
	if pending, err := postgres.Pending(ctx, db.Pool); err != nil || pending {
		t.Fatalf("after migrate: pending = %v, %v; want false", pending, err)
	}
	var n int
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM users`).Scan(&n); err != nil {
		t.Fatalf("users table missing: %v", err)
	}
}
