package main

// The campaign scenario: N citizens play attempts of one published campaign
// over HTTP exactly as the phone page (web/static/js/attempt.js) does —
// log in, start, GET the first question (its round trip is measured),
// acknowledge it (POST …/seen: the server's own round trip), think, POST
// the answer with seq and rtt_ms, whose response carries the next question
// (one request per question; its round trip is the next rtt_ms), think,
// answer …, and after the last answer the result. Only when an answer's
// response has no next question (a timeout, a lost response) does the
// tool GET the attempt again, as the page does. Every acknowledged answer is remembered; at the
// end the tool checks in Postgres that each one is there with the points
// the server acknowledged.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

func init() {
	scenarios["campaign"] = Scenario{
		Help:  "--users citizens play attempts of one campaign over HTTP; checks every acknowledged answer in Postgres",
		Flags: campaignFlags,
	}
}

// campaignOpts are the campaign scenario's flags.
type campaignOpts struct {
	Users     int
	Campaign  int64
	Questions int // per attempt, for a campaign the tool creates
	TimeLimit int // seconds per question, likewise
	Ramp      time.Duration
	Think     time.Duration
	PerSource int
	Prefix    string
	Reference time.Duration // first run the raw-insert reference this long (0: none)
}

func (o campaignOpts) validate() error {
	switch {
	case o.Users < 1 || o.Users > 20000:
		return fmt.Errorf("--users %d: want 1 to 20000", o.Users)
	case o.Questions < 1 || o.Questions > 100:
		return fmt.Errorf("--questions %d: want 1 to 100", o.Questions)
	case o.TimeLimit < 5 || o.TimeLimit > 600:
		return fmt.Errorf("--time-limit %d: want 5 to 600 seconds", o.TimeLimit)
	case o.Think < 0 || o.Ramp < 0:
		return errors.New("--think and --ramp must not be negative")
	case o.Think*3/2 >= time.Duration(o.TimeLimit)*time.Second:
		return fmt.Errorf("--think %v: the slowest thinker (1.5×) must answer within --time-limit", o.Think)
	case o.PerSource < 1 || o.PerSource > 100:
		return fmt.Errorf("--per-address %d: want 1 to 100 (a simulated school class; the login limits count failures, docs/security.md)", o.PerSource)
	case o.Prefix == "":
		return errors.New("--prefix must not be empty")
	case o.Reference < 0 || o.Reference > 10*time.Minute:
		return fmt.Errorf("--reference %v: want 0 (none) to 10m", o.Reference)
	}
	return nil
}

func campaignFlags(fs *flag.FlagSet) func(context.Context, *Env) error {
	o := &campaignOpts{}
	fs.IntVar(&o.Users, "users", 200, "simulated citizens (accounts made in bulk through --database-url)")
	fs.Int64Var(&o.Campaign, "campaign", 0, "published campaign to play (0: create one from the bank as --admin)")
	fs.IntVar(&o.Questions, "questions", 10, "questions per attempt of a campaign the tool creates")
	fs.IntVar(&o.TimeLimit, "time-limit", 30, "seconds per question of a campaign the tool creates")
	fs.DurationVar(&o.Ramp, "ramp", 10*time.Second, "citizens start spread evenly over this time")
	fs.DurationVar(&o.Think, "think", 4*time.Second, "mean think time before each answer and between attempts (0: none, the throughput run)")
	fs.IntVar(&o.PerSource, "per-address", 50, "citizens per simulated source address (127.1.x.y)")
	fs.StringVar(&o.Prefix, "prefix", "loadcit", "usernames are <prefix>-1 … <prefix>-N")
	fs.DurationVar(&o.Reference, "reference", 0, "first measure the raw reference this long on --database-url: 32 clients inserting single rows with a primary key and synchronous commit (as pgbench -f with a one-line INSERT); the summary gives Kepu's durable answers/s ÷ that rate")
	return func(ctx context.Context, env *Env) error {
		if err := o.validate(); err != nil {
			return err
		}
		return runCampaign(ctx, env, *o)
	}
}

// ack is one acknowledged answer.
type ack struct {
	attempt int64
	seq     int32
	points  int32
}

// question is a question as the page gets it (the fields the tool uses).
type question struct {
	Seq     int      `json:"seq"`
	Type    string   `json:"type"`
	Options []string `json:"options"`
}

// attemptState is GET /api/v1/attempts/:id (the fields the page uses).
type attemptState struct {
	Attempt struct {
		ID         int64      `json:"id"`
		FinishedAt *time.Time `json:"finished_at"`
	} `json:"attempt"`
	Question *question `json:"question"`
}

// answerResult is the answer's response (the fields the tool checks).
type answerResult struct {
	Seq      int       `json:"seq"`
	Points   int       `json:"points"`
	Score    int       `json:"score"`
	Done     bool      `json:"done"`
	Elapsed  int64     `json:"elapsed_ms"`
	TimedOut bool      `json:"timed_out"`
	Next     *question `json:"next"`
}

// player is one citizen's session: the browser's client and its source.
type player struct {
	c    *Client
	user citizen
}

// campaignRun is the state shared by the citizens of one run.
type campaignRun struct {
	env      *Env
	o        campaignOpts
	campaign int64
	stopping atomic.Bool // past the run's end: finish the request in flight, start no other
	playing  atomic.Int64

	mu   sync.Mutex
	acks [][]ack

	// onFinish, when set, is told of every finished attempt: its ack time,
	// the user, and the attempt's score and time used as acknowledged.
	onFinish func(at time.Time, u citizen, score int, timeMS int64)
}

func (r *campaignRun) addAcks(a []ack) {
	r.mu.Lock()
	r.acks = append(r.acks, a)
	r.mu.Unlock()
}

func runCampaign(ctx context.Context, env *Env, o campaignOpts) error {
	st := env.Stats
	r := &campaignRun{env: env, o: o, campaign: o.Campaign}
	var reference float64
	if o.Reference > 0 {
		var err error
		if reference, err = runInsertReference(ctx, env, o.Reference); err != nil {
			return err
		}
	}
	if r.campaign == 0 {
		id, err := createCampaign(ctx, env, map[string]any{"questions": o.Questions, "time_limit": o.TimeLimit,
			"per_day": 0, "total": 0, "scoring": "speed", "counts": "best"})
		if err != nil {
			return err
		}
		r.campaign = id
	}
	set, err := ensureCitizens(ctx, env.DatabaseURL, o.Prefix, o.Users)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Out, "campaign %d: %d citizens over %v, think %v\n", r.campaign, len(set.List), o.Ramp, o.Think)
	env.Checks["campaign"] = fmt.Sprint(r.campaign)

	// Citizens stop starting requests a little before --duration (counted
	// from the tool's start: the reference and the set-up took part of it)
	// so that the Postgres check has time to run.
	reserve := min(10*time.Second, env.Duration/5)
	left := env.Duration
	if end, ok := ctx.Deadline(); ok {
		left = time.Until(end)
	}
	steady := newRateWindow(st, "answers")
	stopTimer := time.AfterFunc(left-reserve, func() { r.stopping.Store(true); steady.stop() })
	defer stopTimer.Stop()

	st.Gauge("playing", r.playing.Load)
	stop := make(chan struct{})
	go st.Progress(env.Out, "answers", "answer", stop)

	var wg sync.WaitGroup
	var started atomic.Int64
	gap := o.Ramp / time.Duration(len(set.List))
	var src *source
	// Each run takes fresh addresses: the server's per-address login limit
	// (120 in 10 minutes) remembers earlier runs.
	base := rand.N(40000)
	for i, u := range set.List {
		if r.stopping.Load() || ctx.Err() != nil {
			break
		}
		if i%o.PerSource == 0 {
			src = newSourceConns(base+i/o.PerSource, o.PerSource)
		}
		wg.Add(1)
		go func(src *source) {
			defer wg.Done()
			p := &player{c: NewClientVia(env.URL, src.transport), user: u}
			if err := login(ctx, &r.stopping, st, p.c, u.Username, set.Password); err != nil {
				st.Count("citizens_not_logged_in", 1)
				return
			}
			if started.Add(1) == int64(len(set.List)) {
				steady.start() // every citizen plays from now on
			}
			r.playing.Add(1)
			defer r.playing.Add(-1)
			r.play(ctx, p)
		}(src)
		if gap > 0 {
			time.Sleep(gap)
		}
	}
	wg.Wait()
	close(stop)
	steady.stop()
	env.Checks["answers_per_s"] = steady.String() + " with every citizen playing"
	if mean := steady.Mean(); reference > 0 && mean > 0 {
		env.Checks["ratio_to_reference"] = fmt.Sprintf("%.2f (durable answers/s %.0f ÷ raw inserts/s %.0f, same run)", mean/reference, mean, reference)
	}
	return r.check(ctx)
}

// play runs attempts one after another until the run stops.
func (r *campaignRun) play(ctx context.Context, p *player) {
	st := r.env.Stats
	for !r.stopping.Load() && ctx.Err() == nil {
		t0 := time.Now()
		var s struct {
			Attempt struct{ ID int64 }
		}
		if err := p.c.Do(ctx, "POST", fmt.Sprintf("/api/v1/campaigns/%d/attempts", r.campaign), nil, &s); err != nil {
			st.Error("start: " + errKind(err))
			if !r.backoff(ctx, err) {
				return
			}
			continue
		}
		st.Observe("start", time.Since(t0))
		if r.attempt(ctx, p, s.Attempt.ID) {
			st.Count("attempts_finished", 1)
		}
		r.think(ctx)
	}
}

// attempt plays one attempt to its end (or the run's); it reports whether
// the attempt finished.
func (r *campaignRun) attempt(ctx context.Context, p *player, id int64) bool {
	st := r.env.Stats
	base := fmt.Sprintf("/api/v1/attempts/%d", id)
	var acks []ack
	defer func() { r.addAcks(acks) }()
	var score int
	var timeMS int64
	var q *question // the question the last answer's response served
	var rtt time.Duration
	for !r.stopping.Load() && ctx.Err() == nil {
		if q == nil {
			t0 := time.Now()
			var cur attemptState
			if err := p.c.Do(ctx, "GET", base, nil, &cur); err != nil {
				st.Error("question: " + errKind(err))
				if !r.backoff(ctx, err) {
					return false
				}
				continue
			}
			rtt = time.Since(t0)
			st.Observe("question", rtt)
			if cur.Attempt.FinishedAt != nil || cur.Question == nil {
				return cur.Attempt.FinishedAt != nil
			}
			q = cur.Question
			t2 := time.Now()
			if err := p.c.Do(ctx, "POST", base+"/seen", map[string]any{"seq": q.Seq}, nil); err != nil {
				st.Error("seen: " + errKind(err)) // the answers still count, without latency credit
			} else {
				st.Observe("seen", time.Since(t2))
			}
		}
		r.think(ctx)
		in := map[string]any{"seq": q.Seq, "choice": pickChoice(q.Type, len(q.Options)), "rtt_ms": rtt.Milliseconds()}
		var res answerResult
		t1 := time.Now()
		// The answer in flight is always finished, even when the run
		// stops: its acknowledgement must be counted.
		if err := p.c.Do(context.WithoutCancel(ctx), "POST", base+"/answers", in, &res); err != nil {
			st.Error("answer: " + errKind(err))
			q = nil // the page loads the attempt again
			if !r.backoff(ctx, err) {
				return false
			}
			continue
		}
		acked := time.Now()
		rtt = acked.Sub(t1)
		st.Observe("answer", rtt)
		q = res.Next
		st.Count("answers", 1)
		if res.TimedOut {
			st.Count("answers_timed_out", 1)
		}
		acks = append(acks, ack{attempt: id, seq: int32(res.Seq), points: int32(res.Points)})
		score = res.Score
		timeMS += res.Elapsed
		if res.Done {
			if r.onFinish != nil {
				r.onFinish(acked, p.user, score, timeMS)
			}
			// The page then shows the result with the ranks.
			t2 := time.Now()
			if err := p.c.Do(ctx, "GET", base+"/result", nil, nil); err != nil {
				st.Error("result: " + errKind(err))
			} else {
				st.Observe("result", time.Since(t2))
			}
			return true
		}
	}
	return false
}

// think waits a random think time around --think (0.5× to 1.5×).
func (r *campaignRun) think(ctx context.Context) {
	if r.o.Think > 0 {
		sleepCtx(ctx, time.Duration(float64(r.o.Think)*(0.5+rand.Float64())))
	}
}

// backoff waits after a failed request as the page does (a 429 says how
// long; a 409 means the page reloads at once) and reports whether to go on.
func (r *campaignRun) backoff(ctx context.Context, err error) bool {
	var he *HTTPError
	switch {
	case ctx.Err() != nil || r.stopping.Load():
		return false
	case errors.As(err, &he) && he.Status == http.StatusConflict:
		return true
	case errors.As(err, &he) && he.Status == http.StatusTooManyRequests:
		sleepCtx(ctx, time.Second)
	default:
		sleepCtx(ctx, 800*time.Millisecond)
	}
	return true
}

// pickChoice chooses shown positions as a person might: one option, or for
// multiple choice one to all of them.
func pickChoice(typ string, n int) []int {
	n = max(n, 1)
	if typ != "multiple" {
		return []int{rand.N(n)}
	}
	perm := rand.Perm(n)
	return perm[:1+rand.N(n)]
}

// check compares every acknowledged answer with Postgres: each must be
// there with the acknowledged points.
func (r *campaignRun) check(ctx context.Context) error {
	var atts []int64
	var seqs, pts []int32
	var want int64
	for _, list := range r.acks {
		for _, a := range list {
			atts, seqs, pts = append(atts, a.attempt), append(seqs, a.seq), append(pts, a.points)
			want += int64(a.points)
		}
	}
	db, err := pgx.Connect(ctx, r.env.DatabaseURL)
	if err != nil {
		return fmt.Errorf("check: connect (--database-url): %w", err)
	}
	defer db.Close(ctx)
	var found, mismatched, sum, badAttempts int64
	err = db.QueryRow(ctx, `SELECT count(a.id), count(a.id) FILTER (WHERE a.points <> k.points), coalesce(sum(a.points), 0)
		FROM unnest($1::bigint[], $2::int[], $3::int[]) AS k(attempt_id, seq, points)
		LEFT JOIN campaign_answers a ON a.attempt_id = k.attempt_id AND a.seq = k.seq`, atts, seqs, pts).
		Scan(&found, &mismatched, &sum)
	if err != nil {
		return fmt.Errorf("check: %w", err)
	}
	// Each attempt's running score is the sum of its locked answers.
	if err := db.QueryRow(ctx, `SELECT count(*) FROM campaign_attempts t WHERE t.campaign_id = $1
		AND t.score <> (SELECT coalesce(sum(points), 0) FROM campaign_answers a WHERE a.attempt_id = t.id)`, r.campaign).
		Scan(&badAttempts); err != nil {
		return fmt.Errorf("check: %w", err)
	}
	acked := int64(len(atts))
	r.env.Checks["acknowledged_answers"] = fmt.Sprintf("%d acknowledged, %d in Postgres, %d with other points; points %d acknowledged, %d in Postgres",
		acked, found, mismatched, want, sum)
	r.env.Checks["attempt_scores"] = fmt.Sprintf("%d attempts whose score is not the sum of their answers", badAttempts)
	if found != acked || mismatched != 0 || sum != want || badAttempts != 0 {
		return fmt.Errorf("check failed: %s; %s", r.env.Checks["acknowledged_answers"], r.env.Checks["attempt_scores"])
	}
	return nil
}

// createCampaign creates and publishes a campaign as --admin (an organizer
// or admin) through the organizer API, drawing from the seeded bank.
func createCampaign(ctx context.Context, env *Env, rules map[string]any) (int64, error) {
	org := NewClient(env.URL)
	if err := org.Do(ctx, "POST", "/api/v1/auth/login", map[string]string{"username": env.Admin, "password": env.AdminPass}, nil); err != nil {
		return 0, fmt.Errorf("log in as %s (--admin, --admin-password): %w", env.Admin, err)
	}
	now := time.Now().UTC()
	var c struct{ ID int64 }
	err := org.Do(ctx, "POST", "/api/v1/manage/campaigns", map[string]any{
		"title":     "loadtest " + now.Format("2006-01-02 15:04:05"),
		"starts_at": now.Add(-time.Minute), "ends_at": now.AddDate(0, 0, 30), "rules": rules,
	}, &c)
	if err != nil {
		return 0, fmt.Errorf("create campaign: %w", err)
	}
	if err := org.Do(ctx, "POST", fmt.Sprintf("/api/v1/manage/campaigns/%d/publish", c.ID), nil, nil); err != nil {
		return 0, fmt.Errorf("publish campaign %d: %w", c.ID, err)
	}
	return c.ID, nil
}

// rateWindow measures a counter's rate per second between start and stop:
// the mean and the slowest whole second.
type rateWindow struct {
	st      *Stats
	counter string
	mu      sync.Mutex
	from    time.Time
	first   int64
	samples []int64
	done    chan struct{}
	once    sync.Once
}

func newRateWindow(st *Stats, counter string) *rateWindow {
	return &rateWindow{st: st, counter: counter, done: make(chan struct{})}
}

func (w *rateWindow) start() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.from.IsZero() {
		return
	}
	w.from, w.first = time.Now(), w.st.Counter(w.counter)
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		last := w.first
		for {
			select {
			case <-w.done:
				return
			case <-t.C:
			}
			now := w.st.Counter(w.counter)
			w.mu.Lock()
			w.samples = append(w.samples, now-last)
			w.mu.Unlock()
			last = now
		}
	}()
}

func (w *rateWindow) stop() { w.once.Do(func() { close(w.done) }) }

// Mean is the mean rate over the whole seconds measured (0: none).
func (w *rateWindow) Mean() float64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.samples) == 0 {
		return 0
	}
	var sum int64
	for _, s := range w.samples {
		sum += s
	}
	return float64(sum) / float64(len(w.samples))
}

// String is "mean M/s, slowest second S/s over T s" (of whole seconds).
func (w *rateWindow) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.samples) == 0 {
		return "no whole second measured"
	}
	var sum, low int64 = 0, w.samples[0]
	for _, s := range w.samples {
		sum += s
		low = min(low, s)
	}
	return fmt.Sprintf("mean %.0f/s, slowest second %d/s over %d s",
		float64(sum)/float64(len(w.samples)), low, len(w.samples))
}
