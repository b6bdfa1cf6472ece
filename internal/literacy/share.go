// Package literacy estimates the share of citizens with basic science
// literacy (具备科学素质的公民比例) from literacy-assessment campaigns, per
// district and for the city, with 95% intervals — weighted to uploaded
// population margins when there are any (internal/survey does the
// statistics) — and builds the five-year report across campaigns and
// years. docs/measurement.md explains both to organizers.
//
// Who counts: every participant once per campaign (once per year in the
// five-year report), by their FIRST finished attempt: a survey measures a
// person once, and a retake after reading the explanations measures
// memory of the answers. Literate means the tier the campaign gave that
// attempt is "literate" or "advanced" (internal/scoring.DefaultTiers:
// more than 70 of 100 points). Staff-practice attempts and attempts given
// up part-way (campaign_attempts.abandoned) never count.
//
// Only organizers (their region subtree) and admins see any of it; groups
// with fewer than dashboard.MinGroup people are not shown.
package literacy

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kepu/kepu/internal/dashboard"
	"github.com/kepu/kepu/internal/kepu"
	"github.com/kepu/kepu/internal/org"
	"github.com/kepu/kepu/internal/survey"
)

// MinCell is the fewest respondents a weighting cell may hold: smaller
// cells are merged with the next age band (or occupation group) of the
// same district before raking.
const MinCell = 5

// LiterateTiers are the tiers counted as having basic science literacy.
var LiterateTiers = []string{"advanced", "literate"}

// Service answers literacy questions.
type Service struct {
	DB   *pgxpool.Pool
	Org  *org.Service
	Dash *dashboard.Service // campaign access and scope
	Now  func() time.Time   // time.Now when nil
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Person is one participant counted once: where they took part (their
// district, 0: none), their profile's age band and occupation, and whether
// the counted attempt reached a literate tier.
type Person struct {
	District   int64
	AgeBand    string
	Occupation string
	Literate   bool
}

// Row is the share of one district (DistrictID 0: the total of the scope).
// Suppressed rows (fewer than dashboard.MinGroup people) carry no estimate.
type Row struct {
	DistrictID int64            `json:"district_id"`
	Name       string           `json:"name"`
	N          int              `json:"n"`
	Suppressed bool             `json:"suppressed"`
	Weighted   bool             `json:"weighted"`
	Estimate   *survey.Estimate `json:"estimate,omitempty"`
}

// Share is the literacy share of one campaign (or year) in the actor's
// scope.
type Share struct {
	// Weighted: population margins were uploaded and the Total is raked to
	// them. Districts without margins then show unweighted figures
	// (Row.Weighted false) and stay out of the weighted Total.
	Weighted  bool  `json:"weighted"`
	Districts []Row `json:"districts"`
	Total     Row   `json:"total"`
	// Unweighted is the plain share of every participant in scope (equal
	// to Total when nothing is weighted).
	Unweighted Row `json:"unweighted"`
	// People counted; of them InWeighting are in a cell of the population
	// table (the others — say under 18 when the table starts at 18, or
	// without a district — are left out of the weighted figures).
	People      int `json:"people"`
	InWeighting int `json:"in_weighting"`
	// Trim describes the weights: cap, rounds, how many were capped, the
	// largest weight over the median.
	Trim *survey.TrimResult `json:"trim,omitempty"`
	// Dropped names districts with margins but no participant: their
	// population is not represented in the weighted total.
	Dropped []string `json:"dropped,omitempty"`
}

func suppress(r Row) Row {
	if r.N < dashboard.MinGroup {
		r.Suppressed, r.Estimate = true, nil
	}
	return r
}

func literate(p Person) float64 {
	if p.Literate {
		return 1
	}
	return 0
}

// unweightedRow is the plain share of people.
func unweightedRow(id int64, name string, people []Person) Row {
	y := make([]float64, len(people))
	for i, p := range people {
		y[i] = literate(p)
	}
	e := survey.Share(y, nil, nil, nil)
	return suppress(Row{DistrictID: id, Name: name, N: e.N, Estimate: &e})
}

// Estimate computes the shares of people per district (in the order of
// districts) and in total, raked to margins when there are any.
func Estimate(people []Person, districts []District, margins []MarginRow) Share {
	byDistrict := map[int64][]Person{}
	for _, p := range people {
		byDistrict[p.District] = append(byDistrict[p.District], p)
	}
	out := Share{People: len(people), Unweighted: unweightedRow(0, "", people)}
	out.Total = out.Unweighted
	w, err := weigh(people, districts, margins)
	if err != nil || w == nil {
		for _, d := range districts {
			out.Districts = append(out.Districts, unweightedRow(d.ID, d.Name, byDistrict[d.ID]))
		}
		return out
	}
	out.Weighted, out.Trim, out.Dropped, out.InWeighting = true, &w.trim, w.dropped, len(w.y)
	e := survey.Share(w.y, w.w, w.dims, nil)
	out.Total = suppress(Row{N: e.N, Weighted: true, Estimate: &e})
	for _, d := range districts {
		if !w.districts[d.ID] {
			out.Districts = append(out.Districts, unweightedRow(d.ID, d.Name, byDistrict[d.ID]))
			continue
		}
		in := make([]bool, len(w.y))
		for i, x := range w.district {
			in[i] = x == d.ID
		}
		e := survey.Share(w.y, w.w, w.dims, in)
		out.Districts = append(out.Districts, suppress(Row{DistrictID: d.ID, Name: d.Name, N: e.N, Weighted: true, Estimate: &e}))
	}
	return out
}

// weighting is the raked sample: the respondents inside the population
// table with their outcome, district, calibration cells and weights.
type weighting struct {
	y         []float64
	district  []int64
	dims      [][]int
	w         []float64
	trim      survey.TrimResult
	districts map[int64]bool // weighted districts
	dropped   []string
}

// weigh rakes the people inside the margins' cells to the margins: per
// district, the age bands (collapsed to at least MinCell respondents) and,
// where the table has them, the occupation groups (scaled to the age
// total; people whose occupation the table lacks count as "other" when it
// has that group). Nil without margins.
func weigh(people []Person, districts []District, margins []MarginRow) (*weighting, error) {
	if len(margins) == 0 {
		return nil, nil
	}
	ages, occs := map[int64]map[string]float64{}, map[int64]map[string]float64{}
	for _, m := range margins {
		t := ages
		key := m.AgeBand
		if m.Occupation != "" {
			t, key = occs, m.Occupation
		}
		if t[m.DistrictID] == nil {
			t[m.DistrictID] = map[string]float64{}
		}
		t[m.DistrictID][key] += float64(m.Population)
	}
	byDistrict := map[int64][]Person{}
	for _, p := range people {
		if ages[p.District][p.AgeBand] > 0 {
			byDistrict[p.District] = append(byDistrict[p.District], p)
		}
	}
	w := &weighting{dims: [][]int{nil, nil}, districts: map[int64]bool{}}
	var ageTargets, occTargets []float64
	for _, d := range districts {
		ps := byDistrict[d.ID]
		if ages[d.ID] == nil {
			continue
		}
		if len(ps) == 0 {
			w.dropped = append(w.dropped, d.Name)
			continue
		}
		w.districts[d.ID] = true
		ageCell, ageT := cells(kepu.AgeBands, ages[d.ID], ps, func(p Person) string { return p.AgeBand })
		var total float64
		for _, t := range ageT {
			total += t
		}
		var occCell []int
		var occT []float64
		if om := occs[d.ID]; om != nil {
			occOf := func(p Person) string {
				if om[p.Occupation] > 0 {
					return p.Occupation
				}
				return "other"
			}
			if om["other"] > 0 || allIn(ps, om) {
				occCell, occT = cells(kepu.Occupations, om, ps, occOf)
				var ot float64
				for _, t := range occT {
					ot += t
				}
				for i := range occT {
					occT[i] *= total / ot
				}
			}
		}
		if occCell == nil {
			occCell, occT = make([]int, len(ps)), []float64{total}
		}
		for i, p := range ps {
			w.y = append(w.y, literate(p))
			w.district = append(w.district, d.ID)
			w.dims[0] = append(w.dims[0], len(ageTargets)+ageCell[i])
			w.dims[1] = append(w.dims[1], len(occTargets)+occCell[i])
		}
		ageTargets = append(ageTargets, ageT...)
		occTargets = append(occTargets, occT...)
	}
	if len(w.y) == 0 {
		return nil, nil
	}
	var err error
	w.w, w.trim, err = survey.RakeTrimmed(w.dims, [][]float64{ageTargets, occTargets}, 0)
	if err != nil {
		return nil, fmt.Errorf("literacy: rake: %w", err)
	}
	return w, nil
}

func allIn(ps []Person, om map[string]float64) bool {
	for _, p := range ps {
		if om[p.Occupation] <= 0 {
			return false
		}
	}
	return true
}

// cells assigns each person of one district to a weighting cell: the
// categories of order with a positive population in pop, adjacent ones
// merged until each holds MinCell people (survey.Collapse). It returns
// each person's cell and each cell's population.
func cells(order []string, pop map[string]float64, ps []Person, of func(Person) string) ([]int, []float64) {
	var cats []string
	index := map[string]int{}
	for _, c := range order {
		if pop[c] > 0 {
			index[c] = len(cats)
			cats = append(cats, c)
		}
	}
	counts := make([]int, len(cats))
	for _, p := range ps {
		counts[index[of(p)]]++
	}
	group, k := survey.Collapse(counts, MinCell)
	targets := make([]float64, k)
	for c, name := range cats {
		targets[group[c]] += pop[name]
	}
	out := make([]int, len(ps))
	for i, p := range ps {
		out[i] = group[index[of(p)]]
	}
	return out, targets
}

// sqlPeople: every participant of campaigns $1 in scope ($2 regions, nil:
// all) once per year of the campaign's start (Asia/Shanghai) — their
// first finished attempt — with its district, their age band and
// occupation, and whether its tier is literate ($3).
const sqlPeople = `SELECT DISTINCT ON (y, t.user_id) extract(year FROM c.starts_at AT TIME ZONE 'Asia/Shanghai')::int AS y,
	coalesce(d.id, 0), coalesce(u.age_band, ''), coalesce(u.occupation, ''), coalesce(t.tier = ANY($3), false)
	FROM campaign_attempts t JOIN campaigns c ON c.id = t.campaign_id JOIN users u ON u.id = t.user_id
	LEFT JOIN regions r ON r.id = t.region_id
	LEFT JOIN regions d ON d.kind = 'district' AND r.path LIKE d.path || '%'
	WHERE t.campaign_id = ANY($1) AND t.finished_at IS NOT NULL AND NOT t.staff_practice AND NOT t.practice AND NOT t.abandoned AND t.tier IS NOT NULL
	AND ($2::bigint[] IS NULL OR t.region_id = ANY($2))
	ORDER BY y, t.user_id, t.finished_at, t.id`

// people loads the people of campaigns in scope, by year.
func (s *Service) people(ctx context.Context, campaigns, scope []int64) (map[int][]Person, error) {
	rows, _ := s.DB.Query(ctx, sqlPeople, campaigns, scope, LiterateTiers)
	out := map[int][]Person{}
	var y int
	var p Person
	_, err := pgx.ForEachRow(rows, []any{&y, &p.District, &p.AgeBand, &p.Occupation, &p.Literate}, func() error {
		out[y] = append(out[y], p)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("literacy: people: %w", err)
	}
	return out, nil
}

// Campaign is an assessment campaign an organizer may look at.
type Campaign struct {
	ID       int64     `json:"id"`
	Title    string    `json:"title"`
	StartsAt time.Time `json:"starts_at"`
	EndsAt   time.Time `json:"ends_at"`
}

// Assessments lists the literacy-assessment campaigns that reach the
// actor's region (all for admins), newest first, at most 100.
func (s *Service) Assessments(ctx context.Context, a kepu.Actor) ([]Campaign, error) {
	if a.Role != kepu.RoleAdmin && a.Role != kepu.RoleOrganizer {
		return nil, kepu.Forbidden
	}
	root := int64(0)
	if a.Role == kepu.RoleOrganizer {
		if root = a.ScopeRegionID; root == 0 {
			return nil, kepu.Forbidden
		}
	}
	rows, _ := s.DB.Query(ctx, `SELECT c.id, c.title, c.starts_at, c.ends_at FROM campaigns c
		LEFT JOIN regions cr ON cr.id = c.region_id
		WHERE c.kind = 'assessment' AND ($1 = 0 OR c.region_id IS NULL OR EXISTS (SELECT 1 FROM regions root WHERE root.id = $1
			AND (root.path LIKE cr.path || '%' OR cr.path LIKE root.path || '%')))
		ORDER BY c.starts_at DESC, c.id DESC LIMIT 100`, root)
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Campaign, error) {
		var c Campaign
		return c, r.Scan(&c.ID, &c.Title, &c.StartsAt, &c.EndsAt)
	})
}

// CampaignShare is the literacy share of one assessment campaign within
// the actor's scope. kepu.Forbidden for anyone but organizers and admins
// (and organizers the campaign does not reach), kepu.NotFound for a
// campaign that does not exist or is not an assessment.
func (s *Service) CampaignShare(ctx context.Context, a kepu.Actor, id int64) (dashboard.Campaign, Share, error) {
	if a.Role != kepu.RoleAdmin && a.Role != kepu.RoleOrganizer {
		return dashboard.Campaign{}, Share{}, kepu.Forbidden
	}
	camp, sc, err := s.Dash.Campaign(ctx, a, id)
	if err != nil {
		return camp, Share{}, err
	}
	if !camp.Assessment {
		return camp, Share{}, kepu.NotFound("error.literacy_not_assessment")
	}
	districts, err := s.Districts(ctx, a)
	if err != nil {
		return camp, Share{}, err
	}
	byYear, err := s.people(ctx, []int64{id}, sc.Regions)
	if err != nil {
		return camp, Share{}, err
	}
	var people []Person
	for _, ps := range byYear { // one campaign: one year
		people = append(people, ps...)
	}
	margins, _, err := s.Margins(ctx, sc.Regions)
	if err != nil {
		return camp, Share{}, err
	}
	return camp, Estimate(people, districts, margins), nil
}
