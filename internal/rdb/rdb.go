// Package rdb is Kepu's thin shared Redis infrastructure: the client and the
// one place where key names are built. Every Redis key Kepu writes starts
// with the configured prefix (KEPU_REDIS_PREFIX, default "kepu"), so tests
// and several deployments can share one server.
//
// Key families (each built by one method below):
//
//	{p}:rl:{name}:{id}                  rate limiter buckets (redis_rate) and backoff hashes (ratelimit.Backoff)
//	{p}:lb:{campaign}:{board}:{period}  leaderboard sorted sets
//	{p}:room:{pin}:…                    live contest rooms
//	{p}:ev:…                            pub/sub channels
//	{p}:ev:session                      session cache invalidations (account)
//	{p}:ev:session:ack:{nonce}          their confirmations (lists, 10 s)
package rdb

import (
	"context"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Open connects to url and checks the server answers.
func Open(ctx context.Context, url string) (*redis.Client, error) {
	opt, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("rdb: parse url: %w", err)
	}
	if opt.PoolSize < 64 {
		opt.PoolSize = 64
	}
	c := redis.NewClient(opt)
	if err := c.Ping(ctx).Err(); err != nil {
		c.Close()
		return nil, fmt.Errorf("rdb: ping: %w", err)
	}
	return c, nil
}

// Keys builds key names under one prefix.
type Keys struct{ Prefix string }

// Key joins parts under the prefix with ':'.
func (k Keys) Key(parts ...string) string {
	return k.Prefix + ":" + strings.Join(parts, ":")
}

// RateLimit is the key of one rate-limit bucket.
func (k Keys) RateLimit(name, id string) string { return k.Key("rl", name, id) }
