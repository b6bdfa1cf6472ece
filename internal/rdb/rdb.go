// Package rdb is Kepu's thin shared Redis infrastructure: the client and the
// one place where key names are built. Every Redis key Kepu writes starts
// with the configured prefix (KEPU_REDIS_PREFIX, default "kepu"), so tests
// and several deployments can share one server.
//
// Key families (each built by one method below; the packages that own them
// document what each key holds). A part in braces ("{lb:C}", "{pw:W}",
// "{room:R}", "{pk}") is a literal Redis Cluster hash tag: every key holding the
// same tag lies in the same slot, so a Lua script or MULTI that takes them
// together runs on a cluster (where keys of different slots in one script
// fail with CROSSSLOT). Families without a tag are only ever used one key
// at a time. The campaign boards and the weekly practice boards are two
// families of one shape (BoardFamily), run by internal/leaderboard.Set.
//
//	{p}:rl:{name}:{id}                    rate limiter buckets (redis_rate) and backoff hashes (ratelimit.Backoff); one key per script
//	{p}:{lb:C}:{board}:{period}           leaderboard sorted sets of campaign C (period "all" or YYYYMMDD)
//	{p}:{lb:C}:built                      marker: the campaign's boards were rebuilt from Postgres
//	{p}:lbtmp:{lb:C}:{token}:…            scratch boards of a rebuild, renamed over the real ones (same slot)
//	{p}:lbrb:{lb:C}:lock                  the one rebuild of a campaign's boards: holder's fencing token (PX)
//	{p}:lbrb:{lb:C}:fence                 counter the fencing tokens are drawn from (INCR)
//	{p}:lbrb:{lb:C}:touched               users whose standings were written during the running rebuild
//	{p}:{room:R}                          live contest room of run id R (hash) …
//	{p}:{room:R}:{part}                   … and its other keys (seq, events, players, ans:{q} …; see internal/contest/room.go)
//	{p}:{room:R}:rebuild                  the one rebuild of a lost room from Postgres: holder's token (PX)
//	{p}:room:pin:{PIN}                    the run id of a PIN
//	{p}:room:due                          sorted set of rooms' due timers; a hint, re-seeded from Postgres, and never
//	                                      in a script with a room's keys
//	{p}:{pw:W}:{board}                    weekly practice board of the Asia/Shanghai week starting Monday W (YYYYMMDD),
//	                                      board "d{district}" or "s{school}" (internal/practice/board.go)
//	{p}:{pw:W}:built                      marker: week W's practice boards were rebuilt from Postgres
//	{p}:pwtmp:{pw:W}:{token}:…            scratch boards of a rebuild of week W's boards (like lbtmp)
//	{p}:pwrb:{pw:W}:lock|fence|touched    the one rebuild of week W's boards (like lbrb)
//	{p}:ev:room:{run}                     pub/sub channel of a room's events (PSUBSCRIBE {p}:ev:room:*)
//	{p}:ev:lb:{campaign}                  pub/sub channel announcing a campaign's board changes (PSUBSCRIBE)
//	{p}:ev:dash:refresh                   sharded pub/sub channel: a dashboard refresh folded rows (dashboard sockets)
//	{p}:ev:session                        sharded pub/sub channel: session cache invalidations (account)
//	{p}:ev:session:ack:{nonce}            their confirmations (lists, 10 s)
//	{p}:{pk}:q:{mode}:{lang}              PK matchmaking queue (sorted set: user id by enqueue ms; internal/pk)
//	{p}:{pk}:lv:{mode}:{lang}             the practice level of each waiter of that queue (hash)
//	{p}:pk:found:{user}                   the match a claimed waiter was put in (2 min): a lost pub/sub message is not a lost match
//	{p}:ev:pk:m:{match}                   pub/sub channel poking a match's sockets (an answer, a join) (PSUBSCRIBE {p}:ev:pk:*)
//	{p}:ev:pk:u:{user}                    pub/sub channel telling a waiter their match
//
// The board and room names changed when the hash tags came (issue 13):
// after that upgrade boards rebuild from Postgres by themselves and rooms
// in play are lost, and the keys under the old names are garbage
// (docs/operations.md "Redis Cluster" says how to remove them).
package rdb

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	neturl "net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Open connects to url and checks the server answers. url is one server,
// redis://[user:password@]host:port/db (rediss:// for TLS), a master
// watched by Redis Sentinel:
//
//	redis+sentinel://[user:password@]host:port[,host:port…]/master[/db][?sentinel_password=…]
//
// with the addresses of the sentinels and the name of the master they
// monitor (the client asks the sentinels for the master, and follows a
// failover to the replica they promote: go-redis's failover client), or a
// Redis Cluster:
//
//	redis+cluster://[user:password@]host:port[,host:port…]
//
// with the addresses of some of its nodes (any one that answers tells the
// client the rest; go-redis's cluster client routes each command to the
// master of its key's slot and follows MOVED and failovers). Every
// multi-key script and transaction of Kepu stays within one slot (the
// hash tags of Keys), so all three work alike.
func Open(ctx context.Context, url string) (redis.UniversalClient, error) {
	var c redis.UniversalClient
	switch {
	case strings.HasPrefix(url, SentinelScheme+"://"):
		opt, err := ParseSentinelURL(url)
		if err != nil {
			return nil, err
		}
		if opt.PoolSize < 64 {
			opt.PoolSize = 64
		}
		c = redis.NewFailoverClient(opt)
	case strings.HasPrefix(url, ClusterScheme+"://"):
		opt, err := ParseClusterURL(url)
		if err != nil {
			return nil, err
		}
		if opt.PoolSize < 64 {
			opt.PoolSize = 64 // per node
		}
		c = redis.NewClusterClient(opt)
	default:
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

// ClusterScheme is the URL scheme of a Redis Cluster.
const ClusterScheme = "redis+cluster"

// multiHost is what a redis+sentinel:// or redis+cluster:// URL holds
// before its scheme-specific parts are checked.
type multiHost struct {
	user, pass string
	addrs      []string
	path       string // after the first '/' (the '/' itself excluded)
	query      neturl.Values
}

// parseMultiHost splits raw (scheme:// removed) into user info, the
// comma-separated host:port list, the path and the query; the error says
// what is wrong, without the URL (which may hold a password).
func parseMultiHost(rest string) (multiHost, error) {
	var m multiHost
	query := ""
	if i := strings.IndexByte(rest, '?'); i >= 0 {
		rest, query = rest[:i], rest[i+1:]
	}
	if i := strings.LastIndexByte(rest, '@'); i >= 0 {
		user, pass, _ := strings.Cut(rest[:i], ":")
		var err error
		if m.user, err = neturl.PathUnescape(user); err != nil {
			return m, errors.New("bad user")
		}
		if m.pass, err = neturl.PathUnescape(pass); err != nil {
			return m, errors.New("bad password")
		}
		rest = rest[i+1:]
	}
	hosts, path, _ := strings.Cut(rest, "/")
	for _, h := range strings.Split(hosts, ",") {
		host, port, err := net.SplitHostPort(h)
		if err != nil || host == "" {
			return m, fmt.Errorf("%q is not host:port", h)
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return m, fmt.Errorf("bad port in %q", h)
		}
		m.addrs = append(m.addrs, h)
	}
	m.path = path
	q, err := neturl.ParseQuery(query)
	if err != nil {
		return m, errors.New("bad query")
	}
	m.query = q
	return m, nil
}

// ParseSentinelURL parses a redis+sentinel:// URL (see Open).
func ParseSentinelURL(raw string) (*redis.FailoverOptions, error) {
	bad := func(why string) (*redis.FailoverOptions, error) {
		return nil, fmt.Errorf("rdb: sentinel url: %s (want %s://[user:password@]host:port[,host:port…]/master[/db])", why, SentinelScheme)
	}
	m, err := parseMultiHost(strings.TrimPrefix(raw, SentinelScheme+"://"))
	if err != nil {
		return bad(err.Error())
	}
	opt := &redis.FailoverOptions{Username: m.user, Password: m.pass, SentinelAddrs: m.addrs}
	master, db, hasDB := strings.Cut(m.path, "/")
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
	for k := range m.query {
		if k != "sentinel_password" {
			return bad(fmt.Sprintf("unknown parameter %q", k))
		}
	}
	opt.SentinelPassword = m.query.Get("sentinel_password")
	return opt, nil
}

// ParseClusterURL parses a redis+cluster:// URL (see Open): user and
// password are those of every node; there is no database number (a
// cluster has only database 0) and no parameter.
func ParseClusterURL(raw string) (*redis.ClusterOptions, error) {
	bad := func(why string) (*redis.ClusterOptions, error) {
		return nil, fmt.Errorf("rdb: cluster url: %s (want %s://[user:password@]host:port[,host:port…])", why, ClusterScheme)
	}
	m, err := parseMultiHost(strings.TrimPrefix(raw, ClusterScheme+"://"))
	if err != nil {
		return bad(err.Error())
	}
	if m.path != "" && m.path != "0" {
		return bad(fmt.Sprintf("path %q: a cluster has only database 0", "/"+m.path))
	}
	if len(m.query) > 0 {
		return bad(fmt.Sprintf("unknown parameter %q", slices.Sorted(maps.Keys(m.query))[0]))
	}
	return &redis.ClusterOptions{Addrs: m.addrs, Username: m.user, Password: m.pass}, nil
}

// Unavailable reports whether err is Redis answering that it cannot serve
// the command now, though it is reachable: a cluster that lost a master
// (CLUSTERDOWN), a slot being moved (TRYAGAIN), a replica cut off from its
// master (MASTERDOWN), a server loading its data (LOADING), a demoted
// master (READONLY) or a script that runs too long (BUSY). Like a refused
// connection it is a dependency outage (503 with Retry-After), not a bug.
func Unavailable(err error) bool {
	var re redis.Error
	if !errors.As(err, &re) {
		return false
	}
	code, _, _ := strings.Cut(re.Error(), " ")
	switch code {
	case "CLUSTERDOWN", "TRYAGAIN", "MASTERDOWN", "LOADING", "READONLY", "BUSY":
		return true
	}
	return false
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

// BoardFamily names the keys of one family of boards that are built,
// rebuilt and announced together (internal/leaderboard.Set): a campaign's
// boards (CampaignBoards) or one week's practice boards (PracticeBoards).
// Every key of a family holds its hash tag, so the scripts that take
// several of them (record, claim, swap) run on a cluster.
type BoardFamily struct {
	k                Keys
	tag              string // "{lb:C}" or "{pw:W}"
	scratch, rebuild string // the first parts of its scratch boards and rebuild keys
	channel          string // pub/sub channel announcing changes, "" for none
}

// CampaignBoards is the family of campaign campaignID's leaderboards:
// {p}:{lb:C}:…, scratch boards {p}:lbtmp:{lb:C}:…, rebuild keys
// {p}:lbrb:{lb:C}:…, channel {p}:ev:lb:C.
func (k Keys) CampaignBoards(campaignID int64) BoardFamily {
	return BoardFamily{k: k, tag: campaignTag(campaignID), scratch: "lbtmp", rebuild: "lbrb", channel: k.BoardChannel(campaignID)}
}

// PracticeBoards is the family of the weekly practice boards of the week
// starting Monday week (YYYYMMDD): {p}:{pw:W}:…, scratch boards
// {p}:pwtmp:{pw:W}:…, rebuild keys {p}:pwrb:{pw:W}:…; no channel.
func (k Keys) PracticeBoards(week string) BoardFamily {
	return BoardFamily{k: k, tag: practiceTag(week), scratch: "pwtmp", rebuild: "pwrb"}
}

// Board is the sorted set of one board of the family: parts after the tag.
func (f BoardFamily) Board(parts ...string) string {
	return f.k.Key(append([]string{f.tag}, parts...)...)
}

// Built marks that the family's boards were rebuilt from Postgres.
func (f BoardFamily) Built() string { return f.Board("built") }

// Pattern matches every board of the family and its marker (for SCAN; on a
// cluster go-redis sends it to the one node holding the tag's slot).
func (f BoardFamily) Pattern() string { return f.Board("*") }

// Scratch is the scratch copy, during rebuild token, of board (a key
// returned by Board), in the family's slot and outside Pattern.
func (f BoardFamily) Scratch(token, board string) string {
	return f.k.Key(f.scratch, f.tag, token, strings.TrimPrefix(board, f.Board()+":"))
}

// Rebuild is one key of the family's rebuild lock (part "lock", "fence" or
// "touched"), in its slot and outside Pattern (a rebuild's swap, which
// deletes every key Pattern matches, never touches it).
func (f BoardFamily) Rebuild(part string) string { return f.k.Key(f.rebuild, f.tag, part) }

// Channel is the pub/sub channel announcing the family's changes, "" when
// nobody listens.
func (f BoardFamily) Channel() string { return f.channel }

// campaignTag is the hash tag of every key of a campaign's boards and of
// their rebuild: one slot, so record.lua, claim.lua and swap.lua (which
// renames scratch boards over the real ones) run on a cluster.
func campaignTag(campaignID int64) string { return "{lb:" + id(campaignID) + "}" }

// Board is the sorted set of one leaderboard: board is the board's name
// (e.g. "total", "school:12"), period "all" or the day as YYYYMMDD.
func (k Keys) Board(campaignID int64, board, period string) string {
	return k.CampaignBoards(campaignID).Board(board, period)
}

// BoardsBuilt marks that a campaign's boards were rebuilt from Postgres.
func (k Keys) BoardsBuilt(campaignID int64) string { return k.CampaignBoards(campaignID).Built() }

// BoardPattern matches every key of a campaign's boards (for SCAN).
func (k Keys) BoardPattern(campaignID int64) string { return k.CampaignBoards(campaignID).Pattern() }

// BoardScratch is CampaignBoards(campaignID).Scratch.
func (k Keys) BoardScratch(campaignID int64, token, board string) string {
	return k.CampaignBoards(campaignID).Scratch(token, board)
}

// BoardRebuild is CampaignBoards(campaignID).Rebuild.
func (k Keys) BoardRebuild(campaignID int64, part string) string {
	return k.CampaignBoards(campaignID).Rebuild(part)
}

// BoardChannel is the pub/sub channel announcing changes of a campaign's boards.
func (k Keys) BoardChannel(campaignID int64) string { return k.Key("ev", "lb", id(campaignID)) }

// BoardChannelPattern matches every campaign's board channel (PSUBSCRIBE).
func (k Keys) BoardChannelPattern() string { return k.Key("ev", "lb", "*") }

// Room is the hash of contest run runID's live room, or with parts one of
// the room's other keys ({p}:{room:R}:{part}:…).
// All of them share the hash tag {room:R}: one slot, so every room script
// and transaction runs on a cluster.
func (k Keys) Room(runID int64, parts ...string) string {
	return k.Key(append([]string{"{room:" + id(runID) + "}"}, parts...)...)
}

// RoomRebuild is the lock of the one rebuild of run runID's room from
// Postgres (SET NX PX with the holder's token). It is a key of the room
// (same family as Room), so that a script may touch it with the room's
// other keys.
func (k Keys) RoomRebuild(runID int64) string { return k.Room(runID, "rebuild") }

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

// PKQueue is the PK matchmaking queue of mode (2 or 4 players) and
// language: a sorted set of user ids by enqueue time (ms). It and PKLevels
// share the hash tag {pk}, so claim.lua takes both on a cluster.
func (k Keys) PKQueue(mode int, lang string) string {
	return k.Key("{pk}", "q", strconv.Itoa(mode), lang)
}

// PKLevels is the hash of the practice level of each waiter of PKQueue.
func (k Keys) PKLevels(mode int, lang string) string {
	return k.Key("{pk}", "lv", strconv.Itoa(mode), lang)
}

// PKFound holds the match a claimed waiter was put in.
func (k Keys) PKFound(userID int64) string { return k.Key("pk", "found", id(userID)) }

// PKMatchChannel pokes the sockets of one PK match on every instance.
func (k Keys) PKMatchChannel(matchID int64) string { return k.Key("ev", "pk", "m", id(matchID)) }

// PKUserChannel tells a waiting user (on any instance) their match.
func (k Keys) PKUserChannel(userID int64) string { return k.Key("ev", "pk", "u", id(userID)) }

// PKChannelPattern matches both PK channel families (PSUBSCRIBE).
func (k Keys) PKChannelPattern() string { return k.Key("ev", "pk", "*") }

// practiceTag is the hash tag of one week's practice boards (one slot).
func practiceTag(week string) string { return "{pw:" + week + "}" }

// PracticeBoard is the sorted set of one weekly practice board: week is
// its Monday as YYYYMMDD, board "d{district id}" or "s{school id}".
func (k Keys) PracticeBoard(week, board string) string { return k.PracticeBoards(week).Board(board) }

// PracticeBoardsBuilt marks that week's practice boards were rebuilt from
// Postgres.
func (k Keys) PracticeBoardsBuilt(week string) string { return k.PracticeBoards(week).Built() }

// PracticeBoardPattern matches every key of week's practice boards (SCAN).
func (k Keys) PracticeBoardPattern(week string) string { return k.PracticeBoards(week).Pattern() }
