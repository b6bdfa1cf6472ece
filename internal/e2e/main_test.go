package e2e_test

import (
	"os"
	"testing"

	"github.com/kepu/kepu/internal/apptest"
	"github.com/kepu/kepu/internal/e2e"
)

// TestMain seeds one template database for the package's instances and
// stops the package's one Chromium after the tests. Each test has its own
// server and browser context (e2e.New), so tests call t.Parallel().
func TestMain(m *testing.M) {
	code := apptest.Main(m)
	e2e.Shutdown()
	os.Exit(code)
}
