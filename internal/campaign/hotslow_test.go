package campaign

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kepu/kepu/internal/bank"
	"github.com/kepu/kepu/internal/kepu"
	"github.com/kepu/kepu/internal/scoring"
	"github.com/kepu/kepu/internal/testenv"
)

// The hot path (hot.go) and the slow path (attempt.go) must decide every
// request the same. TestHotSlowSame plays two attempts of one campaign with
// the same drawn questions through random sequences of serve, seen, answers
// (right, wrong, invalid, wrong seq, duplicate, late within and after the
// grace), clock ticks and finish: one attempt the way production does (the
// hot path first, the slow path when it declines), the other always on the
// slow path (its attempt forgotten by the hot cache before each request).
// Every response and every row the requests wrote must be the same.
//
// KEPU_HOTSLOW_SEQS sets the number of sequences (default 30),
// KEPU_HOTSLOW_SEED the first seed (default: from the clock); a failure
// prints the seed that reproduces it.
func TestHotSlowSame(t *testing.T) {
	seqs := 30
	if v, err := strconv.Atoi(os.Getenv("KEPU_HOTSLOW_SEQS")); err == nil && v > 0 {
		seqs = v
	}
	base := uint64(time.Now().UnixNano())
	if v, err := strconv.ParseUint(os.Getenv("KEPU_HOTSLOW_SEED"), 10, 64); err == nil {
		base = v
	}
	ctx := context.Background()
	db := newBankDB(t, "热冷市", "hotslow")
	rows, err := db.Pool.Query(ctx, `SELECT v.id, v.dimension, jsonb_array_length(v.options) FROM questions q
		JOIN question_versions v ON v.question_id = q.id AND v.version = q.current_version
		WHERE q.status = 'published' AND q.lang = 'zh-CN' AND NOT q.private ORDER BY v.id`)
	if err != nil {
		t.Fatal(err)
	}
	var versions []hotSlowVersion
	for rows.Next() {
		var v hotSlowVersion
		if err := rows.Scan(&v.id, &v.dimension, &v.options); err != nil {
			t.Fatal(err)
		}
		versions = append(versions, v)
	}
	if err := rows.Err(); err != nil || len(versions) < 5 {
		t.Fatalf("bank: %d versions, err %v", len(versions), err)
	}
	hits := int64(0)
	for i := range seqs {
		seed := base + uint64(i)
		p := &hotSlowPlay{ctx: ctx, r: rand.New(rand.NewPCG(seed, 0x6b657075)), bank: versions}
		p.s = &Service{DB: db.Pool, Now: func() time.Time { return p.now }, Grace: DefaultGrace}
		p.other = &Service{DB: db.Pool, Now: func() time.Time { return p.now }, Grace: DefaultGrace}
		if err := p.run(i); err != nil {
			t.Fatalf("sequence %d diverged (reproduce: KEPU_HOTSLOW_SEED=%d KEPU_HOTSLOW_SEQS=1 go test -run TestHotSlowSame ./internal/campaign/)\n%v\nsteps:\n%s",
				i, seed, err, strings.Join(p.log, "\n"))
		}
		hits += p.s.hot.hits.Load()
	}
	// The test is worth something only if the hot path decided requests
	// (about three a sequence; a single replayed sequence may have none).
	if seqs >= 10 && hits < int64(seqs/2) {
		t.Errorf("hot path decided %d requests in %d sequences, want at least %d", hits, seqs, seqs/2)
	}
	t.Logf("%d sequences from seed %d; the hot path decided %d requests", seqs, base, hits)
}

// newBankDB is a migrated database with a city region (name, code) and
// the shipped question bank seeded into it.
func newBankDB(t *testing.T, name, code string) *testenv.DB {
	t.Helper()
	ctx := context.Background()
	db := testenv.NewDB(t)
	var region int64
	if err := db.Pool.QueryRow(ctx, `INSERT INTO regions (kind, name, code) VALUES ('city', $1, $2) RETURNING id`, name, code).
		Scan(&region); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pool.Exec(ctx, `UPDATE regions SET path = id || '/' WHERE id = $1`, region); err != nil {
		t.Fatal(err)
	}
	if _, err := bank.Seed(ctx, db.Pool, region); err != nil {
		t.Fatal(err)
	}
	return db
}

// hotSlowVersion is a question version the test draws from.
type hotSlowVersion struct {
	id        int64
	dimension string
	options   int
}

// hotSlowPlay is one sequence: a campaign, two attempts (hot and slow) and
// the clock both are played at.
type hotSlowPlay struct {
	ctx        context.Context
	r          *rand.Rand
	s          *Service
	now        time.Time
	c          Campaign
	hot, slow  int64    // attempt ids
	other      *Service // another instance, on the same database
	bank       []hotSlowVersion
	uHot, uSlw kepu.Actor
	log        []string
}

func (p *hotSlowPlay) run(n int) error {
	ctx, r := p.ctx, p.r
	p.now = time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC).Add(time.Duration(r.IntN(1_000_000)) * time.Microsecond)
	rules := Rules{Questions: 2 + r.IntN(4), Lang: "zh-CN", TimeLimit: 5 + r.IntN(20), Counts: "best",
		Scoring: []string{scoring.RuleSpeed, scoring.RuleFlat, scoring.RuleAssessment}[r.IntN(3)], Base: 10, Bonus: 10,
		Partial: r.IntN(2) == 0, PassMark: 50}
	if rules.Scoring == scoring.RuleAssessment {
		rules.Tiers = scoring.DefaultTiers
	}
	if r.IntN(3) == 0 {
		rules.AttemptLimit = rules.TimeLimit * (1 + r.IntN(rules.Questions))
	}
	// Some campaigns end while they are played.
	ends := p.now.Add(24 * time.Hour)
	if r.IntN(4) == 0 {
		ends = p.now.Add(time.Duration(rules.TimeLimit*(1+r.IntN(rules.Questions))) * time.Second)
	}
	settings, _ := json.Marshal(rules)
	var id int64
	if err := p.s.DB.QueryRow(ctx, `INSERT INTO campaigns (title, status, starts_at, ends_at, settings)
		VALUES ($1, 'published', $2, $3, $4) RETURNING id`, fmt.Sprintf("热冷 %d", n), p.now.Add(-time.Hour), ends, settings).
		Scan(&id); err != nil {
		return err
	}
	var err error
	if p.c, err = p.s.Public(ctx, id); err != nil {
		return err
	}
	for _, u := range []*kepu.Actor{&p.uHot, &p.uSlw} {
		u.Role = kepu.RoleParticipant
		if err := p.s.DB.QueryRow(ctx, `INSERT INTO users (username, nickname) VALUES ($1, '热冷') RETURNING id`,
			fmt.Sprintf("hotslow-%d-%d", n, r.Uint32())).Scan(&u.UserID); err != nil {
			return err
		}
	}
	ah, _, err := p.s.Start(ctx, p.uHot, id)
	if err != nil {
		return fmt.Errorf("start: %w", err)
	}
	as, _, err := p.s.Start(ctx, p.uSlw, id)
	if err != nil {
		return fmt.Errorf("start: %w", err)
	}
	p.hot, p.slow = ah.ID, as.ID
	// The same draw for both, from the seed (Start draws with Postgres's
	// random()): questions, shuffles and points as Start sets them.
	pick := make([]hotSlowVersion, len(p.bank))
	copy(pick, p.bank)
	r.Shuffle(len(pick), func(i, j int) { pick[i], pick[j] = pick[j], pick[i] })
	pick = pick[:rules.Questions]
	dims := map[string]int{}
	for _, v := range pick {
		dims[v.dimension]++
	}
	per := scoring.AssessmentPoints(bank.DimensionWeight, dims)
	maxScore := 0
	for i, v := range pick {
		pts := rules.Base
		switch rules.Scoring {
		case scoring.RuleSpeed:
			pts = rules.Base + rules.Bonus
		case scoring.RuleAssessment:
			pts = per[v.dimension]
		}
		maxScore += pts
		perm := r.Perm(v.options)
		if _, err := p.s.DB.Exec(ctx, `UPDATE campaign_attempt_questions SET question_version_id = $3, perm = $4, points = $5
			WHERE attempt_id IN ($1, $2) AND seq = $6`, p.hot, p.slow, v.id, perm, pts, i+1); err != nil {
			return err
		}
	}
	if _, err := p.s.DB.Exec(ctx, `UPDATE campaign_attempts SET max_score = $3 WHERE id IN ($1, $2)`, p.hot, p.slow, maxScore); err != nil {
		return err
	}
	p.log = append(p.log, fmt.Sprintf("rules %s, ends in %s", settings, ends.Sub(p.now)))
	steps := 10 + r.IntN(20)
	for step := 0; step < steps && !p.done(); step++ {
		if err := p.step(); err != nil {
			return fmt.Errorf("step %d: %w", step, err)
		}
		if err := p.sameRows(); err != nil {
			return fmt.Errorf("step %d: %w", step, err)
		}
	}
	return nil
}

// done reports whether both attempts are finished.
func (p *hotSlowPlay) done() bool {
	var open bool
	err := p.s.DB.QueryRow(p.ctx, `SELECT bool_or(finished_at IS NULL) FROM campaign_attempts WHERE id IN ($1, $2)`, p.hot, p.slow).Scan(&open)
	return err == nil && !open
}

// step plays one random request on both attempts at the same time.
func (p *hotSlowPlay) step() error {
	r := p.r
	// What the hot attempt is at (both are, until they diverge).
	var answered int
	var started time.Time
	var servedAt *time.Time
	if err := p.s.DB.QueryRow(p.ctx, `SELECT a.answered, a.started_at, q.served_at FROM campaign_attempts a
		LEFT JOIN campaign_attempt_questions q ON q.attempt_id = a.id AND q.seq = a.answered + 1 WHERE a.id = $1`, p.hot).
		Scan(&answered, &started, &servedAt); err != nil {
		return err
	}
	seq := answered + 1
	limit := time.Duration(p.c.Rules.TimeLimit) * time.Second
	if servedAt != nil {
		limit = questionLimit(p.c, Attempt{StartedAt: started}, *servedAt)
	}
	jitter := time.Duration(r.IntN(1_000_000)) * time.Microsecond
	rtt := r.IntN(1500)
	switch k := r.IntN(100); {
	case k < 25:
		if r.IntN(10) == 0 {
			// The request lands on an instance that never saw the attempt.
			p.s.hot.forget(p.hot)
			p.log = append(p.log, "hot attempt forgotten")
		}
		return p.same("current", func(a kepu.Actor, id int64) any { return normState(p.s.Current(p.ctx, a, id)) })
	case k < 35:
		if r.IntN(5) == 0 {
			seq += r.IntN(3) - 1
		}
		p.tick(time.Duration(r.IntN(800)) * time.Millisecond)
		// Sometimes the acknowledgment reaches another instance.
		svc, where := p.s, ""
		if r.IntN(3) == 0 {
			svc, where = p.other, " (another instance)"
		}
		return p.same(fmt.Sprintf("seen %d%s", seq, where), func(a kepu.Actor, id int64) any {
			if id == p.hot {
				return normErr(svc.Seen(p.ctx, a, id, seq))
			}
			return normErr(p.s.Seen(p.ctx, a, id, seq))
		})
	case k < 39:
		p.tick(time.Duration(r.IntN(int(limit/time.Millisecond)+1))*time.Millisecond + jitter)
		p.log = append(p.log, "tick")
		return nil
	case k < 46 && servedAt != nil:
		// Late: past the deadline, within the grace or after it.
		late := limit + jitter
		if r.IntN(2) == 0 {
			late += p.s.Grace
		} else {
			late += time.Duration(r.Int64N(int64(p.s.Grace - time.Second)))
		}
		p.now = later(p.now, servedAt.Add(late))
		return p.answer(seq, p.choice(seq, r.IntN(2) == 0), rtt, "late")
	case k < 68:
		p.tick(time.Duration(r.IntN(3000))*time.Millisecond + jitter)
		return p.answer(seq, p.choice(seq, true), rtt, "right")
	case k < 80:
		p.tick(time.Duration(r.IntN(3000))*time.Millisecond + jitter)
		return p.answer(seq, p.choice(seq, false), rtt, "wrong")
	case k < 84:
		bad := [][]int{{}, {99}, {-1}, {0, 0}, {0, 1, 2, 3, 4, 5, 6}}[r.IntN(5)]
		return p.answer(seq, bad, rtt, "invalid")
	case k < 86:
		return p.answer(seq, p.choice(seq, true), []int{-1, MaxRTTMS + 1}[r.IntN(2)], "bad rtt")
	case k < 90:
		return p.answer(seq+[]int{-2, 1, 2}[r.IntN(3)], []int{0}, rtt, "wrong seq")
	case k < 96 && seq > 1:
		return p.answer(seq-1, p.choice(seq-1, r.IntN(2) == 0), rtt, "duplicate")
	case k < 97:
		return p.same("finish", func(a kepu.Actor, id int64) any {
			att, err := p.s.Finish(p.ctx, a, id)
			return []any{normAttempt(att), normErr(err)}
		})
	}
	// The organizer edits the campaign while it is played: the row's
	// version changes (the hot path must notice), sometimes its time limit.
	tl := p.c.Rules.TimeLimit
	if r.IntN(2) == 0 {
		tl = 5 + r.IntN(20)
	}
	p.log = append(p.log, fmt.Sprintf("campaign edited: time_limit %d", tl))
	if _, err := p.s.DB.Exec(p.ctx, `UPDATE campaigns SET settings = jsonb_set(settings, '{time_limit}', to_jsonb($2::int)),
		updated_at = $3 WHERE id = $1`, p.c.ID, tl, p.now); err != nil {
		return err
	}
	var err error
	p.c, err = p.s.Public(p.ctx, p.c.ID)
	return err
}

func (p *hotSlowPlay) tick(d time.Duration) { p.now = p.now.Add(d) }

// later is the later of two times (the clock never goes back).
func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func (p *hotSlowPlay) answer(seq int, choice []int, rtt int, what string) error {
	return p.same(fmt.Sprintf("answer %s seq %d choice %v rtt %d", what, seq, choice, rtt), func(a kepu.Actor, id int64) any {
		res, err := p.s.Answer(p.ctx, a, id, seq, choice, rtt)
		if err == nil {
			if err := p.servedWithAnswer(id, res); err != nil {
				return err.Error()
			}
		}
		return []any{normResult(res), normErr(err)}
	})
}

// servedWithAnswer checks that the next question an answer's response
// carries was served by the statement that locked the answer: its
// served_at is the answer's answered_at, and the same transaction wrote
// both rows (xmin).
func (p *hotSlowPlay) servedWithAnswer(id int64, res Result) error {
	if res.Next == nil {
		return nil
	}
	var same bool
	err := p.s.DB.QueryRow(p.ctx, `SELECT n.served_at = a.answered_at AND n.xmin = a.xmin
		FROM campaign_answers a JOIN campaign_attempt_questions n ON n.attempt_id = a.attempt_id AND n.seq = $3
		WHERE a.attempt_id = $1 AND a.seq = $2`, id, res.Seq, res.Next.Seq).Scan(&same)
	if err != nil || !same {
		return fmt.Errorf("next question %d not served with answer %d (err %v)", res.Next.Seq, res.Seq, err)
	}
	return nil
}

// choice is a right or a wrong choice (shown positions) for seq of the hot
// attempt, the slow one having the same questions; any choice when seq has
// no question.
func (p *hotSlowPlay) choice(seq int, right bool) []int {
	var perm, answer []int
	var typ string
	err := p.s.DB.QueryRow(p.ctx, `SELECT s.perm, v.answer, v.type FROM campaign_attempt_questions s
		JOIN question_versions v ON v.id = s.question_version_id WHERE s.attempt_id = $1 AND s.seq = $2`, p.hot, seq).
		Scan(&perm, &answer, &typ)
	if err != nil {
		return []int{0}
	}
	q := slot{Perm: perm}
	shown := q.shown(answer)
	if right {
		return shown
	}
	if typ == "multiple" && len(shown) > 1 && p.r.IntN(2) == 0 {
		return shown[:1] // partly right
	}
	for pos := range perm {
		if !slicesContain(shown, pos) {
			return []int{pos}
		}
	}
	return []int{0}
}

func slicesContain(s []int, x int) bool {
	for _, v := range s {
		if v == x {
			return true
		}
	}
	return false
}

// same plays call on the hot attempt, then (forgotten by the hot cache,
// so on the slow path) on the slow attempt, and compares the answers.
func (p *hotSlowPlay) same(what string, call func(a kepu.Actor, id int64) any) error {
	p.log = append(p.log, fmt.Sprintf("%s at %s", what, p.now.Format("15:04:05.000000")))
	got := call(p.uHot, p.hot)
	p.s.hot.forget(p.slow)
	want := call(p.uSlw, p.slow)
	p.s.hot.forget(p.slow)
	// Compared as the client sees them (JSON); times in UTC.
	if g, w := dump(got), dump(want); g != w {
		return fmt.Errorf("%s:\n hot  %s\n slow %s", what, g, w)
	}
	return nil
}

func dump(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// sameRows compares what both attempts have in Postgres, ids aside.
func (p *hotSlowPlay) sameRows() error {
	queries := []struct{ name, sql string }{
		{"attempt", `SELECT started_at, finished_at, score, max_score, passed, questions, answered, time_ms, tier,
			cert_code IS NOT NULL, cert_nickname IS NOT NULL, cert_campaign IS NOT NULL, in_progress, staff_practice, day
			FROM campaign_attempts WHERE id = $1`},
		{"questions", `SELECT seq, question_version_id, perm, points, served_at, seen_at, rtt_ms FROM campaign_attempt_questions
			WHERE attempt_id = $1 ORDER BY seq`},
		{"answers", `SELECT seq, question_version_id, choice, correct, points, elapsed_ms, timed_out, answered_at
			FROM campaign_answers WHERE attempt_id = $1 ORDER BY seq`},
		{"signals", `SELECT kind, seq, at FROM campaign_signals WHERE attempt_id = $1 ORDER BY id`},
	}
	// One statement per attempt: every table's rows as JSON.
	parts := make([]string, len(queries))
	for i, q := range queries {
		parts[i] = `'` + q.name + `: ' || coalesce((SELECT json_agg(to_json(x))::text FROM (` + q.sql + `) x), '[]')`
	}
	sql := `SELECT ` + strings.Join(parts, ` || E'\n' || `)
	var got, want string
	if err := p.s.DB.QueryRow(p.ctx, sql, p.hot).Scan(&got); err != nil {
		return err
	}
	if err := p.s.DB.QueryRow(p.ctx, sql, p.slow).Scan(&want); err != nil {
		return err
	}
	if got != want {
		return fmt.Errorf("rows differ:\n hot  %s\n slow %s", got, want)
	}
	return nil
}

// normAttempt leaves out what differs between two attempts by design.
func normAttempt(a Attempt) Attempt {
	a.ID, a.UserID = 0, 0
	a.StartedAt = a.StartedAt.UTC()
	if a.FinishedAt != nil {
		f := a.FinishedAt.UTC()
		a.FinishedAt = &f
	}
	if a.CertCode != "" {
		a.CertCode = "(code)"
	}
	return a
}

// normResult is an answer's response without what differs by design.
func normResult(r Result) Result {
	if r.Attempt != nil {
		a := normAttempt(*r.Attempt)
		r.Attempt = &a
	}
	r.Next = normQuestion(r.Next)
	return r
}

func normQuestion(q *Question) *Question {
	if q == nil {
		return nil
	}
	c := *q
	c.Deadline = c.Deadline.UTC()
	return &c
}

func normState(st State, err error) []any {
	st.Attempt = normAttempt(st.Attempt)
	st.Question = normQuestion(st.Question)
	return []any{st, normErr(err)}
}

// normErr is a coded error's code, key and parameters; any other error
// as it is (an internal error fails the test anyway).
func normErr(err error) string {
	if err == nil {
		return ""
	}
	var e *kepu.Error
	if errors.As(err, &e) && e.Err == nil {
		return fmt.Sprintf("%s %s %v %s", e.Code, e.Key, e.Params, e.Field)
	}
	return "internal: " + err.Error()
}
