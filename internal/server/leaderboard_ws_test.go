package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/kepu/kepu/internal/apptest"
	"github.com/kepu/kepu/internal/testenv"
)

// TestLeaderboardWebsocketPushesRank: a viewer with the board open over
// the websocket sees a citizen appear with their rank once the citizen's
// attempt is committed, without reloading, and gets nothing while the
// board is unchanged; a foreign origin is refused.
func TestLeaderboardWebsocketPushesRank(t *testing.T) {
	t.Parallel()
	f := newCampaign(t, nil)
	c := f.citizen(t, "carol")
	url := fmt.Sprintf("ws%s/ws/leaderboard?campaign=%d", strings.TrimPrefix(f.inst.URL, "http"), f.id)

	if _, resp, err := websocket.DefaultDialer.Dial(url, http.Header{"Origin": {"https://evil.example"}}); err == nil || resp == nil || resp.StatusCode != 403 {
		t.Errorf("foreign origin: got err %v resp %v, want 403", err, resp)
	}
	ws, _, err := websocket.DefaultDialer.Dial(url, http.Header{"Origin": {f.inst.URL}})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer ws.Close()
	type push struct {
		Type string
		Top  []struct {
			Nickname string
			Rank     int64
			Score    float64
		}
	}
	read := func() push {
		t.Helper()
		var p push
		readJSON(t, ws, &p)
		return p
	}
	if p := read(); p.Type != "top" || len(p.Top) != 0 {
		t.Fatalf("first push: got %+v, want an empty top", p)
	}
	// Opening the board built it (and announced the build); a push of the
	// same empty board must not follow: the next message is the change.
	// Announcements reach the instance in order on one subscription, so once
	// it is live a duplicate push would come before the change and fail below.
	boardsLive(t, f.inst, f.id)

	id := f.start(t, c)
	for seq := 1; seq <= 3; seq++ {
		current(t, c, id) // serves the question
		f.clock.Add(2 * time.Second)
		answer(t, c, id, seq, f.rightChoice(t, id, seq), 200)
	}
	p := read()
	if p.Type != "top" || len(p.Top) != 1 || p.Top[0].Nickname != "carol" || p.Top[0].Rank != 1 {
		t.Errorf("push after the attempt: got %+v, want carol ranked 1", p)
	}
}

// boardsLive waits (up to 5 s) until inst's subscription to leaderboard
// announcements is live: an announcement of campaign id reaches a subscriber.
// The announcement itself is harmless: an unchanged board pushes nothing.
func boardsLive(t *testing.T, inst *apptest.Instance, id int64) {
	t.Helper()
	ch := inst.Redis.Keys.BoardChannel(id)
	for deadline := time.Now().Add(5 * time.Second); ; {
		n, err := inst.Redis.Client.Publish(context.Background(), ch, "changed").Result()
		if err != nil {
			t.Fatalf("publish: %v", err)
		}
		if n > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no subscriber on %s after 5 s", ch)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestLeaderboardWebsocketSurvivesRedisDrop: the instance reaches Redis
// through a proxy that is cut (its board subscription drops) and then
// restored; without any restart the subscription comes back by itself and
// an open board is pushed the next change.
func TestLeaderboardWebsocketSurvivesRedisDrop(t *testing.T) {
	t.Parallel()
	proxy := testenv.NewRedisProxy(t)
	f := newCampaignOn(t, apptest.Options{Env: map[string]string{"KEPU_REDIS_URL": proxy.RedisURL()}}, nil)
	c := f.citizen(t, "dora")
	url := fmt.Sprintf("ws%s/ws/leaderboard?campaign=%d", strings.TrimPrefix(f.inst.URL, "http"), f.id)
	ws, _, err := websocket.DefaultDialer.Dial(url, http.Header{"Origin": {f.inst.URL}})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer ws.Close()
	var p struct {
		Type string
		Top  []struct {
			Nickname string
			Rank     int64
		}
	}
	readJSON(t, ws, &p)
	time.Sleep(time.Second) // the build's own announcement passes

	dropRedis(t, f.inst, proxy, f.inst.App.Boards.Channel(f.id))

	id := f.start(t, c)
	for seq := 1; seq <= 3; seq++ {
		current(t, c, id)
		f.clock.Add(2 * time.Second)
		answer(t, c, id, seq, f.rightChoice(t, id, seq), 200)
	}
	readJSON(t, ws, &p)
	if p.Type != "top" || len(p.Top) != 1 || p.Top[0].Nickname != "dora" || p.Top[0].Rank != 1 {
		t.Errorf("push after Redis came back: got %+v, want dora ranked 1", p)
	}
}

// TestLeaderboardWebsocketWhileRebuilding: a watcher who opens a board
// while another instance is rebuilding it (its lock held) gets
// {"type":"rebuilding"} at once, the socket stays open, and the board
// comes when the rebuild is done (here: the holder died and its lock
// expired, so this instance rebuilt).
func TestLeaderboardWebsocketWhileRebuilding(t *testing.T) {
	t.Parallel()
	f := newCampaign(t, nil)
	boards := f.inst.App.Boards
	boards.RebuildWait = 100 * time.Millisecond
	if err := boards.Redis.Set(context.Background(), boards.Keys.BoardRebuild(f.id, "lock"), "1-elsewhere", 2*time.Second).Err(); err != nil {
		t.Fatal(err)
	}
	url := fmt.Sprintf("ws%s/ws/leaderboard?campaign=%d", strings.TrimPrefix(f.inst.URL, "http"), f.id)
	ws, _, err := websocket.DefaultDialer.Dial(url, http.Header{"Origin": {f.inst.URL}})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer ws.Close()
	var p struct{ Type string }
	if readJSON(t, ws, &p); p.Type != "rebuilding" {
		t.Fatalf("first push: got %+v, want rebuilding", p)
	}
	if readJSON(t, ws, &p); p.Type != "top" {
		t.Fatalf("push after the rebuild: got %+v, want top", p)
	}
	if n := boards.Rebuilds(); n != 1 {
		t.Errorf("rebuilds: got %d, want 1", n)
	}
}

// readJSON reads the next websocket message (within 5 s) into v.
func readJSON(t *testing.T, ws *websocket.Conn, v any) {
	t.Helper()
	ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, b, err := ws.ReadMessage()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
}
