package practice_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kepu/kepu/internal/contest"
	"github.com/kepu/kepu/internal/kepu"
	"github.com/kepu/kepu/internal/notebook"
)

// The notebook: a wrong practice answer enters it due a day later; the
// next day's practice serves it first; correct retries move it 1 → 3 → 7
// days; it leaves at a correct retry a day or more after the previous
// correct one; a wrong retry starts the schedule again.
func TestNotebookSchedule(t *testing.T) {
	t.Parallel()
	t0 := shanghai(2026, 12, 2, 10, 0)
	f := newFixture(t, t0)
	ctx := context.Background()
	_, day1 := f.playDay(t, false, false, true, true, true)
	nb, err := f.nb.List(ctx, f.user.UserID)
	if err != nil || len(nb.Entries) != 2 || nb.Due != 0 {
		t.Fatalf("after day 1: got %+v %v, want 2 entries, none due", nb, err)
	}
	e := nb.Entries[0]
	if e.Source != notebook.SourcePractice || len(e.Choice) != 1 || len(e.Answer) == 0 || e.Explanation == "" ||
		!e.DueAt.Equal(e.WrongAt.Add(24*time.Hour)) {
		t.Errorf("entry: got %+v, want the wrong choice, the key, the explanation, due a day after", e)
	}

	// Next day: the due entries come first in the practice.
	t1 := t0.Add(24*time.Hour + time.Minute)
	f.clk.Set(t1)
	st, err := f.svc.Today(ctx, f.user)
	if err != nil || st.Question == nil || !st.Question.Notebook {
		t.Fatalf("day 2: got %+v %v, want a notebook question first", st.Question, err)
	}
	ids := f.dayQuestions(t, st.Day.Day)
	first, second := ids[0], ids[1] // both due at once: either order
	if !(first == day1[0] && second == day1[1]) && !(first == day1[1] && second == day1[0]) {
		t.Errorf("day 2 questions %v: want the notebook's %v first", ids, day1[:2])
	}
	r, err := f.svc.Answer(ctx, f.user, st.Day.Day, 1, f.choice(t, st.Day.Day, 1, true))
	if err != nil || !r.Notebook.InNotebook || r.Notebook.DueAt == nil || !r.Notebook.DueAt.Equal(t1.Add(72*time.Hour)) {
		t.Fatalf("first correct retry: got %+v %v, want due in 3 days", r.Notebook, err)
	}
	// The second one wrong (from the notebook page): due again in a day.
	retry := func(qid int64, right bool) notebook.RetryResult {
		t.Helper()
		rt, err := f.nb.StartRetry(ctx, f.user.UserID, qid)
		if err != nil || rt.Question == nil {
			t.Fatalf("retry %d: %+v %v", qid, rt, err)
		}
		var perm, key []int
		if err := f.inst.DB.Pool.QueryRow(ctx, `SELECT r.perm, v.answer FROM notebook_retries r
			JOIN question_versions v ON v.id = r.question_version_id WHERE r.user_id = $1`, f.user.UserID).Scan(&perm, &key); err != nil {
			t.Fatal(err)
		}
		choice := shownChoice(perm, key, right)
		res, err := f.nb.AnswerRetry(ctx, f.user.UserID, qid, choice)
		if err != nil || res.Correct != right || res.Explanation == "" {
			t.Fatalf("answer retry %d: %+v %v", qid, res, err)
		}
		return res
	}
	if res := retry(second, false); !res.InNotebook || !res.DueAt.Equal(t1.Add(24*time.Hour)) {
		t.Errorf("wrong retry: got %+v, want due in a day", res.Outcome)
	}
	// A correct retry an hour after the first: not spaced, still in, 7 days.
	f.clk.Set(t1.Add(time.Hour))
	if res := retry(first, true); res.Left || !res.DueAt.Equal(t1.Add(time.Hour+7*24*time.Hour)) {
		t.Errorf("correct retry an hour later: got %+v, want still in, due in 7 days", res.Outcome)
	}
	// A day after the first correct retry: it leaves.
	f.clk.Set(t1.Add(25 * time.Hour))
	if res := retry(first, true); !res.Left || res.InNotebook {
		t.Errorf("correct retry a day later: got %+v, want it to leave", res.Outcome)
	}
	nb, err = f.nb.List(ctx, f.user.UserID)
	if err != nil || len(nb.Entries) != 1 || nb.Entries[0].QuestionID != second || nb.Left != 1 {
		t.Errorf("notebook at the end: got %+v %v, want only %d in it and 1 left", nb, err, second)
	}
}

// Campaign answers reach the notebook only once the campaign has closed:
// the wrong answer with the choice, the questions given up as timeouts.
func TestNotebookFromClosedCampaign(t *testing.T) {
	t.Parallel()
	f := newFixture(t, time.Now())
	ctx := context.Background()
	camps := f.inst.App.Campaigns
	id, _, err := camps.SeedDemo(ctx, f.inst.Seed.CityID)
	if err != nil {
		t.Fatal(err)
	}
	att, _, err := camps.Start(ctx, f.user, id)
	if err != nil {
		t.Fatal(err)
	}
	st, err := camps.Current(ctx, f.user, att.ID)
	if err != nil || st.Question == nil {
		t.Fatalf("current: %+v %v", st, err)
	}
	var perm, key []int
	if err := f.inst.DB.Pool.QueryRow(ctx, `SELECT s.perm, v.answer FROM campaign_attempt_questions s
		JOIN question_versions v ON v.id = s.question_version_id WHERE s.attempt_id = $1 AND s.seq = 1`, att.ID).Scan(&perm, &key); err != nil {
		t.Fatal(err)
	}
	wrong := -1
	for pos, o := range perm {
		if o != key[0] && wrong < 0 {
			wrong = pos
		}
	}
	if _, err := camps.Answer(ctx, f.user, att.ID, 1, []int{wrong}, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := camps.Finish(ctx, f.user, att.ID); err != nil {
		t.Fatal(err)
	}
	nb, err := f.nb.List(ctx, f.user.UserID)
	if err != nil || len(nb.Entries) != 0 {
		t.Fatalf("campaign open: got %d entries %v, want none yet", len(nb.Entries), err)
	}
	if _, err := f.inst.DB.Pool.Exec(ctx, `UPDATE campaigns SET status = 'closed' WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	nb, err = f.nb.List(ctx, f.user.UserID)
	if err != nil || len(nb.Entries) != 20 {
		t.Fatalf("campaign closed: got %d entries %v, want 20 (1 wrong, 19 given up)", len(nb.Entries), err)
	}
	timedOut := 0
	for _, e := range nb.Entries {
		if e.Source != notebook.SourceCampaign {
			t.Errorf("entry source %q, want campaign", e.Source)
		}
		if e.TimedOut {
			timedOut++
		} else if len(e.Choice) != 1 || e.Choice[0] != perm[wrong] {
			t.Errorf("the wrong answer: got choice %v, want [%d]", e.Choice, perm[wrong])
		}
	}
	if timedOut != 19 {
		t.Errorf("timed out: got %d, want 19", timedOut)
	}
	// A second sync changes nothing.
	if again, err := f.nb.List(ctx, f.user.UserID); err != nil || len(again.Entries) != 20 {
		t.Errorf("second sync: %d entries %v", len(again.Entries), err)
	}
}

// A finished contest played logged in: the wrong answer and the questions
// the player let run out reach the notebook (timed out, no choice), the
// right answer does not; a player who joined late gets only the questions
// played from the one open when they came in.
func TestNotebookFromContest(t *testing.T) {
	t.Parallel()
	f := newFixture(t, time.Now())
	ctx := context.Background()
	pool := f.inst.DB.Pool
	teacherID, _ := f.inst.CreateUser("nb-teacher", "teacher")
	host := kepu.Actor{UserID: teacherID, Role: kepu.RoleTeacher}
	lateID, _ := f.inst.CreateUser("nb-late", "participant")
	rows, err := pool.Query(ctx, `SELECT q.id, v.answer FROM questions q
		JOIN question_versions v ON v.question_id = q.id AND v.version = q.current_version
		WHERE q.status = 'published' AND q.type = 'single' AND q.lang = 'zh-CN' ORDER BY q.id LIMIT 3`)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	var keys [][]int
	var id int64
	var key []int
	if _, err := pgx.ForEachRow(rows, []any{&id, &key}, func() error {
		ids, keys = append(ids, id), append(keys, slices.Clone(key))
		return nil
	}); err != nil || len(ids) != 3 {
		t.Fatalf("three published questions: %v %v", ids, err)
	}
	cs := f.inst.App.Contests
	tl, late := 30, true
	c, err := cs.Create(ctx, host, contest.NewContest{Title: "错题本", QuestionIDs: ids,
		Settings: contest.SettingsInput{TimeLimit: &tl, LateJoin: &late}})
	if err != nil {
		t.Fatal(err)
	}
	run, err := cs.CreateRun(ctx, host, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	j, err := cs.Join(ctx, contest.JoinInput{PIN: run.PIN, Nickname: "小明", UserID: f.user.UserID})
	if err != nil {
		t.Fatal(err)
	}
	me := contest.Player{Room: run.ID, ID: j.Player, Nick: j.Nickname}
	next := func(from string) {
		t.Helper()
		if err := cs.Next(ctx, host, run.ID, from); err != nil {
			t.Fatalf("next from %s: %v", from, err)
		}
	}
	answer := func(p contest.Player, q int, choice []int) {
		t.Helper()
		if res, err := cs.Answer(ctx, p, q, choice, 0); err != nil || res != contest.AnswerOK {
			t.Fatalf("answer %d: %q %v", q, res, err)
		}
	}
	wrong := []int{(keys[0][0] + 1) % 2}
	next("lobby") // question 0: a wrong answer
	answer(me, 0, wrong)
	next("question")
	next("reveal")
	next("board") // question 1: right; the late player comes in
	if _, err := cs.Join(ctx, contest.JoinInput{PIN: run.PIN, Nickname: "晚到", UserID: lateID}); err != nil {
		t.Fatal(err)
	}
	answer(me, 1, keys[1])
	next("question")
	next("reveal")
	next("board") // question 2: nobody answers
	next("question")
	if err := cs.End(ctx, host, run.ID); err != nil {
		t.Fatal(err)
	}

	nb, err := f.nb.List(ctx, f.user.UserID)
	if err != nil {
		t.Fatal(err)
	}
	got := map[int64]notebook.Entry{}
	for _, e := range nb.Entries {
		got[e.QuestionID] = e
	}
	if len(got) != 2 {
		t.Fatalf("player from the lobby: %d entries %+v, want 2 (question 0 wrong, question 2 timed out)", len(got), nb.Entries)
	}
	if e, ok := got[ids[0]]; !ok || e.Source != notebook.SourceContest || e.TimedOut || !slices.Equal(e.Choice, wrong) {
		t.Errorf("question 0: %+v, want the wrong answer %v from the contest", e, wrong)
	}
	if e, ok := got[ids[2]]; !ok || e.Source != notebook.SourceContest || !e.TimedOut || len(e.Choice) != 0 {
		t.Errorf("question 2: %+v, want timed out in the contest", e)
	}
	lnb, err := f.nb.List(ctx, lateID)
	if err != nil {
		t.Fatal(err)
	}
	var lq []int64
	for _, e := range lnb.Entries {
		if !e.TimedOut {
			t.Errorf("late player's entry %+v: want timed out", e)
		}
		lq = append(lq, e.QuestionID)
	}
	slices.Sort(lq)
	if !slices.Equal(lq, []int64{ids[1], ids[2]}) {
		t.Errorf("late player (joined at question 1): entries for %v, want %v", lq, ids[1:])
	}
}
