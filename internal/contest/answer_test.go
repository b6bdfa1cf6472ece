package contest

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kepu/kepu/internal/scoring"
)

// An instance keeps the open question's times in memory between answers;
// a pause moves them. Answers after the host resumes are timed from the
// moved opening, on the instance that remembered the old one: full points
// just after the resume, whether the pause was shorter than the time limit
// (answer.lua sees other times) or longer (by the old times the answer
// would be late).
func TestAnswerTimedAfterResume(t *testing.T) {
	for _, pause := range []time.Duration{3 * time.Second, 20 * time.Second} {
		t.Run(pause.String(), func(t *testing.T) {
			s, a, cid := newTestService(t)
			ctx := context.Background()
			run := mustRun(t, s, a, cid)
			ann, err := s.Join(ctx, JoinInput{PIN: run.PIN, Nickname: "ann"})
			if err != nil {
				t.Fatal(err)
			}
			bob, err := s.Join(ctx, JoinInput{PIN: run.PIN, Nickname: "bob"})
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Next(ctx, a, run.ID, ""); err != nil {
				t.Fatal(err)
			}
			if res, err := s.Answer(ctx, Player{Room: run.ID, ID: ann.Player}, 0, []int{0}, 0); res != AnswerOK || err != nil {
				t.Fatalf("Ann answers: %q, %v; want ok", res, err)
			}
			if err := s.Pause(ctx, a, run.ID); err != nil {
				t.Fatal(err)
			}
			s.Clock.Advance(pause)
			if err := s.Resume(ctx, a, run.ID); err != nil {
				t.Fatal(err)
			}
			p := Player{Room: run.ID, ID: bob.Player}
			if res, err := s.Answer(ctx, p, 0, []int{0}, 0); res != AnswerOK || err != nil {
				t.Fatalf("Bob answers just after the resume: %q, %v; want ok", res, err)
			}
			me, err := s.MeOf(ctx, p, 0)
			if err != nil {
				t.Fatal(err)
			}
			if me.Score < 990 {
				t.Errorf("Bob's score %d, want at least 990 (answered within a second of the resume, 1000 at most)", me.Score)
			}
		})
	}
}

// The points answer.lua picks for each streak are internal/scoring's.
func TestPointsByStreak(t *testing.T) {
	q, practice := Question{}, Question{Practice: true}
	on := Settings{Points: 1000, StreakBonus: true}
	off := Settings{Points: 1000}
	for _, tt := range []struct {
		name    string
		q       Question
		set     Settings
		correct bool
		rule    string
	}{
		{"correct", q, on, true, "inc"},
		{"correct without streak bonus", q, off, true, "inc"},
		{"wrong", q, on, false, "reset"},
		{"practice", practice, on, true, "keep"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			table, rule := pointsByStreak(tt.q, tt.set, tt.correct, 1500, 20000)
			if rule != tt.rule {
				t.Errorf("rule %q, want %q", rule, tt.rule)
			}
			pts := strings.Split(table, ",")
			for streak := 0; streak < 20; streak++ {
				got, _ := strconv.Atoi(pts[min(streak, len(pts)-1)])
				base := tt.set.Points
				if tt.q.Practice {
					base = 0
				}
				want := scoring.ContestPoints(tt.correct, base, 1500, 20000)
				if tt.correct && tt.set.StreakBonus {
					want += scoring.StreakBonus(streak, base)
				}
				if got != want {
					t.Errorf("streak %d: %d points (table %s), want %d", streak, got, table, want)
				}
			}
		})
	}
}
