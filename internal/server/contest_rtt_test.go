package server_test

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
)

// A player whose pongs claim an old ping time (or who sends pongs nobody
// asked for) gets no more latency credit than an honest player on the
// same link: the server keeps its own ping send times (docs/fairness.md).
func TestContestForgedPongEarnsNoCredit(t *testing.T) {
	f := newContestFixture(t, nil) // 5 s questions: 300 ms of credit ≈ 30 points
	inst := f.inst
	run := f.newRun(t)
	honest := join(t, inst, run.PIN, "honest", 201)
	forger := join(t, inst, run.PIN, "forger", 201)

	old := func() []byte { // a send time 50 s ago, as the old protocol carried it
		return binary.BigEndian.AppendUint64(nil, uint64(time.Now().Add(-50*time.Second).UnixNano()))
	}
	ph := connect(t, inst, nil, honest.Room, honest.Token, 0, 0)
	ws, _, err := dial(t, inst, nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { ws.Close() })
	ws.SetPingHandler(func(string) error {
		return ws.WriteControl(websocket.PongMessage, old(), time.Now().Add(time.Second))
	})
	pf := &wsClient{t: t, ws: ws, seen: map[string]int{}}
	pf.send(msg{"type": "hello", "room": forger.Room, "token": forger.Token})
	ph.waitFor("snapshot")
	pf.waitFor("snapshot")

	f.act(t, run, "next", 204)
	ph.waitFor("question")
	pf.waitFor("question")
	// Unsolicited pongs with forged times, then, a second into the round
	// (so that a credit would show in the points), both answer at once
	// (the forger first: it may only gain the few ms it answered earlier).
	time.Sleep(time.Second)
	for i := 0; i < 3; i++ {
		if err := ws.WriteControl(websocket.PongMessage, old(), time.Now().Add(time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	pf.send(msg{"type": "answer", "q": 0, "choice": []int{1}})
	ph.send(msg{"type": "answer", "q": 0, "choice": []int{1}})
	points := func(c *wsClient) float64 {
		return c.waitFor("result")["me"].(map[string]any)["last"].(map[string]any)["points"].(float64)
	}
	pts, ptsHonest := points(pf), points(ph)
	// 10 points = 100 ms of answering earlier; the forged credit was 300 ms (30 points).
	if pts > ptsHonest+10 {
		t.Errorf("forged pongs: %v points, honest player %v: want no more than the honest player's (+10 for timing noise)", pts, ptsHonest)
	}
}
