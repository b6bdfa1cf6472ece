package audit_test

import (
	"context"
	"testing"

	"github.com/kepu/kepu/internal/audit"
	"github.com/kepu/kepu/internal/testenv"
)

// Record writes inside the caller's transaction (a rollback leaves no
// entry); List returns the newest first with the actor's name, pages with
// beforeID and clamps the limit.
func TestRecordAndList(t *testing.T) {
	db := testenv.NewDB(t)
	ctx := context.Background()
	var admin int64
	if err := db.Pool.QueryRow(ctx, `INSERT INTO users (username, role, nickname) VALUES ('boss', 'admin', 'Boss') RETURNING id`).Scan(&admin); err != nil {
		t.Fatal(err)
	}

	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := audit.Record(ctx, tx, admin, "user.disable", "user:9", nil, "10.0.0.1"); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if got, err := audit.List(ctx, db.Pool, audit.Filter{Limit: 10}); err != nil || len(got) != 0 {
		t.Fatalf("after a rollback: got %+v %v, want no entry", got, err)
	}

	if err := audit.Record(ctx, db.Pool, 0, "system.start", "", nil, ""); err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{"user:1", "user:2", "user:3"} {
		if err := audit.Record(ctx, db.Pool, admin, "role.set", target, map[string]any{"role": "teacher"}, "10.0.0.1"); err != nil {
			t.Fatal(err)
		}
	}
	all, err := audit.List(ctx, db.Pool, audit.Filter{}) // 0: the default limit
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 4 {
		t.Fatalf("got %d entries, want 4", len(all))
	}
	first, last := all[0], all[3]
	if first.Target != "user:3" || first.ActorID != admin || first.ActorName != "boss" || first.Detail["role"] != "teacher" || first.IP != "10.0.0.1" {
		t.Errorf("newest: got %+v, want user:3 by boss with role teacher", first)
	}
	if last.Action != "system.start" || last.ActorID != 0 || last.ActorName != "" || len(last.Detail) != 0 {
		t.Errorf("oldest: got %+v, want system.start with no actor and an empty detail", last)
	}
	page, err := audit.List(ctx, db.Pool, audit.Filter{Before: all[1].ID, Limit: 1})
	if err != nil || len(page) != 1 || page[0].ID != all[2].ID {
		t.Errorf("page before %d: got %+v %v, want entry %d only", all[1].ID, page, err, all[2].ID)
	}
	if big, err := audit.List(ctx, db.Pool, audit.Filter{Limit: 10000}); err != nil || len(big) != 4 {
		t.Errorf("limit 10000 (clamped): got %d %v, want 4", len(big), err)
	}
}
