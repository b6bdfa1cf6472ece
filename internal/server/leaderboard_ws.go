package server

// The live leaderboard websocket (GET /ws/leaderboard?campaign=&board=&id=&period=).
// The client sends nothing but pongs. When a campaign's boards change on
// any instance (realtime.Broker over Redis pub/sub,
// leaderboard.Service.Channel), every
// instance marks the campaign dirty; at most lbPushEvery each dirty
// campaign's watched boards are read once and pushed, compact, to their
// watchers: {"type":"top","top":[…],"my_rank":n}, unless it is what
// that watcher last got. Connections are
// realtime.Conn (one writer goroutine, bounded queue, slow clients
// disconnected) in a sharded realtime.Hub. Protocol: docs/realtime.md.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kepu/kepu/internal/kepu"
	"github.com/kepu/kepu/internal/leaderboard"
	"github.com/kepu/kepu/internal/ratelimit"
	"github.com/kepu/kepu/internal/realtime"
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

// lbConn is one watcher: a realtime.Conn and the board it watches.
type lbConn struct {
	*realtime.Conn
	campaign int64
	board    leaderboard.Board
	user     int64

	mu   sync.Mutex
	last []byte // the last push queued, so an unchanged board is not sent again
}

// sendChanged queues msg unless it equals the last push to this watcher
// (a rebuild or another board's change marks the campaign dirty without
// changing what this watcher sees).
func (c *lbConn) sendChanged(msg []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if bytes.Equal(msg, c.last) {
		return
	}
	c.last = msg
	c.Send(msg)
}

// lbHub holds this instance's watchers by campaign (a realtime.Hub keyed
// by campaign id; each Conn's Data is its *lbConn) and the campaigns that
// changed since the last push.
type lbHub struct {
	hub   *realtime.Hub
	mu    sync.Mutex
	dirty map[int64]bool
}

func newLBHub() *lbHub { return &lbHub{hub: realtime.NewHub(), dirty: map[int64]bool{}} }

func lbTopic(campaign int64) string { return strconv.FormatInt(campaign, 10) }

func (h *lbHub) markDirty(campaign int64) {
	if h.hub.Watched(lbTopic(campaign)) {
		h.mu.Lock()
		h.dirty[campaign] = true
		h.mu.Unlock()
	}
}

// takeDirty returns the watchers of every dirty campaign and clears the marks.
func (h *lbHub) takeDirty() map[int64][]*lbConn {
	h.mu.Lock()
	dirty := h.dirty
	h.dirty = map[int64]bool{}
	h.mu.Unlock()
	out := map[int64][]*lbConn{}
	for id := range dirty {
		for _, rc := range h.hub.Conns(lbTopic(id)) {
			if c, ok := rc.Data.(*lbConn); ok {
				out[id] = append(out[id], c)
			}
		}
	}
	return out
}

func (s *Server) leaderboardWSRoutes() {
	s.metrics.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "kepu_leaderboard_rebuilds_total", Help: "Leaderboard rebuilds from Postgres this instance ran (one per campaign at a time across instances).",
	}, func() float64 { return float64(s.boards.Rebuilds()) }))
	s.App.Get("/ws/leaderboard", func(c *fiber.Ctx) error {
		if !realtime.IsUpgrade(c) {
			return fiber.ErrUpgradeRequired
		}
		if !s.originAllowed(c.Get(fiber.HeaderOrigin)) {
			return kepu.Errorf(kepu.EFORBIDDEN, "error.origin")
		}
		if err := s.limiter.Allow(c.UserContext(), lbWSRule, c.IP()); err != nil {
			return err
		}
		id, err := parseID("campaign", c.Query("campaign"))
		if err != nil {
			return err
		}
		camp, err := s.campaigns.Public(c.UserContext(), id)
		if err != nil {
			return err
		}
		b, err := s.boardQuery(c, camp)
		if err != nil {
			return err
		}
		if err := s.checkBoard(c, b); err != nil {
			return err
		}
		w := &lbConn{campaign: id, board: b}
		if u := currentUser(c); u != nil {
			w.user = u.ID
		}
		return realtime.Upgrade(c, lbReadLimit, func(ws *realtime.WebSocket) { s.leaderboardWS(ws, w) })
	})
}

// startLeaderboardLive subscribes (through the realtime.Broker, so changes
// on any instance arrive, and subscribed again whenever Redis drops it) to
// every campaign's channel and pushes dirty campaigns' boards every
// lbPushEvery until ctx ends. Its goroutines are in s.bg.
func (s *Server) startLeaderboardLive(ctx context.Context) {
	prefix := strings.TrimSuffix(s.boards.ChannelPattern(), "*")
	broker := realtime.RedisBroker{Client: s.redis, Log: s.log}
	done, err := broker.Subscribe(ctx, s.boards.ChannelPattern(), func(channel string, _ []byte) {
		if id, err := strconv.ParseInt(strings.TrimPrefix(channel, prefix), 10, 64); err == nil {
			s.lbHub.markDirty(id)
		}
	})
	s.bg.Go(func() { <-done })
	if err != nil && ctx.Err() == nil { // not fatal: the broker keeps trying
		s.log.Warn("leaderboard pubsub", "err", err)
	}
	s.bg.Go(func() {
		tick := time.NewTicker(lbPushEvery)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				for id, conns := range s.lbHub.takeDirty() {
					s.pushBoards(ctx, id, conns)
				}
			}
		}
	})
}

// lbRebuilding is the push while a campaign's boards are rebuilt from
// Postgres: the page keeps the lines it shows and says so; the rebuild's
// "changed" brings the board.
var lbRebuilding = []byte(`{"type":"rebuilding"}`)

// pushBoards reads each watched board once and queues it to its watchers.
func (s *Server) pushBoards(ctx context.Context, campaignID int64, conns []*lbConn) {
	tops := map[leaderboard.Board][]leaderboard.Entry{}
	for _, c := range conns {
		top, ok := tops[c.board]
		if !ok {
			var err error
			top, err = s.boards.Top(ctx, campaignID, c.board, lbTopN, 0)
			if errors.Is(err, leaderboard.ErrRebuilding) {
				c.sendChanged(lbRebuilding)
				continue
			}
			if err != nil {
				s.log.Warn("leaderboard push", "campaign", campaignID, "err", err)
				return
			}
			tops[c.board] = top
		}
		c.sendChanged(s.boardMessage(ctx, campaignID, c, top))
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

// leaderboardWS serves one watcher: the board now, then whatever the push
// loop sends, until the client goes away or the server stops (Shutdown
// closes the hub's connections with "going away").
func (s *Server) leaderboardWS(ws *realtime.WebSocket, c *lbConn) {
	c.Conn = realtime.NewConn(ws, lbQueue)
	c.PingEvery, c.WriteWait = lbPingEvery, lbWriteWait
	c.Data = c
	topic := lbTopic(c.campaign)
	s.lbHub.hub.Add(topic, c.Conn)
	defer func() {
		s.lbHub.hub.Remove(topic, c.Conn)
		c.Release(realtime.CloseNormal, "")
	}()
	if s.stopping() { // Shutdown's CloseAll may have run before the Add
		c.Close(realtime.CloseGoingAway, "server stopping")
		return
	}
	c.StartPings()
	ctx, cancel := s.op(context.Background())
	defer cancel()
	top, err := s.boards.Top(ctx, c.campaign, c.board, lbTopN, 0)
	switch {
	case errors.Is(err, leaderboard.ErrRebuilding):
		c.sendChanged(lbRebuilding)
	case err != nil:
		s.log.Warn("leaderboard ws", "campaign", c.campaign, "err", err)
		c.Close(realtime.CloseInternal, "")
		return
	default:
		c.sendChanged(s.boardMessage(ctx, c.campaign, c, top))
	}
	_ = realtime.ReadLoop(ws, lbPongWait, nil, nil)
}
