package seed

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kepu/kepu/internal/bank"
	"github.com/kepu/kepu/internal/campaign"
	"github.com/kepu/kepu/internal/dashboard"
	"github.com/kepu/kepu/internal/kepu"
	"github.com/kepu/kepu/internal/org"
	"github.com/kepu/kepu/internal/postgres"
	"github.com/kepu/kepu/internal/scoring"
)

// Volume generates benchmark and load-test volume on top of the demo seed
// (Foundation and Bank must have run): `kepu seed --participants/--attempts`
// (Load, Generate) and `kepu seed --ranked` (Ranked).
//
// Schools, classes, questions and campaigns go through their feature's own
// API (org.Service.EnsureSchool/EnsureClass, bank.EnsureSeedQuestion,
// campaign.Service.CreateGenerated). Participants, attempts and answers are
// bulk-loaded here with COPY: no feature has an API for that volume (the
// account and campaign services make one row per request, with hashing,
// rules and audit), so those rows are this package's own SQL, written as the
// account and campaign services would have written them
// (migrations/00200_campaign.sql).
type Volume struct {
	DB        *pgxpool.Pool
	Orgs      *org.Service
	Campaigns *campaign.Service
}

// GenerateOptions size a year of realistic campaign volume.
type GenerateOptions struct {
	Participants int       // new participant accounts (no password: they cannot log in)
	Attempts     int       // attempts over all campaigns
	Questions    int       // answers per attempt (default 10)
	End          time.Time // the year ends here (default now)
	// Years of annual literacy assessments (default 1): with more, each of
	// the years before End gets its own assessment, and abilities rise a
	// little every year, faster in some districts than in others, so the
	// five-year report (internal/literacy) has a trend to show.
	Years    int
	Seed     uint64 // random seed (same seed, same data)
	Progress func(format string, args ...any)
}

// GenerateResult is what Generate made.
type GenerateResult struct {
	Campaigns []int64 // the twelve monthly quizzes, the annual assessment, then the earlier years' assessments (newest first)
	Users     int
	Attempts  int
	Answers   int
	Took      time.Duration
}

// Load is `kepu seed --participants N --attempts M [--years Y]`: Generate,
// then fold everything into the dashboard rollups, printing progress to out.
func (v Volume) Load(ctx context.Context, participants, attempts, years int, out io.Writer) error {
	res, err := v.Generate(ctx, GenerateOptions{Participants: participants, Attempts: attempts, Years: years, Seed: uint64(time.Now().UnixNano()),
		Progress: func(f string, args ...any) { fmt.Fprintf(out, "  "+f+"\n", args...) }})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "Generated %d participants, %d attempts, %d answers in %d campaigns in %s.\n",
		res.Users, res.Attempts, res.Answers, len(res.Campaigns), res.Took.Round(time.Second))
	t := time.Now()
	n, err := (&dashboard.Refresher{DB: v.DB, CommitLag: -1}).Refresh(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "Folded %d rows into the dashboard rollups in %s.\n", n, time.Since(t).Round(time.Second))
	return nil
}

// Generate bulk-loads a year of volume: schools and classes in every
// district, participants with age bands and occupations, twelve monthly
// quizzes and an annual literacy assessment, attempts spread over the year
// with a daily rhythm, and answers drawn from each participant's ability
// and each question's difficulty (a few questions deliberately broken). It
// uses the bank's published questions (making 200 when the bank has fewer
// than 50); it does not fold the dashboard rollups (Load does, or the
// server's Refresher).
func (v Volume) Generate(ctx context.Context, o GenerateOptions) (GenerateResult, error) {
	start := time.Now()
	if o.Questions <= 0 {
		o.Questions = 10
	}
	if o.Years <= 0 {
		o.Years = 1
	}
	if o.End.IsZero() {
		o.End = time.Now()
	}
	if o.Progress == nil {
		o.Progress = func(string, ...any) {}
	}
	if o.Participants <= 0 || o.Attempts <= 0 {
		return GenerateResult{}, fmt.Errorf("seed: generate: participants and attempts must be positive")
	}
	g := &generator{v: v, o: o, rng: rand.New(rand.NewPCG(o.Seed, o.Seed^0x9e3779b97f4a7c15))}
	for _, step := range []func(context.Context) error{
		g.schoolsAndClasses,
		g.questions,
		g.campaigns,
		g.participants,
		g.planAttempts,
		g.writeAttempts,
		g.analyze,
	} {
		if err := step(ctx); err != nil {
			return g.res, fmt.Errorf("seed: generate: %w", err)
		}
	}
	g.res.Took = time.Since(start)
	return g.res, nil
}

// generator is one Generate run: each step fills in what the next needs.
type generator struct {
	v   Volume
	o   GenerateOptions
	rng *rand.Rand
	res GenerateResult

	districts []int64
	city      int64
	classes   []genClass
	qs        []genQuestion
	camps     []genCampaign
	annual    genCampaign
	annuals   []genCampaign     // this year's assessment, then the earlier years'
	trend     map[int64]float64 // per district: how much ability grows in a year
	firstUser int64
	ability   []float64 // by participant index
	users     [][]any   // the users rows, by participant index
	plans     []attemptPlan
}

type genClass struct{ id, school, region int64 }

type genQuestion struct {
	version int64
	options int
	key     int
	b       float64 // difficulty on the ability scale
	broken  bool
}

type genCampaign struct {
	id         int64
	from, to   time.Time
	assessment bool
}

// attemptPlan is one attempt before it is written: who, which campaign,
// when, and the seed of its answers.
type attemptPlan struct {
	camp     int64
	user     int
	at, end  time.Time
	finished bool
	answered int
	seed     uint64
	shift    float64 // added to the participant's ability (earlier years: lower)
}

// schoolsAndClasses ensures 20 schools of 6 classes in every district.
func (g *generator) schoolsAndClasses(ctx context.Context) error {
	rows, _ := g.v.DB.Query(ctx, `SELECT id FROM regions WHERE kind = 'district' ORDER BY sort, id`)
	districts, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil || len(districts) == 0 {
		return fmt.Errorf("no districts (run kepu seed first): %v", err)
	}
	g.districts = districts
	if err := g.v.DB.QueryRow(ctx, `SELECT id FROM regions WHERE kind = 'city' ORDER BY id LIMIT 1`).Scan(&g.city); err != nil {
		return fmt.Errorf("city: %w", err)
	}
	for di, d := range districts {
		for s := range 20 {
			sid, err := g.v.Orgs.EnsureSchool(ctx, d, fmt.Sprintf("测试学校%02d-%02d", di+1, s+1))
			if err != nil {
				return err
			}
			for c := range 6 {
				cid, err := g.v.Orgs.EnsureClass(ctx, sid, fmt.Sprintf("%d年级(%d)班", 3+c, 1+s%3), 3+c)
				if err != nil {
					return err
				}
				g.classes = append(g.classes, genClass{cid, sid, d})
			}
		}
	}
	g.o.Progress("schools and classes: %d classes", len(g.classes))
	return nil
}

// questions loads the published single-choice bank (adding 200 plain
// questions to a bank of fewer than 50), gives each a difficulty and
// breaks about 2% (a wrong key or a misleading option).
func (g *generator) questions(ctx context.Context) error {
	type row struct {
		version   int64
		options   int
		key, diff int
	}
	load := func() ([]row, error) {
		rows, _ := g.v.DB.Query(ctx, `SELECT v.id, jsonb_array_length(v.options), v.answer[1], v.difficulty FROM questions q
			JOIN question_versions v ON v.question_id = q.id AND v.version = q.current_version
			WHERE q.status = 'published' AND q.type = 'single' ORDER BY v.id LIMIT 2000`)
		var out []row
		var r row
		_, err := pgx.ForEachRow(rows, []any{&r.version, &r.options, &r.key, &r.diff}, func() error {
			out = append(out, r)
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("questions: %w", err)
		}
		return out, nil
	}
	rows, err := load()
	if err != nil {
		return err
	}
	if len(rows) < 50 {
		// An empty bank: make 200 plain questions so the volume is realistic.
		if err := g.plainQuestions(ctx, 200); err != nil {
			return err
		}
		if rows, err = load(); err != nil {
			return err
		}
	}
	if len(rows) < g.o.Questions {
		return fmt.Errorf("%d published single-choice questions, need %d (load the bank first)", len(rows), g.o.Questions)
	}
	for i, r := range rows {
		g.qs = append(g.qs, genQuestion{version: r.version, options: r.options, key: r.key,
			b: float64(r.diff-3)*0.6 + g.rng.NormFloat64()*0.3, broken: i%53 == 7})
	}
	return nil
}

var genCategories = []string{"agriculture_food", "earth_space", "environment", "health", "history_method",
	"info_literacy", "life", "physics_chemistry", "safety", "technology"}
var genDimensions = []string{"knowledge", "method", "spirit", "application"}

// plainQuestions adds n published single-choice questions to the city's
// bank (seed keys gen-q-N, so running again adds none).
func (g *generator) plainQuestions(ctx context.Context, n int) error {
	for i := range n {
		cat, dim := genCategories[i%len(genCategories)], genDimensions[i%len(genDimensions)]
		err := bank.EnsureSeedQuestion(ctx, g.v.DB, g.city, fmt.Sprintf("gen-q-%d", i+1), bank.Input{
			Type: bank.TypeSingle, Stem: fmt.Sprintf("生成题目 %d（%s）", i+1, cat), Options: []string{"甲", "乙", "丙", "丁"},
			Answer: []int{i % 4}, Category: cat, Dimension: dim, Difficulty: 1 + i%5})
		if err != nil {
			return err
		}
	}
	return nil
}

// campaigns creates twelve monthly quizzes of three weeks over the year
// before End and an annual assessment open from its tenth month until a
// week after End.
func (g *generator) campaigns(ctx context.Context) error {
	yearStart := g.o.End.AddDate(-1, 0, 0)
	create := func(title, kind string, c genCampaign) (genCampaign, error) {
		id, err := g.v.Campaigns.CreateGenerated(ctx, campaign.Generated{Title: title, RegionID: g.city, Kind: kind,
			StartsAt: c.from, EndsAt: c.to})
		c.id = id
		return c, err
	}
	for m := range 12 {
		from := yearStart.AddDate(0, m, 0)
		c, err := create(fmt.Sprintf("%s 月度科普答题", from.Format("2006-01")), "quiz", genCampaign{from: from, to: from.AddDate(0, 0, 21)})
		if err != nil {
			return err
		}
		g.camps = append(g.camps, c)
	}
	annual, err := create(fmt.Sprintf("%d 年度公民科学素质测评", g.o.End.Year()), "assessment",
		genCampaign{from: yearStart.AddDate(0, 9, 0), to: g.o.End.Add(7 * 24 * time.Hour), assessment: true})
	if err != nil {
		return err
	}
	g.annual = annual
	g.camps = append(g.camps, annual)
	g.annuals = append(g.annuals, annual)
	for y := 1; y < g.o.Years; y++ {
		end := g.o.End.AddDate(-y, 0, 0)
		c, err := create(fmt.Sprintf("%d 年度公民科学素质测评", end.Year()), "assessment",
			genCampaign{from: end.AddDate(0, -3, 0), to: end.Add(7 * 24 * time.Hour), assessment: true})
		if err != nil {
			return err
		}
		g.annuals = append(g.annuals, c)
	}
	for _, c := range append(g.camps, g.annuals[1:]...) {
		g.res.Campaigns = append(g.res.Campaigns, c.id)
	}
	g.trend = map[int64]float64{}
	for _, d := range g.districts {
		g.trend[d] = 0.03 + 0.12*g.rng.Float64()
	}
	return nil
}

// participants COPYs the participant accounts: 40% pupils in a class, the
// rest adults in a district, each with an ability drawn from N(0, 1).
func (g *generator) participants(ctx context.Context) error {
	db := g.v.DB
	if err := db.QueryRow(ctx, `SELECT coalesce(max(id), 0) + 1 FROM users`).Scan(&g.firstUser); err != nil {
		return err
	}
	adultAges := []string{"18_29", "30_39", "40_49", "50_59", "60p"}
	adultJobs := []string{"civil_servant", "worker", "farmer", "business", "medical", "tech", "retired", "other", "teacher"}
	n := g.o.Participants
	g.ability = make([]float64, n)
	g.users = make([][]any, 0, n)
	for i := range n {
		id := g.firstUser + int64(i)
		var region, school, cls *int64
		age, job := "", ""
		if g.rng.Float64() < 0.4 {
			c := g.classes[g.rng.IntN(len(g.classes))]
			region, school, cls = &c.region, &c.school, &c.id
			age, job = "u14", "student"
			if g.rng.Float64() < 0.3 {
				age = "14_17"
			}
		} else {
			d := g.districts[g.rng.IntN(len(g.districts))]
			region = &d
			age, job = adultAges[g.rng.IntN(len(adultAges))], adultJobs[g.rng.IntN(len(adultJobs))]
		}
		g.ability[i] = g.rng.NormFloat64()
		g.users = append(g.users, []any{id, fmt.Sprintf("gen-%d", id), "participant", fmt.Sprintf("参与者%d", id),
			region, school, cls, age, job})
	}
	if _, err := db.CopyFrom(ctx, pgx.Identifier{"users"}, []string{"id", "username", "role", "nickname", "region_id", "school_id",
		"class_id", "age_band", "occupation"}, pgx.CopyFromRows(g.users)); err != nil {
		return fmt.Errorf("users: %w", err)
	}
	if _, err := db.Exec(ctx, `SELECT setval(pg_get_serial_sequence('users', 'id'), (SELECT max(id) FROM users))`); err != nil {
		return err
	}
	g.res.Users = n
	g.o.Progress("participants: %d", n)
	return nil
}

// planAttempts plans every attempt (who, which campaign, when, how long
// each answer took), sorted by when it ended: 35% go to the annual
// assessment, 5% are abandoned, and those begun in End's last half hour
// are in progress.
func (g *generator) planAttempts(context.Context) error {
	o := g.o
	g.plans = make([]attemptPlan, o.Attempts)
	for k := range g.plans {
		c := g.camps[g.rng.IntN(len(g.camps))]
		back := 0 // years before End
		if g.rng.Float64() < 0.35 {
			back = g.rng.IntN(len(g.annuals))
			c = g.annuals[back]
		}
		p := attemptPlan{camp: c.id, user: g.rng.IntN(o.Participants), seed: g.rng.Uint64()}
		if region, ok := g.users[p.user][4].(*int64); ok && region != nil {
			p.shift = -float64(back) * g.trend[*region]
		}
		p.at = randomMoment(g.rng, c.from, minTime(c.to, o.End))
		p.finished = g.rng.Float64() >= 0.05 && o.End.Sub(p.at) > 30*time.Minute
		p.answered = o.Questions
		if !p.finished {
			p.answered = g.rng.IntN(o.Questions)
		}
		p.end = p.at
		for _, ms := range answerTimes(p.seed, p.answered) {
			p.end = p.end.Add(time.Duration(ms) * time.Millisecond)
		}
		g.plans[k] = p
	}
	sort.Slice(g.plans, func(i, j int) bool { return g.plans[i].end.Before(g.plans[j].end) })
	return nil
}

// writeAttempts writes the planned attempts in the order they ended, as
// the live system would have: ids grow with time, and each chunk's
// attempts and answers commit together.
func (g *generator) writeAttempts(ctx context.Context) error {
	o, db := g.o, g.v.DB
	var firstAttempt int64
	if err := db.QueryRow(ctx, `SELECT coalesce(max(id), 0) + 1 FROM campaign_attempts`).Scan(&firstAttempt); err != nil {
		return err
	}
	const chunk = 20000
	running := map[[2]int64]bool{}
	order := make([]int, len(g.qs))
	for i := range order {
		order[i] = i
	}
	for done := 0; done < o.Attempts; done += chunk {
		n := min(chunk, o.Attempts-done)
		attempts := make([][]any, 0, n)
		answers := make([][]any, 0, n*o.Questions)
		for k := range n {
			p := g.plans[done+k]
			id := firstAttempt + int64(done+k)
			var score int
			answers, score = g.answer(answers, id, p, order)
			// Recent unfinished attempts are running now (one per user and campaign).
			live := !p.finished && o.End.Sub(p.at) < 30*time.Minute && !running[[2]int64{p.camp, int64(p.user)}]
			if live {
				running[[2]int64{p.camp, int64(p.user)}] = true
			}
			attempts = append(attempts, g.attemptRow(id, p, score, live))
		}
		err := postgres.Tx(ctx, db, func(tx pgx.Tx) error {
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{"campaign_attempts"}, []string{"id", "campaign_id", "user_id", "started_at",
				"finished_at", "score", "max_score", "passed", "tier", "in_progress", "day", "questions", "answered", "time_ms",
				"region_id", "school_id", "class_id"},
				pgx.CopyFromRows(attempts)); err != nil {
				return fmt.Errorf("attempts: %w", err)
			}
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{"campaign_answers"}, []string{"attempt_id", "question_version_id", "choice",
				"correct", "elapsed_ms", "answered_at"}, pgx.CopyFromRows(answers)); err != nil {
				return fmt.Errorf("answers: %w", err)
			}
			return nil
		})
		if err != nil {
			return err
		}
		g.res.Attempts += n
		g.res.Answers += len(answers)
		o.Progress("attempts: %d/%d, answers: %d", g.res.Attempts, o.Attempts, g.res.Answers)
	}
	_, err := db.Exec(ctx, `SELECT setval(pg_get_serial_sequence('campaign_attempts', 'id'), (SELECT max(id) FROM campaign_attempts))`)
	return err
}

// answer appends the answer rows of attempt id (plan p) to answers and
// returns them with the number right: distinct questions (a partial
// Fisher–Yates shuffle of order), each right with a logistic probability
// of the participant's ability against its difficulty; broken questions
// are missed more by stronger players, often for one popular distractor.
func (g *generator) answer(answers [][]any, id int64, p attemptPlan, order []int) ([][]any, int) {
	r := rand.New(rand.NewPCG(p.seed, 1))
	for j := range p.answered {
		x := j + r.IntN(len(order)-j)
		order[j], order[x] = order[x], order[j]
	}
	score := 0
	t := p.at
	for j, ms := range answerTimes(p.seed, p.answered) {
		q := g.qs[order[j]]
		prob := 1 / (1 + math.Exp(-(1.3*(g.ability[p.user]+p.shift) - q.b)))
		right := r.Float64() < prob
		if q.broken {
			right = r.Float64() < 0.9-0.35*prob // stronger players miss it more
		}
		choice := q.key
		if !right {
			choice = (q.key + 1 + r.IntN(max(q.options-1, 1))) % max(q.options, 1)
			if q.broken && r.Float64() < 0.6 {
				choice = (q.key + 1) % max(q.options, 1) // a popular distractor
			}
		} else {
			score++
		}
		t = t.Add(time.Duration(ms) * time.Millisecond)
		answers = append(answers, []any{id, q.version, []int32{int32(choice)}, right, int32(ms), t})
	}
	return answers, score
}

// attemptRow is the campaign_attempts row of attempt id: a finished one
// passes at 60% and, in the assessment, gets its tier.
func (g *generator) attemptRow(id int64, p attemptPlan, score int, live bool) []any {
	o := g.o
	var fin *time.Time
	var passed *bool
	var tier *string
	if p.finished {
		fin = &p.end
		ok := score*100 >= 60*o.Questions
		passed = &ok
		if g.isAnnual(p.camp) {
			k := scoring.TierOf(100*float64(score)/float64(o.Questions), scoring.DefaultTiers)
			tier = &k
		}
	}
	u := g.users[p.user]
	return []any{id, p.camp, g.firstUser + int64(p.user), p.at, fin, int32(score), int32(o.Questions), passed,
		tier, live, shanghaiDay(p.at), int32(o.Questions), int32(p.answered), p.end.Sub(p.at).Milliseconds(),
		u[4], u[5], u[6]}
}

func (g *generator) isAnnual(id int64) bool {
	for _, c := range g.annuals {
		if c.id == id {
			return true
		}
	}
	return false
}

// analyze refreshes the planner's statistics of the loaded tables.
func (g *generator) analyze(ctx context.Context) error {
	_, err := g.v.DB.Exec(ctx, `ANALYZE users; ANALYZE campaign_attempts; ANALYZE campaign_answers`)
	return err
}

// randomMoment picks a time in [from, to) with a daily rhythm: most
// answers between 08:00 and 22:00 Beijing time, peaking in the evening.
func randomMoment(rng *rand.Rand, from, to time.Time) time.Time {
	if !to.After(from) {
		return from
	}
	day := from.Add(time.Duration(rng.Int64N(int64(to.Sub(from)))))
	d := day.In(kepu.Shanghai)
	hour := 8 + rng.IntN(14)
	if rng.Float64() < 0.35 {
		hour = 19 + rng.IntN(3)
	}
	t := time.Date(d.Year(), d.Month(), d.Day(), hour, rng.IntN(60), rng.IntN(60), 0, kepu.Shanghai)
	if t.Before(from) || !t.Before(to) {
		return day
	}
	return t
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// answerTimes draws how long each of n answers took (ms, log-normal around
// eight seconds); the same seed gives the same times.
func answerTimes(seed uint64, n int) []int {
	r := rand.New(rand.NewPCG(seed, 2))
	out := make([]int, n)
	for i := range out {
		out[i] = int(math.Exp(8.9+0.45*r.NormFloat64())) + 800
	}
	return out
}

// shanghaiDay is the Asia/Shanghai calendar day of t, as a date value.
func shanghaiDay(t time.Time) time.Time {
	y, m, d := t.In(kepu.Shanghai).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}
