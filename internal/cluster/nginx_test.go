package cluster_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kepu/kepu/internal/apptest"
)

// TestNginxThreeInstancesOneKilled: three instances behind deploy/nginx's
// configuration; a class plays a three-question contest through nginx
// (HTTP and websockets); one instance is killed with SIGKILL while the
// players answer the second question. Every player's socket on it comes
// back through nginx to another instance, every answer a player sent is
// acknowledged, the game finishes, every player sees the podium, and
// every answer is in Postgres.
func TestNginxThreeInstancesOneKilled(t *testing.T) {
	t.Parallel()
	const players, questions = 30, 3
	port := freePort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	c := newCluster(t, base)
	c.run("user", "create", "--username", "host1", "--role", "teacher", "--password", "host1-pass-123456")
	insts := []*instance{c.start(), c.start(), c.start()}
	startNginx(t, port, []string{insts[0].addr, insts[1].addr, insts[2].addr})

	teacher := apptest.NewClient(t, base)
	apptest.Expect(t, teacher.Do("POST", "/api/v1/auth/login", map[string]string{"username": "host1", "password": "host1-pass-123456"}), 200, "teacher logs in through nginx")
	runID, pin := newContestRun(t, c.db.Pool, teacher, questions)

	g := &game{t: t, base: base, acked: make([]atomic.Int32, questions), revealed: make(chan int, players*questions)}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	g.play(ctx, teacher, runID, pin, players, func(q int) {
		if q == 1 {
			// Mid-question: some have answered, some not yet.
			time.Sleep(300 * time.Millisecond)
			insts[0].kill(t)
			t.Logf("killed instance %s during question 2", insts[0].addr)
		}
	})

	if n := g.reconnects.Load(); n == 0 {
		t.Error("no phone reconnected: was anyone on the killed instance?")
	} else {
		t.Logf("%d phones reconnected through nginx after the kill", n)
	}
	g.check(c.db.Pool, runID)
}

// newContestRun has teacher create a contest of the first questions
// single-choice questions of the demo bank and open a run of it; it
// returns the run and its PIN.
func newContestRun(t *testing.T, db *pgxpool.Pool, teacher *apptest.Client, questions int) (int64, string) {
	t.Helper()
	rows, _ := db.Query(context.Background(), `SELECT id FROM questions WHERE status = 'published' AND type = 'single' ORDER BY id LIMIT $1`, questions)
	qids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil || len(qids) != questions {
		t.Fatalf("demo bank: %d single-choice questions (%v), want %d", len(qids), err, questions)
	}
	r := teacher.Do("POST", "/api/v1/contests", map[string]any{"title": "Cluster quiz", "question_ids": qids,
		"settings": map[string]any{"time_limit": 30}})
	apptest.Expect(t, r, 201, "create contest")
	var contest struct{ ID int64 }
	r.JSON(t, &contest)
	r = teacher.Do("POST", fmt.Sprintf("/api/v1/contests/%d/runs", contest.ID), nil)
	apptest.Expect(t, r, 201, "create run")
	var run struct{ Run struct{ ID int64 } }
	r.JSON(t, &run)
	var pin string
	if err := db.QueryRow(context.Background(), `SELECT pin FROM contest_runs WHERE id = $1`, run.Run.ID).Scan(&pin); err != nil {
		t.Fatal(err)
	}
	return run.Run.ID, pin
}

// game is what the phones of a test share.
type game struct {
	t          *testing.T
	base       string
	phones     []*phone
	connected  atomic.Int32
	reconnects atomic.Int32
	acked      []atomic.Int32 // per question
	revealed   chan int       // question revealed, once per phone
}

func (g *game) waitConnected(ctx context.Context, n int) {
	g.t.Helper()
	for int(g.connected.Load()) < n {
		if ctx.Err() != nil {
			g.t.Fatalf("only %d of %d phones connected", g.connected.Load(), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// join has n players join the room of pin through g.base (nicknames p00,
// p01 …) and play in wg until the game ends or ctx does.
func (g *game) join(ctx context.Context, wg *sync.WaitGroup, pin string, n int) {
	g.t.Helper()
	for i := 0; i < n; i++ {
		r := apptest.NewClient(g.t, g.base).Do("POST", "/api/v1/play/join", map[string]any{"pin": pin, "nickname": fmt.Sprintf("p%02d", i)})
		apptest.Expect(g.t, r, 201, "join at "+g.base)
		p := &phone{g: g, answered: map[int]bool{}}
		r.JSON(g.t, &p.j)
		g.phones = append(g.phones, p)
		wg.Go(func() { p.play(ctx) })
	}
}

// play runs the game: n players join the room of pin through g.base and
// play, and teacher moves the room on from the lobby through every
// question (calling during(q), when not nil, right after opening question
// q) to the podium; it returns when every phone has stopped.
func (g *game) play(ctx context.Context, teacher *apptest.Client, runID int64, pin string, n int, during func(q int)) {
	g.t.Helper()
	var wg sync.WaitGroup
	g.join(ctx, &wg, pin, n)
	g.waitConnected(ctx, n)
	next := func(from string) {
		g.t.Helper()
		apptest.Expect(g.t, teacher.Do("POST", fmt.Sprintf("/api/v1/contest-runs/%d/next", runID), map[string]string{"from": from}), 204, "host: next from "+from)
	}
	from := "lobby"
	for q := range g.acked {
		next(from)
		if during != nil {
			during(q)
		}
		g.waitRevealed(ctx, q)
		next("reveal")
		from = "board"
	}
	next("board")
	wg.Wait()
}

// check fails the test unless every phone's every answer was
// acknowledged, every phone saw its final standing, and the run finished
// with every answer in Postgres.
func (g *game) check(db *pgxpool.Pool, runID int64) {
	g.t.Helper()
	for q := range g.acked {
		if got := g.acked[q].Load(); got != int32(len(g.phones)) {
			g.t.Errorf("question %d: %d answers acknowledged, want %d", q+1, got, len(g.phones))
		}
	}
	for i, p := range g.phones {
		if !p.final {
			g.t.Errorf("player %d: no final standing (%s)", i, p.err)
		}
	}
	var stored, finished int
	db.QueryRow(context.Background(), `SELECT count(*) FROM contest_answers WHERE run_id = $1`, runID).Scan(&stored)
	db.QueryRow(context.Background(), `SELECT count(*) FROM contest_runs WHERE id = $1 AND status = 'finished'`, runID).Scan(&finished)
	if want := len(g.phones) * len(g.acked); stored != want || finished != 1 {
		g.t.Errorf("in Postgres: %d answers (want %d), run finished: %v", stored, want, finished == 1)
	}
}

// waitRevealed waits until some phone saw question q revealed.
func (g *game) waitRevealed(ctx context.Context, q int) {
	g.t.Helper()
	for {
		select {
		case got := <-g.revealed:
			if got == q {
				return
			}
		case <-ctx.Done():
			g.t.Fatalf("question %d never revealed (acknowledged: %d)", q+1, g.acked[q].Load())
		}
	}
}

// phone is one player: it answers each question once (option 1) after a
// short random pause, and when its socket drops it connects again through
// nginx, resuming from the last event it saw and sending again an answer
// that was not acknowledged.
type phone struct {
	g *game
	j struct {
		Room, Epoch int64
		Player      int
		Token       string
	}
	lastSeq  int64
	open     int // the open question, -1 none
	answered map[int]bool
	final    bool
	err      error
}

func (p *phone) play(ctx context.Context) {
	p.open = -1
	for attempt := 0; ctx.Err() == nil; attempt++ {
		if attempt > 0 {
			p.g.reconnects.Add(1)
			time.Sleep(time.Duration(100+rand.IntN(200)) * time.Millisecond)
		}
		if attempt > 20 {
			p.err = fmt.Errorf("gave up after %d connections: %w", attempt, p.err)
			return
		}
		done, err := p.session(ctx, attempt == 0)
		if done {
			return
		}
		p.err = err
	}
}

// session is one connection; true when the game is over for this phone.
func (p *phone) session(ctx context.Context, first bool) (bool, error) {
	ws, _, err := websocket.DefaultDialer.DialContext(ctx, "ws"+strings.TrimPrefix(p.g.base, "http")+"/ws/contest",
		http.Header{"Origin": {p.g.base}})
	if err != nil {
		return false, err
	}
	defer ws.Close()
	stop := context.AfterFunc(ctx, func() { ws.Close() })
	defer stop()
	if err := ws.WriteJSON(map[string]any{"type": "hello", "room": p.j.Room, "token": p.j.Token, "epoch": p.j.Epoch, "last_seq": p.lastSeq}); err != nil {
		return false, err
	}
	if first {
		p.g.connected.Add(1)
	}
	var writeMu sync.Mutex // answers are sent from timers
	answer := func(q int) error {
		writeMu.Lock()
		defer writeMu.Unlock()
		return ws.WriteJSON(map[string]any{"type": "answer", "q": q, "choice": []int{1}})
	}
	if p.open >= 0 && !p.answered[p.open] {
		if err := answer(p.open); err != nil { // the ack may have died with the instance
			return false, err
		}
	}
	acked := func() bool {
		for q := range p.g.acked {
			if !p.answered[q] {
				return false
			}
		}
		return true
	}
	for {
		if !p.final {
			ws.SetReadDeadline(time.Now().Add(45 * time.Second))
		}
		_, b, err := ws.ReadMessage()
		if err != nil {
			return p.final, err
		}
		var m struct {
			Type  string `json:"type"`
			Seq   int64  `json:"seq"`
			Epoch int64  `json:"epoch"`
			Q     int    `json:"q"`
			Error string `json:"error"`
			Phase string `json:"phase"`
			Data  struct {
				Q int `json:"q"`
			} `json:"data"`
		}
		if err := json.Unmarshal(b, &m); err != nil {
			return false, err
		}
		if m.Type == "snapshot" {
			p.j.Epoch = m.Epoch
		}
		if m.Seq > 0 && p.j.Epoch != 0 && m.Epoch != p.j.Epoch {
			// The room was rebuilt (a new epoch): as the page does, connect
			// again from scratch and take a snapshot.
			p.j.Epoch, p.lastSeq = 0, 0
			return false, fmt.Errorf("epoch %d: resync", m.Epoch)
		}
		if m.Seq > p.lastSeq {
			p.lastSeq = m.Seq
		}
		switch m.Type {
		case "snapshot":
			// As the page does: a question open that this phone has not
			// had acknowledged is answered (again: a duplicate is acked).
			if m.Phase == "question" && !p.answered[m.Q] && p.open != m.Q {
				p.open = m.Q
				q := m.Q
				time.AfterFunc(time.Duration(rand.IntN(800))*time.Millisecond, func() { answer(q) })
			}
		case "question":
			p.open = m.Data.Q
			q := m.Data.Q
			time.AfterFunc(time.Duration(rand.IntN(800))*time.Millisecond, func() { answer(q) })
		case "ack", "answer_error":
			if m.Error == "unavailable" { // not recorded: tap again, as the page lets the player
				q := m.Q
				time.AfterFunc(200*time.Millisecond, func() { answer(q) })
			}
			if (m.Type == "ack" || m.Error == "duplicate") && !p.answered[m.Q] {
				p.answered[m.Q] = true
				p.g.acked[m.Q].Add(1)
			}
		case "reveal":
			p.open = -1
			p.g.revealed <- m.Data.Q
		case "final":
			// The last answer's ack can come after the podium on a loaded
			// machine (the host moves on as soon as the round closes): read
			// on briefly for it.
			if !p.final {
				p.final = true
				ws.SetReadDeadline(time.Now().Add(5 * time.Second))
			}
		}
		if p.final && acked() {
			return true, nil
		}
	}
}
