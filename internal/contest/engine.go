package contest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/kepu/kepu/internal/kepu"
)

func pgxForEach(rows pgx.Rows, scans []any, fn func()) (int64, error) {
	ct, err := pgx.ForEachRow(rows, scans, func() error { fn(); return nil })
	return ct.RowsAffected(), err
}

// phaseEvents are the events that set what a screen shows; the last one is
// kept in the room hash (view) for snapshots.
var phaseEvents = map[string]bool{"question": true, "closed": true, "reveal": true, "board": true, "podium": true}

// step runs one transition: compare-and-set on ver (unless ver is ""),
// set fields, emit an event (step.lua, keys of the room only), then move
// the room's due item (due: "" leave it, "-" remove it, else the due ms)
// and write the room's new state to contest_runs (saveState), so that a
// room Redis loses is rebuilt where it stood. It returns errBusy when
// another transition won, errRoomGone when the room is not in Redis.
func (s *Service) step(ctx context.Context, id int64, ver string, due string, etype string, data any, fields ...any) (int64, error) {
	k := s.room(id)
	payload := "null"
	if etype != "" {
		b, err := json.Marshal(data)
		if err != nil {
			return 0, fmt.Errorf("contest: encode %s: %w", etype, err)
		}
		payload = string(b)
		if phaseEvents[etype] {
			fields = append(fields, "vtype", etype, "view", payload)
		}
	}
	args := []any{s.Channel(id), EventsKept, ver, etype, payload}
	args = append(args, fields...)
	r, err := s.scripts.step.Run(ctx, s.Redis, []string{k.hash(), k.seq(), k.events()}, args...).Slice()
	if err != nil {
		return 0, fmt.Errorf("contest: step %s of room %d: %w", etype, id, err)
	}
	n, _ := r[0].(int64)
	switch n {
	case -1:
		return 0, errBusy
	case -2:
		return 0, errRoomGone
	}
	if err := s.schedule(ctx, id, due); err != nil {
		return 0, err
	}
	if len(r) == 3 {
		seq, _ := r[1].(int64)
		flat, _ := r[2].([]any)
		m := make(map[string]string, len(flat)/2)
		for i := 0; i+1 < len(flat); i += 2 {
			f, _ := flat[i].(string)
			v, _ := flat[i+1].(string)
			m[f] = v
		}
		if err := s.saveState(ctx, id, seq, m); err != nil {
			return 0, err
		}
	}
	return n, nil
}

// schedule moves room id's timed transition in the due set: due "" leaves
// it, "-" removes it, else it is the due time in ms. The due set is only
// a hint (due re-checks the room; the sweep re-seeds it from Postgres), so
// it is written after the transition, outside its script.
func (s *Service) schedule(ctx context.Context, id int64, due string) error {
	var err error
	switch due {
	case "":
		return nil
	case "-":
		err = s.Redis.ZRem(ctx, s.dueKey(), s.room(id).roundMember()).Err()
	default:
		err = s.Redis.ZAdd(ctx, s.dueKey(), redis.Z{Score: float64(atoi64(due)), Member: s.room(id).roundMember()}).Err()
	}
	if err != nil {
		return fmt.Errorf("contest: schedule room %d: %w", id, err)
	}
	return nil
}

func ms(n int64) string { return strconv.FormatInt(n, 10) }

// publicQuestion is a question as players see it while it is open.
type publicQuestion struct {
	Q           int      `json:"q"`
	Count       int      `json:"count"`
	Type        string   `json:"type"`
	Stem        string   `json:"stem"`
	Options     []string `json:"options"`
	DurationMS  int64    `json:"duration_ms"`
	RemainingMS int64    `json:"remaining_ms"`
	Points      int      `json:"points"`
	Practice    bool     `json:"practice"`
	ReadyMS     int64    `json:"ready_ms"` // the get-ready countdown: answers open this long after the event
}

func (st *state) limitMS() int64 { return int64(st.Settings.TimeLimit) * 1000 }

func (s *Service) openQuestion(ctx context.Context, st *state, q int) error {
	qs, err := s.roomQuestions(ctx, st.ID)
	if err != nil {
		return err
	}
	if q < 0 || q >= len(qs) {
		return errPhase
	}
	k := s.room(st.ID)
	// Ranks before this question, for "who moved up" on the board.
	if _, err := s.Redis.ZUnionStore(ctx, k.prev(), &redis.ZStore{Keys: []string{k.scores()}}).Result(); err != nil {
		return fmt.Errorf("contest: snapshot ranks: %w", err)
	}
	s.Redis.PExpire(ctx, k.prev(), s.RoomTTL)
	now := s.nowMS()
	qq := qs[q]
	points := st.Settings.Points
	if qq.Practice {
		points = 0
	}
	limit := st.limitMS()
	// With a get-ready countdown the question is shown now but opens for
	// answers only after it: its time (and the speed bonus) starts then,
	// and an answer before it is refused (answerOpen).
	var ready int64
	if st.Settings.GetReady {
		ready = s.ReadyFor.Milliseconds()
	}
	openedAt := now + ready
	deadline := openedAt + limit
	closeAt := deadline + s.Grace.Milliseconds()
	data := publicQuestion{Q: q, Count: st.NQ, Type: qq.Type, Stem: qq.Stem, Options: qq.Options,
		DurationMS: limit, RemainingMS: ready + limit, Points: points, Practice: qq.Practice, ReadyMS: ready}
	_, err = s.step(ctx, st.ID, st.Ver, ms(closeAt), "question", data,
		"phase", PhaseQuestion, "q", q, "answered", 0, "opened_at", openedAt, "deadline", deadline,
		"close_at", closeAt, "due_at", closeAt, "paused", 0)
	return err
}

// closeRound stops answers to the open question, then reveals it.
func (s *Service) closeRound(ctx context.Context, st *state) error {
	now := s.nowMS()
	if _, err := s.step(ctx, st.ID, st.Ver, ms(now), "closed", map[string]int{"q": st.Q},
		"phase", PhaseClosed, "due_at", now, "paused", 0); err != nil {
		return err
	}
	return s.revealClosed(ctx, st.ID, st.Q)
}

// revealClosed reveals question q of room id once its round is closed,
// unless the room has moved on meanwhile: another instance's timer may
// have revealed it already and the host shown the board, and revealing
// the room as it is then would take the board back to the reveal (the
// host's next answered 409).
func (s *Service) revealClosed(ctx context.Context, id int64, q int) error {
	next, err := s.load(ctx, id)
	if err != nil || next == nil || next.Phase != PhaseClosed || next.Q != q {
		return err
	}
	return s.reveal(ctx, next)
}

// revealData is the answer of a closed question with how the room answered.
type revealData struct {
	Q           int      `json:"q"`
	Stem        string   `json:"stem"`
	Options     []string `json:"options"`
	Answer      []int    `json:"answer"`
	Explanation string   `json:"explanation"`
	Dist        []int    `json:"dist"`
	Answered    int      `json:"answered"`
	Correct     int      `json:"correct"`
	Total       int      `json:"total"`
}

func (s *Service) reveal(ctx context.Context, st *state) error {
	qs, err := s.roomQuestions(ctx, st.ID)
	if err != nil {
		return err
	}
	k := s.room(st.ID)
	qq := qs[st.Q]
	var answered []string
	p := s.Redis.Pipeline()
	dc := p.HGetAll(ctx, k.dist(st.Q))
	pc := p.HKeys(ctx, k.players())
	ac := p.HGetAll(ctx, k.answers(st.Q))
	if _, err := p.Exec(ctx); err != nil {
		return fmt.Errorf("contest: reveal %d: %w", st.ID, err)
	}
	distM, players, ansVals := dc.Val(), pc.Val(), ac.Val()
	d := revealData{Q: st.Q, Stem: qq.Stem, Options: qq.Options, Answer: qq.Answer, Explanation: qq.Explanation, Dist: make([]int, len(qq.Options)),
		Answered: len(ansVals), Total: len(players)}
	for i := range d.Dist {
		d.Dist[i] = atoi(distM[strconv.Itoa(i)])
	}
	for id, v := range ansVals {
		answered = append(answered, id)
		var a answerRecord
		if json.Unmarshal([]byte(v), &a) == nil && a.Correct {
			d.Correct++
		}
	}
	// A player who did not answer loses their streak (practice questions
	// leave streaks alone).
	if !qq.Practice {
		done := map[string]bool{}
		for _, id := range answered {
			done[id] = true
		}
		var reset []any
		for _, id := range players {
			if !done[id] {
				reset = append(reset, id, 0)
			}
		}
		if len(reset) > 0 {
			s.Redis.HSet(ctx, k.streak(), reset...)
		}
	}
	due, dueAt := "-", int64(0)
	if st.Settings.AutoAdvance {
		dueAt = s.nowMS() + s.RevealFor.Milliseconds()
		due = ms(dueAt)
	}
	_, err = s.step(ctx, st.ID, st.Ver, due, "reveal", d, "phase", PhaseReveal, "due_at", dueAt)
	return err
}

// Standing is one player's place.
type Standing struct {
	ID       int    `json:"id"`
	Nick     string `json:"nick"`
	Team     int64  `json:"team,omitempty"`
	Score    int    `json:"score"`
	Rank     int    `json:"rank"`
	PrevRank int    `json:"prev_rank,omitempty"` // 0: was not ranked
	Up       int    `json:"up"`                  // places gained since the question opened
	Correct  int    `json:"correct"`
}

// TeamStanding is one team's (class's) place: its members' average score.
type TeamStanding struct {
	ClassID int64  `json:"class_id"`
	Name    string `json:"name"`
	Members int    `json:"members"`
	Score   int    `json:"score"`
	Rank    int    `json:"rank"`
}

type playerRec struct {
	ID    int    `json:"id"`
	Nick  string `json:"nick"`
	UID   int64  `json:"uid,omitempty"`
	Class int64  `json:"class,omitempty"`
	Team  int64  `json:"team,omitempty"`
	TH    string `json:"th"`
}

// ranking returns every player in score order (ties: lower id first) with
// their previous rank.
func (s *Service) ranking(ctx context.Context, id int64) ([]Standing, map[int]playerRec, error) {
	k := s.room(id)
	p := s.Redis.Pipeline()
	sc := p.ZRangeWithScores(ctx, k.scores(), 0, -1)
	pc := p.ZRangeWithScores(ctx, k.prev(), 0, -1)
	plc := p.HGetAll(ctx, k.players())
	cc := p.HGetAll(ctx, k.correct())
	if _, err := p.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, nil, fmt.Errorf("contest: ranking %d: %w", id, err)
	}
	scores, prev, pm, cm := sc.Val(), pc.Val(), plc.Val(), cc.Val()
	players := map[int]playerRec{}
	for _, v := range pm {
		var p playerRec
		if json.Unmarshal([]byte(v), &p) == nil {
			players[p.ID] = p
		}
	}
	order := func(zs []redis.Z) []Standing {
		out := []Standing{} // an empty room: [] in events, never null
		for _, z := range zs {
			pid := atoi(fmt.Sprint(z.Member))
			p, ok := players[pid]
			if !ok {
				continue
			}
			out = append(out, Standing{ID: pid, Nick: p.Nick, Team: p.Team, Score: int(z.Score)})
		}
		sort.SliceStable(out, func(i, j int) bool {
			if out[i].Score != out[j].Score {
				return out[i].Score > out[j].Score
			}
			return out[i].ID < out[j].ID
		})
		for i := range out {
			out[i].Rank = i + 1
		}
		return out
	}
	cur := order(scores)
	prevRank := map[int]int{}
	for _, p := range order(prev) {
		prevRank[p.ID] = p.Rank
	}
	for i := range cur {
		cur[i].Correct = atoi(cm[strconv.Itoa(cur[i].ID)])
		if pr, ok := prevRank[cur[i].ID]; ok {
			cur[i].PrevRank = pr
			cur[i].Up = pr - cur[i].Rank
		}
	}
	return cur, players, nil
}

func (s *Service) teams(ctx context.Context, st *state, rank []Standing) []TeamStanding {
	if !st.Settings.TeamMode {
		return nil
	}
	sum := map[int64]int{}
	n := map[int64]int{}
	for _, p := range rank {
		if p.Team != 0 {
			sum[p.Team] += p.Score
			n[p.Team]++
		}
	}
	names := map[int64]string{}
	rows, _ := s.DB.Query(ctx, `SELECT id, name FROM classes WHERE id = ANY($1)`, st.Settings.ClassIDs)
	var cid int64
	var name string
	pgxForEach(rows, []any{&cid, &name}, func() { names[cid] = name })
	var out []TeamStanding
	for _, c := range st.Settings.ClassIDs {
		t := TeamStanding{ClassID: c, Name: names[c], Members: n[c]}
		if n[c] > 0 {
			t.Score = (sum[c] + n[c]/2) / n[c]
		}
		out = append(out, t)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Score > out[j].Score })
	for i := range out {
		out[i].Rank = i + 1
	}
	return out
}

type boardData struct {
	Q     int            `json:"q"`
	Last  bool           `json:"last"`
	Top   []Standing     `json:"top"`
	Teams []TeamStanding `json:"teams,omitempty"`
	Total int            `json:"total"`
}

func (s *Service) board(ctx context.Context, st *state) error {
	rank, _, err := s.ranking(ctx, st.ID)
	if err != nil {
		return err
	}
	d := boardData{Q: st.Q, Last: st.Q+1 >= st.NQ, Teams: s.teams(ctx, st, rank), Total: len(rank)}
	d.Top = rank[:min(5, len(rank))]
	due, dueAt := "-", int64(0)
	if st.Settings.AutoAdvance {
		dueAt = s.nowMS() + s.BoardFor.Milliseconds()
		due = ms(dueAt)
	}
	_, err = s.step(ctx, st.ID, st.Ver, due, "board", d, "phase", PhaseBoard, "due_at", dueAt)
	return err
}

// QuestionStat is how the room did on one question.
type QuestionStat struct {
	Q        int     `json:"q"`
	Stem     string  `json:"stem"`
	Answered int     `json:"answered"`
	Correct  int     `json:"correct"`
	Accuracy float64 `json:"accuracy"` // correct / players, 0–1
	AvgMS    int     `json:"avg_ms"`   // mean answer time of those who answered
}

type podiumData struct {
	Podium    []Standing     `json:"podium"`
	Ranking   []Standing     `json:"ranking"`
	Teams     []TeamStanding `json:"teams,omitempty"`
	Questions []QuestionStat `json:"questions"`
	Total     int            `json:"total"`
}

// MaxRankingShown caps the ranking sent in the podium event; the full one
// is in the stored results.
const MaxRankingShown = 500

func (s *Service) finish(ctx context.Context, st *state) error {
	rank, _, err := s.ranking(ctx, st.ID)
	if err != nil {
		return err
	}
	stats, err := s.questionStats(ctx, st, len(rank))
	if err != nil {
		return err
	}
	d := podiumData{Podium: rank[:min(3, len(rank))], Ranking: rank[:min(MaxRankingShown, len(rank))],
		Teams: s.teams(ctx, st, rank), Questions: stats, Total: len(rank)}
	now := s.nowMS()
	if _, err := s.step(ctx, st.ID, st.Ver, ms(now), "podium", d, "phase", PhaseFinished, "due_at", now, "paused", 0); err != nil {
		return err
	}
	next, err := s.load(ctx, st.ID)
	if err != nil || next == nil {
		return err
	}
	return s.persist(ctx, next)
}

func (s *Service) questionStats(ctx context.Context, st *state, players int) ([]QuestionStat, error) {
	qs, err := s.roomQuestions(ctx, st.ID)
	if err != nil {
		return nil, err
	}
	k := s.room(st.ID)
	out := make([]QuestionStat, 0, len(qs))
	for i, q := range qs {
		if i > st.Q {
			break
		}
		m, err := s.Redis.HGetAll(ctx, k.answers(i)).Result()
		if err != nil {
			return nil, fmt.Errorf("contest: stats: %w", err)
		}
		qsx := QuestionStat{Q: i, Stem: q.Stem, Answered: len(m)}
		var total int64
		for _, v := range m {
			var a answerRecord
			if json.Unmarshal([]byte(v), &a) == nil {
				total += a.MS
				if a.Correct {
					qsx.Correct++
				}
			}
		}
		if len(m) > 0 {
			qsx.AvgMS = int(total / int64(len(m)))
		}
		if players > 0 {
			qsx.Accuracy = float64(qsx.Correct) / float64(players)
		}
		out = append(out, qsx)
	}
	return out, nil
}

// advance moves a room one phase on: start, close the round, reveal, show
// the board, open the next question or finish.
func (s *Service) advance(ctx context.Context, st *state) error {
	switch st.Phase {
	case PhaseLobby:
		n, err := s.Redis.HLen(ctx, s.room(st.ID).players()).Result()
		if err != nil {
			return fmt.Errorf("contest: players: %w", err)
		}
		if n == 0 {
			return kepu.Errorf(kepu.ECONFLICT, "error.contest_no_players")
		}
		return s.openQuestion(ctx, st, 0)
	case PhaseQuestion:
		return s.closeRound(ctx, st)
	case PhaseClosed:
		return s.reveal(ctx, st)
	case PhaseReveal:
		return s.board(ctx, st)
	case PhaseBoard:
		if st.Q+1 < st.NQ {
			return s.openQuestion(ctx, st, st.Q+1)
		}
		return s.finish(ctx, st)
	case PhaseFinished:
		if !st.Persisted {
			return s.persist(ctx, st)
		}
	}
	return errPhase
}

// Run closes due rounds, advances auto-advancing rooms, sends coalesced
// lobby/progress updates and stores finished results, until ctx ends.
// Every instance runs it; claim.lua makes each due item handled by one.
// Failing ticks (Redis down) are counted in TickFailures and logged once
// when they start and once when a tick succeeds again.
func (s *Service) Run(ctx context.Context, every time.Duration, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	health := kepu.Outage{Name: "contest tick", Log: log, Failures: s.TickFailures}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := s.Tick(ctx); err != nil {
			if ctx.Err() == nil {
				health.Fail(err)
			}
		} else {
			health.OK()
		}
	}
}

// Tick handles every due item once; every SweepEvery it first checks the
// live runs of Postgres against Redis (sweep: lost rooms are rebuilt, lost
// due items added again).
func (s *Service) Tick(ctx context.Context) error {
	now := s.nowMS()
	var sweepErr error
	if last := s.lastSweep.Load(); now-last >= SweepEvery.Milliseconds() && s.lastSweep.CompareAndSwap(last, now) {
		sweepErr = s.sweep(ctx)
	}
	due, err := s.Redis.ZRangeArgs(ctx, redis.ZRangeArgs{Key: s.dueKey(), Start: "-inf", Stop: ms(now), ByScore: true, Count: 100}).Result()
	if err != nil {
		return errors.Join(sweepErr, fmt.Errorf("contest: due: %w", err))
	}
	errs := []error{sweepErr}
	for _, m := range due {
		ok, err := s.scripts.claim.Run(ctx, s.Redis, []string{s.dueKey()}, m, now, 5000).Int()
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if ok != 1 {
			continue
		}
		kind, idStr, _ := strings.Cut(m, ":")
		id := atoi64(idStr)
		switch kind {
		case "r":
			err = s.due(ctx, id)
		case "f":
			s.Redis.ZRem(ctx, s.dueKey(), m)
			err = s.flush(ctx, id)
		default:
			s.Redis.ZRem(ctx, s.dueKey(), m)
		}
		if err != nil && !errors.Is(err, errBusy) {
			errs = append(errs, fmt.Errorf("room %d: %w", id, err))
		}
	}
	return errors.Join(errs...)
}

// due handles a room's timed transition if it is due.
func (s *Service) due(ctx context.Context, id int64) error {
	st, err := s.load(ctx, id)
	if err != nil {
		return err
	}
	k := s.room(id)
	if st == nil || st.Paused {
		return s.Redis.ZRem(ctx, s.dueKey(), k.roundMember()).Err()
	}
	now := s.nowMS()
	isDue := false
	switch st.Phase {
	case PhaseQuestion:
		n, err := s.Redis.HLen(ctx, k.players()).Result()
		if err != nil {
			return err
		}
		isDue = now >= st.CloseAt || int64(st.Answered) >= n
	case PhaseClosed:
		isDue = true
	case PhaseReveal, PhaseBoard:
		isDue = st.Settings.AutoAdvance && st.DueAt > 0 && now >= st.DueAt
	case PhaseFinished:
		isDue = !st.Persisted
	}
	if !isDue {
		if st.DueAt > now {
			return s.Redis.ZAdd(ctx, s.dueKey(), redis.Z{Score: float64(st.DueAt), Member: k.roundMember()}).Err()
		}
		return s.Redis.ZRem(ctx, s.dueKey(), k.roundMember()).Err()
	}
	return s.advance(ctx, st)
}

// lobbyData lists who is in the room.
type lobbyData struct {
	Players []lobbyPlayer `json:"players"`
	Count   int           `json:"count"`
	Locked  bool          `json:"locked"`
}

type lobbyPlayer struct {
	ID   int    `json:"id"`
	Nick string `json:"nick"`
	Team int64  `json:"team,omitempty"`
}

// MaxLobbyShown caps the names a lobby update carries.
const MaxLobbyShown = 300

func (s *Service) lobby(ctx context.Context, st *state) (lobbyData, error) {
	k := s.room(st.ID)
	r, err := s.scripts.lobby.Run(ctx, s.Redis, []string{k.players(), k.hash()}, MaxLobbyShown).Slice()
	if err != nil || len(r) != 2 {
		return lobbyData{}, fmt.Errorf("contest: lobby: %w", err)
	}
	n, _ := r[0].(int64)
	vals, _ := r[1].([]any)
	d := lobbyData{Count: int(n), Locked: st.Locked, Players: make([]lobbyPlayer, 0, len(vals))}
	for i := len(vals) - 1; i >= 0; i-- { // oldest first
		v, _ := vals[i].(string)
		var p playerRec
		if json.Unmarshal([]byte(v), &p) == nil {
			d.Players = append(d.Players, lobbyPlayer{ID: p.ID, Nick: p.Nick, Team: p.Team})
		}
	}
	return d, nil
}

type progressData struct {
	Q        int `json:"q"`
	Answered int `json:"answered"`
	Total    int `json:"total"`
}

// flush sends one coalesced update: the lobby list in the lobby, the
// answer count while a question is open. These are status messages: they
// carry no seq and are not kept for replay (a newer one replaces them, a
// snapshot holds the same), and only hosts' screens get them, so that
// 10,000 phones do not receive four lobby lists a second.
//
// The coalescing key goes first: a join or answer from now on asks for an
// update of its own, and every earlier one is in what is read below. (Its
// TTL alone would lose the last joins of a burst: a flush that runs before
// the key has expired reads the room, and joins in between see the key and
// ask for nothing.)
func (s *Service) flush(ctx context.Context, id int64) error {
	if err := s.Redis.Del(ctx, s.room(id).flush()).Err(); err != nil {
		return fmt.Errorf("contest: flush: %w", err)
	}
	st, err := s.load(ctx, id)
	if err != nil || st == nil {
		return err
	}
	var typ string
	var data any
	switch st.Phase {
	case PhaseQuestion:
		n, err := s.Redis.HLen(ctx, s.room(id).players()).Result()
		if err != nil {
			return fmt.Errorf("contest: progress: %w", err)
		}
		typ, data = "progress", progressData{Q: st.Q, Answered: st.Answered, Total: int(n)}
	case PhaseLobby:
		d, err := s.lobby(ctx, st)
		if err != nil {
			return err
		}
		typ, data = "lobby", d
	default:
		return nil
	}
	msg, err := json.Marshal(statusMsg{Epoch: st.Epoch, Type: typ, Data: data})
	if err != nil {
		return fmt.Errorf("contest: encode %s: %w", typ, err)
	}
	if err := s.Redis.Publish(ctx, s.Channel(id), msg).Err(); err != nil {
		return fmt.Errorf("contest: publish %s: %w", typ, err)
	}
	return nil
}

// statusMsg is a status message (lobby, progress): an event without seq.
type statusMsg struct {
	Epoch int64  `json:"epoch"`
	Type  string `json:"type"`
	Data  any    `json:"data"`
}

// scheduleFlush asks for a coalesced update within FlushEvery.
func (s *Service) scheduleFlush(ctx context.Context, id int64) {
	k := s.room(id)
	if ok, _ := s.Redis.SetNX(ctx, k.flush(), 1, FlushEvery).Result(); ok {
		s.Redis.ZAddLT(ctx, s.dueKey(), redis.Z{Score: float64(s.nowMS() + FlushEvery.Milliseconds()), Member: k.flushMember()})
	}
}

// FlushEvery is how often at most a room sends lobby or answer-count
// updates: joins and answers in between are coalesced into one message.
const FlushEvery = 250 * time.Millisecond
