package pk

import "sort"

// View is what one player's screen shows at a server moment (the "state"
// message of /ws/pk and GET /api/v1/pk/matches/{id}). The key and the
// explanation of a question are only in Rounds, which holds closed rounds
// only; scores count closed rounds only (a score moving while a round is
// open would tell whether an answer was right).
type View struct {
	Match       int64        `json:"match"`
	Mode        int          `json:"mode"`
	Bot         bool         `json:"bot"`
	Phase       string       `json:"phase"`
	Q           int          `json:"q"`
	Count       int          `json:"count"`
	RemainingMS int64        `json:"remaining_ms"` // until the phase ends (0: it does not end by itself)
	RoundMS     int64        `json:"round_ms"`
	Me          int          `json:"me"` // the viewer's seat
	Question    *OpenQ       `json:"question,omitempty"`
	Mine        []int        `json:"mine,omitempty"` // the viewer's answer to the open question
	Players     []ViewPlayer `json:"players"`
	Rounds      []ViewRound  `json:"rounds"`
	Invite      string       `json:"invite,omitempty"` // the code, to the inviter while waiting
}

// OpenQ is the open question, without its key.
type OpenQ struct {
	Stem    string   `json:"stem"`
	Type    string   `json:"type"`
	Options []string `json:"options"`
}

// ViewPlayer is one seat: which questions it has answered (shown live),
// its score over closed rounds and, when done, its place.
type ViewPlayer struct {
	Seat     int    `json:"seat"`
	Nick     string `json:"nick"`
	Bot      bool   `json:"bot"`
	Score    int    `json:"score"`
	Answered []bool `json:"answered"`
	Place    int    `json:"place,omitempty"`
}

// ViewRound is a closed round: the key, the explanation and every answer.
type ViewRound struct {
	Q           int          `json:"q"`
	Stem        string       `json:"stem"`
	Options     []string     `json:"options"`
	Answer      []int        `json:"answer"`
	Explanation string       `json:"explanation"`
	Answers     []ViewAnswer `json:"answers"`
}

// ViewAnswer is one seat's answer to a closed round (none: Choice empty).
type ViewAnswer struct {
	Seat    int   `json:"seat"`
	Choice  []int `json:"choice"`
	Correct bool  `json:"correct"`
	Points  int   `json:"points"`
	MS      int64 `json:"ms"`
}

// ViewFor returns what seat sees at server time now.
func (m *Match) ViewFor(seat int, now int64) View {
	phase, cur, until := m.PhaseAt(now)
	v := View{Match: m.ID, Mode: m.Mode, Bot: m.Bot, Phase: phase, Q: cur, Count: len(m.Questions), RoundMS: m.RoundMS, Me: seat,
		Rounds: []ViewRound{}}
	if until > 0 {
		v.RemainingMS = max(until-now, 0)
	}
	if phase == PhaseWaiting && seat == 0 {
		v.Invite = m.Invite
	}
	rs := m.Rounds()
	closed := 0 // rounds whose end has passed
	for q, r := range rs {
		if now >= r.End {
			closed = q + 1
		}
	}
	if phase == PhaseQuestion {
		qq := m.Questions[cur]
		v.Question = &OpenQ{Stem: qq.Stem, Type: qq.Type, Options: qq.Options}
		if a := m.answer(seat, cur); a != nil {
			v.Mine = a.Choice
		}
	}
	for _, p := range m.Players {
		vp := ViewPlayer{Seat: p.Seat, Nick: p.Nick, Bot: p.Bot, Answered: make([]bool, len(m.Questions))}
		for q, r := range rs {
			a := m.answer(p.Seat, q)
			if q < closed {
				vp.Answered[q] = a != nil
				if a != nil {
					vp.Score += a.Points
				}
			} else if now >= r.Open {
				vp.Answered[q] = m.visible(a, r.Open, now)
			}
		}
		v.Players = append(v.Players, vp)
	}
	for q := 0; q < closed; q++ {
		qq := m.Questions[q]
		vr := ViewRound{Q: q, Stem: qq.Stem, Options: qq.Options, Answer: qq.Answer, Explanation: qq.Explanation}
		for _, p := range m.Players {
			va := ViewAnswer{Seat: p.Seat, Choice: []int{}}
			if a := m.answer(p.Seat, q); a != nil {
				va = ViewAnswer{Seat: p.Seat, Choice: a.Choice, Correct: a.Correct, Points: a.Points, MS: a.CreditMS}
			}
			vr.Answers = append(vr.Answers, va)
		}
		v.Rounds = append(v.Rounds, vr)
	}
	if phase == PhaseDone {
		for i, pl := range places(v.Players) {
			v.Players[i].Place = pl
		}
	}
	return v
}

// places ranks seats by score (equal scores share a place).
func places(ps []ViewPlayer) []int {
	idx := make([]int, len(ps))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return ps[idx[a]].Score > ps[idx[b]].Score })
	out := make([]int, len(ps))
	for rank, i := range idx {
		out[i] = rank + 1
		if rank > 0 && ps[idx[rank-1]].Score == ps[i].Score {
			out[i] = out[idx[rank-1]]
		}
	}
	return out
}
