package main

import (
	"os"
	"testing"

	"github.com/kepu/kepu/internal/apptest"
)

// TestMain seeds one template database for the package's instances.
//
// The contest's worker processes (--procs) run from the test binary too:
// the parent re-executes it with KEPU_LOADTEST_WORKER set.
func TestMain(m *testing.M) {
	if os.Getenv(workerEnv) != "" {
		os.Exit(workerMain(os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(apptest.Main(m))
}
