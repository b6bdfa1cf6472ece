package server_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/kepu/kepu/internal/apptest"
)

// allBoard reads the overall board over HTTP (past the 50 ms read cache).
func allBoard(t *testing.T, f *campaignFixture) boardPage {
	t.Helper()
	time.Sleep(60 * time.Millisecond)
	var p boardPage
	res := f.inst.Client().Do("GET", fmt.Sprintf("/api/v1/campaigns/%d/leaderboard?board=all&n=10", f.id), nil)
	if res.Status != 200 {
		t.Fatalf("board: got %d %s", res.Status, res.Body)
	}
	res.JSON(t, &p)
	return p
}

// TestGuestRegistersAndKeepsResults: a guest who plays, passes and then
// registers from the same browser owns the attempt, its result and its
// certificate as the new account; the board shows the account's nickname
// in the guest's place and the guest no more; the guest is disabled and
// the merge is in the audit log. On the old code the attempt stayed the
// guest's (404 to the new account) and the board kept the guest.
func TestGuestRegistersAndKeepsResults(t *testing.T) {
	t.Parallel()
	f := newCampaign(t, map[string]any{"guests": true, "questions": 2, "scoring": "flat"})
	ctx := context.Background()
	v := f.inst.Client()
	res := joinGuest(v, f.id, "路过的游客", 0)
	apptest.Expect(t, res, 201, "join as guest")
	var g struct{ ID int64 }
	res.JSON(t, &g)
	id := f.play(t, v, f.id, true)
	if b := allBoard(t, f); len(b.Top) != 1 || b.Top[0].Nickname != "路过的游客" {
		t.Fatalf("board before registering: got %+v", b.Top)
	}

	res = v.Do("POST", "/api/v1/auth/register", registration(f.inst, "keeper", "留下成绩"))
	apptest.Expect(t, res, 201, "the guest registers")
	var u struct{ ID int64 }
	res.JSON(t, &u)
	st := attemptJSON(t, v, id) // 404 if the attempt were still the guest's
	if st["score"].(float64) != 20 || st["cert_code"] == "" {
		t.Errorf("the attempt as the new account: got %v, want score 20 with a certificate", st)
	}
	apptest.Expect(t, v.Do("GET", fmt.Sprintf("/attempts/%d/certificate", id), nil), 200, "the certificate page as the new account")
	var owner int64
	var disabled bool
	if err := f.inst.DB.Pool.QueryRow(ctx, `SELECT t.user_id, g.disabled_at IS NOT NULL FROM campaign_attempts t, users g
		WHERE t.id = $1 AND g.id = $2`, id, g.ID).Scan(&owner, &disabled); err != nil || owner != u.ID || !disabled {
		t.Errorf("after the merge: attempt owner %d (want %d), guest disabled %v (%v)", owner, u.ID, disabled, err)
	}
	if b := allBoard(t, f); len(b.Top) != 1 || b.Top[0].Nickname != "留下成绩" || b.Top[0].Score != 20 {
		t.Errorf("board after registering: got %+v, want only 留下成绩 with 20", b.Top)
	}
	var audits int
	f.inst.DB.Pool.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE action = 'account.guest_merge' AND actor_id = $1`, u.ID).Scan(&audits)
	if audits != 1 {
		t.Errorf("audit entries of the merge: got %d, want 1", audits)
	}
	// The leaderboard after a rebuild from Postgres agrees.
	if err := f.inst.App.Boards.Rebuild(ctx, f.id); err != nil {
		t.Fatal(err)
	}
	if b := allBoard(t, f); len(b.Top) != 1 || b.Top[0].Nickname != "留下成绩" {
		t.Errorf("board after a rebuild: got %+v", b.Top)
	}
}

// TestGuestLogsInBestCounts: a guest who logs in to an account that
// already played the campaign hands over the guest's attempt; the
// campaign's rule (best) then picks the account's best attempt of all:
// the guest's 20 beats the account's 0, and the board shows the account
// once.
func TestGuestLogsInBestCounts(t *testing.T) {
	t.Parallel()
	f := newCampaign(t, map[string]any{"guests": true, "questions": 2, "scoring": "flat", "counts": "best"})
	_, pw := f.inst.CreateUser("regular", "participant")
	acct := f.inst.Login("regular", pw)
	mine := f.play(t, acct, f.id, false)
	v := f.inst.Client()
	apptest.Expect(t, joinGuest(v, f.id, "手机上的游客", 0), 201, "join as guest")
	theirs := f.play(t, v, f.id, true)
	if b := allBoard(t, f); len(b.Top) != 2 || b.Top[0].Nickname != "手机上的游客" {
		t.Fatalf("board before logging in: got %+v", b.Top)
	}
	apptest.Expect(t, v.Do("POST", "/api/v1/auth/login", map[string]string{"username": "regular", "password": pw}), 200, "the guest logs in")
	attemptJSON(t, v, mine)
	attemptJSON(t, v, theirs)
	b := allBoard(t, f)
	if len(b.Top) != 1 || b.Top[0].Score != 20 {
		t.Errorf("board after logging in: got %+v, want the account once with its best, 20", b.Top)
	}
}
