package server

// The PK websocket (GET /ws/pk?mode=2|4 to queue, ?match=ID to play or
// rejoin). Protocol: docs/realtime.md, "PK battles".
//
// A queueing connection polls pk.Service.Wait about once a second (and at
// once when its user channel says a match was found, by any instance),
// offers the practice bot after pk.Service.BotAfter, then plays the match
// on the same socket. A playing connection is on its match's topic of the
// one realtime.Hub; while an instance has connections of a match, one
// goroutine of that instance (pkDriver) keeps the match and sends each
// connection its own view whenever the clock or a poke (an answer, a join:
// Redis pub/sub from any instance) changes it; an answer's poke carries
// the committed answer, which it adds without reading the match again
// (pkDrive says when it does read it).

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/kepu/kepu/internal/account"
	"github.com/kepu/kepu/internal/kepu"
	"github.com/kepu/kepu/internal/pk"
	"github.com/kepu/kepu/internal/realtime"
)

const (
	pkReadLimit = 256
	pkQueue     = 16
	pkPollEvery = time.Second
)

// pkConn is one PK socket.
type pkConn struct {
	*realtime.Conn
	user  *account.User
	who   pk.Who
	lang  string // of the page (messages)
	mode  int
	match atomic.Int64
	found chan int64 // a match announced on the user's channel
	botCh chan struct{}
}

func pkMatchTopic(id int64) string       { return "pk:m:" + strconv.FormatInt(id, 10) }
func pkUserTopic(user int64) string      { return "pk:u:" + strconv.FormatInt(user, 10) }
func itoa64(n int64) string              { return strconv.FormatInt(n, 10) }
func pkMsg(v any) []byte                 { b, _ := json.Marshal(v); return b }
func (s *Server) pkCtx() context.Context { return s.pkDrivers.ctx }

// pkDrivers holds this instance's match drivers.
type pkDrivers struct {
	ctx context.Context // the background context of Start
	mu  sync.Mutex
	m   map[int64]*pkDriver
}

type pkDriver struct {
	poke  chan struct{}
	stop  chan struct{}
	conns int

	mu      sync.Mutex
	reload  bool        // read the match again
	answers []pk.Answer // committed answers pokes carried since the last look
}

// pkPokedMax bounds the answers a driver holds between two looks (more:
// it reads the match again).
const pkPokedMax = 64

// wake makes the driver look again: with a, the answer a poke carried,
// added to the match it holds; without, after reading the match again.
func (d *pkDriver) wake(a *pk.Answer) {
	d.mu.Lock()
	if a == nil || len(d.answers) >= pkPokedMax {
		d.reload, d.answers = true, nil
	} else if !d.reload {
		d.answers = append(d.answers, *a)
	}
	d.mu.Unlock()
	select {
	case d.poke <- struct{}{}:
	default:
	}
}

// take returns and clears what the pokes since the last look brought.
func (d *pkDriver) take() (reload bool, answers []pk.Answer) {
	d.mu.Lock()
	defer d.mu.Unlock()
	reload, answers = d.reload, d.answers
	d.reload, d.answers = false, nil
	return reload, answers
}

func (s *Server) pkWSRoutes() {
	s.App.Get("/ws/pk", func(c *fiber.Ctx) error {
		if !realtime.IsUpgrade(c) {
			return fiber.ErrUpgradeRequired
		}
		if !s.originAllowed(c.Get(fiber.HeaderOrigin)) {
			return kepu.Errorf(kepu.EFORBIDDEN, "error.origin")
		}
		u, err := pkUser(c)
		if err != nil {
			return err
		}
		if err := s.limiter.Allow(c.UserContext(), pkWSRule, itoa64(u.ID)); err != nil {
			return err
		}
		pc := &pkConn{user: u, who: pkWho(u), lang: langOf(c), found: make(chan int64, 1), botCh: make(chan struct{}, 1)}
		if v := c.Query("match"); v != "" {
			id, err := parseID("match", v)
			if err != nil {
				return err
			}
			if _, _, err := s.pk.State(c.UserContext(), id, u.ID); err != nil {
				return err
			}
			pc.match.Store(id)
		} else {
			mode, err := strconv.Atoi(c.Query("mode"))
			if err != nil || !pk.ValidMode(mode) {
				return pk.ErrBadMode
			}
			pc.mode = mode
		}
		return realtime.Upgrade(c, pkReadLimit, func(ws *realtime.WebSocket) { s.pkWS(ws, pc) })
	})
}

// startPKLive subscribes to the PK channels (matches found for users,
// pokes of matches) of every instance until ctx ends.
func (s *Server) startPKLive(ctx context.Context) {
	s.pkDrivers.ctx = ctx
	prefix := strings.TrimSuffix(s.pk.Keys.PKChannelPattern(), "*")
	broker := realtime.RedisBroker{Client: s.redis, Log: s.log}
	done, err := broker.Subscribe(ctx, s.pk.Keys.PKChannelPattern(), func(channel string, msg []byte) {
		kind, idS, _ := strings.Cut(strings.TrimPrefix(channel, prefix), ":")
		id, err := strconv.ParseInt(idS, 10, 64)
		if err != nil {
			return
		}
		switch kind {
		case "m":
			var a *pk.Answer
			if ans, ok := pk.PokedAnswer(msg); ok {
				a = &ans
			}
			s.pkDrivers.mu.Lock()
			if d := s.pkDrivers.m[id]; d != nil {
				d.wake(a)
			}
			s.pkDrivers.mu.Unlock()
		case "u":
			match, err := strconv.ParseInt(string(msg), 10, 64)
			if err != nil {
				return
			}
			for _, rc := range s.live.Conns(pkUserTopic(id)) {
				if pc, ok := rc.Data.(*pkConn); ok {
					select {
					case pc.found <- match:
					default:
					}
				}
			}
		}
	})
	s.bg.Go(func() { <-done })
	if err != nil && ctx.Err() == nil {
		s.log.Warn("pk pubsub: first subscribe failed, retrying", "err", err)
	}
}

// pkWS serves one PK socket until the client goes away.
func (s *Server) pkWS(ws *realtime.WebSocket, c *pkConn) {
	c.Conn = realtime.NewConn(ws, pkQueue)
	c.PingEvery, c.WriteWait = livePingEvery, liveWriteWait
	c.Data = c
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
		if id := c.match.Load(); id != 0 {
			s.pkDetach(id, c)
		}
		c.Release(realtime.CloseNormal, "")
	}()
	if s.stopping() {
		c.Close(realtime.CloseGoingAway, "server stopping")
		return
	}
	c.StartPings()
	if id := c.match.Load(); id != 0 {
		s.pkAttach(id, c)
	} else {
		wg.Go(func() { s.pkQueueLoop(ctx, c) })
	}
	_ = realtime.ReadLoop(ws, livePongWait, nil, func(b []byte) bool { return s.pkMessage(ctx, c, b) })
}

// pkClientMsg is a message from the client.
type pkClientMsg struct {
	T string `json:"t"` // "answer" or "bot"
	Q int    `json:"q"`
	C []int  `json:"c"`
}

func (s *Server) pkMessage(ctx context.Context, c *pkConn, b []byte) bool {
	var m pkClientMsg
	if err := json.Unmarshal(b, &m); err != nil || len(m.C) > 8 || m.Q < 0 || m.Q > 19 {
		c.Close(realtime.CloseBadData, "malformed message")
		return false
	}
	switch m.T {
	case "bot":
		select {
		case c.botCh <- struct{}{}:
		default:
		}
	case "answer":
		id := c.match.Load()
		if id == 0 {
			return true
		}
		octx, ocancel := s.op(ctx)
		ack, err := s.pk.Answer(octx, id, c.user.ID, m.Q, m.C)
		ocancel()
		if err != nil {
			s.pkError(c, err)
			return true
		}
		c.Send(pkMsg(struct {
			T string `json:"t"`
			pk.Ack
		}{"ack", ack}))
	}
	return true
}

// pkError sends the client an error in its user's language.
func (s *Server) pkError(c *pkConn, err error) {
	key := "pk.error.busy"
	var ke *kepu.Error
	if errors.As(err, &ke) && ke.Key != "" {
		key = ke.Key
	} else {
		s.log.Warn("pk ws", "user", c.user.ID, "err", err)
	}
	c.Send(pkMsg(fiber.Map{"t": "error", "message": s.i18n.T(c.lang, key, nil)}))
}

// pkQueueLoop queues c's user until a match is found (by any instance) or
// they choose the bot, then moves c to the match.
func (s *Server) pkQueueLoop(ctx context.Context, c *pkConn) {
	topic := pkUserTopic(c.user.ID)
	s.live.Add(topic, c.Conn)
	defer s.live.Remove(topic, c.Conn)
	start := time.Now()
	queued := false
	defer func() {
		if queued && c.match.Load() == 0 {
			lctx, cancel := s.op(context.Background())
			defer cancel()
			if _, err := s.pk.Leave(lctx, c.user.ID, c.mode, c.who.Lang); err != nil {
				s.log.Warn("pk leave", "err", err)
			}
		}
	}()
	octx, ocancel := s.op(ctx)
	id, err := s.pk.Active(octx, c.user.ID)
	level := 1
	if err == nil && id == 0 {
		level, err = s.pk.LevelOf(octx, c.user.ID)
	}
	ocancel()
	if err != nil {
		s.pkError(c, err)
		c.Close(realtime.CloseTryLater, "busy")
		return
	}
	tick := time.NewTicker(pkPollEvery)
	defer tick.Stop()
	for id == 0 {
		octx, ocancel := s.op(ctx)
		id, err = s.pk.Wait(octx, c.who, c.mode, level)
		ocancel()
		queued = true
		if err != nil {
			s.pkError(c, err)
		}
		if id != 0 {
			break
		}
		waited := time.Since(start)
		c.Send(pkMsg(fiber.Map{"t": "waiting", "waited_ms": waited.Milliseconds(), "bot_offer": waited >= s.pk.BotAfter}))
		select {
		case <-ctx.Done():
			return
		case <-c.Done():
			return
		case id = <-c.found:
			octx, ocancel := s.op(ctx)
			_, _ = s.pk.Leave(octx, c.user.ID, c.mode, c.who.Lang) // forget PKFound too
			ocancel()
		case <-tick.C:
		case <-c.botCh:
			if waited < s.pk.BotAfter {
				continue
			}
			octx, ocancel := s.op(ctx)
			id, err = s.pk.PlayBot(octx, c.who, c.mode)
			ocancel()
			if err != nil {
				s.pkError(c, err)
				id = 0
			}
		}
	}
	c.match.Store(id)
	c.Send(pkMsg(fiber.Map{"t": "matched", "match": id}))
	s.pkAttach(id, c)
}

// pkAttach puts c on match id's topic and makes sure this instance drives
// the match; the driver sends c the state at once.
func (s *Server) pkAttach(id int64, c *pkConn) {
	s.live.Add(pkMatchTopic(id), c.Conn)
	s.pkDrivers.mu.Lock()
	defer s.pkDrivers.mu.Unlock()
	if s.pkDrivers.m == nil {
		s.pkDrivers.m = map[int64]*pkDriver{}
	}
	d := s.pkDrivers.m[id]
	if d == nil {
		d = &pkDriver{poke: make(chan struct{}, 1), stop: make(chan struct{})}
		s.pkDrivers.m[id] = d
		ctx := s.pkCtx()
		s.bg.Go(func() { s.pkDrive(ctx, id, d) })
	}
	d.conns++
	d.wake(nil)
}

func (s *Server) pkDetach(id int64, c *pkConn) {
	s.live.Remove(pkMatchTopic(id), c.Conn)
	s.pkDrivers.mu.Lock()
	defer s.pkDrivers.mu.Unlock()
	if d := s.pkDrivers.m[id]; d != nil {
		if d.conns--; d.conns == 0 {
			delete(s.pkDrivers.m, id)
			close(d.stop)
		}
	}
}

// pkDrive sends match id's state to this instance's connections of it
// whenever it changes (a poke, or the clock: the next round opening or
// closing), until the last of them leaves or ctx ends. It keeps the match
// in memory: an answer's poke carries the answer, which it adds; it reads
// the match again from Postgres on a connection joining, any other poke,
// each tick of the clock (which mends a lost poke by the round's end, as
// before) and before recording the result (Finish).
func (s *Server) pkDrive(ctx context.Context, id int64, d *pkDriver) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var m *pk.Match
	ticked := false
	for {
		var next int64
		reload, answers := d.take()
		changed := m == nil || reload || ticked
		if !changed {
			for _, a := range answers {
				changed = m.Add(a) || changed
			}
			if phase, _, _ := m.PhaseAt(s.pk.Now().UnixMilli()); phase == pk.PhaseDone && m.Status == "playing" {
				reload, changed = true, true
			}
		}
		var err error
		if m == nil || reload || ticked {
			octx, cancel := s.op(ctx)
			m, err = s.pk.Load(octx, id)
			if err == nil {
				err = s.pk.Finish(octx, m)
			}
			cancel()
		}
		ticked = false
		if err != nil {
			m = nil
			s.log.Warn("pk drive", "match", id, "err", err)
			next = time.Now().Add(time.Second).UnixMilli()
		} else if !changed {
			next = m.NextChange(s.pk.Now().UnixMilli())
		} else {
			now := s.pk.Now().UnixMilli()
			for _, rc := range s.live.Conns(pkMatchTopic(id)) {
				if pc, ok := rc.Data.(*pkConn); ok {
					pc.Send(pkMsg(struct {
						T string `json:"t"`
						pk.View
					}{"state", m.ViewFor(m.SeatOf(pc.user.ID), now)}))
				}
			}
			next = m.NextChange(now)
		}
		wait := time.Hour
		if next != 0 {
			wait = max(time.Duration(next-s.pk.Now().UnixMilli())*time.Millisecond, 0) + 5*time.Millisecond
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-d.stop:
			return
		case <-d.poke:
		case <-timer.C:
			ticked = true
		}
	}
}
