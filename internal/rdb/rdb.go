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
//	{p}:lbrb:{campaign}:lock            the one rebuild of a campaign's boards: holder's fencing token (PX)
//	{p}:lbrb:{campaign}:fence           counter the fencing tokens are drawn from (INCR)
//	{p}:lbrb:{campaign}:touched         users whose standings were written during the running rebuild
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
	"net"
	neturl "net/url"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Open connects to url and checks the server answers. url is either one
// server, redis://[user:password@]host:port/db (rediss:// for TLS), or a
// master watched by Redis Sentinel:
//
//	redis+sentinel://[user:password@]host:port[,host:port…]/master[/db][?sentinel_password=…]
//
// with the addresses of the sentinels and the name of the master they
// monitor; the client asks the sentinels for the master, and follows a
// failover to the replica they promote (go-redis's failover client).
func Open(ctx context.Context, url string) (*redis.Client, error) {
	var c *redis.Client
	if strings.HasPrefix(url, SentinelScheme+"://") {
		opt, err := ParseSentinelURL(url)
		if err != nil {
			return nil, err
		}
		if opt.PoolSize < 64 {
			opt.PoolSize = 64
		}
		c = redis.NewFailoverClient(opt)
	} else {
		opt, err := redis.ParseURL(url)
		if err != nil {
			return nil, fmt.Errorf("rdb: parse url: %w", err)
		}
		if opt.PoolSize < 64 {
			opt.PoolSize = 64
		}
		c = redis.NewClient(opt)
	}
	if err := c.Ping(ctx).Err(); err != nil {
		c.Close()
		return nil, fmt.Errorf("rdb: ping: %w", err)
	}
	return c, nil
}

// SentinelScheme is the URL scheme of a master behind Redis Sentinel.
const SentinelScheme = "redis+sentinel"

// ParseSentinelURL parses a redis+sentinel:// URL (see Open).
func ParseSentinelURL(raw string) (*redis.FailoverOptions, error) {
	bad := func(why string) (*redis.FailoverOptions, error) {
		return nil, fmt.Errorf("rdb: sentinel url: %s (want %s://[user:password@]host:port[,host:port…]/master[/db])", why, SentinelScheme)
	}
	rest := strings.TrimPrefix(raw, SentinelScheme+"://")
	query := ""
	if i := strings.IndexByte(rest, '?'); i >= 0 {
		rest, query = rest[:i], rest[i+1:]
	}
	opt := &redis.FailoverOptions{}
	if i := strings.LastIndexByte(rest, '@'); i >= 0 {
		user, pass, _ := strings.Cut(rest[:i], ":")
		var err error
		if opt.Username, err = neturl.PathUnescape(user); err != nil {
			return bad("bad user")
		}
		if opt.Password, err = neturl.PathUnescape(pass); err != nil {
			return bad("bad password")
		}
		rest = rest[i+1:]
	}
	hosts, path, _ := strings.Cut(rest, "/")
	for _, h := range strings.Split(hosts, ",") {
		host, port, err := net.SplitHostPort(h)
		if err != nil || host == "" {
			return bad(fmt.Sprintf("%q is not host:port", h))
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return bad(fmt.Sprintf("bad port in %q", h))
		}
		opt.SentinelAddrs = append(opt.SentinelAddrs, h)
	}
	master, db, hasDB := strings.Cut(path, "/")
	if master == "" {
		return bad("no master name")
	}
	opt.MasterName = master
	if hasDB {
		n, err := strconv.Atoi(db)
		if err != nil || n < 0 || n > 15 {
			return bad(fmt.Sprintf("bad db %q", db))
		}
		opt.DB = n
	}
	q, err := neturl.ParseQuery(query)
	if err != nil {
		return bad("bad query")
	}
	for k := range q {
		if k != "sentinel_password" {
			return bad(fmt.Sprintf("unknown parameter %q", k))
		}
	}
	opt.SentinelPassword = q.Get("sentinel_password")
	return opt, nil
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

// BoardRebuild is one key of the rebuild lock of a campaign's boards
// (part "lock", "fence" or "touched"). It lies outside BoardPattern, so a
// rebuild's swap, which deletes every key BoardPattern matches, never
// touches it.
func (k Keys) BoardRebuild(campaignID int64, part string) string {
	return k.Key("lbrb", id(campaignID), part)
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
