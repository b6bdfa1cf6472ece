package dashboard

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

	"github.com/kepu/kepu/internal/postgres"
	"github.com/kepu/kepu/internal/scoring"
)

// GenerateOptions size a year of realistic campaign volume.
type GenerateOptions struct {
	Participants int       // new participant accounts (no password: they cannot log in)
	Attempts     int       // attempts over all campaigns
	Questions    int       // answers per attempt (default 10)
	End          time.Time // the year ends here (default now)
	Seed         uint64    // random seed (same seed, same data)
	Progress     func(format string, args ...any)
}

// GenerateResult is what Generate made.
type GenerateResult struct {
	Campaigns []int64
	Users     int
	Attempts  int
	Answers   int
	Took      time.Duration
}

// Generate bulk-loads (pgx CopyFrom) a year of volume into the campaign
// tables: schools and classes in every district, participants with age
// bands and occupations, twelve monthly quizzes and an annual literacy
// assessment, attempts spread over the year with a daily rhythm, and
// answers drawn from each participant's ability and each question's
// difficulty (a few questions deliberately broken). It writes the campaign
// engine's tables (migrations/00200_campaign.sql) as the engine would, and
// uses the bank's published questions (making 200 when the bank is empty);
// it does not fold rollups (run the Refresher after).
func Generate(ctx context.Context, db *pgxpool.Pool, o GenerateOptions) (GenerateResult, error) {
	start := time.Now()
	var res GenerateResult
	if o.Questions <= 0 {
		o.Questions = 10
	}
	if o.End.IsZero() {
		o.End = time.Now()
	}
	if o.Progress == nil {
		o.Progress = func(string, ...any) {}
	}
	if o.Participants <= 0 || o.Attempts <= 0 {
		return res, fmt.Errorf("dashboard: generate: participants and attempts must be positive")
	}
	rng := rand.New(rand.NewPCG(o.Seed, o.Seed^0x9e3779b97f4a7c15))

	// Districts, schools and classes.
	rows, _ := db.Query(ctx, `SELECT id FROM regions WHERE kind = 'district' ORDER BY sort, id`)
	districts, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil || len(districts) == 0 {
		return res, fmt.Errorf("dashboard: generate: no districts (run kepu seed first): %v", err)
	}
	var city int64
	if err := db.QueryRow(ctx, `SELECT id FROM regions WHERE kind = 'city' ORDER BY id LIMIT 1`).Scan(&city); err != nil {
		return res, fmt.Errorf("dashboard: generate: city: %w", err)
	}
	type class struct{ id, school, region int64 }
	var classes []class
	for di, d := range districts {
		for s := range 20 {
			var sid int64
			err := db.QueryRow(ctx, `INSERT INTO schools (region_id, name) VALUES ($1, $2)
				ON CONFLICT (region_id, name) DO UPDATE SET name = EXCLUDED.name RETURNING id`,
				d, fmt.Sprintf("测试学校%02d-%02d", di+1, s+1)).Scan(&sid)
			if err != nil {
				return res, fmt.Errorf("dashboard: generate: school: %w", err)
			}
			for c := range 6 {
				var cid int64
				err := db.QueryRow(ctx, `INSERT INTO classes (school_id, name, grade) VALUES ($1, $2, $3)
					ON CONFLICT (school_id, name) DO UPDATE SET grade = EXCLUDED.grade RETURNING id`,
					sid, fmt.Sprintf("%d年级(%d)班", 3+c, 1+s%3), 3+c).Scan(&cid)
				if err != nil {
					return res, fmt.Errorf("dashboard: generate: class: %w", err)
				}
				classes = append(classes, class{cid, sid, d})
			}
		}
	}
	o.Progress("schools and classes: %d classes", len(classes))

	// Questions: the published bank, with a difficulty per version.
	type question struct {
		version int64
		options int
		key     int
		b       float64 // difficulty on the ability scale
		broken  bool
	}
	rows, _ = db.Query(ctx, `SELECT v.id, jsonb_array_length(v.options), v.answer[1], v.difficulty FROM questions q
		JOIN question_versions v ON v.question_id = q.id AND v.version = q.current_version
		WHERE q.status = 'published' AND q.type = 'single' ORDER BY v.id LIMIT 2000`)
	var qs []question
	var vid int64
	var nopt, key, diff int
	if _, err := pgx.ForEachRow(rows, []any{&vid, &nopt, &key, &diff}, func() error {
		qs = append(qs, question{version: vid, options: nopt, key: key, b: float64(diff-3)*0.6 + rng.NormFloat64()*0.3})
		return nil
	}); err != nil {
		return res, fmt.Errorf("dashboard: generate: questions: %w", err)
	}
	if len(qs) < 50 {
		// An empty bank: make 200 plain questions so the volume is realistic.
		if err := generateQuestions(ctx, db, city, 200); err != nil {
			return res, err
		}
		return Generate(ctx, db, o)
	}
	if len(qs) < o.Questions {
		return res, fmt.Errorf("dashboard: generate: %d published single-choice questions, need %d (load the bank first)", len(qs), o.Questions)
	}
	for i := range qs {
		qs[i].broken = i%53 == 7 // about 2%: a wrong key or a misleading option
	}

	// Campaigns: twelve monthly quizzes and an annual assessment.
	yearStart := o.End.AddDate(-1, 0, 0)
	type campaign struct {
		id         int64
		from, to   time.Time
		assessment bool
	}
	var camps []campaign
	for m := range 12 {
		from := yearStart.AddDate(0, m, 0)
		c := campaign{from: from, to: from.AddDate(0, 0, 21)}
		if err := db.QueryRow(ctx, sqlInsertCampaign, fmt.Sprintf("%s 月度科普答题", from.Format("2006-01")), city, "quiz", c.from, c.to).Scan(&c.id); err != nil {
			return res, fmt.Errorf("dashboard: generate: campaign: %w", err)
		}
		camps = append(camps, c)
	}
	annual := campaign{from: yearStart.AddDate(0, 9, 0), to: o.End.Add(7 * 24 * time.Hour), assessment: true}
	if err := db.QueryRow(ctx, sqlInsertCampaign, fmt.Sprintf("%d 年度公民科学素质测评", o.End.Year()), city, "assessment", annual.from, annual.to).Scan(&annual.id); err != nil {
		return res, fmt.Errorf("dashboard: generate: campaign: %w", err)
	}
	camps = append(camps, annual)
	for _, c := range camps {
		res.Campaigns = append(res.Campaigns, c.id)
	}

	// Participants.
	var firstUser int64
	if err := db.QueryRow(ctx, `SELECT coalesce(max(id), 0) + 1 FROM users`).Scan(&firstUser); err != nil {
		return res, err
	}
	adultAges := []string{"18_29", "30_39", "40_49", "50_59", "60p"}
	adultJobs := []string{"civil_servant", "worker", "farmer", "business", "medical", "tech", "retired", "other", "teacher"}
	ability := make([]float64, o.Participants)
	userRows := make([][]any, 0, o.Participants)
	for i := range o.Participants {
		id := firstUser + int64(i)
		var region, school, cls *int64
		age, job := "", ""
		if rng.Float64() < 0.4 {
			c := classes[rng.IntN(len(classes))]
			region, school, cls = &c.region, &c.school, &c.id
			age, job = "u14", "student"
			if rng.Float64() < 0.3 {
				age = "14_17"
			}
		} else {
			d := districts[rng.IntN(len(districts))]
			region = &d
			age, job = adultAges[rng.IntN(len(adultAges))], adultJobs[rng.IntN(len(adultJobs))]
		}
		ability[i] = rng.NormFloat64()
		userRows = append(userRows, []any{id, fmt.Sprintf("gen-%d", id), "participant", fmt.Sprintf("参与者%d", id),
			region, school, cls, age, job})
	}
	if _, err := db.CopyFrom(ctx, pgx.Identifier{"users"}, []string{"id", "username", "role", "nickname", "region_id", "school_id",
		"class_id", "age_band", "occupation"}, pgx.CopyFromRows(userRows)); err != nil {
		return res, fmt.Errorf("dashboard: generate: users: %w", err)
	}
	if _, err := db.Exec(ctx, `SELECT setval(pg_get_serial_sequence('users', 'id'), (SELECT max(id) FROM users))`); err != nil {
		return res, err
	}
	res.Users = o.Participants
	o.Progress("participants: %d", o.Participants)

	// Attempts and answers. First plan every attempt (who, which campaign,
	// when, how long each answer took), then write them in the order they
	// ended, as the live system would have: ids grow with time, and each
	// chunk's attempts and answers commit together.
	type plan struct {
		camp     int64
		user     int
		at, end  time.Time
		finished bool
		answered int
		seed     uint64
	}
	plans := make([]plan, o.Attempts)
	for k := range plans {
		c := camps[rng.IntN(len(camps))]
		if rng.Float64() < 0.35 {
			c = annual
		}
		p := plan{camp: c.id, user: rng.IntN(o.Participants), seed: rng.Uint64()}
		p.at = randomMoment(rng, c.from, minTime(c.to, o.End))
		// 5% are abandoned; those begun in the last half hour are in progress.
		p.finished = rng.Float64() >= 0.05 && o.End.Sub(p.at) > 30*time.Minute
		p.answered = o.Questions
		if !p.finished {
			p.answered = rng.IntN(o.Questions)
		}
		p.end = p.at
		for _, ms := range answerTimes(p.seed, p.answered) {
			p.end = p.end.Add(time.Duration(ms) * time.Millisecond)
		}
		plans[k] = p
	}
	sort.Slice(plans, func(i, j int) bool { return plans[i].end.Before(plans[j].end) })
	var firstAttempt int64
	if err := db.QueryRow(ctx, `SELECT coalesce(max(id), 0) + 1 FROM campaign_attempts`).Scan(&firstAttempt); err != nil {
		return res, err
	}
	const chunk = 20000
	running := map[[2]int64]bool{}
	order := make([]int, len(qs))
	for i := range order {
		order[i] = i
	}
	for done := 0; done < o.Attempts; done += chunk {
		n := min(chunk, o.Attempts-done)
		attempts := make([][]any, 0, n)
		answers := make([][]any, 0, n*o.Questions)
		for k := range n {
			p := plans[done+k]
			id := firstAttempt + int64(done+k)
			r := rand.New(rand.NewPCG(p.seed, 1))
			for j := range p.answered { // partial Fisher–Yates: distinct questions
				x := j + r.IntN(len(order)-j)
				order[j], order[x] = order[x], order[j]
			}
			score := 0
			t := p.at
			for j, ms := range answerTimes(p.seed, p.answered) {
				q := qs[order[j]]
				prob := 1 / (1 + math.Exp(-(1.3*ability[p.user] - q.b)))
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
			var fin *time.Time
			var passed *bool
			var tier *string
			if p.finished {
				fin = &p.end
				ok := score*100 >= 60*o.Questions
				passed = &ok
				if p.camp == annual.id {
					k := scoring.TierOf(100*float64(score)/float64(o.Questions), scoring.DefaultTiers)
					tier = &k
				}
			}
			// Recent unfinished attempts are running now (one per user and campaign).
			live := !p.finished && o.End.Sub(p.at) < 30*time.Minute && !running[[2]int64{p.camp, int64(p.user)}]
			if live {
				running[[2]int64{p.camp, int64(p.user)}] = true
			}
			attempts = append(attempts, []any{id, p.camp, firstUser + int64(p.user), p.at, fin, int32(score), int32(o.Questions), passed,
				tier, live, shanghaiDay(p.at), int32(o.Questions), int32(p.answered), p.end.Sub(p.at).Milliseconds(),
				userRows[p.user][4], userRows[p.user][5], userRows[p.user][6]})
		}
		err := postgres.Tx(ctx, db, func(tx pgx.Tx) error {
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{"campaign_attempts"}, []string{"id", "campaign_id", "user_id", "started_at",
				"finished_at", "score", "max_score", "passed", "tier", "in_progress", "day", "questions", "answered", "time_ms",
				"region_id", "school_id", "class_id"},
				pgx.CopyFromRows(attempts)); err != nil {
				return fmt.Errorf("dashboard: generate: attempts: %w", err)
			}
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{"campaign_answers"}, []string{"attempt_id", "question_version_id", "choice",
				"correct", "elapsed_ms", "answered_at"}, pgx.CopyFromRows(answers)); err != nil {
				return fmt.Errorf("dashboard: generate: answers: %w", err)
			}
			return nil
		})
		if err != nil {
			return res, err
		}
		res.Attempts += n
		res.Answers += len(answers)
		o.Progress("attempts: %d/%d, answers: %d", res.Attempts, o.Attempts, res.Answers)
	}
	if _, err := db.Exec(ctx, `SELECT setval(pg_get_serial_sequence('campaign_attempts', 'id'), (SELECT max(id) FROM campaign_attempts))`); err != nil {
		return res, err
	}
	if _, err := db.Exec(ctx, `ANALYZE users; ANALYZE campaign_attempts; ANALYZE campaign_answers`); err != nil {
		return res, err
	}
	res.Took = time.Since(start)
	return res, nil
}

// randomMoment picks a time in [from, to) with a daily rhythm: most
// answers between 08:00 and 22:00 Beijing time, peaking in the evening.
func randomMoment(rng *rand.Rand, from, to time.Time) time.Time {
	if !to.After(from) {
		return from
	}
	day := from.Add(time.Duration(rng.Int64N(int64(to.Sub(from)))))
	d := day.In(Shanghai)
	hour := 8 + rng.IntN(14)
	if rng.Float64() < 0.35 {
		hour = 19 + rng.IntN(3)
	}
	t := time.Date(d.Year(), d.Month(), d.Day(), hour, rng.IntN(60), rng.IntN(60), 0, Shanghai)
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

var genCategories = []string{"agriculture_food", "earth_space", "environment", "health", "history_method",
	"info_literacy", "life", "physics_chemistry", "safety", "technology"}
var genDimensions = []string{"knowledge", "method", "spirit", "application"}

// generateQuestions adds n published single-choice questions (seed keys
// gen-q-N, so running again adds none).
func generateQuestions(ctx context.Context, db *pgxpool.Pool, region int64, n int) error {
	for i := range n {
		cat, dim := genCategories[i%len(genCategories)], genDimensions[i%len(genDimensions)]
		stem := fmt.Sprintf("生成题目 %d（%s）", i+1, cat)
		_, err := db.Exec(ctx, `WITH q AS (
			INSERT INTO questions (owner_region_id, seed_key, status, type, category, dimension, difficulty, stem_norm)
			VALUES ($1, $2, 'published', 'single', $3, $4, $5, $6) ON CONFLICT (seed_key) DO NOTHING RETURNING id)
			INSERT INTO question_versions (question_id, version, type, stem, options, answer, explanation, category, dimension, difficulty)
			SELECT id, 1, 'single', $6, '["甲","乙","丙","丁"]', ARRAY[$7::int], '', $3, $4, $5 FROM q`,
			region, fmt.Sprintf("gen-q-%d", i+1), cat, dim, 1+i%5, stem, i%4)
		if err != nil {
			return fmt.Errorf("dashboard: generate: question: %w", err)
		}
	}
	return nil
}

// SeedVolume is `kepu seed --participants N --attempts M`: Generate, then
// fold everything into the rollups, printing progress to out.
func SeedVolume(ctx context.Context, db *pgxpool.Pool, participants, attempts int, out io.Writer) error {
	res, err := Generate(ctx, db, GenerateOptions{Participants: participants, Attempts: attempts, Seed: uint64(time.Now().UnixNano()),
		Progress: func(f string, args ...any) { fmt.Fprintf(out, "  "+f+"\n", args...) }})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "Generated %d participants, %d attempts, %d answers in %d campaigns in %s.\n",
		res.Users, res.Attempts, res.Answers, len(res.Campaigns), res.Took.Round(time.Second))
	t := time.Now()
	n, err := (&Refresher{DB: db, CommitLag: -1}).Refresh(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "Folded %d rows into the dashboard rollups in %s.\n", n, time.Since(t).Round(time.Second))
	return nil
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
	d := t.In(Shanghai)
	return time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, time.UTC)
}
