package campaign_test

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kepu/kepu/internal/apptest"
	"github.com/kepu/kepu/internal/calibrate/calibtest"
	"github.com/kepu/kepu/internal/campaign"
	"github.com/kepu/kepu/internal/irt"
	"github.com/kepu/kepu/internal/kepu"
)

// formsFixture: a published assessment with parallel forms on the seeded
// bank, and the parameters of every zh-CN question when calibrate is set.
type formsFixture struct {
	inst   *apptest.Instance
	svc    *campaign.Service
	id     int64
	params map[int64]irt.Item
}

func newFormsFixture(t *testing.T, rules campaign.Rules, calibrate bool) *formsFixture {
	t.Helper()
	inst := apptest.Start(t)
	ctx := context.Background()
	f := &formsFixture{inst: inst, svc: inst.App.Campaigns, params: map[int64]irt.Item{}}
	if calibrate {
		vs, err := calibtest.Versions(ctx, inst.DB.Pool, "zh-CN", 1000)
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(42, 1))
		for _, v := range vs {
			f.params[v] = irt.Item{A: 0.5 + 1.5*rng.Float64(), B: rng.NormFloat64()}
		}
		// A few flagged items the forms must not use.
		for _, v := range vs[:20] {
			f.params[v] = irt.Item{A: 0.1, B: 0}
		}
		if _, err := calibtest.Store(ctx, inst.DB.Pool, f.params); err != nil {
			t.Fatal(err)
		}
	}
	adminID, _ := inst.CreateUser("forms-admin", "admin")
	admin := kepu.Actor{UserID: adminID, Role: kepu.RoleAdmin}
	now := time.Now()
	c, err := f.svc.Create(ctx, admin, campaign.Input{Title: "平行试卷测评", RegionID: inst.Seed.CityID,
		StartsAt: now.Add(-time.Hour), EndsAt: now.Add(24 * time.Hour), Rules: rules})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Transition(ctx, admin, c.ID, "publish"); err != nil {
		t.Fatal(err)
	}
	f.id = c.ID
	return f
}

type drawnQ struct {
	version          int64
	dimension, qtype string
}

// form starts an attempt for a new participant and returns its questions.
func (f *formsFixture) form(t *testing.T, name string) []drawnQ {
	t.Helper()
	ctx := context.Background()
	uid, _ := f.inst.CreateUser(name, "participant")
	att, _, err := f.svc.Start(ctx, kepu.Actor{UserID: uid, Role: kepu.RoleParticipant}, f.id)
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	rows, _ := f.inst.DB.Pool.Query(ctx, `SELECT s.question_version_id, v.dimension, v.type FROM campaign_attempt_questions s
		JOIN question_versions v ON v.id = s.question_version_id WHERE s.attempt_id = $1 ORDER BY s.seq`, att.ID)
	qs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (drawnQ, error) {
		var d drawnQ
		return d, r.Scan(&d.version, &d.dimension, &d.qtype)
	})
	if err != nil {
		t.Fatal(err)
	}
	return qs
}

// Two people's parallel forms measure alike around the pass mark: each
// form's information is within the tolerance of the target (what a random
// form of the usable calibrated items gives on average) at the pass-mark
// ability and half a unit either side; the quotas hold; no flagged item is
// drawn; and the two forms are different questions.
func TestParallelForms(t *testing.T) {
	rules := campaign.Rules{Scoring: "assessment", ParallelForms: true, Questions: 30, PassMark: 60,
		Quotas: []campaign.Quota{{Dimension: "knowledge", Count: 12}, {Dimension: "method", Count: 6}, {Type: "truefalse", Count: 4}}}
	f := newFormsFixture(t, rules, true)
	usable := map[int64]irt.Item{}
	for v, it := range f.params {
		if it.A >= irt.LowDiscrimination {
			usable[v] = it
		}
	}
	// The target, worked out here from the quotas' candidates.
	ctx := context.Background()
	pool := func(q campaign.Quota) []irt.Item {
		rows, _ := f.inst.DB.Pool.Query(ctx, `SELECT v.id FROM questions q JOIN question_versions v ON v.question_id = q.id AND v.version = q.current_version
			WHERE q.status = 'published' AND NOT q.private AND q.lang = 'zh-CN' AND ($1 = '' OR q.dimension = $1) AND ($2 = '' OR q.type = $2)`, q.Dimension, q.Type)
		ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			t.Fatal(err)
		}
		var out []irt.Item
		for _, v := range ids {
			if it, ok := usable[v]; ok {
				out = append(out, it)
			}
		}
		return out
	}
	quotas := append(rules.Quotas, campaign.Quota{Count: 8})
	var all []irt.Item
	pools := make([][]irt.Item, len(quotas))
	for i, q := range quotas {
		pools[i] = pool(q)
		all = append(all, pools[i]...)
	}
	pass := campaign.PassAbility(all, 60)
	points := campaign.FormPoints(pass)
	var target [3]float64
	for i, q := range quotas {
		for k, th := range points {
			target[k] += float64(q.Count) * irt.TestInformation(pools[i], th) / float64(len(pools[i]))
		}
	}
	var forms [2]map[int64]bool
	var info [2][3]float64
	for n, name := range []string{"forms-p1", "forms-p2"} {
		qs := f.form(t, name)
		if len(qs) != 30 {
			t.Fatalf("%s: %d questions, want 30", name, len(qs))
		}
		forms[n] = map[int64]bool{}
		dims, types := map[string]int{}, map[string]int{}
		var items []irt.Item
		for _, q := range qs {
			it, ok := usable[q.version]
			if !ok {
				t.Errorf("%s: version %d is not a usable calibrated item (params %+v)", name, q.version, f.params[q.version])
			}
			items = append(items, it)
			forms[n][q.version] = true
			dims[q.dimension]++
			types[q.qtype]++
		}
		// The quotas are filled in turn, so a later quota's count is at least what it asked for.
		if dims["knowledge"] < 12 || dims["method"] < 6 || types["truefalse"] < 4 {
			t.Errorf("%s: quotas: dimensions %v types %v, want ≥ 12 knowledge, ≥ 6 method, ≥ 4 true/false", name, dims, types)
		}
		for k, th := range points {
			info[n][k] = irt.TestInformation(items, th)
			if miss := math.Abs(info[n][k]-target[k]) / target[k]; miss > campaign.FormTolerance {
				t.Errorf("%s: information %.2f at θ=%.2f, target %.2f: off by %.0f%%, want ≤ %.0f%%", name, info[n][k], th, target[k],
					100*miss, 100*campaign.FormTolerance)
			}
		}
	}
	if d := math.Abs(info[0][1]-info[1][1]) / target[1]; d > 2*campaign.FormTolerance {
		t.Errorf("the two forms' information at the pass mark: %.2f and %.2f", info[0][1], info[1][1])
	}
	same := 0
	for v := range forms[0] {
		if forms[1][v] {
			same++
		}
	}
	if same == 30 {
		t.Error("the two forms are the same questions, want different forms")
	}
	t.Logf("pass ability %.2f, target %v, forms %v, %d questions in common", pass, target, info, same)
}

// Without calibrated items the attempt still starts, on the normal random
// draw, and the reason is logged.
func TestParallelFormsFallBack(t *testing.T) {
	f := newFormsFixture(t, campaign.Rules{Scoring: "assessment", ParallelForms: true}, false)
	qs := f.form(t, "forms-p3")
	dims := map[string]int{}
	for _, q := range qs {
		dims[q.dimension]++
	}
	if len(qs) != 50 || dims["knowledge"] != 20 || dims["method"] != 10 || dims["spirit"] != 10 || dims["application"] != 10 {
		t.Errorf("fallback draw: %d questions by dimension %v, want 50 with the survey's quotas", len(qs), dims)
	}
	if log := f.inst.Log.String(); !strings.Contains(log, "parallel form: the normal draw instead") || !strings.Contains(log, "calibrated questions, want at least") {
		t.Errorf("log: want the fallback and its reason, got %s", tail(log))
	}
}

// Parallel forms are for assessments only.
func TestParallelFormsAssessmentOnly(t *testing.T) {
	in := campaign.Input{Title: "x", StartsAt: time.Now(), EndsAt: time.Now().Add(time.Hour),
		Rules: campaign.Rules{Scoring: "speed", ParallelForms: true}}
	err := in.Validate()
	var e *kepu.Error
	if !errors.As(err, &e) || e.Field != "rules.parallel_forms" || e.Code != kepu.EINVALID {
		t.Errorf("speed scoring with parallel forms: got %v, want invalid rules.parallel_forms", err)
	}
}

func tail(s string) string {
	if len(s) > 2000 {
		return s[len(s)-2000:]
	}
	return s
}
