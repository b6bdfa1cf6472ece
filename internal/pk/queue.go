package pk

// Matchmaking across instances. A waiter is a member of a Redis sorted
// set per match size and language (rdb.Keys.PKQueue, by enqueue time) with
// their practice level beside it (PKLevels). claim.lua, in one atomic
// step, adds a waiter and pops a group of 2 or 4 compatible waiters: levels
// within a band that widens the longer they wait. Whichever instance pops
// a group creates the match in Postgres and announces it to each person
// (PKFound, then a message on their PKUserChannel), so a waiter whose
// socket is on another instance learns their match at once, or at their
// next poll if the message was lost. Every waiting socket polls (Wait)
// about once a second: that both re-adds a waiter the queue lost (Redis
// restarted) and lets widened bands match people already waiting.

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

//go:embed lua/claim.lua
var claimLua string

var claimScript = redis.NewScript(claimLua)

// Matchmaking bands: levels may differ by BandBase at once, and by
// BandPerMinute more for every minute of waiting.
const (
	BandBase      = 1
	BandPerMinute = 6
	claimAnchors  = 16
	claimScan     = 64
	foundTTL      = 2 * time.Minute
	// staleWaiter: a waiter who has not polled this long is gone (their
	// socket's instance died) and is dropped from the queue.
	staleWaiter = 5 * time.Second
)

// Wait puts who, of practice level level (LevelOf, read once when they
// start waiting), in the queue of mode (if not there yet) and tries to
// form a match. It returns the match who is in (0: still waiting): one
// found for them by any instance, or the one this call formed.
func (s *Service) Wait(ctx context.Context, who Who, mode, level int) (int64, error) {
	if !ValidMode(mode) {
		return 0, ErrBadMode
	}
	if id, err := s.found(ctx, who.UserID); err != nil || id != 0 {
		if err != nil {
			return 0, err
		}
		// A match announced to an earlier wait that ended first (the
		// socket closed) may be over by now: only a live one counts.
		if act, err := s.Active(ctx, who.UserID); err != nil || act == id {
			return act, err
		}
	}
	return s.claim(ctx, mode, who.Lang, strconv.FormatInt(who.UserID, 10), level, who.UserID)
}

// LevelOf returns userID's practice level (Levels).
func (s *Service) LevelOf(ctx context.Context, userID int64) (int, error) {
	level, err := s.Levels.LevelOf(ctx, userID)
	if err != nil {
		return 0, fmt.Errorf("pk: level: %w", err)
	}
	return level, nil
}

// claim runs claim.lua (adding user unless it is "") and makes the match
// of the group it pops; it returns that match if self is in it.
func (s *Service) claim(ctx context.Context, mode int, lang, user string, level int, self int64) (int64, error) {
	qk, lk := s.Keys.PKQueue(mode, lang), s.Keys.PKLevels(mode, lang)
	res, err := claimScript.Run(ctx, s.Redis, []string{qk, lk},
		user, level, s.nowMS(), mode, BandBase, BandPerMinute, claimAnchors, claimScan, staleWaiter.Milliseconds()).StringSlice()
	if err != nil {
		return 0, fmt.Errorf("pk: claim: %w", err)
	}
	if len(res) == 0 {
		return 0, nil
	}
	seats := make([]seatIn, 0, mode)
	var back []redis.Z
	in := false
	for i := 0; i+2 < len(res); i += 3 {
		uid, _ := strconv.ParseInt(res[i], 10, 64)
		lvl, _ := strconv.Atoi(res[i+1])
		at, _ := strconv.ParseFloat(res[i+2], 64)
		seats = append(seats, seatIn{who: Who{UserID: uid, Lang: lang}, level: lvl})
		back = append(back, redis.Z{Score: at, Member: res[i]})
		in = in || uid == self
	}
	id, err := s.create(ctx, mode, lang, seats, "", 0)
	if err != nil {
		// Put them back where they stood, so nobody waits longer for it.
		pipe := s.Redis.TxPipeline()
		pipe.ZAddNX(ctx, qk, back...)
		for _, st := range seats {
			pipe.HSet(ctx, lk, strconv.FormatInt(st.who.UserID, 10), fmt.Sprintf("%d:%d", st.level, s.nowMS()))
		}
		if _, perr := pipe.Exec(ctx); perr != nil {
			s.log().Warn("pk: requeue", "err", perr)
		}
		return 0, err
	}
	s.announce(ctx, id, seats)
	if in {
		return id, nil
	}
	return 0, nil
}

// announce tells each person of a new match about it, wherever their
// socket is: PKFound (read by their next poll) and their user channel.
func (s *Service) announce(ctx context.Context, id int64, seats []seatIn) {
	msg := strconv.FormatInt(id, 10)
	pipe := s.Redis.Pipeline()
	for _, st := range seats {
		if st.bot {
			continue
		}
		pipe.Set(ctx, s.Keys.PKFound(st.who.UserID), msg, foundTTL)
		pipe.Publish(ctx, s.Keys.PKUserChannel(st.who.UserID), msg)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		s.log().Warn("pk: announce", "match", id, "err", err)
	}
}

// found returns (and forgets) the match another instance found for userID.
func (s *Service) found(ctx context.Context, userID int64) (int64, error) {
	v, err := s.Redis.GetDel(ctx, s.Keys.PKFound(userID)).Result()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("pk: found: %w", err)
	}
	id, _ := strconv.ParseInt(v, 10, 64)
	return id, nil
}

// Leave takes userID out of the queue of mode and lang. It returns the
// match they were put in meanwhile, if any (0: none).
func (s *Service) Leave(ctx context.Context, userID int64, mode int, lang string) (int64, error) {
	u := strconv.FormatInt(userID, 10)
	pipe := s.Redis.TxPipeline()
	pipe.ZRem(ctx, s.Keys.PKQueue(mode, lang), u)
	pipe.HDel(ctx, s.Keys.PKLevels(mode, lang), u)
	if _, err := pipe.Exec(ctx); err != nil {
		return 0, fmt.Errorf("pk: leave queue: %w", err)
	}
	return s.found(ctx, userID)
}

// PlayBot takes who out of the queue and starts a match of mode against
// practice bots (one, or three for a 4-player match), clearly marked as
// bots. If a match was found for who meanwhile, it returns that one.
func (s *Service) PlayBot(ctx context.Context, who Who, mode int) (int64, error) {
	if !ValidMode(mode) {
		return 0, ErrBadMode
	}
	if id, err := s.Leave(ctx, who.UserID, mode, who.Lang); err != nil || id != 0 {
		return id, err
	}
	level, err := s.Levels.LevelOf(ctx, who.UserID)
	if err != nil {
		return 0, fmt.Errorf("pk: level: %w", err)
	}
	seats := []seatIn{{who: who, level: level}}
	for range mode - 1 {
		seats = append(seats, seatIn{bot: true, level: level})
	}
	return s.create(ctx, mode, who.Lang, seats, "", who.UserID)
}
