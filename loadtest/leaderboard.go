package main

// The leaderboard scenario: --watchers browsers hold the live leaderboard
// page's websocket open while --citizens simulated citizens finish
// attempts (the campaign scenario's players). First, for --stream-for, it
// measures how long each finish takes to reach each watcher; then, for the
// rest of the run, --readers also read the board over HTTP (the JSON
// endpoint: top --read-n and, logged in, my rank and the lines around it)
// at --read-rate requests a second, timed from when each request was due
// (a late server is not hidden by a slower client).
//
// How a finish is recognised on a watcher's screen: the campaign counts
// the sum of a citizen's attempts (a fresh campaign the tool creates is so;
// `kepu seed --ranked` makes one too), so every finish raises the
// citizen's total time by the attempt's time (at least a second: --think),
// and the tool knows each total exactly (the totals in Postgres at the
// start plus what the server acknowledged). A finish has reached a watcher
// with the first board showing the citizen at or above that total.

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5"
)

func init() {
	scenarios["leaderboard"] = Scenario{
		Help:  "--watchers live leaderboard websockets while --citizens finish attempts, then --readers read the board over HTTP",
		Flags: leaderboardFlags,
	}
}

// leaderboardOpts are the leaderboard scenario's flags.
// minReadFor is the least time the HTTP readers read, even when the run's
// time is up before they start (at most half the run's reserve).
const minReadFor = 2 * time.Second

type leaderboardOpts struct {
	Watchers  int
	Citizens  int
	Campaign  int64
	Period    string
	Questions int
	Think     time.Duration
	StreamFor time.Duration
	Readers   int
	ReadRate  int
	ReadN     int
	PerSource int
	Prefix    string
	Reference time.Duration // first read a bare Fiber JSON route this long (0: none)
}

func (o leaderboardOpts) validate() error {
	switch {
	case o.Watchers < 1 || o.Watchers > 20000:
		return fmt.Errorf("--watchers %d: want 1 to 20000", o.Watchers)
	case o.Citizens < 1 || o.Citizens > 20:
		return fmt.Errorf("--citizens %d: want 1 to 20 (every one must be on the top 20 the page shows)", o.Citizens)
	case o.Period != "all" && o.Period != "today":
		return fmt.Errorf("--period %q: want all or today", o.Period)
	case o.Questions < 1 || o.Questions > 20:
		return fmt.Errorf("--questions %d: want 1 to 20", o.Questions)
	case o.Think/2*time.Duration(o.Questions) < 1200*time.Millisecond || o.Think > 10*time.Second:
		return fmt.Errorf("--think %v: an attempt must take over a second (--think/2 × --questions ≥ 1.2 s) and --think at most 10 s", o.Think)
	case o.StreamFor <= 0:
		return errors.New("--stream-for must be positive")
	case o.Readers < 0 || o.Readers > 5000 || o.ReadRate < 0 || o.ReadN < 1 || o.ReadN > 100:
		return errors.New("--readers 0…5000, --read-rate ≥ 0, --read-n 1…100")
	case o.PerSource < 1 || o.PerSource > 100:
		return fmt.Errorf("--per-address %d: want 1 to 100 (the websocket limit is 120 a minute per address)", o.PerSource)
	case o.Reference < 0 || o.Reference > 10*time.Minute:
		return fmt.Errorf("--reference %v: want 0 (none) to 10m", o.Reference)
	case o.Reference > 0 && (o.Readers == 0 || o.ReadRate == 0):
		return errors.New("--reference needs --readers and --read-rate")
	}
	return nil
}

func leaderboardFlags(fs *flag.FlagSet) func(context.Context, *Env) error {
	o := &leaderboardOpts{}
	fs.IntVar(&o.Watchers, "watchers", 100, "live leaderboard pages (websockets, anonymous)")
	fs.IntVar(&o.Citizens, "citizens", 10, "citizens finishing attempts (at most 20: all on the page's top 20)")
	fs.Int64Var(&o.Campaign, "campaign", 0, "campaign whose sum-of-attempts board to use (0: create one as --admin)")
	fs.StringVar(&o.Period, "period", "all", "board the watchers watch: all or today (with a seeded campaign: today)")
	fs.IntVar(&o.Questions, "questions", 3, "questions per attempt of a campaign the tool creates")
	fs.DurationVar(&o.Think, "think", time.Second, "mean think time per question of the citizens")
	fs.DurationVar(&o.StreamFor, "stream-for", 20*time.Second, "how long only the stream runs before the HTTP readers join")
	fs.IntVar(&o.Readers, "readers", 50, "concurrent HTTP readers (logged in as the citizens)")
	fs.IntVar(&o.ReadRate, "read-rate", 1000, "HTTP board reads a second, in all")
	fs.IntVar(&o.ReadN, "read-n", 100, "entries each HTTP read asks for (n)")
	fs.IntVar(&o.PerSource, "per-address", 100, "watchers per simulated source address (127.1.x.y)")
	fs.StringVar(&o.Prefix, "prefix", "loadlb", "citizens' usernames are <prefix>-1 … <prefix>-N")
	fs.DurationVar(&o.Reference, "reference", 0, "before the HTTP readers, the same readers read a bare Fiber JSON route (serving the board's body, in this process) this long; the summary gives board reads/s ÷ that rate")
	return func(ctx context.Context, env *Env) error {
		if err := o.validate(); err != nil {
			return err
		}
		return runLeaderboard(ctx, env, *o)
	}
}

// finishAck is one finished attempt as acknowledged, with the citizen's
// expected total afterwards.
type finishAck struct {
	at      time.Time
	citizen int
	score   int64 // total score
	timeS   int64 // total time, whole seconds (as boards show it)
	reading bool  // acknowledged while the HTTP readers ran
}

// sighting is when a watcher first saw a citizen's line with a total.
type sighting struct {
	at           time.Time
	score, timeS int64
}

// watcher is one open leaderboard page.
type watcher struct {
	mu   sync.Mutex
	seen [][]sighting // by citizen
}

func runLeaderboard(ctx context.Context, env *Env, o leaderboardOpts) error {
	st := env.Stats
	campaign := o.Campaign
	if campaign == 0 {
		id, err := createCampaign(ctx, env, map[string]any{"questions": o.Questions, "time_limit": 20, "per_day": 0, "total": 0,
			"scoring": "flat", "base": 10, "counts": "sum"})
		if err != nil {
			return err
		}
		campaign = id
	}
	env.Checks["campaign"] = fmt.Sprint(campaign)
	set, err := ensureCitizens(ctx, env.DatabaseURL, o.Prefix, o.Citizens)
	if err != nil {
		return err
	}
	byNick := map[string]int{}
	for i, c := range set.List {
		byNick[c.Nickname] = i
	}
	// The citizens' totals on the watched board before the run (exact ms).
	totalScore, totalMS, err := startTotals(ctx, env.DatabaseURL, campaign, set.List, o.Period == "today")
	if err != nil {
		return err
	}

	// Watchers.
	u, _ := url.Parse(env.URL)
	scheme := "ws"
	if u.Scheme == "https" {
		scheme = "wss"
	}
	wsURL := fmt.Sprintf("%s://%s/ws/leaderboard?campaign=%d&board=all&period=%s", scheme, u.Host, campaign, o.Period)
	origin := u.Scheme + "://" + u.Host
	var connected atomic.Int64
	var stopping atomic.Bool
	watchers := make([]*watcher, o.Watchers)
	var conns []*websocket.Conn
	var connMu sync.Mutex
	defer func() {
		stopping.Store(true)
		connMu.Lock()
		for _, c := range conns {
			c.Close()
		}
		connMu.Unlock()
	}()
	st.Gauge("watchers", connected.Load)
	fmt.Fprintf(env.Out, "campaign %d: %d watchers of the %s board, %d citizens\n", campaign, o.Watchers, o.Period, o.Citizens)
	base := rand.N(40000)
	var src *source
	for i := range watchers {
		if i%o.PerSource == 0 {
			src = newSourceConns(base+i/o.PerSource, 1)
		}
		w := &watcher{seen: make([][]sighting, len(set.List))}
		watchers[i] = w
		d := &websocket.Dialer{HandshakeTimeout: 15 * time.Second, ReadBufferSize: 4096, WriteBufferSize: 256, NetDialContext: src.dial}
		ws, _, err := d.DialContext(ctx, wsURL, http.Header{"Origin": {origin}})
		if err != nil {
			st.Error("ws dial: " + errKind(err))
			continue
		}
		connMu.Lock()
		conns = append(conns, ws)
		connMu.Unlock()
		connected.Add(1)
		go w.read(ws, st, byNick, &stopping, &connected)
	}
	env.Checks["watchers_connected"] = fmt.Sprintf("%d of %d", connected.Load(), o.Watchers)

	// The stream: citizens finish attempts; every finish is remembered
	// with the total it leads to.
	var finMu sync.Mutex
	var finishes []finishAck
	var reading atomic.Bool
	r := &campaignRun{env: env, o: campaignOpts{Think: o.Think}, campaign: campaign}
	r.onFinish = func(at time.Time, c citizen, score int, timeMS int64) {
		finMu.Lock()
		defer finMu.Unlock()
		i := byNick[c.Nickname]
		totalScore[i] += int64(score)
		totalMS[i] += timeMS
		finishes = append(finishes, finishAck{at: at, citizen: i, score: totalScore[i], timeS: totalMS[i] / 1000, reading: reading.Load()})
		st.Count("finishes", 1)
	}
	stop := make(chan struct{})
	go st.Progress(env.Out, "reads", "read", stop)
	reserve := min(10*time.Second, env.Duration/5)
	end := time.Now().Add(env.Duration - reserve)
	stopTimer := time.AfterFunc(time.Until(end), func() { r.stopping.Store(true) })
	defer stopTimer.Stop()
	players := make([]*player, len(set.List))
	var wg sync.WaitGroup
	for i, c := range set.List {
		players[i] = &player{c: NewClient(env.URL), user: c}
		if err := login(ctx, &r.stopping, st, players[i].c, c.Username, set.Password); err != nil {
			return fmt.Errorf("log in %s: %w", c.Username, err)
		}
		wg.Add(1)
		go func(p *player) { defer wg.Done(); r.play(ctx, p) }(players[i])
	}

	// The HTTP readers, after --stream-for (with --reference, the bare
	// route first, under the same stream).
	var reference float64
	sleepCtx(ctx, o.StreamFor)
	reading.Store(true)
	if o.Readers > 0 && o.ReadRate > 0 && !r.stopping.Load() {
		readers := newRateWindow(st, "reads")
		readers.start()
		path := fmt.Sprintf("/api/v1/campaigns/%d/leaderboard?n=%d", campaign, o.ReadN)
		var check struct {
			Top    []json.RawMessage `json:"top"`
			MyRank *int64            `json:"my_rank"`
		}
		if err := players[0].c.Do(ctx, "GET", path, nil, &check); err != nil {
			return fmt.Errorf("read the board: %w", err)
		}
		env.Checks["read_shape"] = fmt.Sprintf("top %d entries, my_rank present: %v", len(check.Top), check.MyRank != nil)
		if o.Reference > 0 {
			var body json.RawMessage
			if err := players[0].c.Do(ctx, "GET", path, nil, &body); err != nil {
				return fmt.Errorf("read the board: %w", err)
			}
			rate, err := routeReference(ctx, st, body, o.Readers, o.ReadRate, o.Reference)
			if err != nil {
				return err
			}
			reference = rate
			env.Checks["reference_reads_per_s"] = fmt.Sprintf("%.0f/s (bare Fiber JSON route, the board's %d-byte body, %d readers, %v)", rate, len(body), o.Readers, o.Reference)
		}
		clients := make([]*Client, o.Readers)
		for i := range clients {
			clients[i] = players[i%len(players)].c
		}
		// The readers read at least minReadFor, inside the run's reserve,
		// even when a slow machine has used the run's time before them
		// (make test saw 0 reads and no ratio).
		readStart := time.Now()
		readBoard(ctx, st, clients, path, o.ReadRate, "read", func() bool {
			return r.stopping.Load() && time.Since(readStart) >= min(minReadFor, reserve/2)
		})
		readers.stop()
		env.Checks["reads_per_s"] = readers.String()
		if reference > 0 && readers.Mean() > 0 {
			env.Checks["ratio_to_reference"] = fmt.Sprintf("%.2f (board reads/s %.0f ÷ bare Fiber JSON route reads/s %.0f, same readers, same run)",
				readers.Mean()/reference, readers.Mean(), reference)
		}
	}
	wg.Wait()
	sleepCtx(ctx, 3*time.Second) // the last pushes arrive
	close(stop)
	stopping.Store(true)

	// Delays: for every finish and watcher, the first board at or above
	// the finish's totals.
	finMu.Lock()
	defer finMu.Unlock()
	var missed int64
	for _, f := range finishes {
		name := "update_delay"
		if f.reading {
			name = "update_delay_while_reading"
		}
		for _, w := range watchers {
			w.mu.Lock()
			var at time.Time
			for _, s := range w.seen[f.citizen] {
				if s.score >= f.score && s.timeS >= f.timeS {
					at = s.at
					break
				}
			}
			w.mu.Unlock()
			if at.IsZero() {
				missed++
				continue
			}
			st.Observe(name, max(at.Sub(f.at), 0))
		}
	}
	env.Checks["updates"] = fmt.Sprintf("%d finishes × %d watchers; %d updates never seen", len(finishes), len(watchers), missed)
	return nil
}

// read records what a watcher's page shows until the connection ends.
func (w *watcher) read(ws *websocket.Conn, st *Stats, byNick map[string]int, stopping *atomic.Bool, connected *atomic.Int64) {
	defer connected.Add(-1)
	var m struct {
		Type string `json:"type"`
		Top  []struct {
			Nickname string `json:"nickname"`
			Score    int64  `json:"score"`
			TimeS    int64  `json:"time_s"`
		} `json:"top"`
	}
	for {
		_, b, err := ws.ReadMessage()
		if err != nil {
			if !stopping.Load() {
				st.Error("ws closed: " + errKind(err))
			}
			return
		}
		now := time.Now()
		m.Top = m.Top[:0]
		if json.Unmarshal(b, &m) != nil || m.Type != "top" {
			continue
		}
		st.Count("pushes", 1)
		w.mu.Lock()
		for _, e := range m.Top {
			i, ok := byNick[e.Nickname]
			if !ok {
				continue
			}
			seen := w.seen[i]
			if n := len(seen); n == 0 || seen[n-1].score != e.Score || seen[n-1].timeS != e.TimeS {
				w.seen[i] = append(seen, sighting{at: now, score: e.Score, timeS: e.TimeS})
			}
		}
		w.mu.Unlock()
	}
}

// startTotals reads the citizens' sums of finished attempts (score, time
// in ms) in the campaign, today's only when today is set.
func startTotals(ctx context.Context, databaseURL string, campaign int64, cs []citizen, today bool) ([]int64, []int64, error) {
	db, err := pgx.Connect(ctx, databaseURL)
	if err != nil {
		return nil, nil, fmt.Errorf("totals: connect (--database-url): %w", err)
	}
	defer db.Close(ctx)
	ids := make([]int64, len(cs))
	at := map[int64]int{}
	for i, c := range cs {
		ids[i], at[c.ID] = c.ID, i
	}
	score, ms := make([]int64, len(cs)), make([]int64, len(cs))
	rows, _ := db.Query(ctx, `SELECT user_id, sum(score)::bigint, sum(time_ms)::bigint FROM campaign_attempts
		WHERE campaign_id = $1 AND user_id = ANY($2) AND finished_at IS NOT NULL
		AND (NOT $3 OR (finished_at AT TIME ZONE 'Asia/Shanghai')::date = (now() AT TIME ZONE 'Asia/Shanghai')::date)
		GROUP BY user_id`, campaign, ids, today)
	var id, s, t int64
	if _, err := pgx.ForEachRow(rows, []any{&id, &s, &t}, func() error {
		score[at[id]], ms[at[id]] = s, t
		return nil
	}); err != nil {
		return nil, nil, fmt.Errorf("totals: %w", err)
	}
	return score, ms, nil
}

// readBoard runs len(clients) readers that together GET path rate times a
// second (each on its own schedule; a reader that falls behind reads back
// to back: the saturation rate) until done says so or ctx ends. Each read
// is observed as latency name and counted as name+"s".
func readBoard(ctx context.Context, st *Stats, clients []*Client, path string, rate int, name string, done func() bool) {
	interval := time.Duration(float64(time.Second) * float64(len(clients)) / float64(rate))
	var wg sync.WaitGroup
	for _, c := range clients {
		wg.Go(func() {
			due := time.Now().Add(time.Duration(rand.Int64N(int64(interval) + 1)))
			for !done() && ctx.Err() == nil {
				if d := time.Until(due); d > 0 {
					sleepCtx(ctx, d)
				}
				if err := c.Do(ctx, "GET", path, nil, nil); err != nil {
					if ctx.Err() == nil {
						st.Error(name + ": " + errKind(err))
					}
				} else {
					st.Observe(name, time.Since(due))
					st.Count(name+"s", 1)
				}
				due = due.Add(interval)
			}
		})
	}
	wg.Wait()
}

// routeReference serves body from a bare Fiber JSON route on a loopback
// port of this process and has readers clients read it at rate for d: the
// HTTP reference of the board reads (what Fiber and the machine do with
// no session, no Redis and no Kepu in between). It returns the reads a
// second.
func routeReference(ctx context.Context, st *Stats, body []byte, readers, rate int, d time.Duration) (float64, error) {
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Get("/board", func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
		return c.Send(body)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("reference: listen: %w", err)
	}
	go app.Listener(ln)
	defer app.Shutdown()
	clients := make([]*Client, readers)
	for i := range clients {
		clients[i] = NewClient("http://" + ln.Addr().String())
	}
	w := newRateWindow(st, "reference_reads")
	w.start()
	end := time.Now().Add(d)
	readBoard(ctx, st, clients, "/board", rate, "reference_read", func() bool { return time.Now().After(end) })
	w.stop()
	return w.Mean(), nil
}
