package realtime

import (
	"hash/maphash"
	"sync"
)

const hubShards = 32

// Hub holds this instance's connections by topic (a campaign, a room …),
// split over shards so that joins, leaves and broadcasts on different
// topics rarely contend for one lock. The zero Hub is not usable; call
// NewHub.
type Hub struct {
	seed   maphash.Seed
	shards [hubShards]hubShard
}

type hubShard struct {
	mu     sync.RWMutex
	topics map[string]map[*Conn]struct{}
}

// NewHub returns an empty hub.
func NewHub() *Hub {
	h := &Hub{seed: maphash.MakeSeed()}
	for i := range h.shards {
		h.shards[i].topics = map[string]map[*Conn]struct{}{}
	}
	return h
}

func (h *Hub) shard(topic string) *hubShard {
	return &h.shards[maphash.String(h.seed, topic)%hubShards]
}

// Add subscribes c to topic.
func (h *Hub) Add(topic string, c *Conn) {
	s := h.shard(topic)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.topics[topic] == nil {
		s.topics[topic] = map[*Conn]struct{}{}
	}
	s.topics[topic][c] = struct{}{}
}

// Remove unsubscribes c from topic.
func (h *Hub) Remove(topic string, c *Conn) {
	s := h.shard(topic)
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.topics[topic], c)
	if len(s.topics[topic]) == 0 {
		delete(s.topics, topic)
	}
}

// Watched reports whether any connection of this instance is on topic.
func (h *Hub) Watched(topic string) bool {
	s := h.shard(topic)
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.topics[topic]) > 0
}

// Conns returns a snapshot of topic's connections.
func (h *Hub) Conns(topic string) []*Conn {
	s := h.shard(topic)
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]*Conn, 0, len(s.topics[topic]))
	for c := range s.topics[topic] {
		out = append(out, c)
	}
	return out
}

// Broadcast queues msg (encoded once by the caller) to every connection
// on topic and returns how many took it; slow ones are disconnected.
func (h *Hub) Broadcast(topic string, msg []byte) int {
	n := 0
	for _, c := range h.Conns(topic) {
		if c.Send(msg) {
			n++
		}
	}
	return n
}

// CloseAll closes every connection with code and reason (server shutdown:
// CloseGoingAway).
func (h *Hub) CloseAll(code int, reason string) {
	for i := range h.shards {
		s := &h.shards[i]
		s.mu.RLock()
		var all []*Conn
		for _, conns := range s.topics {
			for c := range conns {
				all = append(all, c)
			}
		}
		s.mu.RUnlock()
		for _, c := range all {
			c.Close(code, reason)
		}
	}
}
