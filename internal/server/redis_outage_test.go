package server_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/kepu/kepu/internal/apptest"
	"github.com/kepu/kepu/internal/testenv"
)

// With Redis away, campaign answering goes on (its truth is in Postgres;
// the rate limits fall back to in-process ones); what needs Redis answers
// 503 with Retry-After and a message that says it is temporary, in the
// user's language, never 500; everything works again once Redis is back.
func TestRedisOutage(t *testing.T) {
	t.Parallel()
	proxy := testenv.NewRedisProxy(t)
	f := newCampaignOn(t, apptest.Options{Env: map[string]string{"KEPU_REDIS_URL": proxy.RedisURL()}},
		map[string]any{"questions": 3})
	pupil := f.citizen(t, "pupil1")
	_, pw := f.inst.CreateUser("pupil2", "participant")
	attempt := f.start(t, pupil)
	current(t, pupil, attempt)
	answer(t, pupil, attempt, 1, f.rightChoice(t, attempt, 1), 200)
	lb := fmt.Sprintf("/api/v1/campaigns/%d/leaderboard", f.id)
	apptest.Expect(t, pupil.Do("GET", lb, nil), 200, "leaderboard before the outage")
	// A contest room to join.
	_, tpw := f.inst.CreateUser("teacher1", "teacher")
	teacher := f.inst.Login("teacher1", tpw)
	qids := insertQuestions(t, f.inst, 2)
	r := teacher.Do("POST", "/api/v1/contests", map[string]any{"title": "Class quiz", "question_ids": qids, "settings": map[string]any{"time_limit": 5}})
	apptest.Expect(t, r, 201, "create contest")
	var ct struct{ ID int64 }
	r.JSON(t, &ct)
	r = teacher.Do("POST", fmt.Sprintf("/api/v1/contests/%d/runs", ct.ID), nil)
	apptest.Expect(t, r, 201, "create run")
	var run struct{ Run runInfo }
	r.JSON(t, &run)

	proxy.Cut()
	current(t, pupil, attempt)
	res := answer(t, pupil, attempt, 2, f.rightChoice(t, attempt, 2), 200)
	if !res.Correct {
		t.Errorf("answer during the outage: got %+v, want correct", res)
	}
	current(t, pupil, attempt)
	answer(t, pupil, attempt, 3, f.rightChoice(t, attempt, 3), 200)
	var stored int
	if err := f.inst.DB.Pool.QueryRow(t.Context(), `SELECT count(*) FROM campaign_answers
		WHERE attempt_id = $1 AND NOT timed_out`, attempt).Scan(&stored); err != nil || stored != 3 {
		t.Errorf("answers in Postgres: got %d (%v), want 3", stored, err)
	}
	en := f.inst.Client()
	en.Lang = "en"
	unavailable := []struct {
		what, says string // says: in the client's language, that it is temporary
		do         func() apptest.Response
	}{
		{"leaderboard", "再试", func() apptest.Response { return pupil.Do("GET", lb, nil) }},
		{"login", "try again", func() apptest.Response {
			return en.Do("POST", "/api/v1/auth/login", map[string]string{"username": "pupil2", "password": pw})
		}},
		{"contest join", "try again", func() apptest.Response {
			return en.Do("POST", "/api/v1/play/join", map[string]any{"pin": run.Run.PIN, "nickname": "ann"})
		}},
	}
	for _, u := range unavailable {
		r := u.do()
		if r.Status != 503 || r.Header.Get("Retry-After") == "" || r.ErrorCode() != "unavailable" ||
			!strings.Contains(r.ErrorMessage(), u.says) {
			t.Errorf("%s during the outage: got %d Retry-After %q %s, want 503 unavailable with Retry-After",
				u.what, r.Status, r.Header.Get("Retry-After"), r.Body)
		}
	}

	proxy.Restore()
	apptest.Expect(t, pupil.Do("GET", lb, nil), 200, "leaderboard after the outage")
	apptest.Expect(t, en.Do("POST", "/api/v1/auth/login", map[string]string{"username": "pupil2", "password": pw}), 200, "login after the outage")
}
