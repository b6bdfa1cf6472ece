package contest

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/kepu/kepu/internal/kepu"
)

// A steady stream of joins must not postpone the pending lobby update: it
// stays due FlushEvery after the join that asked for it.
func TestLobbyUpdateNotPostponedByJoins(t *testing.T) {
	s, _, run := newTestRun(t)
	ctx := context.Background()
	k := s.room(run.ID)
	due := func() float64 {
		v, err := s.Redis.ZScore(ctx, s.dueKey(), k.flushMember()).Result()
		if err != nil {
			t.Fatalf("no pending lobby update: %v", err)
		}
		return v
	}
	if _, err := s.Join(ctx, JoinInput{PIN: run.PIN, Nickname: "p0"}); err != nil {
		t.Fatal(err)
	}
	first := due()
	for i := 1; i <= 2; i++ {
		time.Sleep(FlushEvery + 50*time.Millisecond) // the coalescing key has expired
		if _, err := s.Join(ctx, JoinInput{PIN: run.PIN, Nickname: fmt.Sprint("p", i)}); err != nil {
			t.Fatal(err)
		}
		if got := due(); got != first {
			t.Fatalf("after join %d the lobby update is due at %.0f, want still %.0f", i, got, first)
		}
	}
}

// The lobby lists the newest MaxLobbyShown players, oldest first, with the
// full count, skipping removed players; players' snapshots carry no list.
func TestLobbyListNewest(t *testing.T) {
	s, a, run := newTestRun(t)
	ctx := context.Background()
	n := MaxLobbyShown + 5
	var first Joined
	for i := 0; i < n; i++ {
		j, err := s.Join(ctx, JoinInput{PIN: run.PIN, Nickname: fmt.Sprintf("p%03d", i)})
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = j
		}
	}
	if err := s.Kick(ctx, a, run.ID, n); err != nil { // the newest
		t.Fatal(err)
	}
	st, err := s.load(ctx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	d, err := s.lobby(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	if d.Count != n-1 || len(d.Players) != MaxLobbyShown {
		t.Fatalf("lobby: count %d, %d listed; want %d and %d", d.Count, len(d.Players), n-1, MaxLobbyShown)
	}
	if got, want := d.Players[0].ID, n-MaxLobbyShown; got != want || d.Players[len(d.Players)-1].ID != n-1 {
		t.Errorf("lobby ids %d…%d, want %d…%d", got, d.Players[len(d.Players)-1].ID, want, n-1)
	}
	host, err := s.Snapshot(ctx, run.ID, nil)
	if err != nil || host.Lobby == nil || host.Lobby.Count != n-1 {
		t.Errorf("host snapshot lobby: %+v, %v; want count %d", host.Lobby, err, n-1)
	}
	p := Player{Room: run.ID, ID: first.Player, Nick: first.Nickname}
	if snap, err := s.Snapshot(ctx, run.ID, &p); err != nil || snap.Lobby != nil || snap.Me == nil {
		t.Errorf("player snapshot: lobby %+v me %+v err %v; want no lobby list and me", snap.Lobby, snap.Me, err)
	}
}

// Standings tell every player what MeOf tells each (score, rank with ties,
// streak, answer), from one read.
func TestStandingsMatchMeOf(t *testing.T) {
	s, a, run := newTestRun(t)
	ctx := context.Background()
	var players []Player
	for i := 0; i < 6; i++ {
		j, err := s.Join(ctx, JoinInput{PIN: run.PIN, Nickname: fmt.Sprint("p", i)})
		if err != nil {
			t.Fatal(err)
		}
		players = append(players, Player{Room: run.ID, ID: j.Player, Nick: j.Nickname})
	}
	if err := s.Next(ctx, a, run.ID, ""); err != nil {
		t.Fatal(err)
	}
	// Right, right, wrong, wrong, two without an answer; set equal scores
	// for a tie.
	for i, c := range []int{0, 0, 1, 1} {
		if res, err := s.Answer(ctx, players[i], 0, []int{c}, 0); err != nil || res != AnswerOK {
			t.Fatalf("answer %d: %q %v", i, res, err)
		}
	}
	k := s.room(run.ID)
	s.Redis.ZAdd(ctx, k.scores(), redis.Z{Score: 900, Member: "1"}, redis.Z{Score: 900, Member: "2"})
	for _, q := range []int{0, -1} {
		st, err := s.Standings(ctx, run.ID, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range players {
			want, err := s.MeOf(ctx, p, q)
			if err != nil {
				t.Fatal(err)
			}
			got := st.Me(p)
			gb, _ := json.Marshal(got)
			wb, _ := json.Marshal(want)
			if string(gb) != string(wb) {
				t.Errorf("q %d player %d: Standings %s, MeOf %s", q, p.ID, gb, wb)
			}
		}
	}
	if st, _ := s.Standings(ctx, run.ID, 0); st.Me(players[0]).Rank != 1 || st.Me(players[1]).Rank != 1 {
		t.Errorf("tied players: ranks %d and %d, want 1 and 1", st.Me(players[0]).Rank, st.Me(players[1]).Rank)
	}
}

func TestParseHead(t *testing.T) {
	tests := []struct {
		msg  string
		want EventHead
		ok   bool
	}{
		{`{"seq":41,"epoch":17,"type":"question","data":{"type":"x"}}`, EventHead{41, "question"}, true},
		{`{"epoch":17,"type":"lobby","data":{"count":3}}`, EventHead{0, "lobby"}, true},
		{`{"seq":7,"epoch":1,"type":"new_kind","data":null}`, EventHead{7, "new_kind"}, true},
		{`{"type":"board","seq":3}`, EventHead{3, "board"}, true}, // other key order: JSON
		{`{"seq":99999999999999999999,"type":"x"}`, EventHead{}, false},
		{`not json`, EventHead{}, false},
	}
	for _, tt := range tests {
		got, ok := ParseHead([]byte(tt.msg))
		if got != tt.want || ok != tt.ok {
			t.Errorf("ParseHead(%s) = %+v, %v; want %+v, %v", tt.msg, got, ok, tt.want, tt.ok)
		}
	}
	ev := []byte(tests[0].msg)
	if n := testing.AllocsPerRun(100, func() { ParseHead(ev) }); n != 0 {
		t.Errorf("ParseHead of an event allocates %.0f times, want 0", n)
	}
}

// ParseHead reads Kepu's own envelopes as encoding/json does, and never
// panics on anything else.
func FuzzParseHead(f *testing.F) {
	f.Add(int64(41), "question", []byte(`{"seq":1,`))
	f.Add(int64(0), "lobby", []byte(`{"epoch":1,"type":"a\"b"}`))
	f.Fuzz(func(t *testing.T, seq int64, typ string, raw []byte) {
		ParseHead(raw)
		if seq < 0 {
			return
		}
		tb, _ := json.Marshal(typ)
		msg := fmt.Sprintf(`{"seq":%d,"epoch":1,"type":%s,"data":{"type":"x"}}`, seq, tb)
		if seq == 0 {
			msg = fmt.Sprintf(`{"epoch":1,"type":%s,"data":{"type":"x"}}`, tb)
		}
		var want struct {
			Seq  int64  `json:"seq"`
			Type string `json:"type"`
		}
		if err := json.Unmarshal([]byte(msg), &want); err != nil {
			t.Fatal(err)
		}
		if h, ok := ParseHead([]byte(msg)); !ok || h.Seq != want.Seq || h.Type != want.Type {
			t.Errorf("ParseHead(%s) = %+v, %v; want %+v", msg, h, ok, want)
		}
	})
}

func TestForPlayers(t *testing.T) {
	ranking := make([]Standing, 0, 10)
	for i := 1; i <= 10; i++ {
		ranking = append(ranking, Standing{ID: i, Nick: fmt.Sprint("p", i), Score: 1000 - i, Rank: i})
	}
	data, _ := json.Marshal(podiumData{Podium: ranking[:3], Ranking: ranking, Questions: []QuestionStat{{Q: 0, Stem: "?"}}, Total: 10})
	msg := []byte(`{"seq":9,"epoch":5,"type":"podium","data":` + string(data) + `}`)
	got := ForPlayers("podium", msg)
	var ev struct {
		Seq, Epoch int64
		Type       string
		Data       map[string]json.RawMessage
	}
	if err := json.Unmarshal(got, &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Seq != 9 || ev.Epoch != 5 || ev.Type != "podium" || ev.Data["ranking"] != nil || ev.Data["questions"] != nil ||
		string(ev.Data["total"]) != "10" || len(ev.Data["podium"]) < 10 {
		t.Errorf("players' podium: %s", got)
	}
	other := []byte(`{"seq":3,"epoch":5,"type":"board","data":{}}`)
	if g := ForPlayers("board", other); &g[0] != &other[0] {
		t.Errorf("ForPlayers(board) copied the message; want the same bytes")
	}
}

// An instance remembers the room of a PIN; when the PIN has moved on to a
// newer room, the join goes to the new room.
func TestJoinAfterPINMovedOn(t *testing.T) {
	s, a, cid := newTestService(t)
	ctx := context.Background()
	old, err := s.CreateRun(ctx, a, cid)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Join(ctx, JoinInput{PIN: old.PIN, Nickname: "ann"}); err != nil {
		t.Fatal(err)
	}
	if err := s.End(ctx, a, old.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Join(ctx, JoinInput{PIN: old.PIN, Nickname: "bob"}); err != ErrWrongPIN {
		t.Fatalf("join a finished room: got %v, want %v", err, ErrWrongPIN)
	}
	// A new room draws the same PIN (forced here).
	next, err := s.CreateRun(ctx, a, cid)
	if err != nil {
		t.Fatal(err)
	}
	s.Redis.Set(ctx, s.pinKey(old.PIN), next.ID, time.Hour)
	s.Redis.HSet(ctx, s.room(next.ID).hash(), "pin", old.PIN)
	s.pins.put(old.PIN, old.ID) // as an instance that saw the old room
	j, err := s.Join(ctx, JoinInput{PIN: old.PIN, Nickname: "cat"})
	if err != nil || j.Room != next.ID {
		t.Fatalf("join after the PIN moved on: room %d, %v; want room %d", j.Room, err, next.ID)
	}
}

// The last joins of a burst reach the host's lobby: a flush that runs
// while the coalescing key is still alive (its TTL runs on Redis's clock,
// the due time on ours) must not leave the joins after it unannounced.
func TestLobbyUpdateAfterFlushNotLost(t *testing.T) {
	s, _, run := newTestRun(t)
	ctx := context.Background()
	k := s.room(run.ID)
	if _, err := s.Join(ctx, JoinInput{PIN: run.PIN, Nickname: "early"}); err != nil {
		t.Fatal(err)
	}
	// The flush runs before the key has expired.
	s.Redis.Set(ctx, k.flush(), 1, time.Minute)
	s.Redis.ZRem(ctx, s.dueKey(), k.flushMember())
	if err := s.flush(ctx, run.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Join(ctx, JoinInput{PIN: run.PIN, Nickname: "late"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Redis.ZScore(ctx, s.dueKey(), k.flushMember()).Err(); err != nil {
		t.Fatalf("the join after the flush scheduled no lobby update: %v", err)
	}
}

// newTestRun returns a service and a fresh room of a contest its actor
// hosts.
func newTestRun(t *testing.T) (*Service, kepu.Actor, Run) {
	t.Helper()
	s, a, cid := newTestService(t)
	run, err := s.CreateRun(context.Background(), a, cid)
	if err != nil {
		t.Fatal(err)
	}
	return s, a, run
}
