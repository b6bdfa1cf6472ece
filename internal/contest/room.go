package contest

import (
	"embed"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/kepu/kepu/internal/rdb"
)

// Redis keys of a room (run R), all under the configured prefix {p}:
//
//	{p}:room:{R}              hash: phase, q, deadline, settings, ver, epoch …
//	{p}:room:{R}:seq          INCR counter of the room's events
//	{p}:room:{R}:events       list: the last EventsKept events (JSON)
//	{p}:room:{R}:players      hash: player id → player JSON
//	{p}:room:{R}:nicks        hash: lowercased nickname → player id
//	{p}:room:{R}:tokens       hash: SHA-256 of a player token → player id
//	{p}:room:{R}:scores       sorted set: player id → score
//	{p}:room:{R}:prev         sorted set: scores when the current question opened
//	{p}:room:{R}:streak       hash: player id → correct answers in a row
//	{p}:room:{R}:correct      hash: player id → correct answers
//	{p}:room:{R}:ans:{q}      hash: player id → answer JSON of question q
//	{p}:room:{R}:dist:{q}     hash: option index → answers choosing it
//	{p}:room:{R}:questions    string: the questions with answers (server only)
//	{p}:room:{R}:flush        string with a 250 ms TTL: coalesces lobby/progress updates
//	{p}:room:{R}:devices      hash: "d:{device hash}" / "u:{user id}" → players joined (MaxPerDevice)
//	{p}:room:{R}:teamsize     hash: team (class id) → members, for balanced assignment
//	{p}:room:{R}:kicked       hash: "d:{device hash}" / "u:{user id}" / "n:{nickname}" /
//	                          "t:{token hash}" → the player the host removed (contest_kicks)
//	{p}:room:{R}:rebuild      string (PX): the one rebuild from Postgres in progress (durable.go)
//	{p}:room:pin:{PIN}        string: the run id of a PIN
//	{p}:room:due              sorted set: "r:{R}" (next timed transition) and
//	                          "f:{R}" (pending lobby/progress update) → due ms;
//	                          a hint (due re-checks the room), re-seeded from
//	                          Postgres by the sweep
//	{p}:ev:room:{R}           pub/sub channel of the room's events
//
// Every key of a room expires with the room (Service.RoomTTL). A script or
// MULTI touches the keys of one room only (never another room's, the PIN
// or the due set), so that they can share one Redis Cluster slot; the
// due set and the PIN are written by Go right after.
type roomKeys struct {
	keys rdb.Keys
	id   int64
}

func (s *Service) room(id int64) roomKeys { return roomKeys{keys: s.Keys, id: id} }

func (k roomKeys) hash() string         { return k.keys.Room(k.id) }
func (k roomKeys) seq() string          { return k.keys.Room(k.id, "seq") }
func (k roomKeys) events() string       { return k.keys.Room(k.id, "events") }
func (k roomKeys) players() string      { return k.keys.Room(k.id, "players") }
func (k roomKeys) nicks() string        { return k.keys.Room(k.id, "nicks") }
func (k roomKeys) tokens() string       { return k.keys.Room(k.id, "tokens") }
func (k roomKeys) scores() string       { return k.keys.Room(k.id, "scores") }
func (k roomKeys) prev() string         { return k.keys.Room(k.id, "prev") }
func (k roomKeys) streak() string       { return k.keys.Room(k.id, "streak") }
func (k roomKeys) correct() string      { return k.keys.Room(k.id, "correct") }
func (k roomKeys) questions() string    { return k.keys.Room(k.id, "questions") }
func (k roomKeys) flush() string        { return k.keys.Room(k.id, "flush") }
func (k roomKeys) devices() string      { return k.keys.Room(k.id, "devices") }
func (k roomKeys) teamSize() string     { return k.keys.Room(k.id, "teamsize") }
func (k roomKeys) kicked() string       { return k.keys.Room(k.id, "kicked") }
func (k roomKeys) answers(q int) string { return k.keys.Room(k.id, "ans", strconv.Itoa(q)) }
func (k roomKeys) dist(q int) string    { return k.keys.Room(k.id, "dist", strconv.Itoa(q)) }
func (k roomKeys) roundMember() string  { return "r:" + strconv.FormatInt(k.id, 10) }
func (k roomKeys) flushMember() string  { return "f:" + strconv.FormatInt(k.id, 10) }
func (k roomKeys) all(nq int) []string {
	out := []string{k.hash(), k.seq(), k.events(), k.players(), k.nicks(), k.tokens(), k.scores(), k.prev(),
		k.streak(), k.correct(), k.questions(), k.flush(), k.devices(), k.teamSize(), k.kicked()}
	for q := 0; q < nq; q++ {
		out = append(out, k.answers(q), k.dist(q))
	}
	return out
}

func (s *Service) pinKey(pin string) string { return s.Keys.RoomPIN(pin) }
func (s *Service) dueKey() string           { return s.Keys.RoomDue() }

// Channel is the pub/sub channel of room id's events.
func (s *Service) Channel(id int64) string {
	return s.Keys.RoomChannel(id)
}

// ChannelPattern matches every room channel (for PSUBSCRIBE).
func (s *Service) ChannelPattern() string { return s.Keys.RoomChannelPattern() }

// EventsKept is how many recent events a room keeps for reconnecting
// clients; a client that missed more gets a snapshot.
const EventsKept = 64

//go:embed lua/*.lua
var luaFS embed.FS

type scripts struct {
	step, join, answer, claim, lobby, player, me, unlock *redis.Script
}

func loadScripts() *scripts {
	read := func(name string) string {
		b, err := luaFS.ReadFile("lua/" + name)
		if err != nil {
			panic("contest: missing script " + name) // embedded: cannot happen
		}
		return string(b)
	}
	lib := read("lib.lua")
	return &scripts{
		step:   redis.NewScript(lib + read("step.lua")),
		join:   redis.NewScript(lib + read("join.lua")),
		answer: redis.NewScript(lib + read("answer.lua")),
		claim:  redis.NewScript(read("claim.lua")),
		lobby:  redis.NewScript(read("lobby.lua")),
		player: redis.NewScript(read("player.lua")),
		me:     redis.NewScript(read("me.lua")),
		unlock: redis.NewScript(read("unlock.lua")),
	}
}

// Clock is the contest clock: real time plus an offset tests may move.
// The zero Clock is real time.
type Clock struct{ offset atomic.Int64 }

// Now returns the current time.
func (c *Clock) Now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) { c.offset.Add(int64(d)) }

func (s *Service) nowMS() int64 { return s.Clock.Now().UnixMilli() }

// localCache keeps what never changes while a room lives (its questions,
// its epoch and settings, the room of a PIN) in this instance's memory;
// whatever is missing is read again from Redis. At most cacheRooms entries
// (then it starts afresh).
type localCache[K comparable, V any] struct {
	mu sync.Mutex
	m  map[K]V
}

const cacheRooms = 1000

func newLocalCache[K comparable, V any]() *localCache[K, V] {
	return &localCache[K, V]{m: map[K]V{}}
}

func (c *localCache[K, V]) get(k K) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[k]
	return v, ok
}

func (c *localCache[K, V]) put(k K, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= cacheRooms {
		c.m = map[K]V{}
	}
	c.m[k] = v
}

func (c *localCache[K, V]) drop(k K) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, k)
}

// roomInfo is the part of a room hash that is fixed when the room opens.
type roomInfo struct {
	Epoch    int64
	Settings Settings
}
