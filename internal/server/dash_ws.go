package server

// The live dashboard websocket (GET /ws/dash/:id). The client sends nothing
// but pongs. The server pushes {"type":"headline","headline":{…}} once on
// connect and then once per dashboard refresh that folded rows: the
// dashboard.Refresher runs on every instance but folds on only one at a
// time (a Postgres advisory lock), so the instance that folded publishes
// on the dashboard channel (realtime.Broker over Redis pub/sub) and every
// instance, itself included, computes the headline of each of its open
// topics (a campaign seen through one scope) ONCE and broadcasts it to
// that topic's sockets. Connections are realtime.Conn in a realtime.Hub,
// like /ws/leaderboard. Protocol: docs/realtime.md.

import (
	"context"
	"encoding/json"
	"strconv"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kepu/kepu/internal/dashboard"
	"github.com/kepu/kepu/internal/rdb"
	"github.com/kepu/kepu/internal/realtime"
)

// dashPushWait bounds one push (every open topic's headline query).
const dashPushWait = 10 * time.Second

// dashHub holds this instance's dashboard sockets by topic and what each
// topic shows (the campaign and the scope its headline is computed in).
type dashHub struct {
	hub *realtime.Hub

	mu     sync.Mutex
	topics map[string]dashTopic

	wake chan struct{} // a refresh happened; buffered 1, so bursts coalesce

	refreshes prometheus.Counter // refresh notices handled
	headlines prometheus.Counter // headlines computed for pushes
}

type dashTopic struct {
	camp dashboard.Campaign
	sc   dashboard.Scope
}

// dashTopicKey names the topic of a campaign seen through a scope: sockets
// with the same key get the same headline.
func dashTopicKey(camp dashboard.Campaign, sc dashboard.Scope) string {
	b, _ := json.Marshal(sc)
	return strconv.FormatInt(camp.ID, 10) + ":" + string(b)
}

func (h *dashHub) add(topic string, t dashTopic, c *realtime.Conn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.topics[topic] = t
	h.hub.Add(topic, c)
}

func (h *dashHub) remove(topic string, c *realtime.Conn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.hub.Remove(topic, c)
	if !h.hub.Watched(topic) {
		delete(h.topics, topic)
	}
}

func (h *dashHub) open() map[string]dashTopic {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make(map[string]dashTopic, len(h.topics))
	for k, v := range h.topics {
		out[k] = v
	}
	return out
}

// notify asks the push loop to push every open topic.
func (h *dashHub) notify() {
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

// dashChannel is the Broker shard channel on which a refresh is announced
// (one channel every instance subscribes to: sharded pub/sub).
func (s *Server) dashChannel() string {
	return rdb.Keys{Prefix: s.cfg.RedisPrefix}.DashRefreshChannel()
}

// DashRefreshed announces to every instance that the dashboard rollups
// changed (dashboard.Refresher.OnRefresh). When Redis cannot take the
// announcement this instance still pushes its own sockets.
func (s *Server) DashRefreshed() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	broker := realtime.RedisBroker{Client: s.redis, Log: s.log}
	if err := broker.PublishShard(ctx, s.dashChannel(), nil); err != nil {
		s.log.Warn("dashboard live: announce refresh", "err", err)
		s.dashHub.notify()
	}
}

func newDashHub(reg prometheus.Registerer) *dashHub {
	h := &dashHub{
		hub: realtime.NewHub(), topics: map[string]dashTopic{}, wake: make(chan struct{}, 1),
		refreshes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kepu_dash_live_refreshes_total", Help: "Dashboard refreshes pushed to this instance's live dashboards.",
		}),
		headlines: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kepu_dash_live_headlines_total", Help: "Headlines computed for live dashboard pushes (one per open topic per refresh).",
		}),
	}
	reg.MustRegister(h.refreshes, h.headlines)
	return h
}

// startDashLive subscribes to the refresh announcements and pushes
// headlines after each until ctx ends. Its goroutines are in s.bg.
func (s *Server) startDashLive(ctx context.Context) {
	h := s.dashHub
	broker := realtime.RedisBroker{Client: s.redis, Log: s.log}
	done, err := broker.SubscribeShard(ctx, s.dashChannel(), func(string, []byte) { h.notify() })
	s.bg.Go(func() { <-done })
	if err != nil && ctx.Err() == nil {
		s.log.Warn("dashboard live pubsub", "err", err) // not fatal: the broker keeps trying
	}
	s.bg.Go(func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-h.wake:
				s.pushHeadlines(ctx)
			}
		}
	})
}

// pushHeadlines computes each open topic's headline once and broadcasts it.
func (s *Server) pushHeadlines(ctx context.Context) {
	h := s.dashHub
	h.refreshes.Inc()
	ctx, cancel := context.WithTimeout(ctx, dashPushWait)
	defer cancel()
	for topic, t := range h.open() {
		hl, err := s.dash.Headline(ctx, t.camp, t.sc)
		h.headlines.Inc()
		if err != nil {
			if ctx.Err() == nil {
				s.log.Warn("dashboard live push", "campaign", t.camp.ID, "err", err)
			}
			continue
		}
		h.hub.Broadcast(topic, dashHeadlineMessage(hl))
	}
}

func dashHeadlineMessage(h dashboard.Headline) []byte {
	b, _ := json.Marshal(fiber.Map{"type": "headline", "headline": h})
	return b
}

// dashLive serves one dashboard socket: the headline now, then whatever
// the push loop broadcasts, until the client goes away or the server
// stops (Shutdown closes the hub's connections with "going away"). A read
// limit and deadlines bound the connection.
func (s *Server) dashLive(ws *realtime.WebSocket, camp dashboard.Campaign, sc dashboard.Scope) {
	c := realtime.NewConn(ws, dashQueue)
	c.PingEvery, c.WriteWait = dashPingEvery, dashWriteWait
	topic := dashTopicKey(camp, sc)
	s.dashHub.add(topic, dashTopic{camp: camp, sc: sc}, c)
	defer func() {
		s.dashHub.remove(topic, c)
		c.Release(realtime.CloseNormal, "")
	}()
	if s.stopping() { // Shutdown's CloseAll may have run before the add
		c.Close(realtime.CloseGoingAway, "server stopping")
		return
	}
	c.StartPings()
	ctx, cancel := s.op(context.Background())
	hl, err := s.dash.Headline(ctx, camp, sc)
	cancel()
	if err != nil {
		s.log.Warn("dashboard live", "campaign", camp.ID, "err", err)
		c.Close(realtime.CloseInternal, "")
		return
	}
	c.Send(dashHeadlineMessage(hl))
	_ = realtime.ReadLoop(ws, dashPongWait, nil, nil)
}
