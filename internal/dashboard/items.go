package dashboard

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/kepu/kepu/internal/audit"
	"github.com/kepu/kepu/internal/calibrate"
	"github.com/kepu/kepu/internal/kepu"
	"github.com/kepu/kepu/internal/postgres"
)

// Item is the analysis of one question version used in a campaign.
type Item struct {
	VersionID     int64    `json:"version_id"`
	QuestionID    int64    `json:"question_id"`
	Stem          string   `json:"stem"`
	Options       []string `json:"options"`
	Answer        []int    `json:"answer"`
	Category      string   `json:"category"`
	Dimension     string   `json:"dimension"`
	Status        string   `json:"status"`
	Answers       int64    `json:"answers"`
	Facility      float64  `json:"facility"`       // share correct, 0..1
	PointBiserial *float64 `json:"point_biserial"` // nil when undefined
	UpperLower    *float64 `json:"upper_lower"`    // nil when undefined
	AvgSeconds    float64  `json:"avg_seconds"`    // mean answer time
	OptionCounts  []int64  `json:"option_counts"`  // how often each option was chosen
	Flags         []string `json:"flags"`          // FlagNegative, FlagNobody, FlagDistractor
	Retirable     bool     `json:"retirable"`      // the actor may retire it
	// IRT holds the latest calibration of this version (nil: not
	// calibrated yet, fewer than 200 answers in all campaigns).
	IRT *ItemIRT `json:"irt"`
}

// ItemIRT is an item's latest 2PL calibration (internal/calibrate): its
// parameters, fit and flags (calibrate.Flag*), and Retire: the flags
// suggest retiring it.
type ItemIRT struct {
	calibrate.Params
	Flags  []string `json:"flags"`
	Retire bool     `json:"retire"`
}

// Items analyses every question version used in the campaign, flagged
// ones first. It is campaign-wide: kepu.Forbidden without Scope.Full.
func (s *Service) Items(ctx context.Context, c Campaign, sc Scope) ([]Item, error) {
	if !sc.Full {
		return nil, kepu.Forbidden
	}
	rows, _ := s.read().Query(ctx, `SELECT i.question_version_id, v.question_id, v.stem, v.options, v.answer, v.category, v.dimension,
		q.status, i.answers, i.correct, i.sum_ms, i.m_n, i.m_correct, i.m_sum, i.m_sumsq, i.m_sum_right,
		coalesce((SELECT array_agg(o.chosen ORDER BY o.option) FILTER (WHERE o.option >= 0) FROM dash_item_options o
			WHERE o.campaign_id = i.campaign_id AND o.question_version_id = i.question_version_id), '{}')::bigint[],
		coalesce((SELECT array_agg(o.option ORDER BY o.option) FROM dash_item_options o
			WHERE o.campaign_id = i.campaign_id AND o.question_version_id = i.question_version_id), '{}')::int[],
		coalesce(q.owner_region_id, 0)
		FROM dash_items i JOIN question_versions v ON v.id = i.question_version_id JOIN questions q ON q.id = v.question_id
		WHERE i.campaign_id = $1 ORDER BY i.question_version_id LIMIT 5000`, c.ID)
	var out []Item
	owners, rights := map[int64]int64{}, map[int64]int64{}
	_, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (struct{}, error) {
		var it Item
		var ans, optIdx []int32
		var correct, sumMS int64
		var m Moments
		var chosen []int64
		var owner int64
		if err := r.Scan(&it.VersionID, &it.QuestionID, &it.Stem, &it.Options, &ans, &it.Category, &it.Dimension,
			&it.Status, &it.Answers, &correct, &sumMS, &m.N, &m.Correct, &m.SumScore, &m.SumScoreSq, &m.SumScoreRight,
			&chosen, &optIdx, &owner); err != nil {
			return struct{}{}, err
		}
		for _, a := range ans {
			it.Answer = append(it.Answer, int(a))
		}
		it.OptionCounts = make([]int64, len(it.Options))
		for k, o := range optIdx {
			if int(o) >= 0 && int(o) < len(it.OptionCounts) && k < len(chosen) {
				it.OptionCounts[o] = chosen[k]
			}
		}
		it.Facility = Facility(correct, it.Answers)
		if it.Answers > 0 {
			it.AvgSeconds = float64(sumMS) / float64(it.Answers) / 1000
		}
		if r, ok := m.PointBiserial(); ok {
			it.PointBiserial = &r
		}
		owners[it.VersionID] = owner
		rights[it.VersionID] = correct
		out = append(out, it)
		return struct{}{}, nil
	})
	if err != nil {
		return nil, fmt.Errorf("dashboard: items %d: %w", c.ID, err)
	}
	if err := s.upperLower(ctx, c.ID, out); err != nil {
		return nil, err
	}
	for i := range out {
		it := &out[i]
		disc, ok := 0.0, false
		if it.PointBiserial != nil {
			disc, ok = *it.PointBiserial, true
		} else if it.UpperLower != nil {
			disc, ok = *it.UpperLower, true
		}
		it.Flags = ItemFlags(s.minFlag(), it.Answers, rights[it.VersionID], disc, ok, it.OptionCounts, it.Answer)
		if it.Flags == nil {
			it.Flags = []string{}
		}
		it.Retirable = it.Status != "retired" && s.canRetire(ctx, sc, owners[it.VersionID])
	}
	if err := s.calibration(ctx, out); err != nil {
		return nil, err
	}
	sort.SliceStable(out, func(i, j int) bool { return flagCount(out[i]) > flagCount(out[j]) })
	return out, nil
}

func flagCount(it Item) int {
	n := len(it.Flags)
	if it.IRT != nil {
		n += len(it.IRT.Flags)
	}
	return n
}

// calibration fills IRT from the latest calibration.
func (s *Service) calibration(ctx context.Context, items []Item) error {
	if s.Calibrated == nil || len(items) == 0 {
		return nil
	}
	ids := make([]int64, len(items))
	for i, it := range items {
		ids[i] = it.VersionID
	}
	latest, err := s.Calibrated.Latest(ctx, ids)
	if err != nil {
		return fmt.Errorf("dashboard: items: %w", err)
	}
	for i := range items {
		if p, ok := latest[items[i].VersionID]; ok {
			f := p.Flags()
			if f == nil {
				f = []string{}
			}
			items[i].IRT = &ItemIRT{Params: p, Flags: f, Retire: len(f) > 0}
		}
	}
	return nil
}

// upperLower fills UpperLower from the per-score cells.
func (s *Service) upperLower(ctx context.Context, campaignID int64, items []Item) error {
	at := map[int64]int{}
	for i, it := range items {
		at[it.VersionID] = i
	}
	cells := map[int64][]ScoreCell{}
	rows, _ := s.read().Query(ctx, `SELECT question_version_id, score, n, correct FROM dash_item_scores WHERE campaign_id = $1`, campaignID)
	var v int64
	var c ScoreCell
	_, err := pgx.ForEachRow(rows, []any{&v, &c.Score, &c.N, &c.Correct}, func() error {
		cells[v] = append(cells[v], c)
		return nil
	})
	if err != nil {
		return fmt.Errorf("dashboard: item scores: %w", err)
	}
	for v, cs := range cells {
		if i, ok := at[v]; ok {
			if d, ok := UpperLower(cs, 0.27); ok {
				items[i].UpperLower = &d
			}
		}
	}
	return nil
}

func (s *Service) canRetire(_ context.Context, sc Scope, owner int64) bool {
	if sc.Regions == nil && sc.Classes == nil {
		return true // admin
	}
	for _, r := range sc.Regions {
		if r == owner {
			return true
		}
	}
	return false
}

// Retire takes a question that the campaign used out of further draws
// (status 'retired'), with an audit entry. Only organizers whose subtree
// owns the question, and admins, may: kepu.Forbidden otherwise.
func (s *Service) Retire(ctx context.Context, a kepu.Actor, c Campaign, sc Scope, questionID int64) error {
	if !sc.Full || !a.Is(kepu.RoleOrganizer, kepu.RoleAdmin) {
		return kepu.Forbidden
	}
	var owner int64
	var status string
	err := s.DB.QueryRow(ctx, `SELECT q.owner_region_id, q.status FROM questions q WHERE q.id = $1 AND EXISTS (
		SELECT 1 FROM dash_items i JOIN question_versions v ON v.id = i.question_version_id
		WHERE i.campaign_id = $2 AND v.question_id = q.id)`, questionID, c.ID).Scan(&owner, &status)
	if postgres.IsNotFound(err) {
		return kepu.NotFound("error.dash_question_not_found")
	}
	if err != nil {
		return fmt.Errorf("dashboard: retire %d: %w", questionID, err)
	}
	if err := s.Org.CheckRegion(ctx, a, owner); err != nil {
		return err
	}
	if status == "retired" {
		return nil
	}
	return postgres.Tx(ctx, s.DB, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE questions SET status = 'retired', updated_at = now() WHERE id = $1`, questionID); err != nil {
			return fmt.Errorf("dashboard: retire %d: %w", questionID, err)
		}
		return audit.Record(ctx, tx, a.UserID, "question.retire", fmt.Sprintf("question:%d", questionID),
			map[string]any{"campaign_id": c.ID, "from": status, "via": "dashboard"}, a.IP)
	})
}

// ItemTable is the item analysis as a table.
func ItemTable(items []Item) Table {
	t := Table{Name: "items", Columns: []string{"dash.col.question", "dash.col.stem", "dash.col.category",
		"dash.col.answers", "dash.col.facility", "dash.col.point_biserial", "dash.col.upper_lower",
		"dash.col.avg_seconds", "dash.col.wrong_options", "dash.col.flags",
		"calibrate.col.a", "calibrate.col.b", "calibrate.col.fit_rmsea", "calibrate.col.flags"}}
	for _, it := range items {
		var pb, ul any
		if it.PointBiserial != nil {
			pb = round3(*it.PointBiserial)
		}
		if it.UpperLower != nil {
			ul = round3(*it.UpperLower)
		}
		t.Rows = append(t.Rows, []any{it.QuestionID, it.Stem, Key("bank.category." + it.Category), it.Answers, round3(it.Facility), pb, ul,
			round1(it.AvgSeconds), wrongOptions(it.OptionCounts, it.Answer), strings.Join(it.Flags, " "),
			nil, nil, nil, ""})
		if it.IRT != nil {
			row := t.Rows[len(t.Rows)-1]
			row[10], row[11], row[12], row[13] = round3(it.IRT.A), round3(it.IRT.B), round3(it.IRT.Fit.RMSEA), strings.Join(it.IRT.Flags, " ")
		}
	}
	return t
}

func round3(f float64) float64 { return float64(int64(f*1000+sign(f)*0.5)) / 1000 }

func sign(f float64) float64 {
	if f < 0 {
		return -1
	}
	return 1
}

// wrongOptions lists how often each wrong option was chosen: "B:12 C:3".
func wrongOptions(counts []int64, key []int) string {
	var parts []string
	for i, n := range counts {
		if !slices.Contains(key, i) {
			parts = append(parts, fmt.Sprintf("%c:%d", 'A'+rune(i), n))
		}
	}
	return strings.Join(parts, " ")
}
