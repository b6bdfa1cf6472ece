package app_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/kepu/kepu/internal/apptest"
)

// The session cache's TTL is a minute here, so that anything these tests
// see at once on the other instance is the pub/sub invalidation's doing,
// not the TTL's.
var cacheEnv = map[string]string{"KEPU_SESSION_CACHE_TTL": "1m"}

// twoInstances starts A and B on the same database and Redis prefix, as
// two servers behind one load balancer.
func twoInstances(t *testing.T) (a, b *apptest.Instance) {
	t.Helper()
	a = apptest.Start(t, apptest.Options{Env: cacheEnv})
	b = apptest.Start(t, apptest.Options{Shared: a, Env: cacheEnv})
	for _, i := range []*apptest.Instance{a, b} {
		// Serve subscribes before it serves; Start returns before that.
		for deadline := time.Now().Add(10 * time.Second); !i.App.Sessions.Live(); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("instance %s: session cache not serving", i.URL)
			}
		}
	}
	return a, b
}

// TestSessionRevokedOnEveryInstance: whatever ends a session or changes
// what it may do on instance A takes effect on instance B at once, though B
// had the session cached for another minute.
func TestSessionRevokedOnEveryInstance(t *testing.T) {
	a, b := twoInstances(t)
	admin := a.Login("demo-admin", a.DemoPassword("demo-admin"))

	t.Run("logout", func(t *testing.T) {
		_, pw := a.CreateUser("lou", "participant")
		onA := a.Login("lou", pw)
		onB := b.SameBrowser(onA)
		apptest.Expect(t, onB.Do("GET", "/api/v1/me", nil), 200, "B knows the session logged in on A")
		if b.App.Sessions.Len() == 0 {
			t.Fatal("B did not cache the session")
		}
		apptest.Expect(t, onA.Do("POST", "/api/v1/auth/logout", nil), 204, "logout on A")
		apptest.Expect(t, onB.Do("GET", "/api/v1/me", nil), 401, "the session on B right after logout on A")
	})

	t.Run("role change", func(t *testing.T) {
		id, pw := a.CreateUser("rita", "admin")
		onB := b.SameBrowser(a.Login("rita", pw))
		apptest.Expect(t, onB.Do("GET", "/api/v1/admin/users", nil), 200, "rita as admin on B")
		apptest.Expect(t, admin.Do("PUT", fmt.Sprintf("/api/v1/admin/users/%d/role", id), map[string]any{"role": "participant"}), 200, "demote rita on A")
		apptest.Expect(t, onB.Do("GET", "/api/v1/admin/users", nil), 403, "rita on B right after the demotion")
		var me struct{ Role string }
		onB.Do("GET", "/api/v1/me", nil).JSON(t, &me)
		if me.Role != "participant" {
			t.Errorf("role on B: got %q, want participant", me.Role)
		}
	})

	t.Run("password change", func(t *testing.T) {
		_, pw := a.CreateUser("pam", "participant")
		other := b.SameBrowser(a.Login("pam", pw)) // another device, served by B
		here := a.Login("pam", pw)
		apptest.Expect(t, other.Do("GET", "/api/v1/me", nil), 200, "the other device on B")
		apptest.Expect(t, here.Do("POST", "/api/v1/me/password", map[string]string{"old_password": pw, "new_password": "a brand new password"}), 200, "change password on A")
		apptest.Expect(t, other.Do("GET", "/api/v1/me", nil), 401, "the other device on B right after the change")
		apptest.Expect(t, b.SameBrowser(here).Do("GET", "/api/v1/me", nil), 200, "the session that changed it, on B")
	})

	for _, tt := range []struct{ name, user, path string }{
		{"password reset", "reese", "/api/v1/admin/users/%d/password"},
		{"disable", "dina", "/api/v1/admin/users/%d/disable"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			id, pw := a.CreateUser(tt.user, "participant")
			onB := b.SameBrowser(a.Login(tt.user, pw))
			apptest.Expect(t, onB.Do("GET", "/api/v1/me", nil), 200, "on B before")
			apptest.Expect(t, admin.Do("POST", fmt.Sprintf(tt.path, id), nil), 200, tt.name+" on A")
			apptest.Expect(t, onB.Do("GET", "/api/v1/me", nil), 401, "on B right after "+tt.name)
		})
	}

	t.Run("account deletion", func(t *testing.T) {
		_, pw := a.CreateUser("dora", "participant")
		onB := b.SameBrowser(a.Login("dora", pw))
		onA := a.Login("dora", pw)
		apptest.Expect(t, onB.Do("GET", "/api/v1/me", nil), 200, "on B before")
		apptest.Expect(t, onA.Do("DELETE", "/api/v1/me", map[string]string{"password": pw}), 204, "delete on A")
		apptest.Expect(t, onB.Do("GET", "/api/v1/me", nil), 401, "on B right after the deletion")
	})

	t.Run("profile", func(t *testing.T) {
		_, pw := a.CreateUser("nina", "participant")
		onA := a.Login("nina", pw)
		onB := b.SameBrowser(onA)
		apptest.Expect(t, onB.Do("GET", "/api/v1/me", nil), 200, "on B before")
		apptest.Expect(t, onA.Do("PATCH", "/api/v1/me", map[string]any{"nickname": "妮娜", "region_id": a.Seed.DistrictIDs["430702"],
			"age_band": "30_39"}), 200, "rename on A")
		var me struct{ Nickname string }
		onB.Do("GET", "/api/v1/me", nil).JSON(t, &me)
		if me.Nickname != "妮娜" {
			t.Errorf("nickname on B: got %q, want 妮娜", me.Nickname)
		}
	})

	// Without an invalidation B keeps answering for the TTL: this is what
	// the subtests above would see if revocations were not published.
	t.Run("cached until revoked", func(t *testing.T) {
		_, pw := a.CreateUser("cara", "participant")
		onA := a.Login("cara", pw)
		onB := b.SameBrowser(onA)
		apptest.Expect(t, onB.Do("GET", "/api/v1/me", nil), 200, "on B")
		if _, err := a.DB.Pool.Exec(t.Context(), `DELETE FROM sessions WHERE token_hash = sha256(convert_to($1, 'UTF8'))`,
			onA.Cookie("kepu_session")); err != nil {
			t.Fatal(err)
		}
		apptest.Expect(t, onA.Do("GET", "/api/v1/me", nil), 401, "A, which had not cached it, after a delete behind the caches")
		apptest.Expect(t, onB.Do("GET", "/api/v1/me", nil), 200, "B, from its cache, after a delete behind the caches")
	})
}
