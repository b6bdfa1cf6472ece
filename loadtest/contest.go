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
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/jackc/pgx/v5"
)

func init() {
	scenarios["contest"] = Scenario{
		Help:     "one host and --players players in one live room (over one or several instances); every player answers every question",
		Flags:    contestFlags,
		MultiURL: true,
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
	Procs        int    // worker processes holding the players (0: this process)
	ServerPIDs   string // comma-separated, one per --url (or one for the first)
	CPUProfile   string
}

// maxPlayersPerProc keeps one process's sockets (a websocket per player
// plus its HTTP connections) under the usual 20,000 open files.
const maxPlayersPerProc = 19000

func (o contestOpts) validate() error {
	switch {
	case o.Players < 1 || o.Players > 100000:
		return fmt.Errorf("--players %d: want 1 to 100000", o.Players)
	case o.Procs < 0 || o.Procs > 64:
		return fmt.Errorf("--procs %d: want 0 (players in this process) to 64", o.Procs)
	case (o.Players+max(o.Procs, 1)-1)/max(o.Procs, 1) > maxPlayersPerProc:
		return fmt.Errorf("--players %d over --procs %d: at most %d per process (open files); raise --procs", o.Players, o.Procs, maxPlayersPerProc)
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

// serverPIDs returns one pid per instance (0: not given) from --server-pid.
func (o contestOpts) serverPIDs(instances int) ([]int, error) {
	pids := make([]int, instances)
	if o.ServerPIDs == "" {
		return pids, nil
	}
	parts := strings.Split(o.ServerPIDs, ",")
	if len(parts) > instances {
		return nil, fmt.Errorf("--server-pid: %d pids for %d instances", len(parts), instances)
	}
	for i, p := range parts {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || n < 0 {
			return nil, fmt.Errorf("--server-pid %q: want pids, one per --url", o.ServerPIDs)
		}
		pids[i] = n
	}
	return pids, nil
}

func contestFlags(fs *flag.FlagSet) func(context.Context, *Env) error {
	o := &contestOpts{}
	fs.IntVar(&o.Players, "players", 200, "players joining the room (spread round-robin over the --url instances; the host is on the first)")
	fs.IntVar(&o.Questions, "questions", 3, "questions the host plays")
	fs.IntVar(&o.TimeLimit, "time-limit", 20, "seconds per question")
	fs.DurationVar(&o.JoinOver, "join-over", 10*time.Second, "players arrive spread evenly over this time")
	fs.DurationVar(&o.AnswerWithin, "answer-within", 5*time.Second, "each player answers at a random moment within this time of seeing the question")
	fs.DurationVar(&o.Idle, "idle", 3*time.Second, "the full lobby idles this long before the game (server memory is read then)")
	fs.IntVar(&o.PerSource, "per-address", 40, "players per simulated school address (127.1.x.y)")
	fs.IntVar(&o.Procs, "procs", 0, "worker processes holding the players (each its own open-file limit; 0: all in this process)")
	fs.StringVar(&o.ServerPIDs, "server-pid", "", "pids of the servers on this machine, one per --url (comma-separated): RSS per connection is reported")
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

// contestInst is one server instance the players are spread over.
type contestInst struct {
	url, wsURL, origin string
	stats              *Stats // its players' share; nil when the run has one instance and no workers
}

func newContestInsts(urls []string, perInstance bool) []*contestInst {
	insts := make([]*contestInst, len(urls))
	for i, raw := range urls {
		u, _ := url.Parse(raw)
		scheme := "ws"
		if u.Scheme == "https" {
			scheme = "wss"
		}
		insts[i] = &contestInst{url: raw, wsURL: scheme + "://" + u.Host + "/ws/contest", origin: u.Scheme + "://" + u.Host}
		if perInstance {
			insts[i].stats = NewStats()
		}
	}
	return insts
}

// recorder writes a player's figures to the run's totals and to its
// instance's share (either may be nil).
type recorder struct{ all, inst *Stats }

func (rc recorder) Observe(name string, d time.Duration) {
	if rc.all != nil {
		rc.all.Observe(name, d)
	}
	if rc.inst != nil {
		rc.inst.Observe(name, d)
	}
}

func (rc recorder) Count(name string, n int64) {
	if rc.all != nil {
		rc.all.Count(name, n)
	}
	if rc.inst != nil {
		rc.inst.Count(name, n)
	}
}

func (rc recorder) Error(kind string) {
	if rc.all != nil {
		rc.all.Error(kind)
	}
	if rc.inst != nil {
		rc.inst.Error(kind)
	}
}

// contestRun is the shared state of one run: what the host did when, read
// by the players to measure latencies on the one clock of this machine.
// In a worker process it holds that worker's players; the host's times
// come over the pipe.
type contestRun struct {
	o     contestOpts
	room  int64
	pin   string
	insts []*contestInst
	all   *Stats // the run's totals (nil in a worker: it reports per instance)

	nextAt  []atomic.Int64 // per question: when the host asked to open it (unix ns)
	boardAt []atomic.Int64 // per question: when the host asked for the board
	options []atomic.Int32 // per question: its number of options (0: not seen yet)

	// pending holds latencies whose start (the host's time) a worker has
	// not heard of yet when the player sees the event.
	pendMu  sync.Mutex
	pending []pendingObs

	connected atomic.Int64 // players with a live websocket that got their snapshot
	finals    atomic.Int64 // players who got their final standing
	stopping  atomic.Bool  // the run is ending: closed connections are not drops

	sources []*source
	players sync.WaitGroup

	mu    sync.Mutex
	conns []*websocket.Conn
}

type pendingObs struct {
	mark string // "next" or "board"
	q    int
	name string
	at   int64
	rc   recorder
}

func newContestRun(o contestOpts, room int64, pin string, insts []*contestInst, all *Stats) *contestRun {
	return &contestRun{o: o, room: room, pin: pin, insts: insts, all: all,
		nextAt: make([]atomic.Int64, o.Questions), boardAt: make([]atomic.Int64, o.Questions), options: make([]atomic.Int32, o.Questions)}
}

func (r *contestRun) marks(mark string) []atomic.Int64 {
	if mark == "board" {
		return r.boardAt
	}
	return r.nextAt
}

// setMark records when the host asked for mark ("next" or "board") of
// question q, and the latencies that waited for it.
func (r *contestRun) setMark(mark string, q int, at int64) {
	slots := r.marks(mark)
	if q < 0 || q >= len(slots) {
		return
	}
	r.pendMu.Lock()
	defer r.pendMu.Unlock()
	slots[q].Store(at)
	keep := r.pending[:0]
	for _, p := range r.pending {
		if p.mark == mark && p.q == q {
			p.rc.Observe(p.name, time.Duration(p.at-at))
		} else {
			keep = append(keep, p)
		}
	}
	r.pending = keep
}

// observeSince records name = now − the host's mark of question q (later,
// when the mark has not arrived yet).
func (r *contestRun) observeSince(rc recorder, name, mark string, q int, now time.Time) {
	slots := r.marks(mark)
	if at := slots[q].Load(); at != 0 {
		rc.Observe(name, now.Sub(time.Unix(0, at)))
		return
	}
	r.pendMu.Lock()
	defer r.pendMu.Unlock()
	if at := slots[q].Load(); at != 0 {
		rc.Observe(name, now.Sub(time.Unix(0, at)))
		return
	}
	r.pending = append(r.pending, pendingObs{mark: mark, q: q, name: name, at: now.UnixNano(), rc: rc})
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
	r.conns = nil
}

func (r *contestRun) dialer(src *source, jar http.CookieJar) *websocket.Dialer {
	d := &websocket.Dialer{HandshakeTimeout: 15 * time.Second, ReadBufferSize: 1024, WriteBufferSize: 256, Jar: jar}
	if src != nil {
		d.NetDialContext = src.dial
	}
	return d
}

// fleet holds the players: in this process (*contestRun) or spread over
// worker processes (*workerPool).
type fleet interface {
	counts() (connected, finals int64)
	lobbyFull()                        // the lobby is full: idle HTTP connections go
	mark(mark string, q int, at int64) // the host asks for "next" or "board" of question q
	finish() error                     // close every player's socket; the figures are in the run's stats afterwards
}

// startPlayers starts this process's players: player i (i ≡ proc mod
// procs) joins at start + i×join-over/players on instance i mod len(insts).
func (r *contestRun) startPlayers(ctx context.Context, start time.Time, proc, procs int) {
	o := r.o
	r.sources = make([]*source, (o.Players+o.PerSource-1)/o.PerSource)
	for i := range r.sources {
		r.sources[i] = newSource(i)
	}
	r.players.Add(1)
	go func() {
		defer r.players.Done()
		// On the clock: sleeping a 1 ms gap after each start would take
		// ≈ 3 ms on a busy machine.
		for i := proc; i < o.Players && ctx.Err() == nil; i += procs {
			if d := time.Until(start.Add(o.JoinOver * time.Duration(i) / time.Duration(o.Players))); d > 0 {
				time.Sleep(d)
			}
			r.players.Add(1)
			go func(i int) { defer r.players.Done(); r.player(ctx, i, r.sources[i/o.PerSource]) }(i)
		}
	}()
}

func (r *contestRun) counts() (int64, int64) { return r.connected.Load(), r.finals.Load() }

func (r *contestRun) lobbyFull() {
	for _, s := range r.sources {
		s.transport.CloseIdleConnections()
	}
}

func (r *contestRun) mark(mark string, q int, at int64) { r.setMark(mark, q, at) }

func (r *contestRun) finish() error {
	r.closeAll()
	r.players.Wait()
	r.pendMu.Lock()
	defer r.pendMu.Unlock()
	for _, p := range r.pending {
		p.rc.Error(fmt.Sprintf("%s of question %d seen, the host's time never came", p.name, p.q+1))
	}
	r.pending = nil
	return nil
}

func runContest(ctx context.Context, env *Env, o contestOpts) error {
	st := env.Stats
	pids, err := o.serverPIDs(len(env.URLs))
	if err != nil {
		return err
	}
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
	insts := newContestInsts(env.URLs, len(env.URLs) > 1)
	r := newContestRun(o, run.Run.ID, run.Run.PIN, insts, st)
	fmt.Fprintf(env.Out, "room %d (PIN %s): %d players over %v on %d instance(s), %d questions\n",
		r.room, r.pin, o.Players, o.JoinOver, len(insts), o.Questions)
	defer r.closeAll() // the host's socket

	h, err := r.startHost(ctx, host, st)
	if err != nil {
		return err
	}
	baseRSS := make([]int64, len(pids))
	for i, pid := range pids {
		baseRSS[i] = rssKB(pid)
	}

	// Players arrive spread over --join-over, a class per source address.
	start := time.Now()
	var fl fleet = r
	progress := st
	if o.Procs > 0 {
		pool, err := startWorkers(ctx, r, env.URLs, start)
		if err != nil {
			return err
		}
		fl, progress = pool, pool.live
	} else {
		r.startPlayers(ctx, start, 0, 1)
	}
	var finishOnce sync.Once
	finish := func() {
		finishOnce.Do(func() {
			if err := fl.finish(); err != nil {
				st.Error("workers: " + err.Error())
			}
		})
	}
	defer finish()
	progress.Gauge("players", func() int64 { c, _ := fl.counts(); return c })
	stop := make(chan struct{})
	defer close(stop)
	go progress.Progress(env.Out, "answers", "answer_ack", stop)

	if !h.waitLobby(ctx, o.Players) {
		env.Checks["lobby"] = fmt.Sprintf("only %d of %d players reached the lobby", h.lobbyCount.Load(), o.Players)
		return fmt.Errorf("lobby incomplete: %w", ctx.Err())
	}
	env.Checks["lobby_full_after"] = time.Since(start).Round(time.Millisecond).String()
	env.Checks["lobby_updates"] = fmt.Sprint(h.lobbyUpdates.Load())
	fl.lobbyFull()
	sleepCtx(ctx, o.Idle)
	rss := make([]string, len(pids))
	for i, pid := range pids {
		if kb := rssKB(pid); kb > 0 {
			n := int64((o.Players - i + len(insts) - 1) / len(insts)) // its players (round-robin)
			if i == 0 {
				n++ // and the host
			}
			rss[i] = fmt.Sprintf("%d MiB with %d websockets: %.1f KB per connection (%.1f KB above the %d MiB before)",
				kb/1024, n, float64(kb)/float64(n), float64(kb-baseRSS[i])/float64(n), baseRSS[i]/1024)
		}
	}
	if rss[0] != "" {
		env.Checks["server_rss"] = rss[0]
	}
	if pool, ok := fl.(*workerPool); ok {
		env.Checks["worker_rss"] = pool.rss()
	}

	// The host plays: open, (every player answers: the round closes),
	// reveal, board, … podium.
	next := func(from string) error {
		return host.Do(ctx, "POST", fmt.Sprintf("/api/v1/contest-runs/%d/next", r.room), map[string]string{"from": from}, nil)
	}
	from := "lobby"
	roundWait := time.Duration(o.TimeLimit)*time.Second + 10*time.Second
	for q := 0; q < o.Questions; q++ {
		fl.mark("next", q, time.Now().UnixNano())
		if err := next(from); err != nil {
			return fmt.Errorf("open question %d: %w", q+1, err)
		}
		// The round closes and reveals itself once every player answered.
		if !h.waitPhase(ctx, "reveal", q, roundWait) {
			return fmt.Errorf("question %d was never revealed", q+1)
		}
		sleepCtx(ctx, 2*time.Second) // the class looks at the answer
		fl.mark("board", q, time.Now().UnixNano())
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
	for c, f := fl.counts(); f < c && time.Now().Before(deadline) && ctx.Err() == nil; c, f = fl.counts() {
		time.Sleep(100 * time.Millisecond)
	}
	finish()
	env.Checks["tool_cpu"] = fmt.Sprintf("this process %.1f s", selfCPU().Seconds())
	if pool, ok := fl.(*workerPool); ok {
		env.Checks["tool_cpu"] += pool.cpu()
	}
	env.Checks["players_dropped"] = fmt.Sprint(st.Counter("players_dropped"))
	if len(insts) > 1 {
		for i, in := range insts {
			sum := in.stats.instanceSummary(in.url)
			if i < len(rss) {
				sum.ServerRSS = rss[i]
			}
			env.Instances = append(env.Instances, sum)
		}
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	// Every acknowledged answer must be in Postgres once the podium is
	// shown (the room is written when it finishes, or at each ack).
	check, missing, err := ackedInPostgres(env.DatabaseURL, r.room, st.Counter("answers"))
	if err != nil {
		return fmt.Errorf("check answers in Postgres (--database-url): %w", err)
	}
	env.Checks["acknowledged_answers"] = check
	if missing > 0 {
		st.Error("acknowledged answers missing from Postgres")
	}
	return nil
}

// ackedInPostgres waits up to a minute for room's run to be finished in
// Postgres, then counts its rows in contest_answers against the acks.
func ackedInPostgres(databaseURL string, room, acked int64) (check string, missing int64, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, err := pgx.Connect(ctx, databaseURL)
	if err != nil {
		return "", 0, err
	}
	defer db.Close(ctx)
	var status string
	for {
		if err := db.QueryRow(ctx, `SELECT status FROM contest_runs WHERE id = $1`, room).Scan(&status); err != nil {
			return "", 0, fmt.Errorf("run %d: %w", room, err)
		}
		if status == "finished" || !sleepOK(ctx, 250*time.Millisecond) {
			break
		}
	}
	var rows int64
	if err := db.QueryRow(ctx, `SELECT count(*) FROM contest_answers WHERE run_id = $1`, room).Scan(&rows); err != nil {
		return "", 0, fmt.Errorf("count answers of run %d: %w", room, err)
	}
	missing = max(acked-rows, 0)
	return fmt.Sprintf("%d acknowledged, %d rows in contest_answers for run %d (%s): %d missing", acked, rows, room, status, missing), missing, nil
}

// selfCPU is the CPU time (user and system) this process used so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// sleepOK sleeps d and reports whether ctx is still live.
func sleepOK(ctx context.Context, d time.Duration) bool {
	sleepCtx(ctx, d)
	return ctx.Err() == nil
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

// startHost opens the host's websocket on the first instance.
func (r *contestRun) startHost(ctx context.Context, host *Client, st *Stats) (*hostConn, error) {
	ws, _, err := r.dialer(nil, host.Jar()).DialContext(ctx, r.insts[0].wsURL, http.Header{"Origin": {r.insts[0].origin}})
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
					st.Error("host websocket: " + errKind(err))
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

// player is one phone: join over HTTP on its instance, then the websocket
// until the end.
func (r *contestRun) player(ctx context.Context, i int, src *source) {
	in := r.insts[i%len(r.insts)]
	st := recorder{all: r.all, inst: in.stats}
	t0 := time.Now()
	c := NewClientVia(in.url, src.transport)
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
	ws, _, err := r.dialer(src, nil).DialContext(ctx, in.wsURL, http.Header{"Origin": {in.origin}})
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
	final, joined := false, false
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
			if !joined {
				joined = true
				st.Count("players_joined", 1)
			}
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
			r.observeSince(st, "question_broadcast", "next", q, now)
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
		case "board": // every player gets it: read its number, decode only if that fails
			q, ok := dataQ(buf)
			if !ok {
				var m wsMsg
				json.Unmarshal(buf, &m)
				q = m.Data.Q
			}
			if q >= 0 && q < len(r.boardAt) {
				r.observeSince(st, "leaderboard", "board", q, now)
			}
		case "final":
			final = true
			r.finals.Add(1)
			st.Count("players_final", 1)
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
