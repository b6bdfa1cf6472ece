package server_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kepu/kepu/internal/apptest"
)

type savedContest struct {
	ID        int64  `json:"id"`
	OwnerID   int64  `json:"owner_id"`
	Title     string `json:"title"`
	Questions []struct {
		QuestionID int64  `json:"question_id"`
		Stem       string `json:"stem"`
		Practice   bool   `json:"practice"`
	} `json:"questions"`
}

func (c savedContest) stems() string {
	var s []string
	for _, q := range c.Questions {
		s = append(s, q.Stem)
	}
	return strings.Join(s, " | ")
}

func getSaved(t *testing.T, cl *apptest.Client, id int64) savedContest {
	t.Helper()
	r := cl.Do("GET", fmt.Sprintf("/api/v1/contests/%d", id), nil)
	apptest.Expect(t, r, 200, "get contest")
	var c savedContest
	r.JSON(t, &c)
	return c
}

// playOneAnswer runs the fixture's contest once: "ann" answers question 1
// right, then the host ends the game (its results are stored).
func playOneAnswer(t *testing.T, f *contestFixture) runInfo {
	t.Helper()
	run := f.newRun(t)
	ann := join(t, f.inst, run.PIN, "ann", 201)
	pa := connect(t, f.inst, nil, ann.Room, ann.Token, 0, 0)
	pa.waitFor("snapshot")
	f.act(t, run, "next", 204)
	pa.waitFor("question")
	pa.send(msg{"type": "answer", "q": 0, "choice": []int{1}})
	pa.waitFor("ack")
	pa.waitFor("reveal")
	f.act(t, run, "end", 204)
	pa.waitFor("podium")
	return run
}

// A teacher edits, reorders, duplicates and deletes a saved contest; no
// other teacher may touch it, an admin may; a contest that was played
// leaves the list but its run keeps its history, with the questions as
// they were played (not as the contest was reordered since).
func TestSavedContestOperations(t *testing.T) {
	t.Parallel()
	f := newContestFixture(t, nil)
	inst, url := f.inst, fmt.Sprintf("/api/v1/contests/%d", f.contestID)
	q1, q2, q3 := f.qids[0], f.qids[1], f.qids[2]
	edit := func(qs ...int64) map[string]any {
		var list []map[string]any
		for i, q := range qs {
			list = append(list, map[string]any{"question_id": q, "practice": i == 0})
		}
		return map[string]any{"title": "Renamed quiz", "settings": map[string]any{"time_limit": 15, "get_ready": true}, "questions": list}
	}

	// Who may.
	_, pw := inst.CreateUser("teacher2", "teacher")
	other := inst.Login("teacher2", pw)
	_, pw = inst.CreateUser("pupil", "participant")
	pupil := inst.Login("pupil", pw)
	for _, c := range []struct {
		who         *apptest.Client
		name        string
		method, url string
		want        int
	}{
		{other, "another teacher", "GET", url, 403},
		{other, "another teacher", "PUT", url, 403},
		{other, "another teacher", "DELETE", url, 403},
		{other, "another teacher", "POST", url + "/duplicate", 403},
		{pupil, "a participant", "PUT", url, 403},
		{pupil, "a participant", "DELETE", url, 403},
		{inst.Client(), "a stranger", "DELETE", url, 401},
	} {
		var body any
		if c.method == "PUT" {
			body = edit(q3, q1, q2)
		}
		apptest.Expect(t, c.who.Do(c.method, c.url, body), c.want, c.name+" "+c.method+" "+c.url)
	}
	if got := getSaved(t, f.teacher, f.contestID); got.Title != "Class quiz" {
		t.Fatalf("after refused edits: title %q, want Class quiz", got.Title)
	}

	// Played once in the original order.
	run := playOneAnswer(t, f)

	// The bank's question 1 gets a new version meanwhile: the contest
	// keeps the version it was saved with.
	if _, err := inst.DB.Pool.Exec(context.Background(), `INSERT INTO question_versions (question_id, version, type, stem, options, answer, explanation, category, dimension, difficulty)
		VALUES ($1, 2, 'single', 'Question 1, new version?', '["A","B"]', '{0}', '', 'life', 'knowledge', 2)`, q1); err != nil {
		t.Fatalf("new version: %v", err)
	}
	if _, err := inst.DB.Pool.Exec(context.Background(), `UPDATE questions SET current_version = 2 WHERE id = $1`, q1); err != nil {
		t.Fatalf("new version: %v", err)
	}

	// Reorder (3, 1, 2) with the first as practice, rename, change settings.
	r := f.teacher.Do("PUT", url, edit(q3, q1, q2))
	apptest.Expect(t, r, 200, "reorder")
	got := getSaved(t, f.teacher, f.contestID)
	if got.Title != "Renamed quiz" || got.stems() != "Question 3? | Question 1? | Question 2?" || !got.Questions[0].Practice || got.Questions[1].Practice {
		t.Errorf("after the edit: %q %q practice %v/%v, want Renamed quiz, 3|1|2 (old version of 1), the first practice",
			got.Title, got.stems(), got.Questions[0].Practice, got.Questions[1].Practice)
	}
	// Removing one and re-adding it takes the current version.
	apptest.Expect(t, f.teacher.Do("PUT", url, edit(q2, q3)), 200, "drop question 1")
	apptest.Expect(t, f.teacher.Do("PUT", url, edit(q2, q3, q1)), 200, "add question 1 again")
	if got := getSaved(t, f.teacher, f.contestID).stems(); got != "Question 2? | Question 3? | Question 1, new version?" {
		t.Errorf("after re-adding: %q, want the current version last", got)
	}

	// Bad edits: 400 with a message, nothing changed.
	for name, body := range map[string]map[string]any{
		"no questions":    {"title": "x", "questions": []any{}},
		"a duplicate":     edit(q1, q1),
		"unknown":         edit(q1, 987654321),
		"empty title":     {"title": "  ", "questions": []map[string]any{{"question_id": q1}}},
		"time limit of 1": {"title": "x", "settings": map[string]any{"time_limit": 1}, "questions": []map[string]any{{"question_id": q1}}},
	} {
		r := f.teacher.Do("PUT", url, body)
		if r.Status != 400 || r.ErrorMessage() == "" {
			t.Errorf("edit with %s: got %d %q, want 400 with a message", name, r.Status, r.ErrorMessage())
		}
	}

	// The played run's results are the questions as played.
	var res struct {
		Questions []struct {
			Stem     string `json:"stem"`
			Answered int    `json:"answered"`
			Correct  int    `json:"correct"`
		} `json:"questions"`
	}
	r = f.teacher.Do("GET", fmt.Sprintf("/api/v1/contest-runs/%d/results", run.ID), nil)
	apptest.Expect(t, r, 200, "results")
	r.JSON(t, &res)
	if len(res.Questions) != 3 || res.Questions[0].Stem != "Question 1?" || res.Questions[0].Correct != 1 || res.Questions[1].Answered != 0 {
		t.Errorf("results after the reorder: %+v, want Question 1? first with 1 right answer", res.Questions)
	}

	// Duplicate: a copy named in the host's language, same questions.
	r = f.teacher.Do("POST", url+"/duplicate", nil)
	apptest.Expect(t, r, 201, "duplicate")
	var dup savedContest
	r.JSON(t, &dup)
	orig := getSaved(t, f.teacher, f.contestID)
	if dup.ID == f.contestID || dup.Title != "Renamed quiz（副本）" || dup.stems() != orig.stems() {
		t.Errorf("duplicate: id %d title %q stems %q, want a new id, Renamed quiz（副本）, %q", dup.ID, dup.Title, dup.stems(), orig.stems())
	}
	// An admin may edit the teacher's contest and copies it as their own.
	adminID, pw := inst.CreateUser("admin9", "admin")
	admin := inst.Login("admin9", pw)
	apptest.Expect(t, admin.Do("PUT", url, edit(q1, q2)), 200, "admin edits")
	r = admin.Do("POST", url+"/duplicate", map[string]any{"title": "Admin copy"})
	apptest.Expect(t, r, 201, "admin duplicates")
	var adup savedContest
	r.JSON(t, &adup)
	if adup.OwnerID != adminID || adup.Title != "Admin copy" {
		t.Errorf("admin's copy: owner %d title %q, want %d Admin copy", adup.OwnerID, adup.Title, adminID)
	}

	// Delete the played contest: it leaves the list, its run stays.
	r = f.teacher.Do("DELETE", url, nil)
	apptest.Expect(t, r, 200, "delete played")
	var del struct{ Runs int }
	r.JSON(t, &del)
	if del.Runs != 1 {
		t.Errorf("delete: runs %d, want 1 kept", del.Runs)
	}
	apptest.Expect(t, f.teacher.Do("GET", url, nil), 404, "get deleted")
	apptest.Expect(t, f.teacher.Do("PUT", url, edit(q1)), 404, "edit deleted")
	apptest.Expect(t, f.teacher.Do("POST", url+"/runs", nil), 404, "open a room of a deleted contest")
	var list struct {
		Contests []savedContest
		Runs     []struct {
			ID    int64
			Title string
		}
	}
	f.teacher.Do("GET", "/api/v1/contests", nil).JSON(t, &list)
	if len(list.Contests) != 1 || list.Contests[0].ID != dup.ID || len(list.Runs) != 1 || list.Runs[0].ID != run.ID {
		t.Errorf("after delete: contests %+v runs %+v, want only the copy and the played run", list.Contests, list.Runs)
	}
	apptest.Expect(t, f.teacher.Do("GET", fmt.Sprintf("/api/v1/contest-runs/%d/results", run.ID), nil), 200, "results of a deleted contest's run")
	apptest.Expect(t, f.teacher.Do("GET", fmt.Sprintf("/api/v1/contest-runs/%d/results.csv", run.ID), nil), 200, "export of a deleted contest's run")
	apptest.Expect(t, f.teacher.Do("GET", fmt.Sprintf("/host/%d", run.ID), nil), 200, "host page of a deleted contest's run")

	// A copy never played is deleted for good.
	r = f.teacher.Do("DELETE", fmt.Sprintf("/api/v1/contests/%d", dup.ID), nil)
	apptest.Expect(t, r, 200, "delete unplayed")
	var n int
	inst.DB.Pool.QueryRow(context.Background(), `SELECT count(*) FROM contests WHERE id = $1`, dup.ID).Scan(&n)
	if n != 0 {
		t.Errorf("an unplayed contest deleted: %d rows left, want 0", n)
	}
	apptest.Expect(t, f.teacher.Do("DELETE", fmt.Sprintf("/api/v1/contests/%d", dup.ID), nil), 404, "delete twice")
}

// With get_ready the question is shown with a 3-2-1 countdown the server
// times: answers before it ends are refused, the deadline counts from its
// end, and the reveal carries how many chose each option.
func TestContestGetReady(t *testing.T) {
	t.Parallel()
	f := newContestFixture(t, map[string]any{"get_ready": true})
	inst := f.inst
	run := f.newRun(t)
	ann := join(t, inst, run.PIN, "ann", 201)
	bob := join(t, inst, run.PIN, "bob", 201)
	pa := connect(t, inst, nil, ann.Room, ann.Token, 0, 0)
	pb := connect(t, inst, nil, bob.Room, bob.Token, 0, 0)
	pa.waitFor("snapshot")
	pb.waitFor("snapshot")
	f.act(t, run, "next", 204)
	q := pa.waitFor("question").data()
	if q.num("ready_ms") != 3000 || q.num("remaining_ms") != 8000 || q.num("duration_ms") != 5000 {
		t.Fatalf("question with get-ready: ready %v remaining %v duration %v, want 3000, 8000, 5000",
			q["ready_ms"], q["remaining_ms"], q["duration_ms"])
	}
	pb.waitFor("question")
	pa.send(msg{"type": "answer", "q": 0, "choice": []int{1}})
	if m := pa.waitFor("answer_error"); m["error"] != "closed" {
		t.Errorf("an answer during the countdown: got %v, want closed", m["error"])
	}
	inst.App.Contests.Clock.Advance(3 * time.Second)
	pa.send(msg{"type": "answer", "q": 0, "choice": []int{1}})
	pa.waitFor("ack")
	pb.send(msg{"type": "answer", "q": 0, "choice": []int{1}})
	pb.waitFor("ack")
	rv := pa.waitFor("reveal").data()
	if fmt.Sprint(rv["dist"]) != "[0 2 0 0]" {
		t.Errorf("reveal dist: %v, want [0 2 0 0]", rv["dist"])
	}
	me := pa.waitFor("result")["me"].(map[string]any)
	if p := me["last"].(map[string]any)["points"].(float64); p < 900 {
		t.Errorf("an answer right after the countdown scored %v, want nearly full points (time counts from the end of the countdown)", p)
	}
}
