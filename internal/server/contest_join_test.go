package server_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/kepu/kepu/internal/apptest"
)

// One device (cookie) or one account joins at most 2 players into a room;
// one address joins at most 60 anonymous players a minute into a room.
func TestContestJoinLimitsPerDevice(t *testing.T) {
	t.Parallel()
	f := newContestFixture(t, nil)
	inst := f.inst
	run := f.newRun(t)
	start := time.Now() // the address's budget refills one join a second from here
	phone := inst.Client()
	for i, want := range []int{201, 201, 409} {
		r := phone.Do("POST", "/api/v1/play/join", map[string]any{"pin": run.PIN, "nickname": fmt.Sprintf("dev%d", i)})
		apptest.Expect(t, r, want, fmt.Sprintf("join %d from one device", i+1))
		if want == 409 && r.ErrorCode() != "conflict" {
			t.Errorf("third player from one device: error %q, want conflict", r.ErrorCode())
		}
	}
	// A logged-in account is one device however many cookies it drops.
	_, pw := inst.CreateUser("pupil", "participant")
	acct := inst.Login("pupil", pw)
	for i, want := range []int{201, 201, 409} {
		apptest.Expect(t, acct.Do("POST", "/api/v1/play/join", map[string]any{"pin": run.PIN, "nickname": fmt.Sprintf("acc%d", i)}),
			want, fmt.Sprintf("join %d from one account", i+1))
	}
	// Fresh cookies each time (a script): the address's budget per room ends
	// it (the 3 anonymous attempts above count too).
	limited := 0
	for i := 0; i < 62; i++ {
		r := inst.Client().Do("POST", "/api/v1/play/join", map[string]any{"pin": run.PIN, "nickname": fmt.Sprintf("bot%d", i)})
		if r.Status == 429 {
			limited++
		} else if r.Status != 201 {
			t.Fatalf("bot %d: got %d %s", i, r.Status, r.Body)
		}
	}
	// 65 anonymous attempts: the first 60 pass, then one more per second
	// the run has taken (a busy machine is slow), the rest are refused.
	admitted, refill := 62+3-limited, int(time.Since(start)/time.Second)+1
	if limited == 0 || admitted < 60 || admitted > 60+refill {
		t.Errorf("anonymous joins into one room from one address: %d admitted, %d refused with 429, want 60 (+%d refilled) admitted and the rest refused",
			admitted, limited, refill)
	}
	// Another room is another budget.
	run2 := f.newRun(t)
	join(t, inst, run2.PIN, "other", 201)
}

// A roster-only contest admits only logged-in pupils of its classes, under
// their roster nickname.
func TestContestRosterOnly(t *testing.T) {
	t.Parallel()
	inst := apptest.Start(t)
	admin := inst.Login("demo-admin", inst.DemoPassword("demo-admin"))
	qids := insertQuestions(t, inst, 1)
	c1, c2 := inst.Seed.ClassIDs[0], inst.Seed.ClassIDs[1]
	apptest.Expect(t, admin.Do("POST", "/api/v1/contests", map[string]any{"title": "Roster", "question_ids": qids,
		"settings": map[string]any{"roster_only": true}}), 400, "roster only without classes")
	r := admin.Do("POST", "/api/v1/contests", map[string]any{"title": "Roster", "question_ids": qids,
		"settings": map[string]any{"time_limit": 5, "roster_only": true, "class_ids": []int64{c1}}})
	apptest.Expect(t, r, 201, "create roster contest")
	var c struct{ ID int64 }
	r.JSON(t, &c)
	r = admin.Do("POST", fmt.Sprintf("/api/v1/contests/%d/runs", c.ID), nil)
	apptest.Expect(t, r, 201, "run")
	var v struct{ Run runInfo }
	r.JSON(t, &v)
	pin := v.Run.PIN

	pupil := func(name string, class int64) *apptest.Client {
		uid, pw := inst.CreateUser(name, "participant")
		if _, err := inst.DB.Pool.Exec(context.Background(), `UPDATE users SET class_id = $1, nickname = $2 WHERE id = $3`,
			class, "Roster "+name, uid); err != nil {
			t.Fatal(err)
		}
		return inst.Login(name, pw)
	}
	if r := inst.Client().Do("POST", "/api/v1/play/join", map[string]any{"pin": pin, "nickname": "anon"}); r.Status != 403 {
		t.Errorf("anonymous join of a roster-only contest: got %d %s, want 403", r.Status, r.Body)
	}
	if r := pupil("outsider", c2).Do("POST", "/api/v1/play/join", map[string]any{"pin": pin, "nickname": "x"}); r.Status != 403 {
		t.Errorf("pupil of another class: got %d %s, want 403", r.Status, r.Body)
	}
	r = pupil("member", c1).Do("POST", "/api/v1/play/join", map[string]any{"pin": pin, "nickname": "Fake Name"})
	apptest.Expect(t, r, 201, "pupil of the class")
	var j joined
	r.JSON(t, &j)
	if j.Nickname != "Roster member" {
		t.Errorf("roster pupil's nickname: got %q, want the roster's %q", j.Nickname, "Roster member")
	}
}
