package server

// The contest websocket (GET /ws/contest): one connection per host screen
// or player phone. Protocol: docs/realtime.md, "Contests".
//
// Each connection has one reader (this handler's goroutine) and one writer
// goroutine fed by a bounded queue; a client whose queue fills is
// disconnected (it reconnects and catches up from its last seq). Room
// events come from Redis pub/sub (one pattern subscription per instance)
// already encoded, and are written as they are to every local connection
// of the room.

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/gofiber/fiber/v2"
	fws "github.com/gofiber/websocket/v2"
	"github.com/redis/go-redis/v9"

	"github.com/kepu/kepu/internal/account"
	"github.com/kepu/kepu/internal/contest"
	"github.com/kepu/kepu/internal/kepu"
)

// Websocket limits of the contest protocol.
const (
	liveReadLimit = 1024             // bytes: the largest message a client may send
	liveQueue     = 64               // messages waiting for a slow client before it is dropped
	liveHelloWait = 10 * time.Second // the first message must come this soon
	liveWriteWait = 10 * time.Second
	livePingEvery = 15 * time.Second
	livePongWait  = 40 * time.Second // no pong (or message) this long: the connection is dead
)

// Close codes of the contest protocol (4000–4999 are the application's).
const (
	closeBadToken  = 4001 // unknown or revoked player token: join again
	closeForbidden = 4003 // not the host of this room
	closeKicked    = 4004 // removed by the host
	closeRoomGone  = 4010 // the room no longer exists
	closeBadHello  = 4000 // first message was not a valid hello
)

// liveConn is one websocket client.
type liveConn struct {
	ws     *fws.Conn
	room   int64
	player *contest.Player // nil: the host
	send   chan []byte
	done   chan struct{}
	once   sync.Once
	rtt    atomic.Int64 // ms, last measured round trip

	mu      sync.Mutex
	ready   bool
	pending [][]byte
	lastSeq int64 // highest event seq queued
}

// liveHub knows this instance's connections by room.
type liveHub struct {
	mu    sync.RWMutex
	rooms map[int64]map[*liveConn]struct{}
}

func newLiveHub() *liveHub { return &liveHub{rooms: map[int64]map[*liveConn]struct{}{}} }

func (h *liveHub) add(c *liveConn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	m := h.rooms[c.room]
	if m == nil {
		m = map[*liveConn]struct{}{}
		h.rooms[c.room] = m
	}
	m[c] = struct{}{}
}

func (h *liveHub) remove(c *liveConn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if m := h.rooms[c.room]; m != nil {
		delete(m, c)
		if len(m) == 0 {
			delete(h.rooms, c.room)
		}
	}
}

func (h *liveHub) conns(room int64) []*liveConn {
	h.mu.RLock()
	defer h.mu.RUnlock()
	out := make([]*liveConn, 0, len(h.rooms[room]))
	for c := range h.rooms[room] {
		out = append(out, c)
	}
	return out
}

// close ends the connection with a close code, once.
func (c *liveConn) close(code int, reason string) {
	c.once.Do(func() {
		c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(time.Second))
		close(c.done)
	})
}

// enqueue queues msg for the writer; a full queue disconnects the client.
func (c *liveConn) enqueue(msg []byte) {
	select {
	case <-c.done:
	case c.send <- msg:
	default:
		c.close(websocket.CloseTryAgainLater, "slow client")
	}
}

// deliverEvent queues a room event unless it is older than what the client
// has; before the client's snapshot or replay is sent it is held back.
func (c *liveConn) deliverEvent(seq int64, msg []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.ready {
		if len(c.pending) < liveQueue {
			c.pending = append(c.pending, msg)
		}
		return
	}
	if seq <= c.lastSeq {
		return
	}
	c.lastSeq = seq
	c.enqueue(msg)
}

// start marks the client caught up to seq and releases held-back events.
func (c *liveConn) start(seq int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lastSeq = seq
	c.ready = true
	for _, m := range c.pending {
		if s := eventSeq(m); s > c.lastSeq {
			c.lastSeq = s
			c.enqueue(m)
		}
	}
	c.pending = nil
}

func eventSeq(m []byte) int64 {
	var h struct {
		Seq int64 `json:"seq"`
	}
	json.Unmarshal(m, &h)
	return h.Seq
}

func (c *liveConn) writer() {
	ping := time.NewTicker(livePingEvery)
	defer ping.Stop()
	sendPing := func() error {
		b := make([]byte, 8)
		binary.BigEndian.PutUint64(b, uint64(time.Now().UnixNano()))
		return c.ws.WriteControl(websocket.PingMessage, b, time.Now().Add(liveWriteWait))
	}
	if sendPing() != nil {
		c.close(websocket.CloseGoingAway, "")
		return
	}
	for {
		select {
		case <-c.done:
			return
		case m := <-c.send:
			c.ws.SetWriteDeadline(time.Now().Add(liveWriteWait))
			if err := c.ws.WriteMessage(websocket.TextMessage, m); err != nil {
				c.close(websocket.CloseGoingAway, "")
				return
			}
		case <-ping.C:
			if sendPing() != nil {
				c.close(websocket.CloseGoingAway, "")
				return
			}
		}
	}
}

// runLive subscribes to every room channel and hands events to local
// connections until the server shuts down.
func (s *Server) runLive() {
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-s.shutdown; cancel() }()
	ps := s.redis.PSubscribe(ctx, s.contests.ChannelPattern())
	if _, err := ps.Receive(ctx); err != nil && ctx.Err() == nil {
		s.log.Error("contest pubsub", "err", err)
	}
	prefix := strings.TrimSuffix(s.contests.ChannelPattern(), "*")
	go func() {
		defer ps.Close()
		ch := ps.Channel(redis.WithChannelSize(1000))
		for {
			select {
			case <-ctx.Done():
				return
			case m, ok := <-ch:
				if !ok {
					return
				}
				room, err := strconv.ParseInt(strings.TrimPrefix(m.Channel, prefix), 10, 64)
				if err != nil {
					continue
				}
				s.dispatch(ctx, room, []byte(m.Payload))
			}
		}
	}()
}

// dispatch gives one room event to the room's local connections, and
// sends each local player their own result when a round is revealed.
func (s *Server) dispatch(ctx context.Context, room int64, msg []byte) {
	var h struct {
		Seq  int64  `json:"seq"`
		Type string `json:"type"`
		Data struct {
			ID int `json:"id"`
			Q  int `json:"q"`
		} `json:"data"`
	}
	if json.Unmarshal(msg, &h) != nil {
		return
	}
	conns := s.live.conns(room)
	for _, c := range conns {
		c.deliverEvent(h.Seq, msg)
	}
	switch h.Type {
	case "kicked":
		for _, c := range conns {
			if c.player != nil && c.player.ID == h.Data.ID {
				c.close(closeKicked, "removed by host")
			}
		}
	case "reveal", "podium":
		go func() {
			q := h.Data.Q
			if h.Type == "podium" {
				q = -1
			}
			for _, c := range conns {
				if c.player == nil {
					continue
				}
				me, err := s.contests.MeOf(ctx, *c.player, q)
				if err != nil {
					continue
				}
				typ := "result"
				if h.Type == "podium" {
					typ = "final"
				}
				b, _ := json.Marshal(map[string]any{"type": typ, "q": q, "me": me})
				c.enqueue(b)
			}
		}()
	}
}

// clientMsg is every message a client may send.
type clientMsg struct {
	Type    string `json:"type"`
	Room    int64  `json:"room"`
	Token   string `json:"token"`
	Epoch   int64  `json:"epoch"`
	LastSeq int64  `json:"last_seq"`
	Q       int    `json:"q"`
	Choice  []int  `json:"choice"`
}

func decodeClientMsg(b []byte) (clientMsg, error) {
	var m clientMsg
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return m, err
	}
	if dec.More() || len(m.Choice) > 10 {
		return m, errors.New("malformed")
	}
	return m, nil
}

func (s *Server) contestWSRoutes() {
	s.live = newLiveHub()
	s.runLive()
	s.App.Get("/ws/contest", func(c *fiber.Ctx) error {
		if !fws.IsWebSocketUpgrade(c) {
			return fiber.ErrUpgradeRequired
		}
		if !s.originAllowed(c.Get(fiber.HeaderOrigin)) {
			return kepu.Errorf(kepu.EFORBIDDEN, "error.origin")
		}
		if err := s.limiter.Allow(c.UserContext(), wsConnectRule, c.IP()); err != nil {
			return err
		}
		return c.Next()
	}, fws.New(s.contestWS, fws.Config{ReadBufferSize: 2048, WriteBufferSize: 4096}))
}

func (s *Server) contestWS(ws *fws.Conn) {
	ws.SetReadLimit(liveReadLimit)
	ws.SetReadDeadline(time.Now().Add(liveHelloWait))
	c := &liveConn{ws: ws, send: make(chan []byte, liveQueue), done: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-s.shutdown:
			c.close(websocket.CloseGoingAway, "server stopping")
		case <-c.done:
		}
	}()
	defer c.close(websocket.CloseNormalClosure, "")

	_, b, err := ws.ReadMessage()
	if err != nil {
		s.closeOnReadError(c, err)
		return
	}
	hello, err := decodeClientMsg(b)
	if err != nil || hello.Type != "hello" || hello.Room <= 0 {
		c.close(closeBadHello, "expected hello")
		return
	}
	c.room = hello.Room
	if hello.Token != "" {
		p, err := s.contests.PlayerByToken(ctx, hello.Room, hello.Token)
		if err != nil {
			if kepu.ErrorCode(err) == kepu.EGONE {
				c.close(closeRoomGone, "room gone")
			} else {
				c.close(closeBadToken, "bad token")
			}
			return
		}
		c.player = &p
	} else {
		u, _ := ws.Locals("user").(*account.User)
		if u == nil {
			c.close(closeForbidden, "not host")
			return
		}
		if err := s.contests.CheckHost(ctx, u.Actor(), hello.Room); err != nil {
			if kepu.ErrorCode(err) == kepu.EGONE {
				c.close(closeRoomGone, "room gone")
			} else {
				c.close(closeForbidden, "not host")
			}
			return
		}
	}
	s.live.add(c)
	defer s.live.remove(c)
	writerDone := make(chan struct{})
	go func() { defer close(writerDone); c.writer() }()
	// The connection object is recycled when this handler returns: stop
	// the writer first (a blocked write is cut short by the deadline).
	defer func() {
		c.close(websocket.CloseNormalClosure, "")
		c.ws.UnderlyingConn().SetWriteDeadline(time.Now())
		<-writerDone
	}()

	// Catch up: the missed events if the room still has them all, else a
	// snapshot. Events published meanwhile are held back, then released.
	missed, ok, err := s.contests.Missed(ctx, hello.Room, hello.Epoch, hello.LastSeq)
	if err != nil {
		c.close(websocket.CloseInternalServerErr, "")
		return
	}
	if ok {
		c.enqueue(mustJSON(map[string]any{"type": "welcome", "room": hello.Room, "resumed": true, "player": playerID(c)}))
		last := hello.LastSeq
		for _, m := range missed {
			c.enqueue([]byte(m))
			last = eventSeq([]byte(m))
		}
		c.start(last)
		// Replayed events carry the time left when they were sent; the
		// clock message says what is left now (and the player's standing).
		if snap, err := s.contests.Snapshot(ctx, hello.Room, c.player); err == nil {
			c.enqueue(mustJSON(map[string]any{"type": "clock", "phase": snap.Phase, "q": snap.Q,
				"remaining_ms": snap.RemainingMS, "paused": snap.Paused, "me": snap.Me}))
		}
	} else {
		snap, err := s.contests.Snapshot(ctx, hello.Room, c.player)
		if err != nil {
			c.close(closeRoomGone, "room gone")
			return
		}
		c.enqueue(mustJSON(map[string]any{"type": "welcome", "room": hello.Room, "resumed": false, "player": playerID(c)}))
		c.enqueue(mustJSON(snap))
		c.start(snap.Seq)
	}

	ws.SetReadDeadline(time.Now().Add(livePongWait))
	ws.SetPongHandler(func(data string) error {
		ws.SetReadDeadline(time.Now().Add(livePongWait))
		if len(data) == 8 {
			sent := int64(binary.BigEndian.Uint64([]byte(data)))
			if rtt := time.Since(time.Unix(0, sent)); rtt >= 0 && rtt < time.Minute {
				c.rtt.Store(rtt.Milliseconds())
			}
		}
		return nil
	})
	for {
		_, b, err := ws.ReadMessage()
		if err != nil {
			s.closeOnReadError(c, err)
			return
		}
		ws.SetReadDeadline(time.Now().Add(livePongWait))
		m, err := decodeClientMsg(b)
		if err != nil {
			c.close(websocket.CloseInvalidFramePayloadData, "malformed message")
			return
		}
		switch {
		case m.Type == "ping":
			c.enqueue([]byte(`{"type":"pong"}`))
		case m.Type == "answer" && c.player != nil:
			res, err := s.contests.Answer(ctx, *c.player, m.Q, m.Choice, c.rtt.Load())
			if err != nil {
				s.log.Error("contest answer", "room", c.room, "err", err)
				c.enqueue(mustJSON(map[string]any{"type": "answer_error", "q": m.Q, "error": "internal"}))
				continue
			}
			if res != contest.AnswerOK {
				c.enqueue(mustJSON(map[string]any{"type": "answer_error", "q": m.Q, "error": res}))
				continue
			}
			c.enqueue(mustJSON(map[string]any{"type": "ack", "q": m.Q, "choice": m.Choice}))
		default:
			c.close(websocket.ClosePolicyViolation, "unexpected message")
			return
		}
	}
}

func playerID(c *liveConn) int {
	if c.player == nil {
		return 0
	}
	return c.player.ID
}

func (s *Server) closeOnReadError(c *liveConn, err error) {
	if errors.Is(err, websocket.ErrReadLimit) {
		c.close(websocket.CloseMessageTooBig, "message too big")
		return
	}
	c.close(websocket.CloseNormalClosure, "")
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}
