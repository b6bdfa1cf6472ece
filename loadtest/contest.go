package main

// The contest scenario: one host and N players in one live room, speaking
// the protocol of docs/realtime.md as the host's projector page and the
// players' phone pages do.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fasthttp/websocket"
)

func init() {
	scenarios["contest"] = Scenario{
		Help:  "one host and --players players in one live room; every player answers every question",
		Flags: contestFlags,
	}
}

// contestOpts are the contest scenario's flags.
type contestOpts struct {
	Players      int
	Questions    int
	TimeLimit    int // seconds per question (the contest's setting)
	JoinOver     time.Duration
	AnswerWithin time.Duration
	Idle         time.Duration
	PerSource    int
	ServerPID    int
	CPUProfile   string
}

func (o contestOpts) validate() error {
	switch {
	case o.Players < 1 || o.Players > 30000:
		return fmt.Errorf("--players %d: want 1 to 30000", o.Players)
	case o.Questions < 1 || o.Questions > 50:
		return fmt.Errorf("--questions %d: want 1 to 50", o.Questions)
	case o.TimeLimit < 5 || o.TimeLimit > 120:
		return fmt.Errorf("--time-limit %d: want 5 to 120 seconds", o.TimeLimit)
	case o.AnswerWithin <= 0 || o.AnswerWithin >= time.Duration(o.TimeLimit)*time.Second:
		return fmt.Errorf("--answer-within %v: want more than 0 and less than --time-limit", o.AnswerWithin)
	case o.PerSource < 1 || o.PerSource > 500:
		return fmt.Errorf("--per-address %d: want 1 to 500", o.PerSource)
	case o.JoinOver < 0 || o.Idle < 0:
		return errors.New("--join-over and --idle must not be negative")
	}
	return nil
}

func contestFlags(fs *flag.FlagSet) func(context.Context, *Env) error {
	o := &contestOpts{}
	fs.IntVar(&o.Players, "players", 200, "players joining the room")
	fs.IntVar(&o.Questions, "questions", 3, "questions the host plays")
	fs.IntVar(&o.TimeLimit, "time-limit", 20, "seconds per question")
	fs.DurationVar(&o.JoinOver, "join-over", 10*time.Second, "players arrive spread evenly over this time")
	fs.DurationVar(&o.AnswerWithin, "answer-within", 5*time.Second, "each player answers at a random moment within this time of seeing the question")
	fs.DurationVar(&o.Idle, "idle", 3*time.Second, "the full lobby idles this long before the game (server memory is read then)")
	fs.IntVar(&o.PerSource, "per-address", 40, "players per simulated school address (127.1.x.y)")
	fs.IntVar(&o.ServerPID, "server-pid", 0, "pid of the server on this machine: its RSS per connection is reported")
	fs.StringVar(&o.CPUProfile, "cpu-profile", "", "write this tool's own CPU profile to the file (it shares the machine with the server)")
	return func(ctx context.Context, env *Env) error {
		if err := o.validate(); err != nil {
			return err
		}
		if o.CPUProfile != "" {
			f, err := os.Create(o.CPUProfile)
			if err != nil {
				return err
			}
			defer f.Close()
			if err := pprof.StartCPUProfile(f); err != nil {
				return err
			}
			defer pprof.StopCPUProfile()
		}
		return runContest(ctx, env, *o)
	}
}

// wsMsg is every message the scenario reads: room events and messages to
// one connection (only the fields it needs).
type wsMsg struct {
	Type  string `json:"type"`
	Q     int    `json:"q"`
	Error string `json:"error"`
	Data  struct {
		Q       int               `json:"q"`
		Count   int               `json:"count"`
		Options []json.RawMessage `json:"options"`
	} `json:"data"`
}

// contestRun is the shared state of one run: what the host did when, read
// by the players to measure latencies on the one clock of this machine.
type contestRun struct {
	env    *Env
	o      contestOpts
	room   int64
	pin    string
	wsURL  string
	origin string

	nextAt  []atomic.Int64 // per question: when the host asked to open it (unix ns)
	boardAt []atomic.Int64 // per question: when the host asked for the board
	options []atomic.Int32 // per question: its number of options (0: not seen yet)

	connected atomic.Int64 // players with a live websocket that got their snapshot
	finals    atomic.Int64 // players who got their final standing
	stopping  atomic.Bool  // the run is ending: closed connections are not drops

	mu    sync.Mutex
	conns []*websocket.Conn
}

func (r *contestRun) track(c *websocket.Conn) {
	r.mu.Lock()
	r.conns = append(r.conns, c)
	r.mu.Unlock()
}

func (r *contestRun) closeAll() {
	r.stopping.Store(true)
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.conns {
		c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
		c.Close()
	}
}

func (r *contestRun) dialer(src *source, jar http.CookieJar) *websocket.Dialer {
	d := &websocket.Dialer{HandshakeTimeout: 15 * time.Second, ReadBufferSize: 1024, WriteBufferSize: 256, Jar: jar}
	if src != nil {
		d.NetDialContext = src.dial
	}
	return d
}

func runContest(ctx context.Context, env *Env, o contestOpts) error {
	st := env.Stats
	host := NewClient(env.URL)
	if err := host.Do(ctx, "POST", "/api/v1/auth/login", map[string]string{"username": env.Admin, "password": env.AdminPass}, nil); err != nil {
		return fmt.Errorf("log in as %s (--admin, --admin-password): %w", env.Admin, err)
	}
	qids, err := contestQuestions(ctx, env, host, o.Questions)
	if err != nil {
		return err
	}
	var created struct{ ID int64 }
	err = host.Do(ctx, "POST", "/api/v1/contests", map[string]any{
		"title":        "loadtest " + time.Now().Format("15:04:05"),
		"question_ids": qids,
		"settings":     map[string]any{"time_limit": o.TimeLimit, "auto_advance": false, "show_text": true},
	}, &created)
	if err != nil {
		return fmt.Errorf("create contest: %w", err)
	}
	var run struct {
		Run struct {
			ID  int64
			PIN string
		}
	}
	if err := host.Do(ctx, "POST", fmt.Sprintf("/api/v1/contests/%d/runs", created.ID), nil, &run); err != nil {
		return fmt.Errorf("create run: %w", err)
	}
	u, _ := url.Parse(env.URL)
	scheme := "ws"
	if u.Scheme == "https" {
		scheme = "wss"
	}
	r := &contestRun{env: env, o: o, room: run.Run.ID, pin: run.Run.PIN, wsURL: scheme + "://" + u.Host + "/ws/contest",
		origin: u.Scheme + "://" + u.Host, nextAt: make([]atomic.Int64, o.Questions), boardAt: make([]atomic.Int64, o.Questions),
		options: make([]atomic.Int32, o.Questions)}
	fmt.Fprintf(env.Out, "room %d (PIN %s): %d players over %v, %d questions\n", r.room, r.pin, o.Players, o.JoinOver, o.Questions)
	defer r.closeAll()

	h, err := r.startHost(ctx, host)
	if err != nil {
		return err
	}
	baseRSS := rssKB(o.ServerPID)
	st.Gauge("players", r.connected.Load)
	stop := make(chan struct{})
	defer close(stop)
	go st.Progress(env.Out, "answers", "answer_ack", stop)

	// Players arrive spread over --join-over, a class per source address.
	start := time.Now()
	sources := make([]*source, (o.Players+o.PerSource-1)/o.PerSource)
	for i := range sources {
		sources[i] = newSource(i)
	}
	// Player i starts at start + i×join-over/players, on the clock: sleeping
	// a 1 ms gap after each start would take ≈ 3 ms on a busy machine.
	var wg sync.WaitGroup
	for i := 0; i < o.Players && ctx.Err() == nil; i++ {
		if d := time.Until(start.Add(o.JoinOver * time.Duration(i) / time.Duration(o.Players))); d > 0 {
			time.Sleep(d)
		}
		wg.Add(1)
		go func(i int) { defer wg.Done(); r.player(ctx, i, sources[i/o.PerSource]) }(i)
	}
	if !h.waitLobby(ctx, o.Players) {
		env.Checks["lobby"] = fmt.Sprintf("only %d of %d players reached the lobby", h.lobbyCount.Load(), o.Players)
		return fmt.Errorf("lobby incomplete: %w", ctx.Err())
	}
	env.Checks["lobby_full_after"] = time.Since(start).Round(time.Millisecond).String()
	env.Checks["lobby_updates"] = fmt.Sprint(h.lobbyUpdates.Load())
	for _, s := range sources {
		s.transport.CloseIdleConnections()
	}
	sleepCtx(ctx, o.Idle)
	if rss := rssKB(o.ServerPID); rss > 0 {
		n := r.connected.Load() + 1
		env.Checks["server_rss"] = fmt.Sprintf("%d MiB with %d websockets: %.1f KB per connection (%.1f KB above the %d MiB before)",
			rss/1024, n, float64(rss)/float64(n), float64(rss-baseRSS)/float64(n), baseRSS/1024)
	}

	// The host plays: open, (every player answers: the round closes),
	// reveal, board, … podium.
	next := func(from string) error {
		return host.Do(ctx, "POST", fmt.Sprintf("/api/v1/contest-runs/%d/next", r.room), map[string]string{"from": from}, nil)
	}
	from := "lobby"
	roundWait := time.Duration(o.TimeLimit)*time.Second + 10*time.Second
	for q := 0; q < o.Questions; q++ {
		r.nextAt[q].Store(time.Now().UnixNano())
		if err := next(from); err != nil {
			return fmt.Errorf("open question %d: %w", q+1, err)
		}
		// The round closes and reveals itself once every player answered.
		if !h.waitPhase(ctx, "reveal", q, roundWait) {
			return fmt.Errorf("question %d was never revealed", q+1)
		}
		sleepCtx(ctx, 2*time.Second) // the class looks at the answer
		r.boardAt[q].Store(time.Now().UnixNano())
		if err := next("reveal"); err != nil {
			return fmt.Errorf("board %d: %w", q+1, err)
		}
		h.waitPhase(ctx, "board", q, 10*time.Second)
		sleepCtx(ctx, time.Second)
		from = "board"
	}
	if err := next("board"); err != nil {
		return fmt.Errorf("finish: %w", err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for r.finals.Load() < r.connected.Load() && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(100 * time.Millisecond)
	}
	r.closeAll()
	wg.Wait()
	st.Count("players_final", r.finals.Load())
	env.Checks["players_dropped"] = fmt.Sprint(st.Counter("players_dropped"))
	return ctx.Err()
}

// hostConn is the host's projector page.
type hostConn struct {
	lobbyCount   atomic.Int64
	lobbyUpdates atomic.Int64
	mu           sync.Mutex
	phase        string
	q            int
	changed      chan struct{}
}

func (r *contestRun) startHost(ctx context.Context, host *Client) (*hostConn, error) {
	ws, _, err := r.dialer(nil, host.Jar()).DialContext(ctx, r.wsURL, http.Header{"Origin": {r.origin}})
	if err != nil {
		return nil, fmt.Errorf("host websocket: %w", err)
	}
	r.track(ws)
	if err := ws.WriteJSON(map[string]any{"type": "hello", "room": r.room}); err != nil {
		return nil, fmt.Errorf("host hello: %w", err)
	}
	h := &hostConn{phase: "lobby", q: -1, changed: make(chan struct{}, 1)}
	go func() {
		for {
			_, b, err := ws.ReadMessage()
			if err != nil {
				if !r.stopping.Load() {
					r.env.Stats.Error("host websocket: " + errKind(err))
				}
				return
			}
			var m wsMsg
			if json.Unmarshal(b, &m) != nil {
				continue
			}
			switch m.Type {
			case "lobby":
				h.lobbyUpdates.Add(1)
				h.lobbyCount.Store(int64(m.Data.Count))
			case "question", "closed", "reveal", "board", "podium":
				h.mu.Lock()
				h.phase, h.q = m.Type, m.Data.Q
				h.mu.Unlock()
			default:
				continue
			}
			select {
			case h.changed <- struct{}{}:
			default:
			}
		}
	}()
	return h, nil
}

func (h *hostConn) waitLobby(ctx context.Context, n int) bool {
	for h.lobbyCount.Load() < int64(n) {
		select {
		case <-ctx.Done():
			return false
		case <-h.changed:
		case <-time.After(time.Second):
		}
	}
	return true
}

// waitPhase waits until the host's screen shows phase for question q.
func (h *hostConn) waitPhase(ctx context.Context, phase string, q int, limit time.Duration) bool {
	t := time.NewTimer(limit)
	defer t.Stop()
	for {
		h.mu.Lock()
		ok := h.phase == phase && h.q == q
		h.mu.Unlock()
		if ok {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
			return false
		case <-h.changed:
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// player is one phone: join over HTTP, then the websocket until the end.
func (r *contestRun) player(ctx context.Context, i int, src *source) {
	st := r.env.Stats
	t0 := time.Now()
	c := NewClientVia(r.env.URL, src.transport)
	var j struct {
		Room  int64
		Token string
	}
	for {
		err := c.Do(ctx, "POST", "/api/v1/play/join", map[string]string{"pin": r.pin, "nickname": fmt.Sprintf("p%05d", i)}, &j)
		if err == nil {
			break
		}
		st.Error("join: " + errKind(err))
		var he *HTTPError
		if ctx.Err() != nil || !errors.As(err, &he) || he.Status != http.StatusTooManyRequests {
			st.Count("players_not_joined", 1)
			return
		}
		sleepCtx(ctx, time.Second+rand.N(time.Second)) // the page says "try again"; the pupil does
	}
	ws, _, err := r.dialer(src, nil).DialContext(ctx, r.wsURL, http.Header{"Origin": {r.origin}})
	if err != nil {
		st.Error("ws dial: " + errKind(err))
		st.Count("players_not_joined", 1)
		return
	}
	r.track(ws)
	// The tool shares the machine's cores with the server: each player
	// reads into one reused buffer, recognises a message by its type
	// without decoding it, and decodes only the few it needs fields of.
	var wmu sync.Mutex
	write := func(b []byte) error {
		wmu.Lock()
		defer wmu.Unlock()
		ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
		return ws.WriteMessage(websocket.TextMessage, b)
	}
	if err := write(fmt.Appendf(nil, `{"type":"hello","room":%d,"token":%q,"epoch":0,"last_seq":0}`, j.Room, j.Token)); err != nil {
		st.Error("ws hello: " + errKind(err))
		return
	}
	var sentAt, revealAt atomic.Int64
	final := false
	var buf []byte
	for {
		var err error
		buf, err = readMessage(ws, buf[:0])
		if err != nil {
			if !r.stopping.Load() && !final {
				st.Count("players_dropped", 1)
				st.Error("ws closed: " + errKind(err))
			}
			if !final {
				r.connected.Add(-1)
			}
			return
		}
		now := time.Now()
		switch string(msgType(buf)) { // compared in place, not allocated
		case "snapshot", "clock": // a fresh page gets a snapshot; a resumed one, its missed events and the clock
			st.Observe("join", now.Sub(t0))
			r.connected.Add(1)
		case "question":
			// 10,000 players get the same question at once: the first to
			// see it decodes it, the others only read its number.
			q, ok := dataQ(buf)
			if !ok || q < 0 || q >= len(r.options) || r.options[q].Load() == 0 {
				var m wsMsg
				if err := json.Unmarshal(buf, &m); err != nil {
					st.Error("ws: undecodable question: " + err.Error())
					continue
				}
				q = m.Data.Q
				if q >= 0 && q < len(r.options) {
					r.options[q].Store(int32(max(len(m.Data.Options), 1)))
				}
			}
			if q < 0 || q >= len(r.nextAt) {
				st.Error("ws: question number out of range")
				continue
			}
			st.Observe("question_broadcast", now.Sub(time.Unix(0, r.nextAt[q].Load())))
			n := int(r.options[q].Load())
			delay := time.Duration(float64(r.o.AnswerWithin) * (0.1 + 0.9*rand.Float64()))
			time.AfterFunc(delay, func() {
				sentAt.Store(time.Now().UnixNano())
				if err := write(fmt.Appendf(nil, `{"type":"answer","q":%d,"choice":[%d]}`, q, rand.N(n))); err != nil {
					st.Error("ws answer: " + errKind(err))
				}
			})
		case "ack":
			st.Observe("answer_ack", now.Sub(time.Unix(0, sentAt.Load())))
			st.Count("answers", 1)
		case "answer_error":
			var m wsMsg
			json.Unmarshal(buf, &m)
			st.Error("answer_error " + m.Error)
		case "reveal":
			revealAt.Store(now.UnixNano())
		case "result":
			st.Observe("result_after_reveal", now.Sub(time.Unix(0, revealAt.Load())))
		case "board":
			var m wsMsg
			json.Unmarshal(buf, &m)
			q := m.Data.Q
			if q >= 0 && q < len(r.boardAt) {
				st.Observe("leaderboard", now.Sub(time.Unix(0, r.boardAt[q].Load())))
			}
		case "final":
			final = true
			r.finals.Add(1)
		case "lobby", "progress":
			st.Count("status_to_players", 1) // the server sends these to hosts only
		case "":
			st.Error("ws: message without a type")
		}
	}
}

// readMessage appends the next websocket message to buf (reused by the
// caller, so reading allocates only when a message outgrows it).
func readMessage(ws *websocket.Conn, buf []byte) ([]byte, error) {
	_, rd, err := ws.NextReader()
	if err != nil {
		return buf, err
	}
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := rd.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

var typeMarker = []byte(`"type":"`)

// msgType returns the type of a server message without decoding it: the
// first "type" key is the envelope's in every message Kepu sends (events
// put it before their data, other messages have no nested "type").
// dataQ reads the question number of a room event ("q" is its data's
// first such key: inside JSON strings a quote is escaped).
func dataQ(b []byte) (int, bool) {
	_, rest, ok := bytes.Cut(b, []byte(`"data":{`))
	if !ok {
		return 0, false
	}
	_, rest, ok = bytes.Cut(rest, []byte(`"q":`))
	if !ok {
		return 0, false
	}
	q, i := 0, 0
	for ; i < len(rest) && i < 9 && rest[i] >= '0' && rest[i] <= '9'; i++ {
		q = q*10 + int(rest[i]-'0')
	}
	return q, i > 0 && i < len(rest) && (rest[i] == ',' || rest[i] == '}')
}

func msgType(b []byte) []byte {
	i := bytes.Index(b, typeMarker)
	if i < 0 {
		return nil
	}
	b = b[i+len(typeMarker):]
	end := bytes.IndexByte(b, '"')
	if end < 0 {
		return nil
	}
	return b[:end]
}

// contestQuestions returns n published bank questions for the contest,
// adding marked load-test questions to the bank through Postgres when it
// has fewer (a fresh load database has none).
func contestQuestions(ctx context.Context, env *Env, host *Client, n int) ([]int64, error) {
	list := func() ([]int64, error) {
		var b struct{ Questions []struct{ ID int64 } }
		if err := host.Do(ctx, "GET", "/api/v1/contests/bank", nil, &b); err != nil {
			return nil, fmt.Errorf("bank: %w", err)
		}
		ids := make([]int64, 0, len(b.Questions))
		for _, q := range b.Questions {
			ids = append(ids, q.ID)
		}
		return ids, nil
	}
	ids, err := list()
	if err != nil {
		return nil, err
	}
	if len(ids) < n {
		fmt.Fprintf(env.Out, "the bank has %d published questions: adding %d load-test questions (seed_key loadtest-*)\n", len(ids), n)
		if err := insertLoadQuestions(ctx, env.DatabaseURL, n); err != nil {
			return nil, err
		}
		if ids, err = list(); err != nil {
			return nil, err
		}
	}
	if len(ids) < n {
		return nil, fmt.Errorf("bank: %d published questions, want %d", len(ids), n)
	}
	return ids[:n], nil
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
