package rdb

import "testing"

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
