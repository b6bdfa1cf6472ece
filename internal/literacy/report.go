package literacy

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kepu/kepu/internal/dashboard"
	"github.com/kepu/kepu/internal/kepu"
	"github.com/kepu/kepu/internal/survey"
)

// ReportYears is how many calendar years the report covers, ending with
// the current one (Asia/Shanghai).
const ReportYears = 5

// MissedMinAnswers is how many answers a question needs before it may be
// listed among the most missed.
const MissedMinAnswers = 20

// YearCount is participation in one year: attempts begun, and distinct
// people who began one.
type YearCount struct {
	Year         int   `json:"year"`
	Attempts     int64 `json:"attempts"`
	Participants int64 `json:"participants"`
}

// DistrictAges is one district's participants per age band over the
// report's years (Counts in the order of Report.AgeBands; nil: fewer than
// dashboard.MinGroup, not shown).
type DistrictAges struct {
	Name   string   `json:"name"`
	Counts []*int64 `json:"counts"`
	Total  *int64   `json:"total"`
}

// YearShare is the literacy share of one year's assessments.
type YearShare struct {
	Year      int     `json:"year"`
	Campaigns []int64 `json:"campaigns"`
	Share     Share   `json:"share"`
}

// Change is a district's change in literacy share between two years, in
// percentage points, with its 95% interval.
type Change struct {
	DistrictID int64   `json:"district_id"`
	Name       string  `json:"name"`
	From       int     `json:"from"`
	To         int     `json:"to"`
	FromShare  float64 `json:"from_share"`
	ToShare    float64 `json:"to_share"`
	Delta      float64 `json:"delta"`
	Lo         float64 `json:"lo"`
	Hi         float64 `json:"hi"`
}

// Missed is one of the questions most often answered wrong.
type Missed struct {
	VersionID   int64   `json:"version_id"`
	Stem        string  `json:"stem"`
	Answer      string  `json:"answer"`
	Explanation string  `json:"explanation"`
	Category    string  `json:"category"`
	Answers     int64   `json:"answers"`
	MissRate    float64 `json:"miss_rate"` // 0..1
}

// Report is the five-year report of the actor's scope.
type Report struct {
	From, To          int            `json:"-"`
	Years             []int          `json:"years"`
	Participation     []YearCount    `json:"participation"`
	TotalAttempts     int64          `json:"total_attempts"`
	TotalParticipants int64          `json:"total_participants"`
	AgeBands          []string       `json:"age_bands"`
	DistrictAges      []DistrictAges `json:"district_ages"`
	Literacy          []YearShare    `json:"literacy"`
	YearOnYear        []Change       `json:"year_on_year"` // latest year against the one before, per district
	Improving         []Change       `json:"improving"`    // the most improved over the period, best first (at most 3)
	Missed            []Missed       `json:"missed"`
	Weighted          bool           `json:"weighted"`
	GeneratedAt       time.Time      `json:"generated_at"`
}

// FiveYear builds the report of the last ReportYears calendar years over
// every campaign reaching the actor's scope. kepu.Forbidden for anyone
// but organizers and admins.
func (s *Service) FiveYear(ctx context.Context, a kepu.Actor) (Report, error) {
	districts, err := s.Districts(ctx, a) // checks the role
	if err != nil {
		return Report{}, err
	}
	sc, err := s.Dash.ScopeOf(ctx, a)
	if err != nil {
		return Report{}, err
	}
	now := s.now().In(kepu.Shanghai)
	r := Report{To: now.Year(), From: now.Year() - ReportYears + 1, AgeBands: kepu.AgeBands, GeneratedAt: now}
	for y := r.From; y <= r.To; y++ {
		r.Years = append(r.Years, y)
	}
	from := time.Date(r.From, 1, 1, 0, 0, 0, 0, kepu.Shanghai)
	to := time.Date(r.To+1, 1, 1, 0, 0, 0, 0, kepu.Shanghai)
	if err := s.participation(ctx, &r, sc.Regions, from, to); err != nil {
		return r, err
	}
	if err := s.districtAges(ctx, &r, districts, sc.Regions, from, to); err != nil {
		return r, err
	}
	camps, err := s.Assessments(ctx, a)
	if err != nil {
		return r, err
	}
	var ids []int64
	byYear := map[int][]int64{}
	for _, c := range camps {
		if y := c.StartsAt.In(kepu.Shanghai).Year(); y >= r.From && y <= r.To {
			ids = append(ids, c.ID)
			byYear[y] = append(byYear[y], c.ID)
		}
	}
	people, err := s.people(ctx, ids, sc.Regions)
	if err != nil {
		return r, err
	}
	margins, _, err := s.Margins(ctx, sc.Regions)
	if err != nil {
		return r, err
	}
	for _, y := range r.Years {
		if len(byYear[y]) == 0 {
			continue
		}
		sh := Estimate(people[y], districts, margins)
		r.Weighted = r.Weighted || sh.Weighted
		sort.Slice(byYear[y], func(i, j int) bool { return byYear[y][i] < byYear[y][j] })
		r.Literacy = append(r.Literacy, YearShare{Year: y, Campaigns: byYear[y], Share: sh})
	}
	r.YearOnYear, r.Improving = changes(r.Literacy)
	if r.Missed, err = s.missed(ctx, ids, sc.Regions); err != nil {
		return r, err
	}
	return r, nil
}

func (s *Service) participation(ctx context.Context, r *Report, scope []int64, from, to time.Time) error {
	const where = `WHERE NOT t.staff_practice AND NOT t.practice AND t.started_at >= $1 AND t.started_at < $2 AND ($3::bigint[] IS NULL OR t.region_id = ANY($3))`
	rows, _ := s.DB.Query(ctx, `SELECT extract(year FROM t.started_at AT TIME ZONE 'Asia/Shanghai')::int, count(*), count(DISTINCT t.user_id)
		FROM campaign_attempts t `+where+` GROUP BY 1`, from, to, scope)
	got := map[int]YearCount{}
	var c YearCount
	if _, err := pgx.ForEachRow(rows, []any{&c.Year, &c.Attempts, &c.Participants}, func() error {
		got[c.Year] = c
		return nil
	}); err != nil {
		return fmt.Errorf("literacy: participation: %w", err)
	}
	for _, y := range r.Years {
		c := got[y]
		c.Year = y
		r.Participation = append(r.Participation, c)
		r.TotalAttempts += c.Attempts
	}
	if err := s.DB.QueryRow(ctx, `SELECT count(DISTINCT t.user_id) FROM campaign_attempts t `+where, from, to, scope).
		Scan(&r.TotalParticipants); err != nil {
		return fmt.Errorf("literacy: participants: %w", err)
	}
	return nil
}

func (s *Service) districtAges(ctx context.Context, r *Report, districts []District, scope []int64, from, to time.Time) error {
	rows, _ := s.DB.Query(ctx, `SELECT coalesce(d.id, 0), coalesce(u.age_band, ''), count(DISTINCT t.user_id)
		FROM campaign_attempts t JOIN users u ON u.id = t.user_id
		LEFT JOIN regions g ON g.id = t.region_id
		LEFT JOIN regions d ON d.kind = 'district' AND g.path LIKE d.path || '%'
		WHERE NOT t.staff_practice AND NOT t.practice AND t.started_at >= $1 AND t.started_at < $2 AND ($3::bigint[] IS NULL OR t.region_id = ANY($3))
		GROUP BY 1, 2`, from, to, scope)
	counts := map[int64]map[string]int64{}
	var d int64
	var age string
	var n int64
	if _, err := pgx.ForEachRow(rows, []any{&d, &age, &n}, func() error {
		if counts[d] == nil {
			counts[d] = map[string]int64{}
		}
		counts[d][age] += n
		return nil
	}); err != nil {
		return fmt.Errorf("literacy: district ages: %w", err)
	}
	shown := func(n int64) *int64 {
		if n < dashboard.MinGroup {
			return nil
		}
		return &n
	}
	for _, dist := range districts {
		row := DistrictAges{Name: dist.Name}
		var total int64
		for _, band := range r.AgeBands {
			row.Counts = append(row.Counts, shown(counts[dist.ID][band]))
		}
		for _, n := range counts[dist.ID] {
			total += n
		}
		row.Total = shown(total)
		r.DistrictAges = append(r.DistrictAges, row)
	}
	return nil
}

// changes compares, per district, the latest year with an estimate
// against the year before it (year on year), and the first year with an
// estimate against the last (the period: the best three improvements).
func changes(years []YearShare) (yoy, improving []Change) {
	type point struct {
		year int
		e    survey.Estimate
	}
	series := map[int64][]point{}
	var order []int64
	names := map[int64]string{}
	for _, ys := range years {
		for _, row := range ys.Share.Districts {
			if row.Suppressed || row.Estimate == nil {
				continue
			}
			if _, ok := names[row.DistrictID]; !ok {
				order = append(order, row.DistrictID)
				names[row.DistrictID] = row.Name
			}
			series[row.DistrictID] = append(series[row.DistrictID], point{ys.Year, *row.Estimate})
		}
	}
	change := func(id int64, a, b point) Change {
		d, lo, hi := survey.Difference(a.e, b.e)
		return Change{DistrictID: id, Name: names[id], From: a.year, To: b.year, FromShare: a.e.Share, ToShare: b.e.Share,
			Delta: d, Lo: lo, Hi: hi}
	}
	for _, id := range order {
		ps := series[id]
		if len(ps) < 2 {
			continue
		}
		if last, prev := ps[len(ps)-1], ps[len(ps)-2]; last.year == prev.year+1 {
			yoy = append(yoy, change(id, prev, last))
		}
		improving = append(improving, change(id, ps[0], ps[len(ps)-1]))
	}
	sort.SliceStable(improving, func(i, j int) bool { return improving[i].Delta > improving[j].Delta })
	if len(improving) > 3 {
		improving = improving[:3]
	}
	for len(improving) > 0 && improving[len(improving)-1].Delta <= 0 {
		improving = improving[:len(improving)-1]
	}
	return yoy, improving
}

// missed lists the ten questions of campaigns answered wrong most often in
// scope (at least MissedMinAnswers answers), with their keys and
// explanations.
func (s *Service) missed(ctx context.Context, campaigns, scope []int64) ([]Missed, error) {
	if len(campaigns) == 0 {
		return nil, nil
	}
	rows, _ := s.DB.Query(ctx, `WITH x AS (
			SELECT a.question_version_id AS v, count(*) AS n, count(*) FILTER (WHERE NOT a.correct) AS wrong
			FROM campaign_answers a JOIN campaign_attempts t ON t.id = a.attempt_id
			WHERE t.campaign_id = ANY($1) AND NOT t.staff_practice AND NOT t.practice AND ($2::bigint[] IS NULL OR t.region_id = ANY($2))
			GROUP BY 1 HAVING count(*) >= $3
			ORDER BY count(*) FILTER (WHERE NOT a.correct)::float8 / count(*) DESC, 1 LIMIT 10)
		SELECT x.v, v.stem, v.options, v.answer, v.explanation, v.category, x.n, x.wrong
		FROM x JOIN question_versions v ON v.id = x.v
		ORDER BY x.wrong::float8 / x.n DESC, x.v`, campaigns, scope, MissedMinAnswers)
	var out []Missed
	var m Missed
	var options []byte
	var answer []int32
	var wrong int64
	_, err := pgx.ForEachRow(rows, []any{&m.VersionID, &m.Stem, &options, &answer, &m.Explanation, &m.Category, &m.Answers, &wrong}, func() error {
		var opts []string
		_ = json.Unmarshal(options, &opts)
		m.Answer = ""
		for i, k := range answer {
			if int(k) < len(opts) {
				if i > 0 {
					m.Answer += "；"
				}
				m.Answer += string(rune('A'+k)) + ". " + opts[k]
			}
		}
		m.MissRate = float64(wrong) / float64(max(m.Answers, 1))
		out = append(out, m)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("literacy: missed questions: %w", err)
	}
	return out, nil
}
