package server_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/kepu/kepu/internal/apptest"
)

// TestLeaderboardClassBoard: a pupil's leaderboard page has a class tab
// (people outside any class have none); the class board over the websocket
// holds the pupil's classmates only and updates live when a classmate
// finishes; the result page shows the class rank.
func TestLeaderboardClassBoard(t *testing.T) {
	t.Parallel()
	f := newCampaign(t, map[string]any{"questions": 1})
	ctx := context.Background()
	var classA, classB int64
	if err := f.inst.DB.Pool.QueryRow(ctx, `SELECT min(id), max(id) FROM classes`).Scan(&classA, &classB); err != nil || classA == classB {
		t.Fatalf("two seeded classes: %d %d %v", classA, classB, err)
	}
	pupil := func(name string, class int64) *apptest.Client {
		t.Helper()
		uid, pw := f.inst.CreateUser(name, "participant")
		if _, err := f.inst.DB.Pool.Exec(ctx, `UPDATE users u SET class_id = c.id, school_id = c.school_id
			FROM classes c WHERE u.id = $1 AND c.id = $2`, uid, class); err != nil {
			t.Fatal(err)
		}
		return f.inst.Login(name, pw)
	}
	finish := func(c *apptest.Client) int64 {
		t.Helper()
		id := f.start(t, c)
		current(t, c, id)
		f.clock.Add(2 * time.Second)
		answer(t, c, id, 1, f.rightChoice(t, id, 1), 200)
		return id
	}
	amy, ben, cat := pupil("amy", classA), pupil("ben", classB), pupil("cat", classA)
	adult := f.citizen(t, "adult")
	amyAttempt := finish(amy)
	finish(ben)

	lb := fmt.Sprintf("/campaigns/%d/leaderboard", f.id)
	if res := amy.Do("GET", lb, nil); res.Status != 200 || !strings.Contains(string(res.Body), `data-board="class" data-testid="tab-class">本班<`) {
		t.Errorf("pupil's leaderboard page: got %d, want a class tab", res.Status)
	}
	if res := adult.Do("GET", lb, nil); res.Status != 200 || strings.Contains(string(res.Body), `data-board="class"`) {
		t.Errorf("leaderboard page outside any class: got %d, want no class tab", res.Status)
	}
	if res := amy.Do("GET", fmt.Sprintf("/attempts/%d/result", amyAttempt), nil); !strings.Contains(string(res.Body), `data-testid="rank-class">1<`) {
		t.Errorf("result page: got %d without the class rank 1", res.Status)
	}

	url := fmt.Sprintf("ws%s/ws/leaderboard?campaign=%d&board=class", strings.TrimPrefix(f.inst.URL, "http"), f.id)
	ws, _, err := websocket.DefaultDialer.Dial(url, http.Header{"Origin": {f.inst.URL}, "Cookie": {"kepu_session=" + amy.Cookie("kepu_session")}})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer ws.Close()
	type push struct {
		Type   string
		Top    []struct{ Nickname string }
		MyRank int64 `json:"my_rank"`
	}
	read := func() (push, string) {
		t.Helper()
		var p push
		readJSON(t, ws, &p)
		names := []string{}
		for _, e := range p.Top {
			names = append(names, e.Nickname)
		}
		return p, strings.Join(names, ",")
	}
	if p, names := read(); names != "amy" || p.MyRank != 1 {
		t.Fatalf("class board: got %s (my rank %d), want amy alone, ranked 1", names, p.MyRank)
	}
	boardsLive(t, f.inst, f.id) // cat's announcement must find the subscription live
	finish(cat)
	// A push of an earlier change (the pushes are spaced, so ben's finish
	// may still be on its way, with amy alone) can come first: the board
	// must show cat within a few pushes.
	var names string
	for range 4 {
		if _, names = read(); names == "amy,cat" || names == "cat,amy" { // a tie: Redis orders it by member
			break
		}
	}
	if names != "amy,cat" && names != "cat,amy" {
		t.Errorf("class board after a classmate finished: got %s, want amy and cat", names)
	}
	// The API reads the same board.
	res := amy.Do("GET", fmt.Sprintf("/api/v1/campaigns/%d/leaderboard?board=class", f.id), nil)
	if res.Status != 200 || strings.Contains(string(res.Body), `"ben"`) || !strings.Contains(string(res.Body), `"cat"`) {
		t.Errorf("class board over HTTP: got %d %s", res.Status, res.Body)
	}
}
