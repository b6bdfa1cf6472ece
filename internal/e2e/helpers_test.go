package e2e_test

import (
	"testing"

	"github.com/kepu/kepu/internal/e2e"
)

// login signs in through the login page (same as b.Login).
func login(b *e2e.Browser, username, password string) { b.Login(username, password) }

// demoPassword returns the password the seed gave a demo account.
func demoPassword(t *testing.T, b *e2e.Browser, username string) string {
	t.Helper()
	for _, d := range b.Inst.Seed.Accounts {
		if d.Username == username {
			return d.Password
		}
	}
	t.Fatalf("no demo account %s", username)
	return ""
}
