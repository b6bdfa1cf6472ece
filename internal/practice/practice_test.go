package practice_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/kepu/kepu/internal/apptest"
	"github.com/kepu/kepu/internal/drill"
	"github.com/kepu/kepu/internal/kepu"
	"github.com/kepu/kepu/internal/notebook"
	"github.com/kepu/kepu/internal/practice"
)

// clock is a settable clock for the services.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// shanghai is a wall time in Asia/Shanghai.
func shanghai(y int, m time.Month, d, h, min int) time.Time {
	return time.Date(y, m, d, h, min, 0, 0, kepu.Shanghai)
}

type fixture struct {
	inst *apptest.Instance
	clk  *clock
	svc  *practice.Service
	nb   *notebook.Service
	user kepu.Actor
}

func newFixture(t *testing.T, start time.Time) *fixture {
	inst := apptest.Start(t)
	clk := &clock{t: start}
	nb := &notebook.Service{DB: inst.App.DB, Now: clk.Now}
	svc := &practice.Service{DB: inst.App.DB, Notebook: nb, Now: clk.Now,
		Boards: &practice.Boards{Redis: inst.App.Redis, Keys: inst.App.Keys}}
	uid, _ := inst.CreateUser("daily-player", "participant")
	return &fixture{inst: inst, clk: clk, svc: svc, nb: nb, user: kepu.Actor{UserID: uid, Role: kepu.RoleParticipant}}
}

// choice is a right (or, right false, a wrong) answer in shown positions
// to question seq of the user's practice of day.
func (f *fixture) choice(t *testing.T, day string, seq int, right bool) []int {
	t.Helper()
	var perm, key []int
	if err := f.inst.DB.Pool.QueryRow(context.Background(), `SELECT p.perm, v.answer FROM practice_questions p
		JOIN question_versions v ON v.id = p.question_version_id WHERE p.user_id = $1 AND p.day = $2 AND p.seq = $3`,
		f.user.UserID, day, seq).Scan(&perm, &key); err != nil {
		t.Fatal(err)
	}
	return shownChoice(perm, key, right)
}

// shownChoice is the right answer key in shown positions under perm, or
// (right false) one wrong position.
func shownChoice(perm, key []int, right bool) []int {
	shown := drill.Shown(perm, key)
	if right {
		return shown
	}
	for pos := range perm {
		if !slices.Contains(shown, pos) {
			return []int{pos}
		}
	}
	return nil
}

// playDay plays the user's practice of today: right[i] says whether
// question i+1 is answered right. It returns the questions' ids.
func (f *fixture) playDay(t *testing.T, right ...bool) (practice.State, []int64) {
	t.Helper()
	ctx := context.Background()
	st, err := f.svc.Today(ctx, f.user)
	if err != nil {
		t.Fatalf("today: %v", err)
	}
	for i := st.Day.Answered; i < st.Day.Questions; i++ {
		if st.Question == nil || st.Question.Seq != i+1 {
			t.Fatalf("question %d: got %+v", i+1, st.Question)
		}
		r, err := f.svc.Answer(ctx, f.user, st.Day.Day, i+1, f.choice(t, st.Day.Day, i+1, i < len(right) && right[i]))
		if err != nil {
			t.Fatalf("answer %d: %v", i+1, err)
		}
		if r.Explanation == "" || len(r.CorrectChoice) == 0 {
			t.Errorf("answer %d: no explanation or key after the answer: %+v", i+1, r.Result)
		}
		st.Day, st.Question, st.Streak = r.Day, r.Next, r.Streak
	}
	return st, f.dayQuestions(t, st.Day.Day)
}

func (f *fixture) dayQuestions(t *testing.T, day string) []int64 {
	t.Helper()
	var ids []int64
	if err := f.inst.DB.Pool.QueryRow(context.Background(), `SELECT array_agg(question_id ORDER BY seq) FROM practice_questions
		WHERE user_id = $1 AND day = $2`, f.user.UserID, day).Scan(&ids); err != nil {
		t.Fatal(err)
	}
	return ids
}

func all(b bool) []bool { return []bool{b, b, b, b, b} }

// The daily draw: five questions, the same all day, a fresh draw after
// midnight in Asia/Shanghai (not UTC) with none of the questions answered
// right, points in the ledger, the streak across midnight and across a
// missed day.
func TestPracticeDailyDrawAndStreak(t *testing.T) {
	t.Parallel()
	f := newFixture(t, shanghai(2026, 12, 2, 23, 50))
	ctx := context.Background()
	st, day1 := f.playDay(t, all(true)...)
	if st.Day.Day != "2026-12-02" || !st.Day.Done || st.Day.Correct != 5 || len(day1) != 5 {
		t.Fatalf("day 1: got %+v with %v, want 2026-12-02 done, 5 right", st.Day, day1)
	}
	wantPoints := 5*practice.PointsRight + practice.PointsDone
	if st.Day.Points != wantPoints || st.Streak != (practice.Streak{Current: 1, Best: 1, Today: true}) {
		t.Errorf("day 1: points %d streak %+v, want %d and 1 today", st.Day.Points, st.Streak, wantPoints)
	}
	acc, err := f.svc.Points(ctx, f.user.UserID, 50)
	if err != nil || acc.Balance != wantPoints || len(acc.History) != 6 {
		t.Fatalf("points: got %+v %v, want balance %d in 6 entries", acc, err, wantPoints)
	}
	// 23:59 Beijing time is 15:59 UTC: the same day, nothing new.
	f.clk.Set(shanghai(2026, 12, 2, 23, 59))
	again, err := f.svc.Today(ctx, f.user)
	if err != nil || again.Day.Day != "2026-12-02" || again.Question != nil {
		t.Fatalf("same day: got %+v %v, want the finished 2026-12-02", again.Day, err)
	}
	// 00:01 Beijing time (still 2 December in UTC): a new day, a new draw
	// without the questions answered right, the streak alive.
	f.clk.Set(shanghai(2026, 12, 3, 0, 1))
	next, err := f.svc.Today(ctx, f.user)
	if err != nil || next.Day.Day != "2026-12-03" || next.Question == nil || next.Question.Seq != 1 {
		t.Fatalf("after midnight: got %+v %v, want question 1 of 2026-12-03", next, err)
	}
	if next.Streak != (practice.Streak{Current: 1, Best: 1}) {
		t.Errorf("after midnight, before practice: streak %+v, want 1 (alive until the day ends)", next.Streak)
	}
	st, day2 := f.playDay(t, all(true)...)
	for _, q := range day2 {
		if slices.Contains(day1, q) {
			t.Errorf("day 2 repeats question %d answered right on day 1 (day 1 %v, day 2 %v)", q, day1, day2)
		}
	}
	if st.Streak.Current != 2 {
		t.Errorf("day 2: streak %+v, want 2", st.Streak)
	}
	// 4 December missed: on the 5th the streak is gone, then starts again.
	f.clk.Set(shanghai(2026, 12, 5, 8, 0))
	if s, err := f.svc.Streak(ctx, f.user.UserID); err != nil || s.Current != 0 || s.Best != 2 {
		t.Errorf("after a missed day: streak %+v %v, want 0 (best 2)", s, err)
	}
	st, _ = f.playDay(t, all(false)...)
	if st.Streak != (practice.Streak{Current: 1, Best: 2, Today: true}) || st.Day.Points != practice.PointsDone {
		t.Errorf("day after the gap: streak %+v points %d, want 1 today (best 2) and %d", st.Streak, st.Day.Points, practice.PointsDone)
	}
}

// A question answered after its deadline (30 s plus the grace) counts as
// a timeout, and the key is not sent before the question is locked.
func TestPracticeServerTiming(t *testing.T) {
	t.Parallel()
	start := shanghai(2026, 12, 2, 10, 0)
	f := newFixture(t, start)
	ctx := context.Background()
	st, err := f.svc.Today(ctx, f.user)
	if err != nil || st.Question == nil {
		t.Fatalf("today: %+v %v", st, err)
	}
	if st.Question.RemainingMS != 30000 {
		t.Errorf("remaining: got %d ms, want 30000", st.Question.RemainingMS)
	}
	f.clk.Set(start.Add(33 * time.Second))
	r, err := f.svc.Answer(ctx, f.user, st.Day.Day, 1, f.choice(t, st.Day.Day, 1, true))
	if err != nil || !r.TimedOut || r.Correct || r.Next == nil || r.Next.Seq != 2 {
		t.Fatalf("late answer: got %+v %v, want a timeout and question 2", r, err)
	}
	if !r.Notebook.InNotebook {
		t.Errorf("a timeout goes to the notebook: got %+v", r.Notebook)
	}
	// A wrong seq is a conflict.
	if _, err := f.svc.Answer(ctx, f.user, st.Day.Day, 1, []int{0}); kepu.ErrorCode(err) != kepu.ECONFLICT {
		t.Errorf("answer to a locked seq: got %v, want conflict", err)
	}
}
