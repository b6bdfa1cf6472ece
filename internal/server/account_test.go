package server_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/kepu/kepu/internal/apptest"
)

func TestLogoutEndsSessionOnServer(t *testing.T) {
	inst := apptest.Start(t)
	_, pw := inst.CreateUser("alice", "participant")
	c := inst.Login("alice", pw)
	apptest.Expect(t, c.Do("GET", "/api/v1/me", nil), 200, "me after login")
	old := c.Cookie("kepu_session")
	apptest.Expect(t, c.Do("POST", "/api/v1/auth/logout", nil), 204, "logout")
	// The old cookie must be dead on the server, not just cleared in the client.
	c2 := inst.Client()
	u, _ := url.Parse(inst.URL)
	c2.HTTP.Jar.SetCookies(u, []*http.Cookie{{Name: "kepu_session", Value: old}})
	apptest.Expect(t, c2.Do("GET", "/api/v1/me", nil), 401, "me with the cookie of an ended session")
}
