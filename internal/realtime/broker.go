package realtime

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// Broker carries messages between server instances: whatever one instance
// publishes on a channel every subscribed instance receives (itself too).
type Broker interface {
	// Publish sends msg on channel.
	Publish(ctx context.Context, channel string, msg []byte) error
	// Subscribe calls handle for every message on a channel matching the
	// glob pattern until ctx ends. It returns once the subscription is
	// active (messages published after it returns are delivered); handle
	// runs on one goroutine, in order.
	Subscribe(ctx context.Context, pattern string, handle func(channel string, msg []byte)) error
}

// RedisBroker is the Broker over Redis pub/sub.
type RedisBroker struct {
	Client *redis.Client
	Buffer int // messages buffered per subscription; default 1000
}

// Publish implements Broker.
func (b RedisBroker) Publish(ctx context.Context, channel string, msg []byte) error {
	if err := b.Client.Publish(ctx, channel, msg).Err(); err != nil {
		return fmt.Errorf("realtime: publish %s: %w", channel, err)
	}
	return nil
}

// Subscribe implements Broker with a pattern subscription (PSUBSCRIBE).
func (b RedisBroker) Subscribe(ctx context.Context, pattern string, handle func(channel string, msg []byte)) error {
	ps := b.Client.PSubscribe(ctx, pattern)
	if _, err := ps.Receive(ctx); err != nil {
		ps.Close()
		return fmt.Errorf("realtime: subscribe %s: %w", pattern, err)
	}
	size := b.Buffer
	if size <= 0 {
		size = 1000
	}
	ch := ps.Channel(redis.WithChannelSize(size))
	go func() {
		defer ps.Close()
		for {
			select {
			case <-ctx.Done():
				return
			case m, ok := <-ch:
				if !ok {
					return
				}
				handle(m.Channel, []byte(m.Payload))
			}
		}
	}()
	return nil
}
