package contest

// What makes a live room durable (issue #13): Redis runs the room and
// decides atomically (scripts in lua/), Postgres keeps what a rebuild
// needs —
//
//   - contest_players: a row per player, written when they join (with the
//     SHA-256 of their token), so their token works in a rebuilt room;
//   - contest_answers: a row per answer, committed (group commit) before
//     the player is told the answer counts;
//   - contest_runs: the room's state (phase, question, clock, epoch, seq …),
//     written on every transition (step → saveState);
//   - contest_kicks: the nicknames, tokens, accounts and devices of the
//     players the host removed (Kick), who stay out of a rebuilt room.
//
// A room whose Redis keys are gone (FLUSHALL, a restart without
// persistence) is rebuilt from these by the first instance that notices
// (ensure): a join or PIN lookup, a host command, a player's hello or
// answer, or the timer's sweep of the runs Postgres says are live.

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/redis/go-redis/v9"

	"github.com/kepu/kepu/internal/postgres"
)

// saveState writes a room's state (its hash m after a transition, and the
// seq of its last event) to contest_runs. A write never replaces a newer
// state (rev counts the room's transitions). The first transition out of
// the lobby marks the run playing.
func (s *Service) saveState(ctx context.Context, id, seq int64, m map[string]string) error {
	_, err := s.DB.Exec(ctx, `UPDATE contest_runs SET phase = $2, q = $3, opened_at = $4, deadline = $5, close_at = $6,
		due_at = $7, paused = $8, remaining = $9, paused_at = $10, locked = $11, epoch = $12, seq = $13, ver = $14,
		rev = $15, pids = $16, vtype = $17, view = $18,
		status = CASE WHEN status = 'lobby' AND $2 <> 'lobby' THEN 'playing' ELSE status END,
		started_at = CASE WHEN started_at IS NULL AND $2 <> 'lobby' THEN now() ELSE started_at END
		WHERE id = $1 AND rev < $15`,
		id, m["phase"], atoi(m["q"]), atoi64(m["opened_at"]), atoi64(m["deadline"]), atoi64(m["close_at"]),
		atoi64(m["due_at"]), m["paused"] == "1", atoi64(m["remaining"]), atoi64(m["paused_at"]), m["locked"] == "1",
		atoi64(m["epoch"]), seq, atoi64(m["ver"]), atoi64(m["rev"]), atoi(m["pids"]), m["vtype"], m["view"])
	if err != nil {
		return fmt.Errorf("contest: save state of room %d: %w", id, err)
	}
	return nil
}

// answerRow is one answer on its way to contest_answers.
type answerRow struct {
	Run     int64
	Player  int
	Q       int
	Choice  []int
	Correct bool
	Points  int
	MS      int64
}

func (a answerRecord) row(run int64, player, q int) answerRow {
	return answerRow{Run: run, Player: player, Q: q, Choice: a.Choice, Correct: a.Correct, Points: a.Points, MS: a.MS}
}

// intArray is the Postgres text form of an int[] ("{0,2}").
func intArray(c []int) string {
	parts := make([]string, len(c))
	for i, x := range c {
		parts[i] = strconv.Itoa(x)
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// execer is a pool or a transaction.
type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// insertAnswers writes answers to contest_answers in one statement; an
// answer already there stays as it is (ON CONFLICT DO NOTHING). It is the
// Flush of the answers' group commit (Service.answers) and what persist
// uses for the answers still missing at the podium.
//
// Rows go in (run, player, question) order: concurrent inserts of the same
// answers (the group commits of several instances, persist at the podium)
// then take their key locks in one order and cannot deadlock.
func insertAnswers(ctx context.Context, db execer, rows []answerRow) error {
	rows = slices.Clone(rows)
	slices.SortFunc(rows, func(a, b answerRow) int {
		return cmp.Or(cmp.Compare(a.Run, b.Run), cmp.Compare(a.Player, b.Player), cmp.Compare(a.Q, b.Q))
	})
	n := len(rows)
	runs, players, qs, points, elapsed := make([]int64, n), make([]int32, n), make([]int32, n), make([]int32, n), make([]int32, n)
	choices, correct := make([]string, n), make([]bool, n)
	for i, r := range rows {
		runs[i], players[i], qs[i], points[i] = r.Run, int32(r.Player), int32(r.Q), int32(r.Points)
		elapsed[i] = int32(min(r.MS, 1<<31-1))
		choices[i], correct[i] = intArray(r.Choice), r.Correct
	}
	_, err := db.Exec(ctx, `INSERT INTO contest_answers (run_id, player_id, position, choice, correct, points, elapsed_ms)
		SELECT r, p, q, c::int[], ok, pts, e
		FROM unnest($1::bigint[], $2::int[], $3::int[], $4::text[], $5::bool[], $6::int[], $7::int[]) AS t(r, p, q, c, ok, pts, e)
		ON CONFLICT DO NOTHING`, runs, players, qs, choices, correct, points, elapsed)
	if err != nil {
		return fmt.Errorf("contest: store %d answers: %w", n, err)
	}
	return nil
}

// savePlayer writes the row of a player who has just joined room id, able
// to answer from question fromQ on.
func (s *Service) savePlayer(ctx context.Context, id int64, p playerRec, device string, fromQ int64) error {
	_, err := s.DB.Exec(ctx, `INSERT INTO contest_players (run_id, player_id, nickname, user_id, class_id, team, token_hash, device, from_q)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (run_id, player_id) DO UPDATE SET nickname = excluded.nickname, user_id = excluded.user_id,
			class_id = excluded.class_id, team = excluded.team, token_hash = excluded.token_hash, device = excluded.device`,
		id, p.ID, p.Nick, nullID(p.UID), nullID(p.Class), p.Team, p.TH, device, fromQ)
	if err != nil {
		return fmt.Errorf("contest: store player of room %d: %w", id, err)
	}
	return nil
}

// flights makes the concurrent ensure calls of one instance for one room
// wait for one rebuild attempt.
type flights struct {
	mu sync.Mutex
	m  map[int64]*flight
}

type flight struct {
	done chan struct{}
	err  error
}

// ensure makes sure room id is in Redis: if its hash is gone but Postgres
// says the run is live (lobby or playing, younger than RoomTTL), the room
// is rebuilt from Postgres (rebuild). Returns errRoomGone for a run that
// is not live; other errors are internal (Redis or Postgres failing, or
// another instance's rebuild not finished in time).
func (s *Service) ensure(ctx context.Context, id int64) error {
	s.flights.mu.Lock()
	if f, ok := s.flights.m[id]; ok {
		s.flights.mu.Unlock()
		select {
		case <-f.done:
			return f.err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	f := &flight{done: make(chan struct{})}
	s.flights.m[id] = f
	s.flights.mu.Unlock()
	f.err = s.rebuildOnce(ctx, id)
	s.flights.mu.Lock()
	delete(s.flights.m, id)
	s.flights.mu.Unlock()
	close(f.done)
	return f.err
}

// RebuildLock is how long a rebuild may hold a room's lock
// (rdb.Keys.RoomRebuild); an instance that dies mid-rebuild lets another
// one try after it.
const RebuildLock = 30 * time.Second

// rebuildOnce rebuilds room id unless it is in Redis, under the room's
// rebuild lock: across instances one rebuilds, the others wait for the
// room to appear.
func (s *Service) rebuildOnce(ctx context.Context, id int64) error {
	k := s.room(id)
	lock := s.Keys.RoomRebuild(id)
	b := make([]byte, 16)
	rand.Read(b)
	token := hex.EncodeToString(b)
	for {
		n, err := s.Redis.Exists(ctx, k.hash()).Result()
		if err != nil {
			return fmt.Errorf("contest: room %d: %w", id, err)
		}
		if n == 1 {
			return nil
		}
		ok, err := s.Redis.SetNX(ctx, lock, token, RebuildLock).Result()
		if err != nil {
			return fmt.Errorf("contest: rebuild lock of room %d: %w", id, err)
		}
		if ok {
			break
		}
		// Another instance is rebuilding: wait for the room (or for its
		// lock to end without a room, then try ourselves).
		select {
		case <-ctx.Done():
			return fmt.Errorf("contest: wait for the rebuild of room %d: %w", id, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
	defer s.scripts.unlock.Run(context.WithoutCancel(ctx), s.Redis, []string{lock}, token)
	// The lock is ours; the room may have been rebuilt just before.
	if n, err := s.Redis.Exists(ctx, k.hash()).Result(); err != nil || n == 1 {
		if err != nil {
			return fmt.Errorf("contest: room %d: %w", id, err)
		}
		return nil
	}
	return s.rebuild(ctx, id)
}

// storedRun is a run's row as a rebuild reads it.
type storedRun struct {
	status, pin, title, settings, phase, vtype, view string
	host                                             int64
	questions                                        []byte
	ttlMS                                            int64
	q                                                int
	openedAt, deadline, closeAt, dueAt               int64
	paused, locked                                   bool
	remaining, pausedAt, epoch, seq, ver, rev        int64
	pids                                             int
}

// rebuild writes room id back to Redis from Postgres (the caller holds the
// room's rebuild lock): the room hash at the stored state with a new epoch
// (phones resync: docs/realtime.md), the players with their tokens, the
// answers with the scores, streaks and distributions they make, the PIN
// and the due item; then it emits "resync" (a transition: the new epoch is
// stored too). The game goes on from the stored phase: a question whose
// time ran out meanwhile closes at the next tick.
func (s *Service) rebuild(ctx context.Context, id int64) error {
	var r storedRun
	err := s.DB.QueryRow(ctx, `SELECT r.status, r.pin, c.title, r.settings::text, r.phase, r.vtype, r.view, r.host_id,
		coalesce(r.questions::text, ''), (extract(epoch FROM r.created_at - now()) * 1000)::bigint + $2,
		r.q, r.opened_at, r.deadline, r.close_at, r.due_at, r.paused, r.locked, r.remaining, r.paused_at,
		r.epoch, r.seq, r.ver, r.rev, r.pids
		FROM contest_runs r JOIN contests c ON c.id = r.contest_id WHERE r.id = $1`, id, s.RoomTTL.Milliseconds()).
		Scan(&r.status, &r.pin, &r.title, &r.settings, &r.phase, &r.vtype, &r.view, &r.host, &r.questions, &r.ttlMS,
			&r.q, &r.openedAt, &r.deadline, &r.closeAt, &r.dueAt, &r.paused, &r.locked, &r.remaining, &r.pausedAt,
			&r.epoch, &r.seq, &r.ver, &r.rev, &r.pids)
	if postgres.IsNotFound(err) {
		return errRoomGone
	}
	if err != nil {
		return fmt.Errorf("contest: rebuild room %d: %w", id, err)
	}
	if (r.status != "lobby" && r.status != "playing") || len(r.questions) == 0 || r.ttlMS <= 1000 {
		return errRoomGone
	}
	var qs []Question
	var set Settings
	if err := json.Unmarshal(r.questions, &qs); err != nil {
		return fmt.Errorf("contest: rebuild room %d questions: %w", id, err)
	}
	if err := json.Unmarshal([]byte(r.settings), &set); err != nil {
		return fmt.Errorf("contest: rebuild room %d settings: %w", id, err)
	}
	setJSON, _ := json.Marshal(set)

	// Players.
	k := s.room(id)
	type player struct {
		rec    playerRec
		device string
	}
	var players []player
	var p player
	rows, _ := s.DB.Query(ctx, `SELECT player_id, nickname, coalesce(user_id, 0), coalesce(class_id, 0), team,
		coalesce(token_hash, ''), device FROM contest_players WHERE run_id = $1 ORDER BY player_id`, id)
	if _, err := pgxForEach(rows, []any{&p.rec.ID, &p.rec.Nick, &p.rec.UID, &p.rec.Class, &p.rec.Team, &p.rec.TH, &p.device},
		func() { players = append(players, p) }); err != nil {
		return fmt.Errorf("contest: rebuild room %d players: %w", id, err)
	}
	pids := r.pids
	playerArgs, nickArgs, tokenArgs := []any{}, []any{}, []any{}
	devices, teams := map[string]int{}, map[string]int{}
	score := map[int]int{}
	for _, p := range players {
		rec, _ := json.Marshal(p.rec)
		playerArgs = append(playerArgs, p.rec.ID, string(rec))
		nickArgs = append(nickArgs, nickKey(p.rec.Nick), p.rec.ID)
		if p.rec.TH != "" {
			tokenArgs = append(tokenArgs, p.rec.TH, p.rec.ID)
		}
		if p.device != "" {
			devices["d:"+p.device]++
		}
		if p.rec.UID != 0 {
			devices["u:"+strconv.FormatInt(p.rec.UID, 10)]++
		}
		if p.rec.Team != 0 {
			teams[strconv.FormatInt(p.rec.Team, 10)]++
		}
		score[p.rec.ID] = 0
		pids = max(pids, p.rec.ID)
	}

	// Who the host removed: they stay out (join.lua, player.lua).
	kickArgs := []any{}
	var kickKey string
	var kickPlayer int
	rows, _ = s.DB.Query(ctx, `SELECT key, player_id FROM contest_kicks WHERE run_id = $1`, id)
	if _, err := pgxForEach(rows, []any{&kickKey, &kickPlayer}, func() { kickArgs = append(kickArgs, kickKey, kickPlayer) }); err != nil {
		return fmt.Errorf("contest: rebuild room %d kicks: %w", id, err)
	}

	// Answers, and what they make: scores, corrects, streaks,
	// distributions, the scores before the current question.
	type answer struct {
		player, q int
		rec       answerRecord
	}
	var answers []answer
	var a answer
	var choice []int32
	rows, _ = s.DB.Query(ctx, `SELECT player_id, position, choice, correct, points, elapsed_ms
		FROM contest_answers WHERE run_id = $1 ORDER BY position, player_id`, id)
	if _, err := pgxForEach(rows, []any{&a.player, &a.q, &choice, &a.rec.Correct, &a.rec.Points, &a.rec.MS}, func() {
		a.rec.Choice = make([]int, len(choice))
		for i, c := range choice {
			a.rec.Choice[i] = int(c)
		}
		answers = append(answers, a)
	}); err != nil {
		return fmt.Errorf("contest: rebuild room %d answers: %w", id, err)
	}
	ansArgs := map[int][]any{}
	dist := map[int]map[string]int{}
	correct := map[int]int{}
	byQ := map[int]map[int]answerRecord{}
	curPoints := map[int]int{}
	for _, a := range answers {
		if _, ok := score[a.player]; !ok || a.q < 0 || a.q >= len(qs) {
			continue // a removed player's, or not a question of the run
		}
		rec, _ := json.Marshal(a.rec)
		ansArgs[a.q] = append(ansArgs[a.q], a.player, string(rec))
		if dist[a.q] == nil {
			dist[a.q] = map[string]int{}
			byQ[a.q] = map[int]answerRecord{}
		}
		for _, c := range a.rec.Choice {
			dist[a.q][strconv.Itoa(c)]++
		}
		byQ[a.q][a.player] = a.rec
		score[a.player] += a.rec.Points
		if a.rec.Correct {
			correct[a.player]++
		}
		if a.q == r.q {
			curPoints[a.player] += a.rec.Points
		}
	}
	// Streaks as answer.lua and reveal made them: a correct answer adds
	// one, a wrong one ends the streak, and so does no answer to a
	// question that was revealed; practice questions leave it alone.
	revealed := r.q - 1
	if r.phase == PhaseReveal || r.phase == PhaseBoard || r.phase == PhaseFinished {
		revealed = r.q
	}
	streakArgs := []any{}
	for _, p := range players {
		n := 0
		for q := 0; q <= r.q && q < len(qs); q++ {
			if qs[q].Practice {
				continue
			}
			if rec, ok := byQ[q][p.rec.ID]; ok {
				if rec.Correct {
					n++
				} else {
					n = 0
				}
			} else if q <= revealed {
				n = 0
			}
		}
		streakArgs = append(streakArgs, p.rec.ID, n)
	}

	now := s.nowMS()
	epoch := max(now, r.epoch+1)
	late, locked, paused := "0", "0", "0"
	if set.LateJoin {
		late = "1"
	}
	if r.locked {
		locked = "1"
	}
	if r.paused {
		paused = "1"
	}
	ttl := time.Duration(r.ttlMS) * time.Millisecond
	qJSON, _ := json.Marshal(qs)
	_, err = s.Redis.TxPipelined(ctx, func(pl redis.Pipeliner) error {
		pl.Del(ctx, k.all(len(qs))...)
		pl.HSet(ctx, k.hash(), "phase", r.phase, "q", r.q, "nq", len(qs), "ver", r.ver+100, "rev", r.rev,
			"epoch", epoch, "host", r.host, "title", r.title, "pin", r.pin, "settings", string(setJSON), "late", late,
			"locked", locked, "answered", len(byQ[r.q]), "pids", pids, "opened_at", r.openedAt, "deadline", r.deadline,
			"close_at", r.closeAt, "due_at", r.dueAt, "paused", paused, "remaining", r.remaining, "paused_at", r.pausedAt,
			"vtype", r.vtype, "view", r.view)
		pl.Set(ctx, k.seq(), r.seq+EventsKept, ttl)
		pl.Set(ctx, k.questions(), qJSON, ttl)
		if len(playerArgs) > 0 {
			pl.HSet(ctx, k.players(), playerArgs...)
			pl.HSet(ctx, k.nicks(), nickArgs...)
			pl.HSet(ctx, k.streak(), streakArgs...)
			zs := make([]redis.Z, 0, len(score))
			prev := make([]redis.Z, 0, len(score))
			for pid, sc := range score {
				zs = append(zs, redis.Z{Score: float64(sc), Member: pid})
				prev = append(prev, redis.Z{Score: float64(sc - curPoints[pid]), Member: pid})
			}
			pl.ZAdd(ctx, k.scores(), zs...)
			if r.q >= 0 {
				pl.ZAdd(ctx, k.prev(), prev...)
			}
		}
		if len(tokenArgs) > 0 {
			pl.HSet(ctx, k.tokens(), tokenArgs...)
		}
		if len(kickArgs) > 0 {
			pl.HSet(ctx, k.kicked(), kickArgs...)
		}
		for key, n := range devices {
			pl.HSet(ctx, k.devices(), key, n)
		}
		for team, n := range teams {
			pl.HSet(ctx, k.teamSize(), team, n)
		}
		if len(correct) > 0 {
			args := []any{}
			for pid, n := range correct {
				args = append(args, pid, n)
			}
			pl.HSet(ctx, k.correct(), args...)
		}
		for q, args := range ansArgs {
			pl.HSet(ctx, k.answers(q), args...)
			d := []any{}
			for opt, n := range dist[q] {
				d = append(d, opt, n)
			}
			pl.HSet(ctx, k.dist(q), d...)
		}
		for _, key := range k.all(len(qs)) {
			pl.PExpire(ctx, key, ttl)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("contest: rebuild room %d: %w", id, err)
	}
	s.rooms.drop(id)
	s.cache.put(id, qs)
	// The PIN, unless another room took it meanwhile (CreateRun avoids the
	// PINs of live runs, so only a run older than this code could).
	if ok, err := s.Redis.SetNX(ctx, s.pinKey(r.pin), id, ttl).Result(); err != nil {
		return fmt.Errorf("contest: rebuild room %d pin: %w", id, err)
	} else if !ok {
		if v, _ := s.Redis.Get(ctx, s.pinKey(r.pin)).Result(); v == "0" {
			s.Redis.Set(ctx, s.pinKey(r.pin), id, ttl)
		}
	}
	due := ""
	if !r.paused {
		switch r.phase {
		case PhaseQuestion:
			due = ms(r.closeAt)
		case PhaseClosed, PhaseFinished:
			due = ms(now)
		case PhaseReveal, PhaseBoard:
			if r.dueAt > 0 {
				due = ms(r.dueAt)
			}
		}
	}
	if err := s.schedule(ctx, id, due); err != nil {
		return err
	}
	s.RoomRebuilds.Inc()
	log := s.Log
	if log == nil {
		log = slog.Default()
	}
	log.Warn("contest: room rebuilt from Postgres (Redis had lost it)", "room", id, "phase", r.phase, "q", r.q,
		"players", len(players), "answers", len(answers), "epoch", epoch)
	// A transition with the new epoch: connected phones and hosts see an
	// event of another epoch and resync (contest_live.js).
	if _, err := s.step(ctx, id, "", "", "resync", map[string]int64{"epoch": epoch}); err != nil {
		return err
	}
	return nil
}

// SweepEvery is how often the timer loop (Tick) checks the runs Postgres
// says are live against Redis: a lost room is rebuilt, a lost due item is
// added again.
const SweepEvery = 2 * time.Second

// sweep rebuilds the live runs whose room Redis lost and re-seeds the due
// set from their stored state (ZADD NX: an item that is there keeps its
// time; due() re-checks the room anyway).
func (s *Service) sweep(ctx context.Context) error {
	type live struct {
		id             int64
		phase          string
		paused         bool
		closeAt, dueAt int64
		exists         *redis.IntCmd
	}
	var runs []live
	var l live
	rows, _ := s.DB.Query(ctx, `SELECT id, phase, paused, close_at, due_at FROM contest_runs
		WHERE status IN ('lobby', 'playing') AND questions IS NOT NULL AND created_at > now() - make_interval(secs => $1)`,
		s.RoomTTL.Seconds())
	if _, err := pgxForEach(rows, []any{&l.id, &l.phase, &l.paused, &l.closeAt, &l.dueAt}, func() { runs = append(runs, l) }); err != nil {
		return fmt.Errorf("contest: sweep: %w", err)
	}
	if len(runs) == 0 {
		return nil
	}
	pl := s.Redis.Pipeline()
	for i := range runs {
		runs[i].exists = pl.Exists(ctx, s.room(runs[i].id).hash())
	}
	if _, err := pl.Exec(ctx); err != nil {
		return fmt.Errorf("contest: sweep: %w", err)
	}
	var errs []error
	var due []redis.Z
	for _, r := range runs {
		if r.exists.Val() == 0 {
			if err := s.ensure(ctx, r.id); err != nil && !errors.Is(err, errRoomGone) {
				errs = append(errs, err)
			}
			continue
		}
		at := r.dueAt
		if r.phase == PhaseQuestion {
			at = r.closeAt
		}
		if !r.paused && at > 0 && slices.Contains([]string{PhaseQuestion, PhaseClosed, PhaseReveal, PhaseBoard, PhaseFinished}, r.phase) {
			due = append(due, redis.Z{Score: float64(at), Member: s.room(r.id).roundMember()})
		}
	}
	if len(due) > 0 {
		if err := s.Redis.ZAddNX(ctx, s.dueKey(), due...).Err(); err != nil {
			errs = append(errs, fmt.Errorf("contest: sweep: %w", err))
		}
	}
	return errors.Join(errs...)
}
