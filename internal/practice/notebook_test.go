package practice_test

import (
	"context"
	"testing"
	"time"

	"github.com/kepu/kepu/internal/notebook"
)

// The notebook: a wrong practice answer enters it due a day later; the
// next day's practice serves it first; correct retries move it 1 → 3 → 7
// days; it leaves at a correct retry a day or more after the previous
// correct one; a wrong retry starts the schedule again.
func TestNotebookSchedule(t *testing.T) {
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
		var choice []int
		for pos, o := range perm {
			in := false
			for _, k := range key {
				in = in || k == o
			}
			if in == right {
				choice = append(choice, pos)
			}
		}
		if !right {
			choice = choice[:1]
		}
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
