package realtime

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Broker carries messages between server instances: whatever one instance
// publishes on a channel every subscribed instance receives (itself too).
type Broker interface {
	// Publish sends msg on channel.
	Publish(ctx context.Context, channel string, msg []byte) error
	// Subscribe calls handle for every message on a channel matching the
	// glob pattern until ctx ends; handle runs on one goroutine, in order.
	// It returns once the first attempt to subscribe is done: nil when the
	// subscription is active (messages published after it returns are
	// delivered), else that attempt's error. Either way the subscription
	// lives as long as ctx: whenever it fails or drops it is made again
	// (RedisBroker: with backoff), so an error here is worth a log line,
	// not a give-up. Messages published while it is down are lost. The
	// returned channel is closed once ctx has ended and the subscription's
	// goroutines (handle's included) have stopped: its owner waits for it.
	Subscribe(ctx context.Context, pattern string, handle func(channel string, msg []byte)) (<-chan struct{}, error)
	// PublishShard sends msg on a shard channel: only SubscribeShard
	// subscriptions to that channel receive it, never Subscribe patterns.
	PublishShard(ctx context.Context, channel string, msg []byte) error
	// SubscribeShard is Subscribe for exactly one shard channel.
	SubscribeShard(ctx context.Context, channel string, handle func(channel string, msg []byte)) (<-chan struct{}, error)
}

// Re-subscribe backoff of RedisBroker: the wait after the n-th failure in a
// row is drawn from [d/2, d) with d = min(backoffMin·2ⁿ, backoffMax).
const (
	backoffMin = 100 * time.Millisecond
	backoffMax = 5 * time.Second
	// idleCheck: a subscription silent this long is pinged, so a dead
	// connection that nobody closed is noticed.
	idleCheck = 30 * time.Second
)

// RedisBroker is the Broker over Redis pub/sub: Publish and Subscribe are
// PUBLISH and PSUBSCRIBE, PublishShard and SubscribeShard are sharded
// pub/sub, SPUBLISH and SSUBSCRIBE (Redis 7.0). On a Redis Cluster a
// PUBLISH is passed to every node, so a pattern subscription on any node
// sees it; a shard channel lives on the node of its slot only, so its
// messages cross no other node (docs/architecture.md "Redis Cluster").
type RedisBroker struct {
	Client redis.UniversalClient
	Buffer int          // messages buffered per subscription; default 1000
	Log    *slog.Logger // subscription drops and recoveries; none when nil
}

// Publish implements Broker.
func (b RedisBroker) Publish(ctx context.Context, channel string, msg []byte) error {
	if err := b.Client.Publish(ctx, channel, msg).Err(); err != nil {
		return fmt.Errorf("realtime: publish %s: %w", channel, err)
	}
	return nil
}

// PublishShard implements Broker.
func (b RedisBroker) PublishShard(ctx context.Context, channel string, msg []byte) error {
	if err := b.Client.SPublish(ctx, channel, msg).Err(); err != nil {
		return fmt.Errorf("realtime: spublish %s: %w", channel, err)
	}
	return nil
}

// Subscribe implements Broker. Its two goroutines (one receives and
// re-subscribes, one calls handle) stop when ctx ends.
func (b RedisBroker) Subscribe(ctx context.Context, pattern string, handle func(channel string, msg []byte)) (<-chan struct{}, error) {
	return b.subscribeLoop(ctx, pattern, false, handle)
}

// SubscribeShard implements Broker, as Subscribe does.
func (b RedisBroker) SubscribeShard(ctx context.Context, channel string, handle func(channel string, msg []byte)) (<-chan struct{}, error) {
	return b.subscribeLoop(ctx, channel, true, handle)
}

// subscribeLoop is Subscribe (shard false: pattern) and SubscribeShard.
func (b RedisBroker) subscribeLoop(ctx context.Context, pattern string, shard bool, handle func(channel string, msg []byte)) (<-chan struct{}, error) {
	size := b.Buffer
	if size <= 0 {
		size = 1000
	}
	msgs := make(chan *redis.Message, size)
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-ctx.Done():
				return
			case m := <-msgs:
				handle(m.Channel, []byte(m.Payload))
			}
		}
	})
	ps, err := b.subscribe(ctx, pattern, shard)
	wg.Go(func() { b.run(ctx, pattern, shard, ps, msgs) })
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	if err != nil {
		if ctx.Err() == nil {
			b.log(slog.LevelWarn, "realtime: subscribe failed, retrying", pattern, err)
		}
		return done, fmt.Errorf("realtime: subscribe %s: %w", pattern, err)
	}
	return done, nil
}

// subscribe makes one subscription and waits until Redis confirms it.
func (b RedisBroker) subscribe(ctx context.Context, pattern string, shard bool) (*redis.PubSub, error) {
	var ps *redis.PubSub
	if shard {
		ps = b.Client.SSubscribe(ctx, pattern)
	} else {
		ps = b.Client.PSubscribe(ctx, pattern)
	}
	if _, err := ps.Receive(ctx); err != nil {
		ps.Close()
		return nil, err
	}
	return ps, nil
}

// run receives on ps (nil: not subscribed) and subscribes again, after a
// jittered exponential backoff, whenever that fails, until ctx ends.
func (b RedisBroker) run(ctx context.Context, pattern string, shard bool, ps *redis.PubSub, msgs chan<- *redis.Message) {
	failures := 0
	if ps == nil {
		failures = 1
	}
	for {
		if ps == nil {
			if cc, ok := b.Client.(*redis.ClusterClient); ok {
				cc.ReloadState(ctx) // in the background: the slot may have moved
			}
			if !sleepCtx(ctx, backoff(failures)) {
				return
			}
			var err error
			if ps, err = b.subscribe(ctx, pattern, shard); err != nil {
				if ctx.Err() != nil {
					return
				}
				failures++
				b.log(slog.LevelDebug, "realtime: subscribe failed, retrying", pattern, err, "failures", failures)
				continue
			}
			b.log(slog.LevelInfo, "realtime: subscribed again", pattern, nil, "failures", failures)
			failures = 0
		}
		err := b.receive(ctx, ps, msgs)
		ps.Close()
		ps = nil
		if ctx.Err() != nil {
			return
		}
		b.log(slog.LevelWarn, "realtime: subscription dropped, retrying", pattern, err)
		failures = 1
	}
}

// receive passes ps's messages to msgs until ctx ends or ps fails.
func (b RedisBroker) receive(ctx context.Context, ps *redis.PubSub, msgs chan<- *redis.Message) error {
	stop := context.AfterFunc(ctx, func() { ps.Close() }) // unblocks the read
	defer stop()
	for {
		v, err := ps.ReceiveTimeout(ctx, idleCheck)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() && ctx.Err() == nil {
				if err := ps.Ping(ctx); err != nil {
					return err
				}
				continue
			}
			return err
		}
		switch m := v.(type) {
		case *redis.Message:
			select {
			case msgs <- m:
			case <-ctx.Done():
				return ctx.Err()
			}
		case *redis.Subscription:
			// A cluster unsubscribes a shard channel whose slot moved
			// to another node: subscribe again, where it lives now.
			if m.Kind == "sunsubscribe" {
				return errSlotMoved
			}
		}
	}
}

func (b RedisBroker) log(level slog.Level, msg, pattern string, err error, args ...any) {
	if b.Log == nil {
		return
	}
	args = append(args, "pattern", pattern)
	if err != nil {
		args = append(args, "err", err)
	}
	b.Log.Log(context.Background(), level, msg, args...)
}

// errSlotMoved: Redis ended a shard subscription (its slot moved).
var errSlotMoved = errors.New("realtime: shard channel unsubscribed by Redis (slot moved)")

// backoff is the wait before the next attempt after failures failures in
// a row (at least 1).
func backoff(failures int) time.Duration {
	d := backoffMax
	if failures < 16 {
		d = min(backoffMin<<(failures-1), backoffMax)
	}
	return d/2 + rand.N(d/2)
}

// sleepCtx waits d and reports whether ctx is still live.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
