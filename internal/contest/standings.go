package contest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"

	"github.com/redis/go-redis/v9"
)

// Standings are a room's scores and streaks, and the answers to one
// question, read at once so that many players can be told their own
// standing: after a reveal every instance sends each of its players a
// result, with one Redis round trip per instance instead of two per player
// (MeOf). Safe for concurrent reads.
type Standings struct {
	q       int
	score   map[string]float64 // player id → score
	sorted  []float64          // every score, ascending
	streak  map[string]string
	answers map[string]string // player id → answer record of question q
}

// Standings reads room id's standings with the answers to question q
// (q < 0: none).
func (s *Service) Standings(ctx context.Context, id int64, q int) (*Standings, error) {
	k := s.room(id)
	pl := s.Redis.Pipeline()
	sc := pl.ZRangeWithScores(ctx, k.scores(), 0, -1)
	stc := pl.HGetAll(ctx, k.streak())
	var ac *redis.MapStringStringCmd
	if q >= 0 {
		ac = pl.HGetAll(ctx, k.answers(q))
	}
	if _, err := pl.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("contest: standings of room %d: %w", id, err)
	}
	zs := sc.Val()
	st := &Standings{q: q, score: make(map[string]float64, len(zs)), sorted: make([]float64, len(zs)), streak: stc.Val()}
	for i, z := range zs {
		m, _ := z.Member.(string)
		st.score[m] = z.Score
		st.sorted[i] = z.Score
	}
	if ac != nil {
		st.answers = ac.Val()
	}
	return st, nil
}

// Me returns player p's standing as MeOf does (ties: the rank of the first
// player with the score).
func (st *Standings) Me(p Player) Me {
	pid := strconv.Itoa(p.ID)
	me := Me{ID: p.ID, Nick: p.Nick, Players: len(st.sorted)}
	if sc, ok := st.score[pid]; ok {
		me.Score = int(sc)
		above := len(st.sorted) - sort.Search(len(st.sorted), func(i int) bool { return st.sorted[i] > sc })
		me.Rank = above + 1
	}
	me.Streak, _ = strconv.Atoi(st.streak[pid])
	if rec, ok := st.answers[pid]; ok {
		me.setAnswer(st.q, rec)
	}
	return me
}

// setAnswer fills in the player's answer record to question q.
func (me *Me) setAnswer(q int, rec string) {
	var a answerRecord
	if json.Unmarshal([]byte(rec), &a) == nil {
		me.Answered = a.Choice
		me.Last = &Mine{Q: q, Correct: a.Correct, Points: a.Points, Choice: a.Choice}
	}
}
