package server_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/kepu/kepu/internal/apptest"
)

// TestRecoveryCodes: registration answers ten recovery codes (stored only
// hashed); one of them sets a new password for the username without any
// session and logs in; a used code and a wrong one fail with the same
// answer in the user's language; making a new set from the profile needs
// the password and ends the old set; every recovery is in the audit log.
func TestRecoveryCodes(t *testing.T) {
	t.Parallel()
	inst := apptest.Start(t)
	ctx := context.Background()
	c := inst.Client()
	r := c.Do("POST", "/api/v1/auth/register", registration(inst, "erin", "艾琳"))
	apptest.Expect(t, r, 201, "register")
	var reg struct {
		ID            int64
		RecoveryCodes []string `json:"recovery_codes"`
	}
	r.JSON(t, &reg)
	if len(reg.RecoveryCodes) != 10 {
		t.Fatalf("register: got %d recovery codes, want 10", len(reg.RecoveryCodes))
	}
	seen := map[string]bool{}
	for _, code := range reg.RecoveryCodes {
		if len(code) != 19 || seen[code] {
			t.Fatalf("recovery code %q: want 19 characters (four groups of four), all different", code)
		}
		seen[code] = true
	}
	var stored int
	if err := inst.DB.Pool.QueryRow(ctx, `SELECT count(*) FROM recovery_codes WHERE user_id = $1 AND code_hash = convert_to($2, 'UTF8')`,
		reg.ID, reg.RecoveryCodes[0]).Scan(&stored); err != nil || stored != 0 {
		t.Fatalf("a code is stored in clear (%d rows, %v)", stored, err)
	}
	var st struct{ Remaining int }
	c.Do("GET", "/api/v1/me/recovery-codes", nil).JSON(t, &st)
	if st.Remaining != 10 {
		t.Errorf("status after registration: got %d codes left, want 10", st.Remaining)
	}

	// A stranger (no session) with the username and a code, typed in upper case with spaces.
	v := inst.Client()
	typed := strings.ToUpper(strings.ReplaceAll(reg.RecoveryCodes[3], "-", " "))
	r = v.Do("POST", "/api/v1/auth/recover", map[string]string{"username": "Erin", "code": typed, "new_password": "brand new pass"})
	apptest.Expect(t, r, 200, "recover with a code")
	var done struct {
		Remaining int
		Message   string
	}
	r.JSON(t, &done)
	if done.Remaining != 9 || !strings.Contains(done.Message, "还剩 9 个恢复码") {
		t.Errorf("recover: got %+v, want 9 left and the Chinese message", done)
	}
	apptest.Expect(t, v.Do("GET", "/api/v1/me", nil), 200, "logged in after recovery")
	apptest.Expect(t, c.Do("GET", "/api/v1/me", nil), 401, "the old session after recovery")
	apptest.Expect(t, inst.Client().Do("POST", "/api/v1/auth/login", map[string]string{"username": "erin", "password": "correct horse"}), 401, "old password")
	apptest.Expect(t, inst.Client().Do("POST", "/api/v1/auth/login", map[string]string{"username": "erin", "password": "brand new pass"}), 200, "new password")

	// The used code, a wrong code, a wrong username: one answer, localized.
	// (A username takes 5 recoveries an hour: erin's are counted here.)
	for _, tt := range []struct{ lang, username, code, want string }{
		{"zh-CN", "erin", reg.RecoveryCodes[3], "恢复码不正确"},
		{"en", "erin", "aaaa-bbbb-cccc-dddd", "Wrong username or recovery code"},
		{"en", "nobody", reg.RecoveryCodes[4], "Wrong username or recovery code"},
		{"en", "zed", strings.Repeat("a", 5000), "Wrong username or recovery code"},
	} {
		x := inst.Client()
		x.Lang = tt.lang
		r := x.Do("POST", "/api/v1/auth/recover", map[string]string{"username": tt.username, "code": tt.code, "new_password": "another pass"})
		apptest.Expect(t, r, 401, "recover "+tt.username+" "+tt.code[:4])
		if !strings.Contains(r.ErrorMessage(), tt.want) {
			t.Errorf("recover %s (%s): got %q, want %q", tt.username, tt.lang, r.ErrorMessage(), tt.want)
		}
	}
	r = inst.Client().Do("POST", "/api/v1/auth/recover", map[string]string{"username": "zed", "code": reg.RecoveryCodes[5], "new_password": "short"})
	apptest.Expect(t, r, 400, "recover with a too short password")
	if r.ErrorCode() != "invalid_input" || !strings.Contains(string(r.Body), `"field":"new_password"`) {
		t.Errorf("short password: got %s", r.Body)
	}

	// New codes from the profile: the password is required; the old set dies.
	apptest.Expect(t, v.Do("POST", "/api/v1/me/recovery-codes", map[string]string{"password": "wrong one"}), 400, "new codes, wrong password")
	r = v.Do("POST", "/api/v1/me/recovery-codes", map[string]string{"password": "brand new pass"})
	apptest.Expect(t, r, 201, "new codes")
	var renewed struct {
		RecoveryCodes []string `json:"recovery_codes"`
	}
	r.JSON(t, &renewed)
	if len(renewed.RecoveryCodes) != 10 {
		t.Fatalf("new codes: got %d", len(renewed.RecoveryCodes))
	}
	apptest.Expect(t, inst.Client().Do("POST", "/api/v1/auth/recover",
		map[string]string{"username": "erin", "code": reg.RecoveryCodes[6], "new_password": "third pass"}), 401, "a code of the old set")
	apptest.Expect(t, inst.Client().Do("POST", "/api/v1/auth/recover",
		map[string]string{"username": "erin", "code": renewed.RecoveryCodes[0], "new_password": "third pass"}), 200, "a code of the new set")

	var audits int
	if err := inst.DB.Pool.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE action = 'account.password_recover' AND target = $1 AND actor_id = $2`,
		fmt.Sprintf("user:%d", reg.ID), reg.ID).Scan(&audits); err != nil || audits != 2 {
		t.Errorf("audit entries of the recoveries: got %d (%v), want 2", audits, err)
	}
}

// TestRecoveryRateLimit: a username takes at most 5 recoveries an hour,
// right or wrong; the sixth is 429 even with a good code.
func TestRecoveryRateLimit(t *testing.T) {
	t.Parallel()
	inst := apptest.Start(t)
	c := inst.Client()
	r := c.Do("POST", "/api/v1/auth/register", registration(inst, "fred", "弗雷德"))
	apptest.Expect(t, r, 201, "register")
	var reg struct {
		RecoveryCodes []string `json:"recovery_codes"`
	}
	r.JSON(t, &reg)
	for i := 0; i < 5; i++ {
		apptest.Expect(t, inst.Client().Do("POST", "/api/v1/auth/recover",
			map[string]string{"username": "fred", "code": "aaaa-bbbb-cccc-dddd", "new_password": "guessing pass"}), 401, "wrong code")
	}
	apptest.Expect(t, inst.Client().Do("POST", "/api/v1/auth/recover",
		map[string]string{"username": "FRED", "code": reg.RecoveryCodes[0], "new_password": "guessing pass"}), 429, "sixth try")
}

// TestGuestsHaveNoRecovery: a guest gets no recovery codes, and an admin
// cannot reset a guest's (non-existent) password.
func TestGuestsHaveNoRecovery(t *testing.T) {
	t.Parallel()
	f := newCampaign(t, map[string]any{"guests": true, "questions": 2, "scoring": "flat"})
	v := f.inst.Client()
	res := joinGuest(v, f.id, "游客甲", 0)
	apptest.Expect(t, res, 201, "join as guest")
	var g struct{ ID int64 }
	res.JSON(t, &g)
	apptest.Expect(t, v.Do("GET", "/api/v1/me/recovery-codes", nil), 409, "guest's recovery status")
	apptest.Expect(t, v.Do("POST", "/api/v1/me/recovery-codes", map[string]string{"password": "x"}), 409, "guest's new codes")
	if body := v.Do("GET", "/profile", nil).Body; strings.Contains(string(body), `id="recovery"`) {
		t.Error("the guest's profile offers recovery codes")
	}
	_, pw := f.inst.CreateUser("root-admin", "admin")
	admin := f.inst.Login("root-admin", pw)
	apptest.Expect(t, admin.Do("POST", fmt.Sprintf("/api/v1/admin/users/%d/password", g.ID), nil), 409, "admin resets a guest's password")
}
