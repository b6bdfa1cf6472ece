// Package rdb is Kepu's thin shared Redis infrastructure: the client and the
// one place where key names are built. Every Redis key Kepu writes starts
// with the configured prefix (KEPU_REDIS_PREFIX, default "kepu"), so tests
// and several deployments can share one server.
//
// Key families (each built by one method below; the packages that own them
// document what each key holds):
//
//	{p}:rl:{name}:{id}                  rate limiter buckets (redis_rate) and backoff hashes (ratelimit.Backoff)
//	{p}:lb:{campaign}:{board}:{period}  leaderboard sorted sets (period "all" or YYYYMMDD)
//	{p}:lb:{campaign}:built             marker: the campaign's boards were rebuilt from Postgres
//	{p}:lbtmp:{campaign}:{token}:…      scratch boards of a rebuild, renamed over the real ones
//	{p}:room:{run}                      live contest room of run id {run} (hash) …
//	{p}:room:{run}:{part}               … and its other keys (seq, events, players, ans:{q} …; see internal/contest/room.go)
//	{p}:room:pin:{PIN}                  the run id of a PIN
//	{p}:room:due                        sorted set of rooms' due timers
//	{p}:ev:room:{run}                   pub/sub channel of a room's events
//	{p}:ev:lb:{campaign}                pub/sub channel announcing a campaign's board changes
//	{p}:ev:dash:refresh                 a dashboard refresh folded rows (dashboard sockets)
//	{p}:ev:session                      session cache invalidations (account)
//	{p}:ev:session:ack:{nonce}          their confirmations (lists, 10 s)
package rdb

import (
	"context"
	"fmt"
	"strconv"
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

func id(n int64) string { return strconv.FormatInt(n, 10) }

// Board is the sorted set of one leaderboard: board is the board's name
// (e.g. "total", "school:12"), period "all" or the day as YYYYMMDD.
func (k Keys) Board(campaignID int64, board, period string) string {
	return k.Key("lb", id(campaignID), board, period)
}

// BoardsBuilt marks that a campaign's boards were rebuilt from Postgres.
func (k Keys) BoardsBuilt(campaignID int64) string { return k.Key("lb", id(campaignID), "built") }

// BoardPattern matches every key of a campaign's boards (for SCAN).
func (k Keys) BoardPattern(campaignID int64) string { return k.Key("lb", id(campaignID), "*") }

// BoardScratch is the scratch copy, during rebuild token, of the board key
// board (a key returned by Board for the same campaign).
func (k Keys) BoardScratch(campaignID int64, token, board string) string {
	return k.Key("lbtmp", id(campaignID), token, strings.TrimPrefix(board, k.Key("lb", id(campaignID))+":"))
}

// BoardChannel is the pub/sub channel announcing changes of a campaign's boards.
func (k Keys) BoardChannel(campaignID int64) string { return k.Key("ev", "lb", id(campaignID)) }

// BoardChannelPattern matches every campaign's board channel (PSUBSCRIBE).
func (k Keys) BoardChannelPattern() string { return k.Key("ev", "lb", "*") }

// Room is the hash of contest run runID's live room, or with parts one of
// the room's other keys ({p}:room:{run}:{part}:…).
func (k Keys) Room(runID int64, parts ...string) string {
	return k.Key(append([]string{"room", id(runID)}, parts...)...)
}

// RoomPIN holds the run id of a room's PIN.
func (k Keys) RoomPIN(pin string) string { return k.Key("room", "pin", pin) }

// RoomDue is the sorted set of the rooms' due timers.
func (k Keys) RoomDue() string { return k.Key("room", "due") }

// RoomChannel is the pub/sub channel of run runID's room events.
func (k Keys) RoomChannel(runID int64) string { return k.Key("ev", "room", id(runID)) }

// RoomChannelPattern matches every room channel (PSUBSCRIBE).
func (k Keys) RoomChannelPattern() string { return k.Key("ev", "room", "*") }

// DashRefreshChannel announces that the dashboard rollups changed (one
// refresh folded rows), so every instance pushes its open dashboards.
func (k Keys) DashRefreshChannel() string { return k.Key("ev", "dash", "refresh") }

// SessionChannel carries session cache invalidations between instances.
func (k Keys) SessionChannel() string { return k.Key("ev", "session") }

// SessionAck is the list on which instances confirm the invalidation nonce.
func (k Keys) SessionAck(nonce string) string { return k.Key("ev", "session", "ack", nonce) }
