package main

// The pk scenario: --players people tap 「开始匹配」 (the /ws/pk socket of
// one of the --url instances, round robin, so most matches join people
// on different instances), are matched, and play their match: each open
// question is answered after a think time (right or wrong at random; never
// later than a second before the deadline its state gives, and not at all
// with less left, as a player sent back mid-round to a match an earlier
// run left open may see it), and each answer's acknowledgement (sent by
// the server after the commit) is timed. A player whose match ends queues
// again until the run's end.
//
// Figures: match_found (from the socket's first byte to "matched"),
// answer_ack (send to ack), matches (finished, counted once per match),
// and at the end the check that every answer acknowledged "ok" is a row of
// pk_answers.
//
// Sessions are made in Postgres (a random token, its hash in sessions): a
// login verifies an argon2id hash, and 2,000 of them would measure the
// hasher (the campaign scenario measures logins).

import (
	"context"
	crand "crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/jackc/pgx/v5"
)

func init() {
	scenarios["pk"] = Scenario{
		Help:     "--players people matchmaking (over every --url) and playing PK matches concurrently",
		Flags:    pkFlags,
		MultiURL: true,
	}
}

type pkOpts struct {
	Players   int
	Mode      int
	Think     time.Duration
	Ramp      time.Duration
	Prefix    string
	Reference time.Duration // first run the raw-insert reference this long (0: none)
}

func (o pkOpts) validate() error {
	switch {
	case o.Players < 2 || o.Players > 20000:
		return fmt.Errorf("--players %d: want 2 to 20000", o.Players)
	case o.Mode != 2 && o.Mode != 4:
		return fmt.Errorf("--mode %d: want 2 or 4", o.Mode)
	case o.Think < 0 || o.Think > 8*time.Second:
		return fmt.Errorf("--think %v: want 0 to 8s (a round is 10 s)", o.Think)
	case o.Ramp < 0 || o.Ramp > 5*time.Minute:
		return fmt.Errorf("--ramp %v: want 0 to 5m", o.Ramp)
	case o.Reference < 0 || o.Reference > 10*time.Minute:
		return fmt.Errorf("--reference %v: want 0 (none) to 10m", o.Reference)
	}
	return nil
}

func pkFlags(fs *flag.FlagSet) func(context.Context, *Env) error {
	o := &pkOpts{}
	fs.IntVar(&o.Players, "players", 200, "people matchmaking and playing at once")
	fs.IntVar(&o.Mode, "mode", 2, "players per match: 2 (双人对战) or 4 (四人赛)")
	fs.DurationVar(&o.Think, "think", 1500*time.Millisecond, "mean time before answering an open question")
	fs.DurationVar(&o.Ramp, "ramp", 5*time.Second, "players join the queue spread over this long")
	fs.StringVar(&o.Prefix, "prefix", "ltpk", "players' usernames are <prefix>-1 … <prefix>-N")
	fs.DurationVar(&o.Reference, "reference", 0, "first measure the raw reference this long on --database-url (32 clients inserting single rows, synchronous commit): how loaded this machine's Postgres is, beside the run's figures")
	return func(ctx context.Context, env *Env) error {
		if err := o.validate(); err != nil {
			return err
		}
		return runPK(ctx, env, *o)
	}
}

// pkSessions makes a session for each citizen in Postgres and returns the
// tokens.
func pkSessions(ctx context.Context, databaseURL string, list []citizen) ([]string, error) {
	db, err := pgx.Connect(ctx, databaseURL)
	if err != nil {
		return nil, fmt.Errorf("pk: connect (--database-url): %w", err)
	}
	defer db.Close(ctx)
	tokens := make([]string, len(list))
	rows := make([][]any, len(list))
	for i, c := range list {
		b := make([]byte, 32)
		crand.Read(b)
		tokens[i] = hex.EncodeToString(b)
		h := sha256.Sum256([]byte(tokens[i]))
		rows[i] = []any{h[:], c.ID, time.Now().Add(2 * time.Hour), "loadtest"}
	}
	if _, err := db.CopyFrom(ctx, pgx.Identifier{"sessions"}, []string{"token_hash", "user_id", "expires_at", "user_agent"},
		pgx.CopyFromRows(rows)); err != nil {
		return nil, fmt.Errorf("pk: sessions: %w", err)
	}
	return tokens, nil
}

type pkRun struct {
	env      *Env
	o        pkOpts
	stopping atomic.Bool
	okAcks   atomic.Int64
	mu       sync.Mutex
	finished map[int64]bool
	matches  map[int64]bool
}

func runPK(ctx context.Context, env *Env, o pkOpts) error {
	st := env.Stats
	if o.Reference > 0 {
		if _, err := runInsertReference(ctx, env, o.Reference); err != nil {
			return err
		}
	}
	set, err := ensureCitizens(ctx, env.DatabaseURL, o.Prefix, o.Players)
	if err != nil {
		return err
	}
	tokens, err := pkSessions(ctx, env.DatabaseURL, set.List)
	if err != nil {
		return err
	}
	ids := make([]int64, len(set.List))
	for i, c := range set.List {
		ids[i] = c.ID
	}
	r := &pkRun{env: env, o: o, finished: map[int64]bool{}, matches: map[int64]bool{}}
	var online atomic.Int64
	st.Gauge("online", online.Load)
	stop := make(chan struct{})
	go st.Progress(env.Out, "answers", "answer_ack", stop)
	fmt.Fprintf(env.Out, "%d players, %d-player matches, over %d instance(s)\n", o.Players, o.Mode, len(env.URLs))
	reserve := min(15*time.Second, env.Duration/4)
	stopAt := time.AfterFunc(env.Duration-reserve, func() { r.stopping.Store(true) })
	defer stopAt.Stop()
	started := time.Now()
	var wg sync.WaitGroup
	for i, tok := range tokens {
		base := env.URLs[i%len(env.URLs)]
		delay := time.Duration(0)
		if o.Players > 1 {
			delay = o.Ramp * time.Duration(i) / time.Duration(o.Players)
		}
		wg.Go(func() {
			if sleepCtx(ctx, delay); ctx.Err() != nil {
				return
			}
			online.Add(1)
			defer online.Add(-1)
			for !r.stopping.Load() && ctx.Err() == nil {
				if err := r.play(ctx, base, tok); err != nil {
					st.Error("pk: " + errKind(err))
					sleepCtx(ctx, time.Second)
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	secs := time.Since(started).Seconds()
	r.mu.Lock()
	finished, made := len(r.finished), len(r.matches)
	r.mu.Unlock()
	st.Count("matches", int64(finished))
	env.Checks["matches_per_s"] = fmt.Sprintf("%.2f (%d finished, %d made, %.0f s)", float64(finished)/secs, finished, made, secs)
	// Every answer acknowledged "ok" is committed.
	db, err := pgx.Connect(context.Background(), env.DatabaseURL)
	if err != nil {
		return err
	}
	defer db.Close(context.Background())
	// The matches the players were told of (a player may rejoin one an
	// earlier run left open: its answers from before count too, so the
	// rows are at least the acks).
	r.mu.Lock()
	seen := make([]int64, 0, len(r.matches))
	for id := range r.matches {
		seen = append(seen, id)
	}
	r.mu.Unlock()
	var rowsN int64
	if err := db.QueryRow(context.Background(), `SELECT count(*) FROM pk_answers a JOIN pk_players p USING (match_id, seat)
		WHERE p.user_id = ANY($1) AND a.match_id = ANY($2)`, ids, seen).Scan(&rowsN); err != nil {
		return err
	}
	env.Checks["acked_answers_in_postgres"] = fmt.Sprintf("%d rows for %d ok acks", rowsN, r.okAcks.Load())
	if rowsN < r.okAcks.Load() {
		return fmt.Errorf("pk: %d answers acknowledged but %d in Postgres", r.okAcks.Load(), rowsN)
	}
	return nil
}

// pkServerMsg is what the tool reads of the server's messages.
type pkServerMsg struct {
	T        string `json:"t"`
	Match    int64  `json:"match"`
	Phase    string `json:"phase"`
	Q        int    `json:"q"`
	Outcome  string `json:"outcome"`
	Question *struct {
		Options []string `json:"options"`
	} `json:"question"`
	Mine        []int `json:"mine"`
	RemainingMS int64 `json:"remaining_ms"`
}

// pkAnswerMargin is the least time a player leaves between sending an
// answer and the question's deadline (remaining_ms of its state).
const pkAnswerMargin = time.Second

// play queues once and plays the match found, until it is done.
func (r *pkRun) play(ctx context.Context, base, token string) error {
	st := r.env.Stats
	u, _ := url.Parse(base)
	scheme := "ws"
	if u.Scheme == "https" {
		scheme = "wss"
	}
	d := &websocket.Dialer{HandshakeTimeout: 15 * time.Second, ReadBufferSize: 4096, WriteBufferSize: 512}
	t0 := time.Now()
	ws, _, err := d.DialContext(ctx, fmt.Sprintf("%s://%s/ws/pk?mode=%d", scheme, u.Host, r.o.Mode),
		http.Header{"Origin": {u.Scheme + "://" + u.Host}, "Cookie": {"kepu_session=" + token}})
	if err != nil {
		return fmt.Errorf("dial: %w", err)
	}
	defer ws.Close()
	stopRead := context.AfterFunc(ctx, func() { ws.Close() })
	defer stopRead()
	var match int64
	answered := -1
	var sentAt time.Time
	var wmu sync.Mutex
	for {
		ws.SetReadDeadline(time.Now().Add(60 * time.Second))
		_, b, err := ws.ReadMessage()
		if err != nil {
			if r.stopping.Load() || ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("read: %w", err)
		}
		var m pkServerMsg
		if json.Unmarshal(b, &m) != nil {
			return errors.New("bad message")
		}
		switch m.T {
		case "waiting":
			if r.stopping.Load() {
				return nil
			}
		case "matched":
			match = m.Match
			st.Observe("match_found", time.Since(t0))
			r.mu.Lock()
			r.matches[match] = true
			r.mu.Unlock()
		case "ack":
			wmu.Lock()
			st.Observe("answer_ack", time.Since(sentAt))
			wmu.Unlock()
			st.Count("answers", 1)
			if m.Outcome == "ok" {
				r.okAcks.Add(1)
			} else {
				st.Error("pk: answer " + m.Outcome)
			}
		case "state":
			switch {
			case m.Phase == "question" && m.Q > answered && len(m.Mine) == 0 && m.Question != nil:
				answered = m.Q
				q, n := m.Q, len(m.Question.Options)
				think := time.Duration(0)
				if r.o.Think > 0 {
					think = r.o.Think/2 + rand.N(r.o.Think)
				}
				// A player sent back to a match they left (one an earlier
				// run left open: the server sends them to it) may see a
				// question with little time left: a person answers within
				// it or not at all.
				left := time.Duration(m.RemainingMS)*time.Millisecond - pkAnswerMargin
				if left <= 0 {
					st.Count("questions_seen_too_late", 1)
					break
				}
				think = min(think, left)
				time.AfterFunc(think, func() {
					wmu.Lock()
					defer wmu.Unlock()
					sentAt = time.Now()
					_ = ws.WriteJSON(map[string]any{"t": "answer", "q": q, "c": []int{rand.N(n)}})
				})
			case m.Phase == "done":
				r.mu.Lock()
				r.finished[match] = true
				r.mu.Unlock()
				return nil
			}
		case "error":
			st.Error("pk: server error message")
		}
	}
}
