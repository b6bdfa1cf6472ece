package practice_test

import (
	"os"
	"testing"

	"github.com/kepu/kepu/internal/apptest"
)

// TestMain seeds one template database for the package's instances.
func TestMain(m *testing.M) { os.Exit(apptest.Main(m)) }
