package pk

// The schedule of a match is computed, never stored: question 0 opens at
// start_ms; question q's answers are taken until open+round (deadline);
// its round ends (the key is shown) when every seat has answered — at the
// last answer's server time — or else at deadline+grace; question q+1
// opens reveal after that end; the match is done when the last round ends.
// An answer counts only while its round is open and is committed before
// deadline+grace (Answer checks the clock again before the commit), so a
// round's end never moves once any instance has seen it pass.

// Round is one question's times (server ms).
type Round struct {
	Open, Deadline, End int64
}

// Rounds returns the match's rounds (nil while it waits for players).
func (m *Match) Rounds() []Round {
	if m.StartMS == 0 {
		return nil
	}
	out := make([]Round, len(m.Questions))
	open := m.StartMS
	for q := range out {
		r := Round{Open: open, Deadline: open + m.RoundMS, End: open + m.RoundMS + m.GraceMS}
		var last int64
		all := true
		for _, p := range m.Players {
			a := m.answer(p.Seat, q)
			if a == nil {
				all = false
				break
			}
			last = max(last, a.RawMS)
		}
		if all {
			r.End = min(r.End, open+last)
		}
		out[q] = r
		open = r.End + m.RevealMS
	}
	return out
}

// Phases of a match as a player sees it.
const (
	PhaseWaiting  = "waiting"  // an invitation not yet taken
	PhaseReady    = "ready"    // countdown before the first question
	PhaseQuestion = "question" // question Q is open
	PhaseClosed   = "closed"   // question Q's answer and explanation are shown
	PhaseDone     = "done"     // the result screen
)

// PhaseAt returns the phase and question at server time now, and when
// that phase ends (0: never).
func (m *Match) PhaseAt(now int64) (phase string, q int, until int64) {
	rs := m.Rounds()
	if rs == nil {
		return PhaseWaiting, -1, 0
	}
	if now < rs[0].Open {
		return PhaseReady, -1, rs[0].Open
	}
	for i, r := range rs {
		if now < r.End {
			return PhaseQuestion, i, r.Deadline
		}
		if i == len(rs)-1 {
			break
		}
		if now < rs[i+1].Open {
			return PhaseClosed, i, rs[i+1].Open
		}
	}
	return PhaseDone, len(rs) - 1, 0
}

// NextChange returns the next server time after now at which what a player
// sees changes by the clock alone (a round opening or ending, a bot's
// answer appearing), or 0 when nothing more happens by itself. An answer
// may change it earlier: whoever commits one pokes the match's sockets.
func (m *Match) NextChange(now int64) int64 {
	var next int64
	take := func(t int64) {
		if t > now && (next == 0 || t < next) {
			next = t
		}
	}
	for q, r := range m.Rounds() {
		take(r.Open)
		take(r.End)
		for _, p := range m.Players {
			if a := m.answer(p.Seat, q); p.Bot && a != nil {
				take(r.Open + a.RawMS)
			}
		}
	}
	return next
}

// visible reports whether seat's answer a to a question opened at open is
// to be shown as given at now: a bot's answer, written when the match was
// made, appears only at its time.
func (m *Match) visible(a *Answer, open, now int64) bool {
	if a == nil {
		return false
	}
	return !m.Players[a.Seat].Bot || open+a.RawMS <= now
}
