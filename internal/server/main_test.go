package server_test

import (
	"os"
	"testing"

	"github.com/kepu/kepu/internal/apptest"
)

// TestMain seeds one template database for the package's instances.
//
// Every test runs its own server on its own database and Redis prefix, so
// tests call t.Parallel(): most of their time is spent waiting on
// deadlines, sockets and the database, and go test overlaps those waits.
// The few that measure time (latency credit, login windows and budgets,
// busy hash slots, pool and lock deadlines, the PDF's Chromium run, the
// card-login burst) run alone, before the parallel ones, so that the load of
// the others cannot move what they measure.
func TestMain(m *testing.M) { os.Exit(apptest.Main(m)) }
