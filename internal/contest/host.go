package contest

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/kepu/kepu/internal/kepu"
	"github.com/kepu/kepu/internal/postgres"
)

// Host actions. Each checks that the actor hosts the room, then runs one
// transition; errBusy (409) means another transition won the race.

// Next moves the room on: start the game from the lobby, close the open
// question (skip), reveal, show the board, open the next question or
// finish after the last. from, when not empty, is the phase the host saw:
// if the room has moved on meanwhile (a double click, another screen),
// Next refuses with 409 rather than skip a step.
func (s *Service) Next(ctx context.Context, a kepu.Actor, runID int64, from string) error {
	st, err := s.hostRoom(ctx, a, runID)
	if err != nil {
		return err
	}
	if st.Paused || (from != "" && from != st.Phase) {
		return errPhase
	}
	return s.advance(ctx, st)
}

// End finishes the game now: the podium shows the standings so far.
func (s *Service) End(ctx context.Context, a kepu.Actor, runID int64) error {
	st, err := s.hostRoom(ctx, a, runID)
	if err != nil {
		return err
	}
	if st.Phase == PhaseFinished {
		return errPhase
	}
	if st.Phase == PhaseLobby {
		st.Q = -1
	}
	return s.finish(ctx, st)
}

type pausedData struct {
	Paused      bool   `json:"paused"`
	Phase       string `json:"phase"`
	RemainingMS int64  `json:"remaining_ms"`
}

// Pause stops the clock of the open question (or of an auto-advancing
// reveal or board). Answers are refused while paused.
func (s *Service) Pause(ctx context.Context, a kepu.Actor, runID int64) error {
	st, err := s.hostRoom(ctx, a, runID)
	if err != nil {
		return err
	}
	if st.Paused || (st.Phase != PhaseQuestion && st.Phase != PhaseReveal && st.Phase != PhaseBoard) {
		return errPhase
	}
	now := s.nowMS()
	var remaining int64
	if st.Phase == PhaseQuestion {
		remaining = max(0, st.Deadline-now)
	} else if st.DueAt > 0 {
		remaining = max(0, st.DueAt-now)
	}
	_, err = s.step(ctx, runID, st.Ver, "-", "paused", pausedData{Paused: true, Phase: st.Phase, RemainingMS: remaining},
		"paused", 1, "remaining", remaining, "paused_at", now)
	return err
}

// Resume restarts a paused clock where it stopped.
func (s *Service) Resume(ctx context.Context, a kepu.Actor, runID int64) error {
	st, err := s.hostRoom(ctx, a, runID)
	if err != nil {
		return err
	}
	if !st.Paused {
		return errPhase
	}
	now := s.nowMS()
	d := pausedData{Paused: false, Phase: st.Phase, RemainingMS: st.Remaining}
	if st.Phase == PhaseQuestion {
		deadline := now + st.Remaining
		closeAt := deadline + s.Grace.Milliseconds()
		_, err = s.step(ctx, runID, st.Ver, ms(closeAt), "resumed", d, "paused", 0, "deadline", deadline,
			"close_at", closeAt, "due_at", closeAt, "opened_at", st.OpenedAt+(now-st.PausedAt))
		return err
	}
	due, dueAt := "-", int64(0)
	if st.DueAt > 0 {
		dueAt = now + st.Remaining
		due = ms(dueAt)
	}
	_, err = s.step(ctx, runID, st.Ver, due, "resumed", d, "paused", 0, "due_at", dueAt)
	return err
}

// Lock closes (or reopens) the room to new players.
func (s *Service) Lock(ctx context.Context, a kepu.Actor, runID int64, locked bool) error {
	if _, err := s.hostRoom(ctx, a, runID); err != nil {
		return err
	}
	v := 0
	if locked {
		v = 1
	}
	if _, err := s.step(ctx, runID, "", "", "locked", map[string]bool{"locked": locked}, "locked", v); err != nil {
		return err
	}
	s.scheduleFlush(ctx, runID)
	return nil
}

// Kick removes a player: their token stops working and they leave the
// ranking. They stay out of this run: a join from their device or account,
// or with their nickname, is refused (ErrKicked), and so is their token,
// also in a room rebuilt from Postgres (contest_kicks).
func (s *Service) Kick(ctx context.Context, a kepu.Actor, runID int64, playerID int) error {
	if _, err := s.hostRoom(ctx, a, runID); err != nil {
		return err
	}
	k := s.room(runID)
	pid := strconv.Itoa(playerID)
	v, err := s.Redis.HGet(ctx, k.players(), pid).Result()
	if err == redis.Nil {
		return kepu.NotFound("error.contest_player_not_found")
	}
	if err != nil {
		return fmt.Errorf("contest: kick: %w", err)
	}
	var p playerRec
	json.Unmarshal([]byte(v), &p)
	keys := kickKeys(p, "")
	// Postgres first: a rebuilt room must not bring the player back, and
	// must keep them out.
	if err := postgres.Tx(ctx, s.DB, func(tx pgx.Tx) error {
		var device string
		err := tx.QueryRow(ctx, `DELETE FROM contest_players WHERE run_id = $1 AND player_id = $2 RETURNING device`,
			runID, playerID).Scan(&device)
		if err != nil && !postgres.IsNotFound(err) {
			return err
		}
		keys = kickKeys(p, device)
		if _, err := tx.Exec(ctx, `INSERT INTO contest_kicks (run_id, key, player_id) SELECT $1, unnest($2::text[]), $3
			ON CONFLICT (run_id, key) DO NOTHING`, runID, keys, playerID); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `DELETE FROM contest_answers WHERE run_id = $1 AND player_id = $2`, runID, playerID)
		return err
	}); err != nil {
		return fmt.Errorf("contest: kick: %w", err)
	}
	ttl, err := s.Redis.PTTL(ctx, k.hash()).Result()
	if err != nil {
		return fmt.Errorf("contest: kick: %w", err)
	}
	_, err = s.Redis.TxPipelined(ctx, func(pl redis.Pipeliner) error {
		pl.HDel(ctx, k.players(), pid)
		pl.HDel(ctx, k.nicks(), nickKey(p.Nick))
		pl.HDel(ctx, k.tokens(), p.TH)
		pl.ZRem(ctx, k.scores(), pid)
		pl.ZRem(ctx, k.prev(), pid)
		for _, key := range keys {
			pl.HSet(ctx, k.kicked(), key, playerID)
		}
		if ttl > 0 { // the key lives as long as the room
			pl.PExpire(ctx, k.kicked(), ttl)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("contest: kick: %w", err)
	}
	if _, err := s.step(ctx, runID, "", "", "kicked", map[string]int{"id": playerID}); err != nil {
		return err
	}
	// If everyone left has answered, the round may close now.
	s.Redis.ZAddLT(ctx, s.dueKey(), redis.Z{Score: float64(s.nowMS()), Member: k.roundMember()})
	s.scheduleFlush(ctx, runID)
	return nil
}

// kickKeys are the keys that keep a removed player out of the room
// (join.lua, player.lua): their nickname, token, account and device.
func kickKeys(p playerRec, device string) []string {
	keys := []string{"n:" + nickKey(p.Nick), "t:" + p.TH}
	if p.UID != 0 {
		keys = append(keys, "u:"+strconv.FormatInt(p.UID, 10))
	}
	if device != "" {
		keys = append(keys, "d:"+device)
	}
	return keys
}

// persist writes a finished room's results to Postgres, once: any answer
// whose row is still missing (its commit failed and the player did not
// retry), then the players' score, correct answers and rank as the stored
// answers make them; then the run is finished. A second call (another instance retrying) finds the run
// finished and stops.
func (s *Service) persist(ctx context.Context, st *state) error {
	rank, players, err := s.ranking(ctx, st.ID)
	if err != nil {
		return err
	}
	k := s.room(st.ID)
	var answers []answerRow
	for q := 0; q <= st.Q && q < st.NQ; q++ {
		m, err := s.Redis.HGetAll(ctx, k.answers(q)).Result()
		if err != nil {
			return fmt.Errorf("contest: persist answers: %w", err)
		}
		for pid, v := range m {
			var a answerRecord
			if _, ok := players[atoi(pid)]; ok && json.Unmarshal([]byte(v), &a) == nil {
				answers = append(answers, a.row(st.ID, atoi(pid), q))
			}
		}
	}
	err = postgres.Tx(ctx, s.DB, func(tx pgx.Tx) error {
		var status string
		if err := tx.QueryRow(ctx, `SELECT status FROM contest_runs WHERE id = $1 FOR UPDATE`, st.ID).Scan(&status); err != nil {
			return err
		}
		if status == "finished" {
			return nil
		}
		n := len(rank)
		ids, uids, classes, teams := make([]int32, n), make([]int64, n), make([]int64, n), make([]int64, n)
		nicks, ths := make([]string, n), make([]string, n)
		for i, r := range rank {
			p := players[r.ID]
			ids[i], nicks[i], uids[i], classes[i], teams[i], ths[i] = int32(r.ID), p.Nick, p.UID, p.Class, p.Team, p.TH
		}
		// Every player has a row since they joined; one is written here
		// only if that insert was lost with a room rebuilt meanwhile.
		if _, err := tx.Exec(ctx, `INSERT INTO contest_players (run_id, player_id, nickname, user_id, class_id, team, token_hash)
			SELECT $1, id, nick, nullif(uid, 0), nullif(cls, 0), team, th
			FROM unnest($2::int[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[], $7::text[]) AS t(id, nick, uid, cls, team, th)
			ON CONFLICT (run_id, player_id) DO NOTHING`, st.ID, ids, nicks, uids, classes, teams, ths); err != nil {
			return fmt.Errorf("players: %w", err)
		}
		// Players removed from the room (kicked) leave the results.
		if _, err := tx.Exec(ctx, `DELETE FROM contest_players WHERE run_id = $1 AND player_id <> ALL($2)`, st.ID, ids); err != nil {
			return fmt.Errorf("players: %w", err)
		}
		if len(answers) > 0 {
			if err := insertAnswers(ctx, tx, answers); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `DELETE FROM contest_answers a WHERE a.run_id = $1 AND NOT EXISTS
			(SELECT 1 FROM contest_players p WHERE p.run_id = a.run_id AND p.player_id = a.player_id)`, st.ID); err != nil {
			return fmt.Errorf("answers: %w", err)
		}
		// Score, correct answers and rank from the stored answers (the
		// podium's ranking, which Redis made from the same answers; ties:
		// the lower player number first).
		if _, err := tx.Exec(ctx, `WITH t AS (
				SELECT p.player_id, coalesce(sum(a.points), 0) AS score, count(a.player_id) FILTER (WHERE a.correct) AS correct
				FROM contest_players p LEFT JOIN contest_answers a ON a.run_id = p.run_id AND a.player_id = p.player_id
				WHERE p.run_id = $1 GROUP BY p.player_id),
			r AS (SELECT player_id, score, correct, row_number() OVER (ORDER BY score DESC, player_id) AS rank FROM t)
			UPDATE contest_players p SET score = r.score, correct = r.correct, rank = r.rank
			FROM r WHERE p.run_id = $1 AND p.player_id = r.player_id`, st.ID); err != nil {
			return fmt.Errorf("ranking: %w", err)
		}
		_, err := tx.Exec(ctx, `UPDATE contest_runs SET status = 'finished', ended_at = now(),
			started_at = coalesce(started_at, now()) WHERE id = $1`, st.ID)
		return err
	})
	if err != nil {
		return fmt.Errorf("contest: persist %d: %w", st.ID, err)
	}
	if _, err := s.step(ctx, st.ID, "", "-", "", nil, "persisted", 1); err != nil {
		return err
	}
	// A finished room stays a while for players who reconnect to see the
	// podium; its PIN stops working at once.
	pl := s.Redis.Pipeline()
	for _, key := range k.all(st.NQ) {
		pl.Expire(ctx, key, FinishedTTL)
	}
	pl.Del(ctx, s.pinKey(st.PIN))
	if _, err := pl.Exec(ctx); err != nil {
		return fmt.Errorf("contest: expire room: %w", err)
	}
	return nil
}

// FinishedTTL is how long a finished room stays in Redis.
const FinishedTTL = 30 * time.Minute

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}
