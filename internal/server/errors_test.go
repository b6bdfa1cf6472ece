package server

import (
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/kepu/kepu/internal/kepu"
)

// A transaction that loses a deadlock or a serialization conflict is told
// to retry (503 busy with Retry-After), not reported as an internal error:
// the cluster test once saw a host's "next" answer 500 for a deadlock.
func TestTransientConflictsAreBusy(t *testing.T) {
	for _, code := range []string{"40P01", "40001", "57014", "55P03"} {
		err := fmt.Errorf("contest: persist 1: %w", &pgconn.PgError{Code: code})
		ke := dependencyError(err)
		if ke == nil || ke.Code != kepu.EUNAVAILABLE || ke.Params["seconds"] != busyRetry {
			t.Errorf("%s: got %+v, want unavailable, busy, seconds %d", code, ke, busyRetry)
		}
	}
	if ke := dependencyError(&pgconn.PgError{Code: "23505"}); ke != nil {
		t.Errorf("unique violation: got %+v, want nil (a real error of the caller's)", ke)
	}
}
