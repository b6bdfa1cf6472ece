package pk

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

func testMatch() *Match {
	m := &Match{ID: 1, Mode: Duel, Status: "playing", StartMS: 1000, RoundMS: 10000, RevealMS: 4000, GraceMS: 500,
		Players: []Player{{Seat: 0, UserID: 7, Nick: "amy"}, {Seat: 1, Bot: true}}}
	for i := range 3 {
		m.Questions = append(m.Questions, Question{Type: "single", Stem: "stem", Options: []string{"a", "b"},
			Answer: []int{1}, Explanation: "EXPLANATION-" + string(rune('0'+i))})
	}
	return m
}

// The schedule: a round ends at the last answer when everyone answered,
// else at the deadline plus grace; the next opens a reveal later.
func TestRounds(t *testing.T) {
	m := testMatch()
	m.Answers = []Answer{{Seat: 1, Q: 0, Choice: []int{1}, Correct: true, Points: 900, RawMS: 3000},
		{Seat: 0, Q: 0, Choice: []int{0}, RawMS: 2000}, {Seat: 1, Q: 1, Choice: []int{1}, RawMS: 5000}}
	rs := m.Rounds()
	want := []Round{{1000, 11000, 4000}, {8000, 18000, 18500}, {22500, 32500, 33000}}
	for i := range want {
		if rs[i] != want[i] {
			t.Errorf("round %d = %+v, want %+v", i, rs[i], want[i])
		}
	}
	for _, tt := range []struct {
		now   int64
		phase string
		q     int
	}{{500, PhaseReady, -1}, {1000, PhaseQuestion, 0}, {3999, PhaseQuestion, 0}, {4000, PhaseClosed, 0},
		{8000, PhaseQuestion, 1}, {18500, PhaseClosed, 1}, {33000, PhaseDone, 2}} {
		if p, q, _ := m.PhaseAt(tt.now); p != tt.phase || q != tt.q {
			t.Errorf("PhaseAt(%d) = %s %d, want %s %d", tt.now, p, q, tt.phase, tt.q)
		}
	}
	// The bot's answer to q1 shows at its time, and is a change to wake for.
	if next := m.NextChange(12000); next != 13000 {
		t.Errorf("NextChange(12000) = %d, want 13000 (the bot's answer)", next)
	}
	if v := m.ViewFor(0, 12999); v.Players[1].Answered[1] {
		t.Error("the bot's answer shows before its time")
	}
	if v := m.ViewFor(0, 13000); !v.Players[1].Answered[1] {
		t.Error("the bot's answer does not show at its time")
	}
}

// Nothing sent while a question is open holds its key or explanation,
// nor a score that counts it.
func TestViewHidesOpenKey(t *testing.T) {
	m := testMatch()
	m.Answers = []Answer{{Seat: 0, Q: 0, Choice: []int{1}, Correct: true, Points: 990, RawMS: 100}}
	b, _ := json.Marshal(m.ViewFor(1, 2000))
	if s := string(b); strings.Contains(s, "EXPLANATION-0") || strings.Contains(s, `"answer":`) || strings.Contains(s, "990") {
		t.Fatalf("open round leaks: %s", s)
	}
	v := m.ViewFor(1, 2000)
	if !v.Players[0].Answered[0] || v.Players[0].Score != 0 {
		t.Fatalf("progress %+v, want answered and no score yet", v.Players[0])
	}
	v = m.ViewFor(1, 11500) // closed
	if len(v.Rounds) != 1 || v.Rounds[0].Explanation != "EXPLANATION-0" || v.Players[0].Score != 990 {
		t.Fatalf("closed round: %+v", v)
	}
}

// An answer's poke carries the answer whole; a driver adds it to the match
// it holds once, and only where it fits; a plain poke carries none.
func TestPokedAnswer(t *testing.T) {
	a := Answer{Seat: 1, Q: 2, Choice: []int{0, 1}, Correct: true, Points: 870, RawMS: 1300, CreditMS: 1250}
	got, ok := PokedAnswer([]byte(pokeMsg(a)))
	if !ok || got.Seat != a.Seat || got.Q != a.Q || !slices.Equal(got.Choice, a.Choice) || got.Correct != a.Correct ||
		got.Points != a.Points || got.RawMS != a.RawMS || got.CreditMS != a.CreditMS {
		t.Fatalf("PokedAnswer(pokeMsg(%+v)) = %+v, %v", a, got, ok)
	}
	for _, msg := range []string{"1", "", "{", "{\"s\":\"x\"}"} {
		if _, ok := PokedAnswer([]byte(msg)); ok {
			t.Errorf("PokedAnswer(%q) carries an answer, want none", msg)
		}
	}
	m := testMatch()
	if !m.Add(a) || len(m.Answers) != 1 {
		t.Fatalf("Add: %d answers, want 1", len(m.Answers))
	}
	for _, b := range []Answer{a, {Seat: 2, Q: 0}, {Seat: -1, Q: 0}, {Seat: 0, Q: 3}} {
		if m.Add(b) {
			t.Errorf("Add(%+v) changed the match, want it refused", b)
		}
	}
}
