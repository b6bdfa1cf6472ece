package rdb

import (
	"strings"
	"testing"
)

// Every key family keeps the exact names it had when each feature built its
// own, so a deploy never strands keys that are already in Redis.
func TestKeyNames(t *testing.T) {
	k := Keys{Prefix: "kepu"}
	for _, tc := range []struct{ got, want string }{
		{k.RateLimit("login", "1.2.3.4"), "kepu:rl:login:1.2.3.4"},
		{k.Board(7, "school:12", "all"), "kepu:lb:7:school:12:all"},
		{k.Board(7, "total", "20261201"), "kepu:lb:7:total:20261201"},
		{k.BoardsBuilt(7), "kepu:lb:7:built"},
		{k.BoardPattern(7), "kepu:lb:7:*"},
		{k.BoardScratch(7, "tok", k.Board(7, "school:12", "all")), "kepu:lbtmp:7:tok:school:12:all"},
		{k.BoardRebuild(7, "lock"), "kepu:lbrb:7:lock"},
		{k.BoardRebuild(7, "fence"), "kepu:lbrb:7:fence"},
		{k.BoardRebuild(7, "touched"), "kepu:lbrb:7:touched"},
		{k.BoardChannel(7), "kepu:ev:lb:7"},
		{k.BoardChannelPattern(), "kepu:ev:lb:*"},
		{k.Room(42), "kepu:room:42"},
		{k.Room(42, "seq"), "kepu:room:42:seq"},
		{k.Room(42, "ans", "3"), "kepu:room:42:ans:3"},
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
