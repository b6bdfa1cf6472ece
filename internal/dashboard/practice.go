package dashboard

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kepu/kepu/internal/kepu"
)

// PracticeDays is the window of the daily-practice figures: the last 30
// Asia/Shanghai days, today included.
const PracticeDays = 30

// practiceGroups names each practice breakdown's group (as groupExpr
// does for campaigns): districts in the city's official order, schools
// and age bands by participants. Groups are those of the person when
// their practice day started (practice_days' snapshot).
var practiceGroups = map[string]struct{ key, label, join, order string }{
	"district": {"coalesce(d.id, 0)::text", "coalesce(d.name, '')",
		"LEFT JOIN regions r ON r.id = p.region_id LEFT JOIN regions d ON d.kind = 'district' AND r.path LIKE d.path || '%'",
		"region_order(min(d.path)), 1"},
	"school": {"coalesce(p.school_id, 0)::text", "coalesce(g.name, '')", "LEFT JOIN schools g ON g.id = p.school_id", "3 DESC, 2"},
	"age":    {"coalesce(p.age_band, '')", "coalesce(p.age_band, '')", "", "3 DESC, 2"},
}

// PracticeViews are the practice breakdowns, in the order the overview
// shows them.
var PracticeViews = []string{"district", "school", "age"}

// Practice is the daily-practice participation of the last PracticeDays
// days in the actor's scope, by "district", "school" or "age": people
// who practised, practice days, finished days and the share of right
// answers, and the PK battles they played (PKCounts). Outside the
// school, groups of fewer than MinGroup people show only "<5", as the
// campaign breakdowns do. Teachers see their classes' pupils (their class
// now).
func (s *Service) Practice(ctx context.Context, sc Scope, by string) (Table, error) {
	g, ok := practiceGroups[by]
	if !ok {
		by, g = "district", practiceGroups["district"]
	}
	col := "dash.col." + by
	if by == "district" {
		col = "dash.col.region"
	}
	t := Table{Name: "practice_" + by, Columns: []string{col, "dash.col.participants", "daily.dash.days",
		"daily.dash.finished", "daily.dash.right_rate", "daily.dash.pk"}}
	since := s.now().In(kepu.Shanghai).AddDate(0, 0, -(PracticeDays - 1)).Format(time.DateOnly)
	rows, _ := s.read().Query(ctx, `SELECT `+g.key+`, `+g.label+`, count(DISTINCT p.user_id), count(*),
		count(*) FILTER (WHERE p.finished_at IS NOT NULL), coalesce(sum(p.correct), 0), coalesce(sum(p.answered), 0),
		array_agg(DISTINCT p.user_id)
		FROM practice_days p `+g.join+`
		WHERE p.day >= $3::date AND ($1::bigint[] IS NULL OR p.region_id = ANY($1))
		AND ($2::bigint[] IS NULL OR p.user_id IN (SELECT id FROM users WHERE class_id = ANY($2)))
		GROUP BY 1, 2 ORDER BY `+g.order+` LIMIT 2000`, sc.Regions, sc.Classes, since)
	var key, label string
	var n, days, finished, right, answered int64
	var users []int64
	type row struct {
		name  any
		n     int64
		cells []any
		users []int64
	}
	var out []row
	_, err := pgx.ForEachRow(rows, []any{&key, &label, &n, &days, &finished, &right, &answered, &users}, func() error {
		var name any = label
		if label == "" || key == "0" {
			name = Key("dash.none")
		} else if by == "age" {
			name = Key("dash.age." + label)
		}
		out = append(out, row{name, n, []any{name, n, days, finished, pct(right, answered)}, users})
		return nil
	})
	if err != nil {
		return t, fmt.Errorf("dashboard: practice %s: %w", by, err)
	}
	for _, r := range out {
		if !sc.Inside && r.n < MinGroup {
			t.Suppressed = append(t.Suppressed, len(t.Rows))
			t.Rows = append(t.Rows, []any{r.name, fmt.Sprintf("<%d", MinGroup), nil, nil, nil, nil})
			continue
		}
		pk, err := s.PKCounts(ctx, r.users, since)
		if err != nil {
			return t, err
		}
		t.Rows = append(t.Rows, append(r.cells, pk))
	}
	return t, nil
}

// PKCounts is the number of finished PK battles (internal/pk) that the
// users played since the Asia/Shanghai day since (YYYY-MM-DD), bots'
// matches included: one match counts once however many of the users
// played in it.
func (s *Service) PKCounts(ctx context.Context, users []int64, since string) (int64, error) {
	var n int64
	err := s.read().QueryRow(ctx, `SELECT count(DISTINCT m.id) FROM pk_players p JOIN pk_matches m ON m.id = p.match_id
		WHERE p.user_id = ANY($1) AND m.status = 'done'
		AND m.finished_at >= ($2::date::timestamp AT TIME ZONE 'Asia/Shanghai')`, users, since).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("dashboard: pk counts: %w", err)
	}
	return n, nil
}
