package account

// The session cache: each instance keeps the sessions it resolved recently
// (token hash → user) for a few seconds, so most authenticated requests
// need no Postgres round trip. Correctness across instances comes from Redis
// pub/sub: every change that ends a session or changes what a session
// resolves to publishes an invalidation, and returns only when every
// subscribed instance has confirmed that it applied it; an instance whose
// subscription is down does not cache at all.
//
// The channel is a sharded one (SPUBLISH/SSUBSCRIBE, Redis 7.0): on a
// Redis Cluster a classic PUBLISH reaches the subscribers of every node
// but counts only those of the node it was sent to, so the publisher
// would wait for too few confirmations; every subscriber of a shard
// channel is on the one node that owns its slot, and SPUBLISH counts
// them all. On one server or Sentinel it works the same.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/kepu/kepu/internal/rdb"
)

// Session cache defaults (KEPU_SESSION_CACHE_TTL, KEPU_SESSION_CACHE_SIZE).
const (
	DefaultSessionCacheTTL  = 5 * time.Second
	DefaultSessionCacheSize = 100_000
)

const (
	cacheShards = 64 // a power of two: the shard is the low bits of the hash
	// evictSample is how many entries a full shard looks at to choose the
	// one to evict (the oldest of them, or any already stale).
	evictSample = 8
	// pingEvery is how long the subscription may be silent before it is
	// pinged; a ping unanswered for as long again counts as a lost
	// connection, so a dead link is noticed within about 2×pingEvery.
	pingEvery = time.Second
	// publishTimeout bounds the publish of an invalidation.
	publishTimeout = 2 * time.Second
	// ackWait is how long a publisher waits for the next instance's
	// confirmation before giving up on the rest (BLPOP's granularity).
	ackWait = time.Second
	// ackTTL is how long a confirmation list outlives a publisher that
	// gave up.
	ackTTL     = 10 * time.Second
	maxBackoff = 5 * time.Second
)

// SessionCache is one instance's cache of resolved sessions, keyed by the
// SHA-256 of the token (never the token itself). It serves entries only for
// TTL after they were read from Postgres, only while its subscription to
// the invalidation channel is up (Listen), and never past the session's own
// expiry. It holds at most the size given to NewSessionCache (rounded up
// to a multiple of 64); a full shard evicts the oldest of a few sampled
// entries.
//
// Invalidations (user id or token hash) are applied locally at once and
// published on {prefix}:ev:session for every other instance; each
// subscribed instance applies it and confirms on the list
// {prefix}:ev:session:ack:{nonce}, and the publisher returns once as many
// instances confirmed as SPUBLISH reached (or after ackWait without one). So
// when a logout or a demotion answers, no instance serves the old session
// any more. A SessionCache that is not listening (the CLI, or TTL 0) still
// publishes, so that it revokes on the instances that do cache.
//
// The zero value is not usable; use NewSessionCache. A nil *SessionCache is
// valid everywhere and does nothing.
type SessionCache struct {
	// TTL is how long an entry is served after it was read from Postgres;
	// 0 disables caching (invalidations are still published).
	TTL time.Duration
	// Now is the clock of TTLs (time.Now by default). Session expiry is
	// decided by the account service's clock.
	Now func() time.Time
	// Log receives subscription state changes and failed publishes.
	Log *slog.Logger

	redis    redis.UniversalClient
	keys     rdb.Keys
	channel  string
	perShard int
	born     time.Time

	live atomic.Bool
	// gen changes on every invalidation and subscription state change; a
	// fill that read Postgres under an older gen is not stored, so a read
	// racing a revocation cannot put the revoked session back.
	gen    atomic.Uint64
	shards [cacheShards]cacheShard
}

type cacheShard struct {
	mu sync.RWMutex
	m  map[[32]byte]cacheEntry
	_  [32]byte // one shard per cache line
}

type cacheEntry struct {
	user     User
	lastSeen int64 // unix ns, service clock: sessions.last_seen_at
	expires  int64 // unix ns, service clock: sessions.expires_at
	staleAt  int64 // ns since born, cache clock: served until then
}

// NewSessionCache returns a cache of at most about size entries, each
// served for ttl, publishing and listening on keys' session channel.
func NewSessionCache(client redis.UniversalClient, keys rdb.Keys, ttl time.Duration, size int) *SessionCache {
	if size < 1 {
		size = DefaultSessionCacheSize
	}
	c := &SessionCache{TTL: ttl, Now: time.Now, Log: slog.Default(), redis: client,
		keys: keys, channel: keys.SessionChannel(), perShard: (size + cacheShards - 1) / cacheShards}
	c.born = c.Now()
	for i := range c.shards {
		c.shards[i].m = make(map[[32]byte]cacheEntry)
	}
	return c
}

// Live reports whether the cache is serving: TTL > 0 and subscribed.
func (c *SessionCache) Live() bool { return c != nil && c.TTL > 0 && c.live.Load() }

// Len returns the number of entries held (fresh or stale).
func (c *SessionCache) Len() int {
	if c == nil {
		return 0
	}
	n := 0
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.RLock()
		n += len(sh.m)
		sh.mu.RUnlock()
	}
	return n
}

func (c *SessionCache) tick() int64 { return int64(c.Now().Sub(c.born)) }

func (c *SessionCache) shard(key [32]byte) *cacheShard {
	return &c.shards[key[0]&(cacheShards-1)]
}

// get returns the entry of key if it is within its TTL.
func (c *SessionCache) get(key [32]byte) (cacheEntry, bool) {
	sh := c.shard(key)
	sh.mu.RLock()
	e, ok := sh.m[key]
	sh.mu.RUnlock()
	return e, ok && c.tick() < e.staleAt
}

// put stores e under key unless the cache stopped serving or anything was
// invalidated since gen was read (before the Postgres read that produced e).
func (c *SessionCache) put(key [32]byte, e cacheEntry, gen uint64) {
	now := c.tick()
	e.staleAt = now + int64(c.TTL)
	sh := c.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if !c.live.Load() || c.gen.Load() != gen {
		return
	}
	if _, ok := sh.m[key]; !ok && len(sh.m) >= c.perShard {
		sh.evict(now)
	}
	sh.m[key] = e
}

// evict removes one entry: the first stale one among a few sampled (map
// iteration starts at a random place), else the oldest of them.
func (sh *cacheShard) evict(now int64) {
	var victim [32]byte
	oldest, n := int64(0), 0
	for k, e := range sh.m {
		if e.staleAt <= now {
			victim = k
			break
		}
		if n == 0 || e.staleAt < oldest {
			victim, oldest = k, e.staleAt
		}
		if n++; n == evictSample {
			break
		}
	}
	delete(sh.m, victim)
}

// dropUser removes every entry of the user on this instance.
func (c *SessionCache) dropUser(id int64) {
	c.gen.Add(1)
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.Lock()
		for k, e := range sh.m {
			if e.user.ID == id {
				delete(sh.m, k)
			}
		}
		sh.mu.Unlock()
	}
}

// dropToken removes the entry of one session on this instance.
func (c *SessionCache) dropToken(key [32]byte) {
	c.gen.Add(1)
	sh := c.shard(key)
	sh.mu.Lock()
	delete(sh.m, key)
	sh.mu.Unlock()
}

// clear removes every entry on this instance.
func (c *SessionCache) clear() {
	c.gen.Add(1)
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.Lock()
		sh.m = make(map[[32]byte]cacheEntry)
		sh.mu.Unlock()
	}
}

// RevokeUser drops every cached session of the user, here and (through
// Redis) on every other instance. Call it after the change that requires it
// has committed. A failed publish is logged, not returned: the change is
// already made, and the other instances stop caching when they lose Redis.
func (c *SessionCache) RevokeUser(ctx context.Context, id int64) {
	if c == nil {
		return
	}
	c.dropUser(id)
	c.publish(ctx, "u:"+strconv.FormatInt(id, 10))
}

// revokeToken is RevokeUser for one session, named by its key.
func (c *SessionCache) revokeToken(ctx context.Context, key [32]byte) {
	if c == nil {
		return
	}
	c.dropToken(key)
	c.publish(ctx, "t:"+hex.EncodeToString(key[:]))
}

// publish sends msg (with a nonce) and waits until every instance it
// reached has confirmed applying it.
func (c *SessionCache) publish(ctx context.Context, msg string) {
	// The change has committed: publish even if the request is gone.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), publishTimeout+ackWait)
	defer cancel()
	var b [8]byte
	rand.Read(b[:])
	nonce := hex.EncodeToString(b[:])
	n, err := c.redis.SPublish(ctx, c.channel, msg+" "+nonce).Result()
	if err != nil {
		c.Log.Error("session cache: publish invalidation", "err", err)
		return
	}
	ack := c.ackKey(nonce)
	got := int64(0)
	for got < n && c.redis.BLPop(ctx, ackWait, ack).Err() == nil {
		got++
	}
	if got < n {
		c.Log.Warn("session cache: invalidation not confirmed by every instance", "reached", n, "confirmed", got)
	}
	if n > 0 {
		c.redis.Del(ctx, ack)
	}
}

func (c *SessionCache) ackKey(nonce string) string { return c.keys.SessionAck(nonce) }

// confirm tells the publisher of an invalidation that it was applied here.
func (c *SessionCache) confirm(ctx context.Context, nonce string) {
	ctx, cancel := context.WithTimeout(ctx, publishTimeout)
	defer cancel()
	key := c.ackKey(nonce)
	_, err := c.redis.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.RPush(ctx, key, 1)
		p.Expire(ctx, key, ackTTL)
		return nil
	})
	if err != nil && ctx.Err() == nil {
		c.Log.Warn("session cache: confirm invalidation", "err", err)
	}
}

// apply handles one invalidation message ("u:{id}" or "t:{hash hex}",
// then a space and the nonce) and returns the nonce. Anything it does not
// understand clears the whole cache.
func (c *SessionCache) apply(msg string) (nonce string) {
	msg, nonce, _ = strings.Cut(msg, " ")
	kind, arg, _ := strings.Cut(msg, ":")
	switch kind {
	case "u":
		if id, err := strconv.ParseInt(arg, 10, 64); err == nil {
			c.dropUser(id)
			return nonce
		}
	case "t":
		var key [32]byte
		if b, err := hex.DecodeString(arg); err == nil && len(b) == len(key) {
			copy(key[:], b)
			c.dropToken(key)
			return nonce
		}
	}
	c.clear()
	return nonce
}

// setLive switches serving on or off; either way the cache starts empty,
// since invalidations may have been missed while not subscribed.
func (c *SessionCache) setLive(live bool) {
	if !live {
		c.live.Store(false)
	}
	c.clear()
	if live {
		c.live.Store(true)
	}
}

// Listen subscribes to the invalidation channel and keeps the subscription
// up until ctx ends, resubscribing with backoff after a loss. It returns
// once the first attempt has succeeded or failed (so a server that starts
// with Redis up serves from the cache from its first request); the cache
// serves only while subscribed. The returned channel is closed when the
// listener has stopped. With TTL 0 it does nothing.
func (c *SessionCache) Listen(ctx context.Context) <-chan struct{} {
	done := make(chan struct{})
	if c == nil || c.TTL <= 0 {
		close(done)
		return done
	}
	ps, err := c.subscribe(ctx)
	if err != nil && ctx.Err() == nil {
		c.Log.Warn("session cache: subscribe failed; serving sessions from Postgres", "err", err)
	}
	go func() {
		defer close(done)
		backoff := 100 * time.Millisecond
		for {
			if ps != nil {
				c.receive(ctx, ps)
				ps.Close()
				ps = nil
				c.setLive(false)
				if ctx.Err() != nil {
					return
				}
				c.Log.Warn("session cache: subscription lost; serving sessions from Postgres", "channel", c.channel)
				backoff = 100 * time.Millisecond
			}
			if cc, ok := c.redis.(*redis.ClusterClient); ok {
				cc.ReloadState(ctx) // in the background: the slot may have moved
			}
			t := time.NewTimer(backoff)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			backoff = min(2*backoff, maxBackoff)
			ps, err = c.subscribe(ctx) // failures while down were logged once, above
			if err != nil && ctx.Err() == nil {
				c.Log.Debug("session cache: subscribe failed", "err", err)
			}
		}
	}()
	return done
}

// subscribe returns a confirmed subscription (and turns serving on).
func (c *SessionCache) subscribe(ctx context.Context) (*redis.PubSub, error) {
	ps := c.redis.SSubscribe(ctx, c.channel)
	msg, err := ps.ReceiveTimeout(ctx, 5*time.Second)
	if err == nil {
		if s, ok := msg.(*redis.Subscription); !ok || s.Kind != "ssubscribe" {
			err = errors.New("unexpected reply to subscribe")
		}
	}
	if err != nil {
		ps.Close()
		return nil, err
	}
	c.setLive(true)
	c.Log.Info("session cache: subscribed", "channel", c.channel, "ttl", c.TTL.String())
	return ps, nil
}

// receive applies messages until the subscription fails or ctx ends. A
// silent connection is pinged; a ping left unanswered ends it.
func (c *SessionCache) receive(ctx context.Context, ps *redis.PubSub) {
	stop := context.AfterFunc(ctx, func() { ps.Close() })
	defer stop()
	pinged := false
	for {
		msg, err := ps.ReceiveTimeout(ctx, pingEvery)
		if err != nil {
			var ne net.Error
			if !pinged && errors.As(err, &ne) && ne.Timeout() && ctx.Err() == nil {
				if ps.Ping(ctx) == nil {
					pinged = true
					continue
				}
			}
			if ctx.Err() == nil {
				c.Log.Warn("session cache: receive", "err", err)
			}
			return
		}
		pinged = false
		switch m := msg.(type) {
		case *redis.Message:
			if nonce := c.apply(m.Payload); nonce != "" {
				c.confirm(ctx, nonce)
			}
		case *redis.Subscription:
			// A cluster unsubscribes a shard channel whose slot moved to
			// another node: subscribe again, where it lives now.
			if m.Kind == "sunsubscribe" {
				c.Log.Warn("session cache: unsubscribed by Redis (slot moved)", "channel", c.channel)
				return
			}
		}
	}
}
