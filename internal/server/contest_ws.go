package server

// The contest websocket (GET /ws/contest): one connection per host screen
// or player phone. Protocol: docs/realtime.md, "Contests".
//
// Each connection has one reader (this handler's goroutine) and a bounded
// queue written by a goroutine that exists only while messages wait
// (realtime.Conn); a client whose queue fills is disconnected (it
// reconnects and catches up from its last seq). Room
// events come from Redis pub/sub (one pattern subscription per instance)
// already encoded, and are written as they are to every local connection
// of the room.

import (
	"bytes"
	"context"
	"crypto/rand"
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
	"github.com/redis/go-redis/v9"
	"github.com/valyala/fasthttp"

	"github.com/kepu/kepu/internal/account"
	"github.com/kepu/kepu/internal/contest"
	"github.com/kepu/kepu/internal/kepu"
	"github.com/kepu/kepu/internal/realtime"
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

// liveConn is one websocket client: a realtime.Conn (one writer goroutine,
// bounded queue, slow clients closed) and the order of the room's events.
type liveConn struct {
	*realtime.Conn
	ws     *websocket.Conn
	room   int64
	player *contest.Player // nil: the host
	rtt    atomic.Int64    // ms, last measured round trip

	// The outstanding ping: a random nonce and when the server sent it,
	// kept here and never taken from the client (a pong only proves which
	// ping it answers). See measurePong.
	pingMu    sync.Mutex
	pingNonce uint64
	pingAt    time.Time

	mu      sync.Mutex
	ready   bool
	pending [][]byte
	status  []byte // the latest status message held back before ready
	lastSeq int64  // highest event seq queued
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

// closeAll closes every connection (server shutdown: one goroutine does
// it, instead of one waiting goroutine per connection).
func (h *liveHub) closeAll(code int, reason string) {
	h.mu.RLock()
	var all []*liveConn
	for _, m := range h.rooms {
		for c := range m {
			all = append(all, c)
		}
	}
	h.mu.RUnlock()
	for _, c := range all {
		c.Close(code, reason)
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
	c.Send(msg)
}

// deliverStatus queues a status message (no seq); before the client is
// caught up only the latest one is kept.
func (c *liveConn) deliverStatus(msg []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.ready {
		c.status = msg
		return
	}
	c.Send(msg)
}

// start marks the client caught up to seq and releases held-back events.
func (c *liveConn) start(seq int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lastSeq = seq
	c.ready = true
	for _, m := range c.pending {
		if s := contest.EventSeq(m); s > c.lastSeq {
			c.lastSeq = s
			c.Send(m)
		}
	}
	c.pending = nil
	if c.status != nil {
		c.Send(c.status)
		c.status = nil
	}
}

// pingData returns the payload of the next ping: a random nonce. The send
// time stays on the server (pingAt), so a client cannot claim a slower link
// than it has by echoing an older time (docs/fairness.md).
func (c *liveConn) pingData() []byte {
	var b [8]byte
	rand.Read(b[:])
	c.pingMu.Lock()
	c.pingNonce, c.pingAt = binary.BigEndian.Uint64(b[:]), time.Now()
	c.pingMu.Unlock()
	return b[:]
}

// measurePong records the round trip of the outstanding ping if data
// answers it (once: a repeated or unsolicited pong measures nothing).
func (c *liveConn) measurePong(data []byte, now time.Time) {
	if len(data) != 8 {
		return
	}
	c.pingMu.Lock()
	defer c.pingMu.Unlock()
	if c.pingAt.IsZero() || binary.BigEndian.Uint64(data) != c.pingNonce {
		return
	}
	if rtt := now.Sub(c.pingAt); rtt >= 0 && rtt < time.Minute {
		c.rtt.Store(rtt.Milliseconds())
	}
	c.pingAt = time.Time{}
}

// runLive subscribes to every room channel and hands events to local
// connections until the server shuts down.
func (s *Server) runLive() {
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-s.shutdown
		cancel()
		s.live.closeAll(websocket.CloseGoingAway, "server stopping")
	}()
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

// dispatch gives one room event to the room's local connections (the same
// bytes to every one: encoded once), and sends each local player their own
// result when a round is revealed. Status messages (no seq) go to hosts only.
func (s *Server) dispatch(ctx context.Context, room int64, msg []byte) {
	h, ok := contest.ParseHead(msg)
	if !ok {
		return
	}
	conns := s.live.conns(room)
	if h.Seq == 0 {
		for _, c := range conns {
			if c.player == nil {
				c.deliverStatus(msg)
			}
		}
		return
	}
	toPlayers := contest.ForPlayers(h.Type, msg)
	for _, c := range conns {
		if c.player == nil {
			c.deliverEvent(h.Seq, msg)
		} else {
			c.deliverEvent(h.Seq, toPlayers)
		}
	}
	switch h.Type {
	case "kicked", "reveal":
		var ev struct {
			Data struct {
				ID int `json:"id"`
				Q  int `json:"q"`
			} `json:"data"`
		}
		if json.Unmarshal(msg, &ev) != nil {
			return
		}
		if h.Type == "kicked" {
			for _, c := range conns {
				if c.player != nil && c.player.ID == ev.Data.ID {
					c.Close(closeKicked, "removed by host")
				}
			}
			return
		}
		go s.sendResults(ctx, room, conns, "result", ev.Data.Q)
	case "podium":
		go s.sendResults(ctx, room, conns, "final", -1)
	}
}

// sendResults tells every local player of a room their own standing after
// a reveal (typ "result", with their answer to question q) or the podium
// ("final"): the room's standings are read once for all of them.
func (s *Server) sendResults(ctx context.Context, room int64, conns []*liveConn, typ string, q int) {
	st, err := s.contests.Standings(ctx, room, q)
	if err != nil {
		s.log.Warn("contest results", "room", room, "err", err)
		return
	}
	for _, c := range conns {
		if c.player == nil {
			continue
		}
		b, err := json.Marshal(resultMsg{Type: typ, Q: q, Me: st.Me(*c.player)})
		if err == nil {
			c.Send(b)
		}
	}
}

// resultMsg is a player's own result ("result") or final standing ("final").
type resultMsg struct {
	Type string     `json:"type"`
	Q    int        `json:"q"`
	Me   contest.Me `json:"me"`
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
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return m, err
	}
	if dec.More() || len(m.Choice) > 10 {
		return m, errors.New("malformed")
	}
	return m, nil
}

// ackMsg encodes {"type":"ack","q":Q,"choice":[…]} without reflection.
func ackMsg(q int, choice []int) []byte {
	b := make([]byte, 0, 40+4*len(choice))
	b = append(b, `{"type":"ack","q":`...)
	b = strconv.AppendInt(b, int64(q), 10)
	b = append(b, `,"choice":[`...)
	for i, x := range choice {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, int64(x), 10)
	}
	return append(b, "]}"...)
}

// liveUpgrader upgrades /ws/contest. Memory per idle connection matters
// (a room holds up to KEPU_CONTEST_MAX_PLAYERS phones): fasthttp/websocket
// is used directly (gofiber/websocket copies every header, cookie and query
// into maps per connection), the read buffer is small (clients send tiny
// messages; fasthttp's own reader sits below it) and write buffers come
// from a pool, held only while a message is written.
var liveUpgrader = websocket.FastHTTPUpgrader{
	ReadBufferSize:  256,
	WriteBufferSize: 4096,
	WriteBufferPool: &sync.Pool{},
	// The Origin is checked before the upgrade (originAllowed).
	CheckOrigin: func(*fasthttp.RequestCtx) bool { return true },
}

func (s *Server) contestWSRoutes() {
	s.live = newLiveHub()
	s.runLive()
	s.App.Get("/ws/contest", func(c *fiber.Ctx) error {
		if !websocket.FastHTTPIsWebSocketUpgrade(c.Context()) {
			return fiber.ErrUpgradeRequired
		}
		if !s.originAllowed(c.Get(fiber.HeaderOrigin)) {
			return kepu.Errorf(kepu.EFORBIDDEN, "error.origin")
		}
		if err := s.limiter.Allow(c.UserContext(), wsConnectRule, c.IP()); err != nil {
			return err
		}
		u := currentUser(c)
		fctx := c.Context()
		err := liveUpgrader.Upgrade(fctx, func(ws *websocket.Conn) {
			// fasthttp holds the request context until the socket closes;
			// the upgrade request's headers, cookies and the response are
			// not needed any more: let them go (≈ 3 KB per phone). New
			// values, not Reset, so that nothing still pointing into the
			// old buffers (unsafe strings) sees them reused.
			fctx.Request = fasthttp.Request{}
			fctx.Response = fasthttp.Response{}
			s.contestWS(ws, u)
		})
		if err != nil {
			return fiber.ErrUpgradeRequired
		}
		return nil
	})
}

// contestWS serves one connection; u is the session's user (nil: none).
// The handshake (hello, catch-up) and each message are handled in their
// own functions, so that the goroutine waiting for the next message has a
// shallow stack: an idle connection's stack shrinks back to a few KB.
func (s *Server) contestWS(ws *websocket.Conn, u *account.User) {
	c := s.liveHello(ws, u)
	if c == nil {
		return
	}
	// Nothing may write once this handler returns (fasthttp closes the
	// socket): close, cut a blocked write short, wait for the writer.
	defer func() {
		s.live.remove(c)
		c.Close(websocket.CloseNormalClosure, "")
		ws.UnderlyingConn().SetWriteDeadline(time.Now())
		c.Wait()
	}()
	for {
		_, b, err := ws.ReadMessage()
		if err != nil {
			s.closeOnReadError(c, err)
			return
		}
		if !s.liveMessage(c, b) {
			return
		}
	}
}

// liveHello reads the hello, identifies the player or host, registers the
// connection and catches it up (missed events or a snapshot). It returns
// nil, the connection closed, if that fails.
func (s *Server) liveHello(ws *websocket.Conn, u *account.User) *liveConn {
	ws.SetReadLimit(liveReadLimit)
	ws.SetReadDeadline(time.Now().Add(liveHelloWait))
	rc := realtime.NewConn(ws, liveQueue)
	rc.PingEvery, rc.WriteWait = livePingEvery, liveWriteWait
	c := &liveConn{Conn: rc, ws: ws}
	rc.PingData = c.pingData
	ctx := context.Background()

	_, b, err := ws.ReadMessage()
	if err != nil {
		s.closeOnReadError(c, err)
		return nil
	}
	hello, err := decodeClientMsg(b)
	if err != nil || hello.Type != "hello" || hello.Room <= 0 {
		c.Close(closeBadHello, "expected hello")
		return nil
	}
	c.room = hello.Room
	if hello.Token != "" {
		p, err := s.contests.PlayerByToken(ctx, hello.Room, hello.Token)
		if err != nil {
			if kepu.ErrorCode(err) == kepu.EGONE {
				c.Close(closeRoomGone, "room gone")
			} else {
				c.Close(closeBadToken, "bad token")
			}
			return nil
		}
		c.player = &p
	} else {
		if u == nil {
			c.Close(closeForbidden, "not host")
			return nil
		}
		if err := s.contests.CheckHost(ctx, u.Actor(), hello.Room); err != nil {
			if kepu.ErrorCode(err) == kepu.EGONE {
				c.Close(closeRoomGone, "room gone")
			} else {
				c.Close(closeForbidden, "not host")
			}
			return nil
		}
	}
	s.live.add(c)
	fail := func(code int, reason string) *liveConn {
		s.live.remove(c)
		c.Close(code, reason)
		c.Wait()
		return nil
	}
	select {
	case <-s.shutdown: // closeAll may have run before the add
		return fail(websocket.CloseGoingAway, "server stopping")
	default:
	}
	// Ping at once: the round trip is known before the first answer.
	if ws.WriteControl(websocket.PingMessage, c.pingData(), time.Now().Add(liveWriteWait)) != nil {
		return fail(websocket.CloseGoingAway, "")
	}
	c.StartPings()

	// Catch up: the missed events if the room still has them all, else a
	// snapshot. Events published meanwhile are held back, then released.
	missed, ok, err := s.contests.Missed(ctx, hello.Room, hello.Epoch, hello.LastSeq)
	if err != nil {
		return fail(websocket.CloseInternalServerErr, "")
	}
	if ok {
		c.Send(mustJSON(map[string]any{"type": "welcome", "room": hello.Room, "resumed": true, "player": playerID(c)}))
		last := hello.LastSeq
		for _, m := range missed {
			c.Send([]byte(m))
			last = contest.EventSeq([]byte(m))
		}
		c.start(last)
		// Replayed events carry the time left when they were sent; the
		// clock message says what is left now (and the player's standing).
		if snap, err := s.contests.Snapshot(ctx, hello.Room, c.player); err == nil {
			c.Send(mustJSON(map[string]any{"type": "clock", "phase": snap.Phase, "q": snap.Q,
				"remaining_ms": snap.RemainingMS, "paused": snap.Paused, "me": snap.Me}))
		}
	} else {
		snap, err := s.contests.Snapshot(ctx, hello.Room, c.player)
		if err != nil {
			return fail(closeRoomGone, "room gone")
		}
		c.Send(mustJSON(map[string]any{"type": "welcome", "room": hello.Room, "resumed": false, "player": playerID(c)}))
		c.Send(mustJSON(snap))
		c.start(snap.Seq)
	}

	ws.SetReadDeadline(time.Now().Add(livePongWait))
	ws.SetPongHandler(func(data string) error {
		ws.SetReadDeadline(time.Now().Add(livePongWait))
		c.measurePong([]byte(data), time.Now())
		return nil
	})
	return c
}

// liveMessage handles one client message after the hello; false: the
// connection was closed.
func (s *Server) liveMessage(c *liveConn, b []byte) bool {
	c.ws.SetReadDeadline(time.Now().Add(livePongWait))
	m, err := decodeClientMsg(b)
	if err != nil {
		c.Close(websocket.CloseInvalidFramePayloadData, "malformed message")
		return false
	}
	switch {
	case m.Type == "ping":
		c.Send([]byte(`{"type":"pong"}`))
	case m.Type == "answer" && c.player != nil:
		res, err := s.contests.Answer(context.Background(), *c.player, m.Q, m.Choice, c.rtt.Load())
		switch {
		case err != nil:
			s.log.Error("contest answer", "room", c.room, "err", err)
			c.Send(mustJSON(map[string]any{"type": "answer_error", "q": m.Q, "error": "internal"}))
		case res != contest.AnswerOK:
			c.Send(mustJSON(map[string]any{"type": "answer_error", "q": m.Q, "error": res}))
		default:
			c.Send(ackMsg(m.Q, m.Choice))
		}
	default:
		c.Close(websocket.ClosePolicyViolation, "unexpected message")
		return false
	}
	return true
}

func playerID(c *liveConn) int {
	if c.player == nil {
		return 0
	}
	return c.player.ID
}

func (s *Server) closeOnReadError(c *liveConn, err error) {
	if errors.Is(err, websocket.ErrReadLimit) {
		c.Close(websocket.CloseMessageTooBig, "message too big")
		return
	}
	c.Close(websocket.CloseNormalClosure, "")
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}
