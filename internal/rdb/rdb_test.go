package rdb

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// Every key family has the name documented in the package comment; the
// keys one script or transaction takes together share a hash tag.
func TestKeyNames(t *testing.T) {
	k := Keys{Prefix: "kepu"}
	for _, tc := range []struct{ got, want string }{
		{k.RateLimit("login", "1.2.3.4"), "kepu:rl:login:1.2.3.4"},
		{k.Board(7, "school:12", "all"), "kepu:{lb:7}:school:12:all"},
		{k.Board(7, "total", "20261201"), "kepu:{lb:7}:total:20261201"},
		{k.BoardsBuilt(7), "kepu:{lb:7}:built"},
		{k.BoardPattern(7), "kepu:{lb:7}:*"},
		{k.BoardScratch(7, "tok", k.Board(7, "school:12", "all")), "kepu:lbtmp:{lb:7}:tok:school:12:all"},
		{k.BoardRebuild(7, "lock"), "kepu:lbrb:{lb:7}:lock"},
		{k.BoardRebuild(7, "fence"), "kepu:lbrb:{lb:7}:fence"},
		{k.BoardRebuild(7, "touched"), "kepu:lbrb:{lb:7}:touched"},
		{k.BoardChannel(7), "kepu:ev:lb:7"},
		{k.BoardChannelPattern(), "kepu:ev:lb:*"},
		{k.PracticeBoard("20261130", "d3"), "kepu:{pw:20261130}:d3"},
		{k.PracticeBoards("20261130").Scratch("tok", k.PracticeBoard("20261130", "s5")), "kepu:pwtmp:{pw:20261130}:tok:s5"},
		{k.PracticeBoards("20261130").Rebuild("fence"), "kepu:pwrb:{pw:20261130}:fence"},
		{k.Room(42), "kepu:{room:42}"},
		{k.Room(42, "seq"), "kepu:{room:42}:seq"},
		{k.Room(42, "ans", "3"), "kepu:{room:42}:ans:3"},
		{k.RoomPIN("123456"), "kepu:room:pin:123456"},
		{k.RoomDue(), "kepu:room:due"},
		{k.RoomChannel(42), "kepu:ev:room:42"},
		{k.RoomChannelPattern(), "kepu:ev:room:*"},
		{k.SessionChannel(), "kepu:ev:session"},
		{k.DashRefreshChannel(), "kepu:ev:dash:refresh"},
		{k.SessionAck("n0"), "kepu:ev:session:ack:n0"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

// The keys that one Lua script or MULTI takes together lie in one slot of
// a Redis Cluster, and different campaigns and rooms spread over slots.
func TestKeysShareSlot(t *testing.T) {
	k := Keys{Prefix: "kepu-test-x"}
	groups := map[string][]string{
		"campaign 7": {k.Board(7, "total", "all"), k.Board(7, "school:12", "20261201"), k.BoardsBuilt(7),
			k.BoardScratch(7, "9-ab", k.Board(7, "class:3", "all")), k.BoardRebuild(7, "lock"),
			k.BoardRebuild(7, "fence"), k.BoardRebuild(7, "touched")},
		"week 20261130": {k.PracticeBoard("20261130", "d3"), k.PracticeBoardsBuilt("20261130"),
			k.PracticeBoards("20261130").Scratch("9-ab", k.PracticeBoard("20261130", "s5")),
			k.PracticeBoards("20261130").Rebuild("lock"), k.PracticeBoards("20261130").Rebuild("touched")},
		"room 42": {k.Room(42), k.Room(42, "seq"), k.Room(42, "events"), k.Room(42, "ans", "3"), k.Room(42, "dist", "11")},
	}
	for name, keys := range groups {
		want := slot(keys[0])
		for _, key := range keys[1:] {
			if got := slot(key); got != want {
				t.Errorf("%s: %s is in slot %d, %s in %d", name, key, got, keys[0], want)
			}
		}
	}
	if slot(k.BoardsBuilt(7)) == slot(k.BoardsBuilt(8)) &&
		slot(k.BoardsBuilt(8)) == slot(k.BoardsBuilt(9)) {
		t.Errorf("campaigns 7, 8 and 9 all in slot %d: the tag does not hold the id", slot(k.BoardsBuilt(7)))
	}
	if slot(k.Room(42)) == slot(k.Room(43)) && slot(k.Room(43)) == slot(k.Room(44)) {
		t.Errorf("rooms 42, 43 and 44 all in slot %d: the tag does not hold the id", slot(k.Room(42)))
	}
}

func TestParseClusterURL(t *testing.T) {
	good := []struct {
		url        string
		addrs      []string
		user, pass string
	}{
		{"redis+cluster://127.0.0.1:7000", []string{"127.0.0.1:7000"}, "", ""},
		{"redis+cluster://a:7000,b:7001,[::1]:7002/", []string{"a:7000", "b:7001", "[::1]:7002"}, "", ""},
		{"redis+cluster://u:p%40ss@n1:7000,n2:7000", []string{"n1:7000", "n2:7000"}, "u", "p@ss"},
		{"redis+cluster://:secret@n1:7000/0", []string{"n1:7000"}, "", "secret"},
	}
	for _, tc := range good {
		o, err := ParseClusterURL(tc.url)
		if err != nil {
			t.Errorf("%s: %v", tc.url, err)
			continue
		}
		if strings.Join(o.Addrs, " ") != strings.Join(tc.addrs, " ") || o.Username != tc.user || o.Password != tc.pass {
			t.Errorf("%s: got addrs %v user %q pass %q, want %v %q %q", tc.url, o.Addrs, o.Username, o.Password, tc.addrs, tc.user, tc.pass)
		}
	}
	for _, tc := range []struct{ url, says string }{
		{"redis+cluster://", `"" is not host:port`},
		{"redis+cluster://127.0.0.1", `"127.0.0.1" is not host:port`},
		{"redis+cluster://127.0.0.1:0", "bad port"},
		{"redis+cluster://127.0.0.1:70000", "bad port"},
		{"redis+cluster://a:1,,b:2", `"" is not host:port`},
		{"redis+cluster://a:1/2", "only database 0"},
		{"redis+cluster://a:1/kepu", "only database 0"},
		{"redis+cluster://a:1?read_only=1", `unknown parameter "read_only"`},
		{"redis+cluster://a:1?%zz", "bad query"},
		{"redis+cluster://u:%zz@a:1", "bad password"},
	} {
		_, err := ParseClusterURL(tc.url)
		if err == nil {
			t.Errorf("%s: got no error", tc.url)
			continue
		}
		// The error says what is wrong and what is wanted, never the
		// password of the URL.
		if msg := err.Error(); !strings.Contains(msg, tc.says) || !strings.Contains(msg, "want redis+cluster://") || strings.Contains(msg, "%zz@") {
			t.Errorf("%s: got %q, want it to say %q and the form wanted", tc.url, msg, tc.says)
		}
	}
}

// Open tells the three kinds of URL apart and says which part is wrong.
func TestOpenBadURLs(t *testing.T) {
	for _, tc := range []struct{ url, says string }{
		{"redis+cluster://127.0.0.1", "rdb: cluster url"},
		{"redis+sentinel://127.0.0.1:26379", "rdb: sentinel url"},
		{"http://127.0.0.1:6379", "rdb: parse url"},
	} {
		c, err := Open(context.Background(), tc.url)
		if err == nil {
			c.Close()
			t.Errorf("%s: got no error", tc.url)
		} else if !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%s: got %q, want %q", tc.url, err, tc.says)
		}
	}
}

func TestParseSentinelURL(t *testing.T) {
	good := []struct {
		url                string
		addrs              []string
		master, user, pass string
		db                 int
		sentinelPass       string
	}{
		{"redis+sentinel://127.0.0.1:26379/kepu", []string{"127.0.0.1:26379"}, "kepu", "", "", 0, ""},
		{"redis+sentinel://a:26379,b:26380,[::1]:26381/mymaster/2", []string{"a:26379", "b:26380", "[::1]:26381"}, "mymaster", "", "", 2, ""},
		{"redis+sentinel://u:p%40ss@s1:26379/kepu?sentinel_password=sp", []string{"s1:26379"}, "kepu", "u", "p@ss", 0, "sp"},
		{"redis+sentinel://:secret@s1:26379/kepu", []string{"s1:26379"}, "kepu", "", "secret", 0, ""},
	}
	for _, tc := range good {
		o, err := ParseSentinelURL(tc.url)
		if err != nil {
			t.Errorf("%s: %v", tc.url, err)
			continue
		}
		if strings.Join(o.SentinelAddrs, " ") != strings.Join(tc.addrs, " ") || o.MasterName != tc.master ||
			o.Username != tc.user || o.Password != tc.pass || o.DB != tc.db || o.SentinelPassword != tc.sentinelPass {
			t.Errorf("%s: got addrs %v master %q user %q pass %q db %d sentinel pass %q", tc.url,
				o.SentinelAddrs, o.MasterName, o.Username, o.Password, o.DB, o.SentinelPassword)
		}
	}
	for _, bad := range []string{
		"redis+sentinel://",
		"redis+sentinel://127.0.0.1:26379",     // no master
		"redis+sentinel://127.0.0.1:26379/",    // no master
		"redis+sentinel://127.0.0.1/kepu",      // no port
		"redis+sentinel://127.0.0.1:0/kepu",    // bad port
		"redis+sentinel://a:1,,b:2/kepu",       // empty host
		"redis+sentinel://a:1/kepu/16",         // db out of range
		"redis+sentinel://a:1/kepu/x",          // db not a number
		"redis+sentinel://a:1/kepu?password=x", // unknown parameter
		"redis+sentinel://a:1/kepu?%zz",        // bad query
	} {
		if _, err := ParseSentinelURL(bad); err == nil {
			t.Errorf("%s: got no error", bad)
		}
	}
}

// slot is the Redis Cluster slot of key: CRC16 (XMODEM) of its hash tag
// (the part between the first '{' and the next '}', when not empty) or of
// the whole key, modulo 16384.
func slot(key string) int {
	if i := strings.IndexByte(key, '{'); i >= 0 {
		if j := strings.IndexByte(key[i+1:], '}'); j > 0 {
			key = key[i+1 : i+1+j]
		}
	}
	var crc uint16
	for _, b := range []byte(key) {
		crc ^= uint16(b) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return int(crc) % 16384
}

func TestSlot(t *testing.T) {
	// The values CLUSTER KEYSLOT gives (redis-server 7.0).
	for key, want := range map[string]int{"123456789": 12739, "foo": 12182, "{user1000}.following": 3443,
		"kepu-test-x:{lb:7}:built": 3841, "kepu-test-x:lbtmp:{lb:7}:9-ab:class:3:all": 3841} {
		if got := slot(key); got != want {
			t.Errorf("slot(%q) = %d, want %d", key, got, want)
		}
	}
}

// redisErr is an error as Redis answers it (go-redis's redis.Error).
type redisErr string

func (e redisErr) Error() string { return string(e) }
func (redisErr) RedisError()     {}

func TestUnavailable(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("leaderboard: top: %w", redisErr("CLUSTERDOWN The cluster is down")), true},
		{redisErr("TRYAGAIN Multiple keys request during rehashing of slot"), true},
		{redisErr("MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'."), true},
		{redisErr("LOADING Redis is loading the dataset in memory"), true},
		{redisErr("READONLY You can't write against a read only replica."), true},
		{redisErr("BUSY Redis is busy running a script."), true},
		{redisErr("CROSSSLOT Keys in request don't hash to the same slot"), false}, // a bug, not an outage
		{redisErr("ERR wrong number of arguments"), false},
		{errors.New("CLUSTERDOWN from elsewhere"), false},
		{nil, false},
	} {
		if got := Unavailable(tc.err); got != tc.want {
			t.Errorf("Unavailable(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
