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

	"github.com/gofiber/fiber/v2"

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

// liveConn is one websocket client: a realtime.Conn (one writer goroutine
// while messages wait, bounded queue, slow clients closed), who it is and
// the order of the room's events (contest.Cursor). It is the Conn's Data,
// so the realtime.Hub's connections of a room lead to it.
type liveConn struct {
	*realtime.Conn
	ws *realtime.WebSocket
	// ctx lives as long as the connection: every call it makes to the
	// contest service is bounded by it and by the request timeout (op).
	ctx    context.Context
	room   int64
	player *contest.Player // nil: the host
	rtt    atomic.Int64    // ms, last measured round trip
	cursor contest.Cursor

	// The outstanding ping: a random nonce and when the server sent it,
	// kept here and never taken from the client (a pong only proves which
	// ping it answers). See measurePong.
	pingMu    sync.Mutex
	pingNonce uint64
	pingAt    time.Time
}

// liveTopic is the realtime.Hub topic of room's connections.
func liveTopic(room int64) string { return "contest:" + strconv.FormatInt(room, 10) }

// liveConns returns this instance's connections of room.
func (s *Server) liveConns(room int64) []*liveConn {
	conns := s.live.Conns(liveTopic(room))
	out := make([]*liveConn, 0, len(conns))
	for _, c := range conns {
		if lc, ok := c.Data.(*liveConn); ok {
			out = append(out, lc)
		}
	}
	return out
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

// startContestLive subscribes (through the realtime.Broker) to every room
// channel and hands events to local connections until ctx ends. Its
// goroutines, and the result senders it starts, are in s.bg.
func (s *Server) startContestLive(ctx context.Context) {
	prefix := strings.TrimSuffix(s.contests.ChannelPattern(), "*")
	broker := realtime.RedisBroker{Client: s.redis, Log: s.log}
	done, err := broker.Subscribe(ctx, s.contests.ChannelPattern(), func(channel string, msg []byte) {
		room, err := strconv.ParseInt(strings.TrimPrefix(channel, prefix), 10, 64)
		if err != nil {
			return
		}
		s.dispatch(ctx, room, msg)
	})
	s.bg.Go(func() { <-done })
	if err != nil && ctx.Err() == nil {
		// The broker keeps trying in the background (with backoff).
		s.log.Warn("contest pubsub: first subscribe failed, retrying", "err", err)
	}
}

// dispatch gives one room event to the room's local connections (the same
// bytes to every one: encoded once), and sends each local player their own
// result when a round is revealed. Status messages (no seq) go to hosts only.
func (s *Server) dispatch(ctx context.Context, room int64, msg []byte) {
	h, ok := contest.ParseHead(msg)
	if !ok {
		return
	}
	conns := s.liveConns(room)
	if h.Seq == 0 {
		for _, c := range conns {
			if c.player == nil {
				c.cursor.Status(msg, c.Send)
			}
		}
		return
	}
	toPlayers := contest.ForPlayers(h.Type, msg)
	for _, c := range conns {
		if c.player == nil {
			c.cursor.Event(h.Seq, msg, c.Send)
		} else {
			c.cursor.Event(h.Seq, toPlayers, c.Send)
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
		s.bg.Go(func() { s.sendResults(ctx, room, conns, "result", ev.Data.Q) })
	case "podium":
		s.bg.Go(func() { s.sendResults(ctx, room, conns, "final", -1) })
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
	if m, ok := decodeAnswer(b); ok {
		return m, nil
	}
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

// answerPrefix starts an answer as the play page and the load tool send it.
var answerPrefix = []byte(`{"type":"answer","q":`)

// decodeAnswer reads an answer in exactly the form the play page sends,
// {"type":"answer","q":N,"choice":[a,b]}, without reflection (one arrives
// per player and question). ok is false for anything else, which
// decodeClientMsg hands to the JSON decoder; what it accepts, the decoder
// reads the same (FuzzDecodeAnswer).
func decodeAnswer(b []byte) (m clientMsg, ok bool) {
	rest, ok := bytes.CutPrefix(b, answerPrefix)
	if !ok {
		return m, false
	}
	q, rest, ok := cutNat(rest)
	if !ok {
		return m, false
	}
	if rest, ok = bytes.CutPrefix(rest, []byte(`,"choice":[`)); !ok {
		return m, false
	}
	choice := make([]int, 0, 2)
	for {
		var c int
		if c, rest, ok = cutNat(rest); !ok || len(choice) == 10 {
			return m, false
		}
		choice = append(choice, c)
		if len(rest) > 0 && rest[0] == ',' {
			rest = rest[1:]
			continue
		}
		if string(rest) != "]}" {
			return m, false
		}
		return clientMsg{Type: "answer", Q: q, Choice: choice}, true
	}
}

// cutNat reads a JSON number that is a natural number of at most 9 digits
// (no sign, no leading zero) from the start of b.
func cutNat(b []byte) (int, []byte, bool) {
	n, i := 0, 0
	for ; i < len(b) && i < 10 && b[i] >= '0' && b[i] <= '9'; i++ {
		n = n*10 + int(b[i]-'0')
	}
	if i == 0 || i == 10 || (i > 1 && b[0] == '0') {
		return 0, b, false
	}
	return n, b[i:], true
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

func (s *Server) contestWSRoutes() {
	s.App.Get("/ws/contest", func(c *fiber.Ctx) error {
		if !realtime.IsUpgrade(c) {
			return fiber.ErrUpgradeRequired
		}
		if !s.originAllowed(c.Get(fiber.HeaderOrigin)) {
			return kepu.Errorf(kepu.EFORBIDDEN, "error.origin")
		}
		if err := s.limiter.Allow(c.UserContext(), wsConnectRule, c.IP()); err != nil {
			return err
		}
		u := currentUser(c)
		return realtime.Upgrade(c, liveReadLimit, func(ws *realtime.WebSocket) {
			s.contestWS(ws, u)
		})
	})
}

// contestWS serves one connection; u is the session's user (nil: none).
// The handshake (hello, catch-up) and each message are handled in their
// own functions, so that the goroutine waiting for the next message has a
// shallow stack: an idle connection's stack shrinks back to a few KB.
func (s *Server) contestWS(ws *realtime.WebSocket, u *account.User) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := s.liveHello(ctx, ws, u)
	if c == nil {
		return
	}
	defer func() {
		s.live.Remove(liveTopic(c.room), c.Conn)
		c.Release(realtime.CloseNormal, "")
	}()
	err := realtime.ReadLoop(ws, livePongWait, func(data []byte) { c.measurePong(data, time.Now()) },
		func(b []byte) bool { return s.liveMessage(c, b) })
	if err != nil {
		s.closeOnReadError(c, err)
	}
}

// liveHello runs the handshake of a new connection: read the hello, greet
// (who is it), register with the hub, ping, catch up. It returns nil, the
// connection closed, if any step fails.
func (s *Server) liveHello(ctx context.Context, ws *realtime.WebSocket, u *account.User) *liveConn {
	c := newLiveConn(ctx, ws)
	hello, ok := s.readHello(c)
	if !ok {
		return nil
	}
	if !s.greet(c, hello, u) {
		return nil
	}
	if !s.registerLive(c) {
		return nil
	}
	if !s.catchUp(c, hello) {
		return nil
	}
	return c
}

// newLiveConn wraps a socket that has not said hello yet.
func newLiveConn(ctx context.Context, ws *realtime.WebSocket) *liveConn {
	ws.SetReadDeadline(time.Now().Add(liveHelloWait))
	rc := realtime.NewConn(ws, liveQueue)
	rc.PingEvery, rc.WriteWait = livePingEvery, liveWriteWait
	c := &liveConn{Conn: rc, ws: ws, ctx: ctx, cursor: contest.Cursor{Max: liveQueue}}
	rc.PingData = c.pingData
	rc.Data = c
	return c
}

// readHello reads and decodes the first message, which must be a hello.
func (s *Server) readHello(c *liveConn) (contest.Hello, bool) {
	_, b, err := c.ws.ReadMessage()
	if err != nil {
		s.closeOnReadError(c, err)
		return contest.Hello{}, false
	}
	m, err := decodeClientMsg(b)
	if err != nil || m.Type != "hello" || m.Room <= 0 {
		c.Close(closeBadHello, "expected hello")
		return contest.Hello{}, false
	}
	c.room = m.Room
	return contest.Hello{Room: m.Room, Token: m.Token, Epoch: m.Epoch, LastSeq: m.LastSeq}, true
}

// greet identifies the player (a token) or the host (the session).
func (s *Server) greet(c *liveConn, hello contest.Hello, u *account.User) bool {
	var a *kepu.Actor
	if u != nil {
		actor := u.Actor()
		a = &actor
	}
	ctx, cancel := s.op(c.ctx)
	defer cancel()
	p, err := s.contests.Greet(ctx, hello, a)
	switch {
	case err == nil:
		c.player = p
		return true
	case kepu.ErrorCode(err) == kepu.EGONE:
		c.Close(closeRoomGone, "room gone")
	case errors.Is(err, contest.ErrKicked):
		c.Close(closeKicked, "removed by host")
	case errors.Is(err, contest.ErrBadToken):
		c.Close(closeBadToken, "bad token")
	case kepu.ErrorCode(err) == kepu.EINTERNAL:
		// Redis or Postgres failing or slow: not the player's fault, and
		// their token still holds. The page reconnects with backoff and
		// says the room is recovering.
		s.log.Warn("contest hello", "room", c.room, "err", err)
		c.Close(realtime.CloseTryLater, "room recovering")
	default:
		c.Close(closeForbidden, "not host")
	}
	return false
}

// registerLive adds the connection to the hub (events of its room are held
// back by its cursor from now on) and pings it at once, so that the round
// trip is known before the first answer.
func (s *Server) registerLive(c *liveConn) bool {
	s.live.Add(liveTopic(c.room), c.Conn)
	if s.stopping() { // Shutdown's CloseAll may have run before the Add
		return s.dropLive(c, realtime.CloseGoingAway, "server stopping")
	}
	if c.PingNow() != nil {
		return s.dropLive(c, realtime.CloseGoingAway, "")
	}
	c.StartPings()
	return true
}

// catchUp sends the missed events or a snapshot (contest.CatchUp), then
// releases the events held back meanwhile, then (resumed) the clock.
func (s *Server) catchUp(c *liveConn, hello contest.Hello) bool {
	ctx, cancel := s.op(c.ctx)
	defer cancel()
	cu, err := s.contests.CatchUp(ctx, hello, c.player)
	if err != nil {
		if kepu.ErrorCode(err) == kepu.EGONE {
			return s.dropLive(c, closeRoomGone, "room gone")
		}
		s.log.Warn("contest catch-up", "room", c.room, "err", err)
		return s.dropLive(c, realtime.CloseTryLater, "room recovering")
	}
	for _, m := range cu.Msgs {
		c.Send(m)
	}
	c.cursor.Start(cu.Seq, c.Send)
	if cu.Resumed {
		if b, err := s.contests.ClockMsg(ctx, hello.Room, c.player); err == nil {
			c.Send(b)
		}
	}
	return true
}

// dropLive removes a registered connection and closes it; false.
func (s *Server) dropLive(c *liveConn, code int, reason string) bool {
	s.live.Remove(liveTopic(c.room), c.Conn)
	c.Close(code, reason)
	c.Wait()
	return false
}

// op bounds one call a websocket makes to a service: the connection's
// context and the request timeout (KEPU_REQUEST_TIMEOUT).
func (s *Server) op(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.cfg.RequestTimeout)
}

// liveMessage handles one client message after the hello; false: the
// connection was closed.
func (s *Server) liveMessage(c *liveConn, b []byte) bool {
	m, err := decodeClientMsg(b)
	if err != nil {
		c.Close(realtime.CloseBadData, "malformed message")
		return false
	}
	switch {
	case m.Type == "ping":
		c.Send([]byte(`{"type":"pong"}`))
	case m.Type == "answer" && c.player != nil:
		ctx, cancel := s.op(c.ctx)
		res, err := s.contests.Answer(ctx, *c.player, m.Q, m.Choice, c.rtt.Load())
		cancel()
		switch {
		case err != nil:
			// Not recorded (Redis failing or slow): the page says so and
			// lets the player tap again.
			s.log.Warn("contest answer", "room", c.room, "err", err)
			c.Send(mustJSON(map[string]any{"type": "answer_error", "q": m.Q, "error": "unavailable"}))
		case res != contest.AnswerOK:
			c.Send(mustJSON(map[string]any{"type": "answer_error", "q": m.Q, "error": res}))
		default:
			c.Send(ackMsg(m.Q, m.Choice))
		}
	default:
		c.Close(realtime.ClosePolicy, "unexpected message")
		return false
	}
	return true
}

func (s *Server) closeOnReadError(c *liveConn, err error) {
	if errors.Is(err, realtime.ErrReadLimit) {
		c.Close(realtime.CloseTooBig, "message too big")
		return
	}
	c.Close(realtime.CloseNormal, "")
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}
