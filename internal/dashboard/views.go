package dashboard

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kepu/kepu/internal/kepu"
)

// View returns the named table of a campaign within the scope. Column names
// are locale keys (the HTTP layer translates them). The names are those of
// CampaignSections; any other is kepu.NotFound.
func (s *Service) View(ctx context.Context, c Campaign, sc Scope, name string) (Table, error) {
	switch name {
	case "timeline_hour":
		return s.timeline(ctx, c, sc, "hour")
	case "timeline_day":
		return s.timeline(ctx, c, sc, "day")
	case "region", "school", "class", "age", "occupation":
		return s.breakdown(ctx, c, sc, name)
	case "scores":
		return s.scores(ctx, c, sc)
	case "categories", "dimensions":
		return s.categories(ctx, c, sc, name)
	case "items":
		items, err := s.Items(ctx, c, sc)
		if err != nil {
			return Table{}, err
		}
		return ItemTable(items), nil
	case "roster":
		return s.roster(ctx, c, sc)
	}
	return Table{}, kepu.NotFound("error.dash_view_not_found")
}

func round1(f float64) float64 { return math.Round(f*10) / 10 }
func pct(a, b int64) float64   { return round1(100 * ratio(a, b)) }

// timeline is participation per hour or per day (Asia/Shanghai): new
// participants, attempts begun and finished, answers. Within a teacher's
// scope only participants are counted (the hourly rollup has no classes).
func (s *Service) timeline(ctx context.Context, c Campaign, sc Scope, unit string) (Table, error) {
	t := Table{Name: "timeline_" + unit, Columns: []string{"dash.col." + unit, "dash.col.new_participants",
		"dash.col.attempts", "dash.col.finished", "dash.col.answers", "dash.col.in_window"}}
	rows, _ := s.read().Query(ctx, `
		WITH h AS (
			SELECT date_trunc($4, hour AT TIME ZONE 'Asia/Shanghai') AS b, sum(started) AS started, sum(finished) AS finished, sum(answers) AS answers
			FROM dash_hourly p WHERE campaign_id = $1 AND $3::bigint[] IS NULL AND ($2::bigint[] IS NULL OR p.region_id = ANY($2))
			GROUP BY 1
		), n AS (
			SELECT date_trunc($4, first_at AT TIME ZONE 'Asia/Shanghai') AS b, count(*) AS joined
			FROM dash_participants p WHERE campaign_id = $1 AND `+scopeFilter+` GROUP BY 1
		)
		SELECT coalesce(h.b, n.b), coalesce(n.joined, 0), coalesce(h.started, 0), coalesce(h.finished, 0), coalesce(h.answers, 0)
		FROM h FULL JOIN n ON n.b = h.b ORDER BY 1`, c.ID, sc.Regions, sc.Classes, unit)
	layout := "2006-01-02 15:00"
	if unit == "day" {
		layout = kepu.LayoutDate
	}
	var b time.Time
	var joined, started, finished, answers int64
	_, err := pgx.ForEachRow(rows, []any{&b, &joined, &started, &finished, &answers}, func() error {
		// b is a Shanghai wall-clock time returned as a UTC timestamp.
		wall := time.Date(b.Year(), b.Month(), b.Day(), b.Hour(), 0, 0, 0, kepu.Shanghai)
		end := wall.Add(time.Hour)
		if unit == "day" {
			end = wall.AddDate(0, 0, 1)
		}
		in := int64(0) // the bucket overlaps the campaign window
		if end.After(c.StartsAt) && wall.Before(c.EndsAt) {
			in = 1
		}
		t.Rows = append(t.Rows, []any{kepu.FormatTime(wall, layout), joined, started, finished, answers, in})
		return nil
	})
	if err != nil {
		return t, fmt.Errorf("dashboard: timeline: %w", err)
	}
	return t, nil
}

// groupExpr names each breakdown's group: its key and label, and the
// order of its rows: most participants first, except districts, which
// come in the city's official order (region_order, migrations/00210).
var groupExpr = map[string]struct{ key, label, join, order string }{
	"region":     {"p.region_id::text", "coalesce(g.name, '')", "LEFT JOIN regions g ON g.id = p.region_id", "region_order(min(g.path)), 1"},
	"school":     {"p.school_id::text", "coalesce(g.name, '')", "LEFT JOIN schools g ON g.id = p.school_id", "3 DESC, 2"},
	"class":      {"p.class_id::text", "coalesce(gs.name || ' ' || g.name, '')", "LEFT JOIN classes g ON g.id = p.class_id LEFT JOIN schools gs ON gs.id = g.school_id", "3 DESC, 2"},
	"age":        {"p.age_band", "p.age_band", "", "3 DESC, 2"},
	"occupation": {"p.occupation", "p.occupation", "", "3 DESC, 2"},
}

// breakdown groups participants: participants, attempts, average score,
// pass rate and, for assessments, the share of participants in each tier
// (the tier the campaign gave their best completed attempt). Outside the school, groups with fewer
// than MinGroup participants show only "<5".
func (s *Service) breakdown(ctx context.Context, c Campaign, sc Scope, by string) (Table, error) {
	g := groupExpr[by]
	t := Table{Name: by, Columns: []string{"dash.col." + by, "dash.col.participants", "dash.col.attempts",
		"dash.col.avg_score", "dash.col.pass_rate"}}
	if c.Assessment {
		for _, tier := range Tiers {
			t.Columns = append(t.Columns, "dash.tier."+tier)
		}
	}
	rows, _ := s.read().Query(ctx, `SELECT `+g.key+`, `+g.label+`, count(*), sum(p.attempts), sum(p.finished), sum(p.passes), sum(p.sum_pct),
		count(*) FILTER (WHERE p.tier = 'advanced'), count(*) FILTER (WHERE p.tier = 'literate'),
		count(*) FILTER (WHERE p.tier = 'basic'), count(*) FILTER (WHERE p.tier = 'low')
		FROM dash_participants p `+g.join+` WHERE p.campaign_id = $1 AND `+scopeFilter+`
		GROUP BY 1, 2 ORDER BY `+g.order+` LIMIT 2000`, c.ID, sc.Regions, sc.Classes)
	var key, label string
	var n, attempts, finished, passes int64
	var sumPct float64
	tiers := make([]int64, 4)
	_, err := pgx.ForEachRow(rows, []any{&key, &label, &n, &attempts, &finished, &passes, &sumPct,
		&tiers[0], &tiers[1], &tiers[2], &tiers[3]}, func() error {
		var name any = label
		if label == "" || key == "0" {
			name = Key("dash.none")
		} else if by == "age" || by == "occupation" {
			name = Key("dash." + by + "." + label)
		}
		if !sc.Inside && n < MinGroup {
			row := []any{name, fmt.Sprintf("<%d", MinGroup), nil, nil, nil}
			if c.Assessment {
				row = append(row, nil, nil, nil, nil)
			}
			t.Suppressed = append(t.Suppressed, len(t.Rows))
			t.Rows = append(t.Rows, row)
			return nil
		}
		avg := 0.0
		if finished > 0 {
			avg = round1(sumPct / float64(finished))
		}
		row := []any{name, n, attempts, avg, pct(passes, finished)}
		if c.Assessment {
			var rated int64
			for _, x := range tiers {
				rated += x
			}
			for _, x := range tiers {
				row = append(row, pct(x, rated))
			}
		}
		t.Rows = append(t.Rows, row)
		return nil
	})
	if err != nil {
		return t, fmt.Errorf("dashboard: breakdown %s: %w", by, err)
	}
	return t, nil
}

// scores is the histogram of participants' best scores in 10-point bins
// (the last bin holds 90–100).
func (s *Service) scores(ctx context.Context, c Campaign, sc Scope) (Table, error) {
	t := Table{Name: "scores", Columns: []string{"dash.col.score_bin", "dash.col.participants"}}
	counts := make([]int64, 10)
	rows, _ := s.read().Query(ctx, `SELECT least(floor(best_pct / 10)::int, 9), count(*) FROM dash_participants p
		WHERE p.campaign_id = $1 AND p.best_pct IS NOT NULL AND `+scopeFilter+` GROUP BY 1`, c.ID, sc.Regions, sc.Classes)
	var bin int
	var n int64
	_, err := pgx.ForEachRow(rows, []any{&bin, &n}, func() error {
		if bin >= 0 && bin < 10 {
			counts[bin] = n
		}
		return nil
	})
	if err != nil {
		return t, fmt.Errorf("dashboard: scores: %w", err)
	}
	for i, n := range counts {
		hi := i*10 + 9
		if i == 9 {
			hi = 100
		}
		t.Rows = append(t.Rows, []any{fmt.Sprintf("%d–%d", i*10, hi), n})
	}
	return t, nil
}

// categories is the share correct per category or per literacy dimension,
// weakest first. It is campaign-wide: kepu.Forbidden without Scope.Full.
func (s *Service) categories(ctx context.Context, c Campaign, sc Scope, by string) (Table, error) {
	if !sc.Full {
		return Table{}, kepu.Forbidden
	}
	col := "category"
	if by == "dimensions" {
		col = "dimension"
	}
	t := Table{Name: by, Columns: []string{"dash.col." + col, "dash.col.answers", "dash.col.correct", "dash.col.facility"}}
	rows, _ := s.read().Query(ctx, `SELECT `+col+`, sum(answers), sum(correct) FROM dash_categories
		WHERE campaign_id = $1 GROUP BY 1 ORDER BY sum(correct)::float8 / greatest(sum(answers), 1), 1`, c.ID)
	var name string
	var n, ok int64
	_, err := pgx.ForEachRow(rows, []any{&name, &n, &ok}, func() error {
		t.Rows = append(t.Rows, []any{Key("bank." + col + "." + name), n, ok, pct(ok, n)})
		return nil
	})
	if err != nil {
		return t, fmt.Errorf("dashboard: %s: %w", by, err)
	}
	return t, nil
}

// roster shows, for each class in scope, how many of its pupils took part.
// Organizers see it only for schools' classes with at least MinGroup
// pupils, teachers for their own classes.
func (s *Service) roster(ctx context.Context, c Campaign, sc Scope) (Table, error) {
	t := Table{Name: "roster", Columns: []string{"dash.col.school", "dash.col.class", "dash.col.pupils",
		"dash.col.took_part", "dash.col.took_part_rate"}}
	rows, _ := s.read().Query(ctx, `WITH pupils AS (
			SELECT class_id, count(*) AS n FROM users
			WHERE class_id IS NOT NULL AND role = 'participant' AND deleted_at IS NULL GROUP BY class_id
		), took AS (
			SELECT class_id, count(*) AS n FROM dash_participants WHERE campaign_id = $1 AND class_id <> 0 GROUP BY class_id
		)
		SELECT sc.name, cl.name, coalesce(pupils.n, 0), coalesce(took.n, 0)
		FROM classes cl JOIN schools sc ON sc.id = cl.school_id
		LEFT JOIN pupils ON pupils.class_id = cl.id LEFT JOIN took ON took.class_id = cl.id
		WHERE ($2::bigint[] IS NULL OR sc.region_id = ANY($2)) AND ($3::bigint[] IS NULL OR cl.id = ANY($3))
		ORDER BY sc.name, cl.grade, cl.name LIMIT 2000`, c.ID, sc.Regions, sc.Classes)
	var school, class string
	var pupils, took int64
	_, err := pgx.ForEachRow(rows, []any{&school, &class, &pupils, &took}, func() error {
		if !sc.Inside && pupils < MinGroup {
			t.Suppressed = append(t.Suppressed, len(t.Rows))
			t.Rows = append(t.Rows, []any{school, class, fmt.Sprintf("<%d", MinGroup), nil, nil})
			return nil
		}
		t.Rows = append(t.Rows, []any{school, class, pupils, took, pct(took, pupils)})
		return nil
	})
	if err != nil {
		return t, fmt.Errorf("dashboard: roster: %w", err)
	}
	return t, nil
}

// ReportViews are the tables of the printed annual report, in order.
var ReportViews = []string{"timeline_day", "region", "school", "age", "occupation", "scores", "dimensions", "categories", "items"}

// Report returns the ReportViews tables, computed concurrently; tables
// outside the scope (campaign-wide ones for a partial scope) are left out.
func (s *Service) Report(ctx context.Context, c Campaign, sc Scope) ([]Table, error) {
	tables := make([]Table, len(ReportViews))
	errs := make([]error, len(ReportViews))
	var wg sync.WaitGroup
	for i, v := range ReportViews {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tables[i], errs[i] = s.View(ctx, c, sc, v)
		}()
	}
	wg.Wait()
	var out []Table
	for i, err := range errs {
		switch {
		case err == nil:
			out = append(out, tables[i])
		case kepu.ErrorCode(err) == kepu.EFORBIDDEN:
		default:
			return nil, err
		}
	}
	return out, nil
}
