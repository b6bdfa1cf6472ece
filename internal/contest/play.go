package contest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/kepu/kepu/internal/kepu"
	"github.com/kepu/kepu/internal/postgres"
	"github.com/kepu/kepu/internal/scoring"
)

// DefaultMaxPlayers is the room size of NewService (Service.MaxPlayers).
const DefaultMaxPlayers = 20000

// JoinInput is a join request: the PIN and nickname typed, and what the
// server knows of the joiner — the logged-in user if any (with their class
// and roster nickname) and a hash of their device cookie.
//
// Team is accepted for old clients and ignored: in team mode a pupil of
// one of the contest's classes plays for their class, anyone else is put
// in the team with the fewest members.
type JoinInput struct {
	PIN        string `json:"pin"`
	Nickname   string `json:"nickname"`
	Team       int64  `json:"team"`
	UserID     int64  `json:"-"`
	ClassID    int64  `json:"-"`
	RosterNick string `json:"-"` // the logged-in user's nickname
	Device     string `json:"-"` // hash of the device cookie ("" none)
}

// MaxPerDevice is how many players one device (cookie) or one account may
// join into one room: a phone shared by two pupils is fine, a script
// filling the room is not.
const MaxPerDevice = 2

// Joined is what a new player keeps: the token proves who they are when
// they (re)connect.
type Joined struct {
	Room     int64  `json:"room"`
	Player   int    `json:"player"`
	Nickname string `json:"nickname"`
	Token    string `json:"token"`
	Epoch    int64  `json:"epoch"`
}

// ErrWrongPIN is returned for a PIN no live room holds.
var ErrWrongPIN = kepu.NotFound("error.contest_pin")

// ValidPIN reports whether s looks like a PIN (six digits).
func ValidPIN(s string) bool {
	if len(s) != 6 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// RoomOfPIN returns the run id of a live PIN. A PIN Redis does not know
// is looked up among the live runs in Postgres, and its room rebuilt if
// Redis lost it (ensure).
func (s *Service) RoomOfPIN(ctx context.Context, pin string) (int64, error) {
	if !ValidPIN(pin) {
		return 0, ErrWrongPIN
	}
	v, err := s.Redis.Get(ctx, s.pinKey(pin)).Result()
	if err == nil && v != "0" {
		return atoi64(v), nil
	}
	if err != nil && !errors.Is(err, redis.Nil) {
		return 0, fmt.Errorf("contest: pin: %w", err)
	}
	var id int64
	err = s.DB.QueryRow(ctx, `SELECT id FROM contest_runs WHERE pin = $1 AND status IN ('lobby', 'playing')
		AND questions IS NOT NULL AND created_at > now() - make_interval(secs => $2) ORDER BY id DESC LIMIT 1`,
		pin, s.RoomTTL.Seconds()).Scan(&id)
	if postgres.IsNotFound(err) {
		return 0, ErrWrongPIN
	}
	if err != nil {
		return 0, fmt.Errorf("contest: pin: %w", err)
	}
	if err := s.ensure(ctx, id); err != nil {
		if errors.Is(err, errRoomGone) {
			return 0, ErrWrongPIN
		}
		return 0, err
	}
	return id, nil
}

// Teams returns the teams of a live room in team mode (nil otherwise).
func (s *Service) Teams(ctx context.Context, id int64) ([]TeamStanding, error) {
	st, err := s.load(ctx, id)
	if err != nil {
		return nil, err
	}
	if st == nil {
		return nil, errRoomGone
	}
	return s.teams(ctx, st, nil), nil
}

func hashToken(t string) string {
	h := sha256.Sum256([]byte(t))
	return hex.EncodeToString(h[:])
}

// Join adds a player to the room of in.PIN.
func (s *Service) Join(ctx context.Context, in JoinInput) (Joined, error) {
	id, _, err := s.pinRoom(ctx, in.PIN)
	if err != nil {
		return Joined{}, err
	}
	b := make([]byte, 24)
	rand.Read(b)
	token := base64.RawURLEncoding.EncodeToString(b)
	j, err := s.join(ctx, id, in, token)
	if !errors.Is(err, ErrWrongPIN) {
		return j, err
	}
	// The PIN may belong to a newer room than this instance knew, or the
	// room may be gone from Redis (then it is rebuilt): look again, once.
	s.pins.drop(in.PIN)
	s.rooms.drop(id)
	if err := s.ensure(ctx, id); err != nil && !errors.Is(err, errRoomGone) {
		return Joined{}, err
	}
	if id, _, err = s.pinRoom(ctx, in.PIN); err != nil {
		return Joined{}, err
	}
	return s.join(ctx, id, in, token)
}

// pinRoom returns the room of a PIN, from this instance's memory when it
// knows it (cached: join.lua checks that the room still has this PIN).
func (s *Service) pinRoom(ctx context.Context, pin string) (id int64, cached bool, err error) {
	if id, ok := s.pins.get(pin); ok {
		return id, true, nil
	}
	if id, err = s.RoomOfPIN(ctx, pin); err != nil {
		return 0, false, err
	}
	s.pins.put(pin, id)
	return id, false, nil
}

// roomInfo returns a room's epoch and settings (fixed while it lives).
func (s *Service) roomInfo(ctx context.Context, id int64) (roomInfo, error) {
	if ri, ok := s.rooms.get(id); ok {
		return ri, nil
	}
	r, err := s.Redis.HMGet(ctx, s.room(id).hash(), "epoch", "settings").Result()
	if err != nil {
		return roomInfo{}, fmt.Errorf("contest: room %d: %w", id, err)
	}
	epoch, _ := r[0].(string)
	set, _ := r[1].(string)
	if epoch == "" {
		return roomInfo{}, errRoomGone
	}
	ri := roomInfo{Epoch: atoi64(epoch)}
	if err := json.Unmarshal([]byte(set), &ri.Settings); err != nil {
		return roomInfo{}, fmt.Errorf("contest: room %d settings: %w", id, err)
	}
	s.rooms.put(id, ri)
	return ri, nil
}

// join adds the player to room id (join.lua checks the PIN, the phase,
// the lock, the nickname and the room size).
func (s *Service) join(ctx context.Context, id int64, in JoinInput, token string) (Joined, error) {
	ri, err := s.roomInfo(ctx, id)
	if errors.Is(err, errRoomGone) {
		return Joined{}, ErrWrongPIN
	}
	if err != nil {
		return Joined{}, err
	}
	onRoster := in.UserID != 0 && in.ClassID != 0 && slices.Contains(ri.Settings.ClassIDs, in.ClassID)
	typed := in.Nickname
	if ri.Settings.RosterOnly {
		if !onRoster {
			return Joined{}, kepu.Errorf(kepu.EFORBIDDEN, "error.contest_roster_only")
		}
		typed = in.RosterNick // the name the teacher gave the pupil
	}
	if len(ri.Settings.Invited) > 0 { // a final: invited accounts only, under their own name
		if in.UserID == 0 || !slices.Contains(ri.Settings.Invited, in.UserID) {
			return Joined{}, kepu.Errorf(kepu.EFORBIDDEN, "reach.error.invited_only")
		}
		typed = in.RosterNick
	}
	nick, err := CleanNick(typed)
	if err != nil {
		return Joined{}, err
	}
	p := playerRec{Nick: nick, UID: in.UserID, Class: in.ClassID}
	balance := ""
	if ri.Settings.TeamMode {
		if onRoster {
			p.Team = in.ClassID
		} else {
			p.Team = -1 // join.lua assigns the smallest team
			ids := make([]string, len(ri.Settings.ClassIDs))
			for i, c := range ri.Settings.ClassIDs {
				ids[i] = strconv.FormatInt(c, 10)
			}
			balance = strings.Join(ids, ",")
		}
	}
	var devs []any
	if in.Device != "" {
		devs = append(devs, "d:"+in.Device)
	}
	if in.UserID != 0 {
		devs = append(devs, "u:"+strconv.FormatInt(in.UserID, 10))
	}
	p.TH = hashToken(token)
	rec, _ := json.Marshal(p)
	k := s.room(id)
	args := append([]any{s.Channel(id), EventsKept, nickKey(nick), p.TH, string(rec), FlushEvery.Milliseconds(),
		s.MaxPlayers, in.PIN, MaxPerDevice, balance}, devs...)
	r, err := s.scripts.join.Run(ctx, s.Redis,
		[]string{k.hash(), k.seq(), k.events(), k.players(), k.nicks(), k.tokens(), k.scores(), k.flush(),
			k.devices(), k.teamSize(), k.kicked()}, args...).Int64Slice()
	if err != nil {
		return Joined{}, fmt.Errorf("contest: join %d: %w", id, err)
	}
	switch r[0] {
	case -1:
		return Joined{}, ErrWrongPIN
	case -2:
		return Joined{}, kepu.Errorf(kepu.ELOCKED, "error.contest_locked")
	case -3:
		return Joined{}, kepu.Errorf(kepu.ECONFLICT, "error.contest_started")
	case -4:
		return Joined{}, kepu.Errorf(kepu.ECONFLICT, "error.contest_nick_taken").OnField("nickname")
	case -5:
		return Joined{}, kepu.Errorf(kepu.ECONFLICT, "error.contest_full")
	case -6:
		return Joined{}, kepu.Errorf(kepu.ECONFLICT, "error.contest_device_limit").With("n", MaxPerDevice)
	case -7:
		return Joined{}, ErrKicked
	}
	p.ID, p.Team = int(r[0]), r[2]
	if r[3] == 1 {
		s.Redis.ZAddLT(ctx, s.dueKey(), redis.Z{Score: float64(s.nowMS() + FlushEvery.Milliseconds()), Member: k.flushMember()})
	}
	// The player is durable before they hear they joined: a rebuilt room
	// knows their token. If Postgres fails, the join is undone.
	if err := s.savePlayer(ctx, id, p, in.Device, r[4]); err != nil {
		s.unjoin(context.WithoutCancel(ctx), id, p, devs)
		return Joined{}, err
	}
	return Joined{Room: id, Player: p.ID, Nickname: nick, Token: token, Epoch: r[1]}, nil
}

// unjoin removes a player whose join could not be stored: their nickname,
// their device's and team's places are free again.
func (s *Service) unjoin(ctx context.Context, id int64, p playerRec, devs []any) {
	k := s.room(id)
	pid := strconv.Itoa(p.ID)
	s.Redis.TxPipelined(ctx, func(pl redis.Pipeliner) error {
		pl.HDel(ctx, k.players(), pid)
		pl.HDel(ctx, k.nicks(), nickKey(p.Nick))
		pl.HDel(ctx, k.tokens(), p.TH)
		pl.ZRem(ctx, k.scores(), pid)
		for _, d := range devs {
			pl.HIncrBy(ctx, k.devices(), d.(string), -1)
		}
		if p.Team != 0 {
			pl.HIncrBy(ctx, k.teamSize(), strconv.FormatInt(p.Team, 10), -1)
		}
		return nil
	})
}

// Player is a player as their own connection knows them.
type Player struct {
	Room int64
	ID   int
	Nick string
}

// ErrBadToken is returned for a token that names no player of the room
// (never issued, or the player was removed).
var ErrBadToken = kepu.Errorf(kepu.EUNAUTHORIZED, "error.contest_token")

// ErrKicked is returned to a player the host removed from the room: their
// token, and a join from their device, account or with their nickname.
var ErrKicked = kepu.Errorf(kepu.EFORBIDDEN, "error.contest_kicked")

// PlayerByToken finds the player holding token in room id (ErrKicked for
// the token of a player the host removed).
func (s *Service) PlayerByToken(ctx context.Context, id int64, token string) (Player, error) {
	if token == "" || len(token) > 64 {
		return Player{}, ErrBadToken
	}
	k := s.room(id)
	for rebuilt := false; ; rebuilt = true {
		v, err := s.scripts.player.Run(ctx, s.Redis, []string{k.tokens(), k.players(), k.hash(), k.kicked()}, hashToken(token)).Result()
		if err != nil {
			return Player{}, fmt.Errorf("contest: resume: %w", err)
		}
		switch v := v.(type) {
		case string:
			var p playerRec
			if json.Unmarshal([]byte(v), &p) != nil {
				return Player{}, ErrBadToken
			}
			return Player{Room: id, ID: p.ID, Nick: p.Nick}, nil
		case int64:
			if v == -1 { // the room is gone from Redis: rebuild it if it is live
				if rebuilt {
					return Player{}, errRoomGone
				}
				if err := s.ensure(ctx, id); err != nil {
					return Player{}, err
				}
				continue
			}
			if v == -2 {
				return Player{}, ErrKicked
			}
		}
		return Player{}, ErrBadToken
	}
}

// answerRecord is one stored answer.
type answerRecord struct {
	Choice  []int `json:"c"`
	Correct bool  `json:"ok"`
	Points  int   `json:"pts"`
	MS      int64 `json:"ms"`
}

// Answer outcomes, sent back to the player as the "error" of an answer.
const (
	AnswerOK        = ""
	AnswerClosed    = "closed"    // not open (late, paused, other question)
	AnswerDuplicate = "duplicate" // this player already answered it
	AnswerInvalid   = "invalid"   // malformed choice
	AnswerNoPlayer  = "not_player"
)

// Answer records player p's choice for question q. rttMS is the
// connection's measured round trip (see docs/fairness.md). It returns one
// of the Answer* outcomes; err is for failures of Redis or Postgres.
//
// Redis decides whether the answer counts (answer.lua: once per player,
// while the question is open) and records it with the points Go worked
// out for it (internal/scoring, one figure per possible streak); then the answer is committed
// to contest_answers (with other players' answers in one statement: the
// answers' group commit) and only then does Answer return AnswerOK. If the
// commit fails Answer returns the error and the player may send the answer
// again: the retry finds it recorded in Redis (AnswerDuplicate), and the
// duplicate is returned only once its row is committed too.
func (s *Service) Answer(ctx context.Context, p Player, q int, choice []int, rttMS int64) (string, error) {
	now := s.nowMS()
	// The open question's times come from this instance's memory when it
	// has them (answer.lua checks them against the room: a stale copy
	// costs a second try, never a wrong score), so an answer is usually
	// one round trip to Redis.
	oq, cached := s.open.get(p.Room)
	rebuilt := false
	for try := 0; ; try++ {
		if try == 4 {
			return "", fmt.Errorf("contest: answer: room %d keeps changing", p.Room)
		}
		if !cached || oq.Q != q {
			phase, fresh, err := s.readOpen(ctx, p.Room)
			if err != nil {
				return "", err
			}
			if phase == "" && !rebuilt { // the room is gone from Redis: rebuild it if it is live
				if err := s.ensure(ctx, p.Room); err != nil {
					if errors.Is(err, errRoomGone) {
						return AnswerClosed, nil
					}
					return "", err
				}
				rebuilt = true
				continue
			}
			if phase != PhaseQuestion || fresh.Q != q {
				return AnswerClosed, nil
			}
			oq, cached = fresh, false
			s.open.put(p.Room, oq)
		}
		outcome, stale, err := s.answerOpen(ctx, p, oq, choice, rttMS, now)
		if !stale || outcome == AnswerClosed && !cached {
			return outcome, err
		}
		s.open.drop(p.Room)
		cached = false
		oq.Q = -1
	}
}

// openQ is what an answer's points depend on besides the answer itself:
// which question is open, since when and until when (ms).
type openQ struct {
	Q                  int
	OpenedAt, Deadline int64
}

// readOpen reads the room's phase and its open question's times.
func (s *Service) readOpen(ctx context.Context, id int64) (string, openQ, error) {
	r, err := s.Redis.HMGet(ctx, s.room(id).hash(), "phase", "q", "opened_at", "deadline").Result()
	if err != nil {
		return "", openQ{}, fmt.Errorf("contest: answer: %w", err)
	}
	str := func(i int) string { v, _ := r[i].(string); return v }
	q := -1
	if v := str(1); v != "" {
		q = atoi(v)
	}
	return str(0), openQ{Q: q, OpenedAt: atoi64(str(2)), Deadline: atoi64(str(3))}, nil
}

// answerOpen scores and records an answer to oq, the open question as this
// instance believes it to be. stale says that oq (or the room) is not what
// Redis has: the caller reads it again and retries.
func (s *Service) answerOpen(ctx context.Context, p Player, oq openQ, choice []int, rttMS, now int64) (outcome string, stale bool, err error) {
	k := s.room(p.Room)
	q := oq.Q
	qs, err := s.roomQuestions(ctx, p.Room)
	if errors.Is(err, errRoomGone) {
		return "", true, nil
	}
	if err != nil {
		return "", false, err
	}
	if q < 0 || q >= len(qs) {
		return AnswerInvalid, false, nil
	}
	qq := qs[q]
	if !validChoice(qq, choice) {
		return AnswerInvalid, false, nil
	}
	ri, err := s.roomInfo(ctx, p.Room)
	if errors.Is(err, errRoomGone) {
		return "", true, nil
	}
	if err != nil {
		return "", false, err
	}
	set := ri.Settings
	if now < oq.OpenedAt { // still in the get-ready countdown (stale if oq came from memory)
		return AnswerClosed, true, nil
	}
	elapsed := scoring.CreditedElapsed(now-oq.OpenedAt, rttMS)
	limit := oq.Deadline - oq.OpenedAt
	if elapsed > limit { // late by oq's times (stale if they came from memory)
		return AnswerClosed, true, nil
	}
	sorted := slices.Clone(choice)
	slices.Sort(sorted)
	correct := slices.Equal(sorted, qq.Answer)
	table, rule := pointsByStreak(qq, set, correct, elapsed, limit)
	// The record as json.Marshal(answerRecord) writes it, with the points
	// left for the script to fill in.
	pre := append(make([]byte, 0, 48), `{"c":[`...)
	opts := make([]byte, 0, 8)
	for i, c := range sorted {
		if i > 0 {
			pre, opts = append(pre, ','), append(opts, ',')
		}
		pre, opts = strconv.AppendInt(pre, int64(c), 10), strconv.AppendInt(opts, int64(c), 10)
	}
	pre = append(strconv.AppendBool(append(pre, `],"ok":`...), correct), `,"pts":`...)
	post := append(strconv.AppendInt([]byte(`,"ms":`), elapsed, 10), '}')
	ok := "0"
	if correct {
		ok = "1"
	}
	res, err := s.scripts.answer.Run(ctx, s.Redis,
		[]string{k.hash(), k.seq(), k.events(), k.players(), k.answers(q), k.scores(), k.streak(),
			k.correct(), k.dist(q), k.flush()},
		s.Channel(p.Room), EventsKept, p.ID, q, now, pre, table, ok, opts,
		FlushEvery.Milliseconds(), oq.OpenedAt, oq.Deadline, post, rule).Slice()
	if err != nil {
		return "", false, fmt.Errorf("contest: answer: %w", err)
	}
	code, _ := res[0].(int64)
	outcome = AnswerOK
	var row answerRow
	switch code {
	case -1:
		return AnswerClosed, false, nil
	case -2:
		// Answered before; the answer may have been refused then because
		// Postgres failed: make sure its row is there before saying so.
		outcome = AnswerDuplicate
		var before answerRecord
		if v, _ := res[1].(string); json.Unmarshal([]byte(v), &before) != nil {
			return outcome, false, nil
		}
		row = before.row(p.Room, p.ID, q)
	case -3:
		return AnswerNoPlayer, false, nil
	case -4, -5:
		return "", true, nil
	default:
		points, _ := res[4].(int64)
		row = answerRecord{Choice: sorted, Correct: correct, Points: int(points), MS: elapsed}.row(p.Room, p.ID, q)
		// The hints for the timer (the due set is not the script's: keys
		// of one room only): everyone has answered, or a progress update
		// is due.
		answered, _ := res[1].(int64)
		total, _ := res[2].(int64)
		if answered >= total {
			s.Redis.ZAdd(ctx, s.dueKey(), redis.Z{Score: float64(now), Member: k.roundMember()})
		}
		if f, _ := res[3].(int64); f == 1 {
			s.Redis.ZAddLT(ctx, s.dueKey(), redis.Z{Score: float64(now + FlushEvery.Milliseconds()), Member: k.flushMember()})
		}
	}
	if err := s.answers.Do(ctx, row); err != nil {
		return "", false, fmt.Errorf("contest: answer: %w", err)
	}
	return outcome, false, nil
}

// pointsByStreak returns what answer.lua needs to score an answer without
// knowing the rules: the points for each new streak (comma separated, the
// i-th for streak i, the last for any longer one) and how the answer
// changes the player's streak ("inc", "keep" or "reset").
func pointsByStreak(qq Question, set Settings, correct bool, elapsed, limit int64) (table, rule string) {
	base := set.Points
	rule = "reset"
	switch {
	case qq.Practice:
		base, rule = 0, "keep"
	case correct:
		rule = "inc"
	}
	p := scoring.ContestPoints(correct, base, elapsed, limit)
	if !correct || !set.StreakBonus || base <= 0 {
		return strconv.Itoa(p), rule
	}
	b := make([]byte, 0, 64)
	for n := 0; ; n++ {
		if n > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, int64(p+scoring.StreakBonus(n, base)), 10)
		// The bonus grows up to a cap (scoring.StreakMax); stop once it
		// no longer changes.
		if n >= 2 && scoring.StreakBonus(n+1, base) == scoring.StreakBonus(n, base) || n == maxStreakTable {
			return string(b), rule
		}
	}
}

// maxStreakTable bounds pointsByStreak's table.
const maxStreakTable = 100

func validChoice(q Question, c []int) bool { return scoring.ValidChoice(q.Type, len(q.Options), c) }

// Me is a player's own standing.
type Me struct {
	ID       int    `json:"id"`
	Nick     string `json:"nick"`
	Score    int    `json:"score"`
	Rank     int    `json:"rank"`
	Streak   int    `json:"streak"`
	Players  int    `json:"players"`
	Answered []int  `json:"answered,omitempty"` // choice for the current question, if answered
	Last     *Mine  `json:"last,omitempty"`     // result of the current question once closed
}

// Mine is a player's result of one question.
type Mine struct {
	Q       int   `json:"q"`
	Correct bool  `json:"correct"`
	Points  int   `json:"points"`
	Choice  []int `json:"choice"`
}

// MeOf returns player p's standing, and their answer to question q
// (q < 0: none), in one round trip (me.lua).
func (s *Service) MeOf(ctx context.Context, p Player, q int) (Me, error) {
	k := s.room(p.Room)
	keys := []string{k.scores(), k.streak()}
	if q >= 0 {
		keys = append(keys, k.answers(q))
	}
	r, err := s.scripts.me.Run(ctx, s.Redis, keys, p.ID).Slice()
	if err != nil || len(r) != 5 {
		return Me{}, fmt.Errorf("contest: me: %w (%d values)", err, len(r))
	}
	str := func(i int) string { v, _ := r[i].(string); return v }
	num := func(i int) int { v, _ := r[i].(int64); return int(v) }
	me := Me{ID: p.ID, Nick: p.Nick, Rank: num(1), Players: num(3)}
	if sc, err := strconv.ParseFloat(str(0), 64); err == nil {
		me.Score = int(sc)
	}
	me.Streak = atoi(str(2))
	if a := str(4); a != "" {
		me.setAnswer(q, a)
	}
	return me, nil
}

// Snapshot is the whole visible state of a room at one seq: what a
// (re)connecting client starts from.
type Snapshot struct {
	Type        string          `json:"type"` // "snapshot"
	Room        int64           `json:"room"`
	Epoch       int64           `json:"epoch"`
	Seq         int64           `json:"seq"`
	Title       string          `json:"title"`
	PIN         string          `json:"pin,omitempty"`
	Phase       string          `json:"phase"`
	Q           int             `json:"q"`
	NQ          int             `json:"nq"`
	Paused      bool            `json:"paused"`
	Locked      bool            `json:"locked"`
	RemainingMS int64           `json:"remaining_ms"`
	ShowText    bool            `json:"show_text"`
	TeamMode    bool            `json:"team_mode"`
	AutoAdvance bool            `json:"auto_advance"`
	Answered    int             `json:"answered"`
	ViewType    string          `json:"view_type,omitempty"`
	View        json.RawMessage `json:"view,omitempty"`
	Lobby       *lobbyData      `json:"lobby,omitempty"`
	Me          *Me             `json:"me,omitempty"`
}

// Snapshot returns room id's state; p is the player asking (nil: host).
func (s *Service) Snapshot(ctx context.Context, id int64, p *Player) (Snapshot, error) {
	k := s.room(id)
	var hc *redis.MapStringStringCmd
	var sq *redis.StringCmd
	_, err := s.Redis.TxPipelined(ctx, func(pl redis.Pipeliner) error {
		hc = pl.HGetAll(ctx, k.hash())
		sq = pl.Get(ctx, k.seq())
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return Snapshot{}, fmt.Errorf("contest: snapshot: %w", err)
	}
	st, err := parseState(id, hc.Val())
	if err != nil {
		return Snapshot{}, err
	}
	if st == nil {
		return Snapshot{}, errRoomGone
	}
	seq, _ := strconv.ParseInt(sq.Val(), 10, 64)
	snap := Snapshot{Type: "snapshot", Room: id, Epoch: st.Epoch, Seq: seq, Title: st.Title, Phase: st.Phase,
		Q: st.Q, NQ: st.NQ, Paused: st.Paused, Locked: st.Locked, ShowText: st.Settings.ShowText,
		TeamMode: st.Settings.TeamMode, AutoAdvance: st.Settings.AutoAdvance, Answered: st.Answered, ViewType: st.VType}
	if p == nil {
		snap.PIN = st.PIN
	}
	if st.View != "" {
		snap.View = json.RawMessage(st.View)
	}
	if st.Phase == PhaseQuestion {
		if st.Paused {
			snap.RemainingMS = st.Remaining
		} else {
			snap.RemainingMS = max(0, st.Deadline-s.nowMS())
		}
	}
	if p == nil { // the lobby list is the host's; a phone only waits
		l, err := s.lobby(ctx, st)
		if err != nil {
			return Snapshot{}, err
		}
		snap.Lobby = &l
	}
	if p != nil {
		q := -1
		if st.Phase != PhaseLobby {
			q = st.Q
		}
		me, err := s.MeOf(ctx, *p, q)
		if err != nil {
			return Snapshot{}, err
		}
		if st.Phase == PhaseQuestion {
			me.Last = nil // right or wrong only once the round closes
		}
		snap.Me = &me
	}
	return snap, nil
}

// Missed returns the events after seq if the room still keeps all of them
// (ok false: too many were missed, send a snapshot).
func (s *Service) Missed(ctx context.Context, id int64, epoch, seq int64) ([]string, bool, error) {
	if epoch == 0 { // a fresh page: nothing to replay
		return nil, false, nil
	}
	k := s.room(id)
	pl := s.Redis.Pipeline()
	ep := pl.HGet(ctx, k.hash(), "epoch")
	cur := pl.Get(ctx, k.seq())
	ev := pl.LRange(ctx, k.events(), 0, -1)
	if _, err := pl.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, false, fmt.Errorf("contest: missed: %w", err)
	}
	if atoi64(ep.Val()) != epoch || epoch == 0 {
		return nil, false, nil
	}
	last := atoi64(cur.Val())
	if seq > last {
		return nil, false, nil
	}
	if seq == last {
		return nil, true, nil
	}
	var out []string
	first := int64(-1)
	for _, e := range ev.Val() {
		n := EventSeq([]byte(e))
		if first < 0 {
			first = n
		}
		if n > seq {
			out = append(out, e)
		}
	}
	if first < 0 || first > seq+1 {
		return nil, false, nil
	}
	return out, true, nil
}
