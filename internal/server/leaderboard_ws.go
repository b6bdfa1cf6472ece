package server

// The live leaderboard websocket (GET /ws/leaderboard?campaign=&board=&id=&period=).
// The client sends nothing but pongs. When a campaign's boards change on
// any instance (Redis pub/sub, leaderboard.Service.Channel), every
// instance marks the campaign dirty; at most lbPushEvery each dirty
// campaign's watched boards are read once and pushed, compact, to their
// watchers: {"type":"top","top":[…],"my_rank":n}. Each connection has one
// writer goroutine with a bounded queue; a slow client is disconnected.

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/gofiber/fiber/v2"
	fws "github.com/gofiber/websocket/v2"
	"github.com/redis/go-redis/v9"

	"github.com/kepu/kepu/internal/account"
	"github.com/kepu/kepu/internal/kepu"
	"github.com/kepu/kepu/internal/leaderboard"
	"github.com/kepu/kepu/internal/ratelimit"
)

// Limits of the leaderboard websocket.
const (
	lbReadLimit = 512
	lbQueue     = 8
	lbTopN      = 20
	lbPushEvery = 400 * time.Millisecond // at most 2.5 pushes a second per board
	lbWriteWait = 10 * time.Second
	lbPingEvery = 15 * time.Second
	lbPongWait  = 40 * time.Second
)

var lbWSRule = ratelimit.Rule{Name: "leaderboard_ws_ip", Burst: 120, Period: time.Minute}

// lbConn is one watcher.
type lbConn struct {
	ws       *fws.Conn
	campaign int64
	board    leaderboard.Board
	user     int64
	send     chan []byte
	done     chan struct{}
	once     sync.Once
}

func (c *lbConn) close(code int, reason string) {
	c.once.Do(func() {
		c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(time.Second))
		close(c.done)
	})
}

// enqueue queues msg; a full queue disconnects the client.
func (c *lbConn) enqueue(msg []byte) {
	select {
	case <-c.done:
	case c.send <- msg:
	default:
		c.close(websocket.CloseTryAgainLater, "slow client")
	}
}

func (c *lbConn) writer() {
	ping := time.NewTicker(lbPingEvery)
	defer ping.Stop()
	for {
		select {
		case <-c.done:
			return
		case m := <-c.send:
			c.ws.SetWriteDeadline(time.Now().Add(lbWriteWait))
			if err := c.ws.WriteMessage(websocket.TextMessage, m); err != nil {
				c.close(websocket.CloseGoingAway, "")
				return
			}
		case <-ping.C:
			if err := c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(lbWriteWait)); err != nil {
				c.close(websocket.CloseGoingAway, "")
				return
			}
		}
	}
}

// lbHub holds this instance's watchers by campaign and the campaigns that
// changed since the last push.
type lbHub struct {
	mu    sync.Mutex
	conns map[int64]map[*lbConn]struct{}
	dirty map[int64]bool
}

func (h *lbHub) add(c *lbConn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.conns[c.campaign] == nil {
		h.conns[c.campaign] = map[*lbConn]struct{}{}
	}
	h.conns[c.campaign][c] = struct{}{}
}

func (h *lbHub) remove(c *lbConn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.conns[c.campaign], c)
	if len(h.conns[c.campaign]) == 0 {
		delete(h.conns, c.campaign)
	}
}

func (h *lbHub) markDirty(campaign int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, watched := h.conns[campaign]; watched {
		h.dirty[campaign] = true
	}
}

// takeDirty returns the watchers of every dirty campaign and clears the marks.
func (h *lbHub) takeDirty() map[int64][]*lbConn {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := map[int64][]*lbConn{}
	for id := range h.dirty {
		for c := range h.conns[id] {
			out[id] = append(out[id], c)
		}
	}
	h.dirty = map[int64]bool{}
	return out
}

func (s *Server) leaderboardWSRoutes() {
	s.lbHub = &lbHub{conns: map[int64]map[*lbConn]struct{}{}, dirty: map[int64]bool{}}
	s.runLeaderboardLive()
	s.App.Get("/ws/leaderboard", func(c *fiber.Ctx) error {
		if !fws.IsWebSocketUpgrade(c) {
			return fiber.ErrUpgradeRequired
		}
		if !s.originAllowed(c.Get(fiber.HeaderOrigin)) {
			return kepu.Errorf(kepu.EFORBIDDEN, "error.origin")
		}
		if err := s.limiter.Allow(c.UserContext(), lbWSRule, c.IP()); err != nil {
			return err
		}
		id, err := strconv.ParseInt(c.Query("campaign"), 10, 64)
		if err != nil || id <= 0 {
			return kepu.Invalid("campaign", "error.invalid_id")
		}
		if _, err := s.campaigns.Public(c.UserContext(), id); err != nil {
			return err
		}
		b, err := s.boardQuery(c)
		if err != nil {
			return err
		}
		c.Locals("lb_campaign", id)
		c.Locals("lb_board", b)
		return c.Next()
	}, fws.New(s.leaderboardWS, fws.Config{ReadBufferSize: 1024, WriteBufferSize: 4096}))
}

// runLeaderboardLive subscribes to every campaign's channel and pushes
// dirty campaigns' boards every lbPushEvery until the server stops.
func (s *Server) runLeaderboardLive() {
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-s.shutdown; cancel() }()
	ps := s.redis.PSubscribe(ctx, s.boards.ChannelPattern())
	if _, err := ps.Receive(ctx); err != nil && ctx.Err() == nil {
		s.log.Error("leaderboard pubsub", "err", err)
	}
	prefix := strings.TrimSuffix(s.boards.ChannelPattern(), "*")
	go func() {
		defer ps.Close()
		ch := ps.Channel(redis.WithChannelSize(1000))
		tick := time.NewTicker(lbPushEvery)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case m, ok := <-ch:
				if !ok {
					return
				}
				if id, err := strconv.ParseInt(strings.TrimPrefix(m.Channel, prefix), 10, 64); err == nil {
					s.lbHub.markDirty(id)
				}
			case <-tick.C:
				for id, conns := range s.lbHub.takeDirty() {
					s.pushBoards(ctx, id, conns)
				}
			}
		}
	}()
}

// pushBoards reads each watched board once and queues it to its watchers.
func (s *Server) pushBoards(ctx context.Context, campaignID int64, conns []*lbConn) {
	tops := map[leaderboard.Board][]leaderboard.Entry{}
	for _, c := range conns {
		top, ok := tops[c.board]
		if !ok {
			var err error
			if top, err = s.boards.Top(ctx, campaignID, c.board, lbTopN, 0); err != nil {
				s.log.Warn("leaderboard push", "campaign", campaignID, "err", err)
				return
			}
			tops[c.board] = top
		}
		c.enqueue(s.boardMessage(ctx, campaignID, c, top))
	}
}

// boardMessage is one push: the top entries (the watcher's own line
// marked) and the watcher's rank.
func (s *Server) boardMessage(ctx context.Context, campaignID int64, c *lbConn, top []leaderboard.Entry) []byte {
	mine := make([]leaderboard.Entry, len(top))
	copy(mine, top)
	var rank int64
	if c.user != 0 {
		rank, _ = s.boards.Rank(ctx, campaignID, c.board, c.user)
		for i := range mine {
			mine[i].Me = rank != 0 && mine[i].Rank == rank
		}
	}
	b, _ := json.Marshal(fiber.Map{"type": "top", "top": mine, "my_rank": rank})
	return b
}

func (s *Server) leaderboardWS(ws *fws.Conn) {
	id, _ := ws.Locals("lb_campaign").(int64)
	b, _ := ws.Locals("lb_board").(leaderboard.Board)
	c := &lbConn{ws: ws, campaign: id, board: b, send: make(chan []byte, lbQueue), done: make(chan struct{})}
	if u, _ := ws.Locals("user").(*account.User); u != nil {
		c.user = u.ID
	}
	ws.SetReadLimit(lbReadLimit)
	ws.SetReadDeadline(time.Now().Add(lbPongWait))
	ws.SetPongHandler(func(string) error { return ws.SetReadDeadline(time.Now().Add(lbPongWait)) })
	writerDone := make(chan struct{})
	go func() { defer close(writerDone); c.writer() }()
	defer func() { <-writerDone }()
	defer c.close(websocket.CloseNormalClosure, "")
	s.lbHub.add(c)
	defer s.lbHub.remove(c)
	go func() {
		select {
		case <-s.shutdown:
			c.close(websocket.CloseGoingAway, "server stopping")
		case <-c.done:
		}
	}()
	ctx := context.Background()
	top, err := s.boards.Top(ctx, id, b, lbTopN, 0)
	if err != nil {
		s.log.Warn("leaderboard ws", "campaign", id, "err", err)
		c.close(websocket.CloseInternalServerErr, "")
		return
	}
	c.enqueue(s.boardMessage(ctx, id, c, top))
	for {
		if _, _, err := ws.ReadMessage(); err != nil {
			return
		}
		ws.SetReadDeadline(time.Now().Add(lbPongWait))
	}
}
