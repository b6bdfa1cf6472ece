package server_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/kepu/kepu/internal/apptest"
	"github.com/kepu/kepu/internal/calibrate"
	"github.com/kepu/kepu/internal/calibrate/calibtest"
	"github.com/kepu/kepu/internal/dashboard"
	"github.com/kepu/kepu/internal/irt"
)

// The item analysis shows each question's latest IRT calibration beside
// the classical figures, flags a negative discrimination and a misfit,
// suggests retiring them, and says "not calibrated" for the rest.
func TestDashboardItemsShowCalibration(t *testing.T) {
	t.Parallel()
	f := newDashFixture(t)
	ctx := context.Background()
	db := f.inst.DB.Pool
	// An older run said Q1 was fine at a = 0.2; the latest says 1.3.
	if _, err := calibtest.Store(ctx, db, map[int64]irt.Item{f.v1: {A: 0.2, B: 0}}); err != nil {
		t.Fatal(err)
	}
	run, err := calibtest.Store(ctx, db, map[int64]irt.Item{
		f.v1: {A: 1.3, B: -0.4},
		f.v2: {A: -0.6, B: 0.8, Fit: irt.ItemFit{X2: 80, DF: 8, P: 1e-9, RMSEA: 0.12}},
	})
	if err != nil {
		t.Fatal(err)
	}
	_, pw := f.inst.CreateUser("irt-admin", "admin")
	admin := f.inst.Login("irt-admin", pw)
	_, byQ := dashItems(t, admin, f.campaign)
	i1, i2 := byQ[f.q1], byQ[f.q2]
	if i1.IRT == nil || i1.IRT.RunID != run || !dashNear(i1.IRT.A, 1.3) || !dashNear(i1.IRT.B, -0.4) || len(i1.IRT.Flags) != 0 || i1.IRT.Retire {
		t.Errorf("Q1: got %+v, want the latest run's a 1.3 b -0.4, no flags", i1.IRT)
	}
	if i2.IRT == nil || !slices.Equal(i2.IRT.Flags, []string{calibrate.FlagMisfit, calibrate.FlagNegative}) || !i2.IRT.Retire {
		t.Errorf("Q2: got %+v, want misfit and negative discrimination, retire suggested", i2.IRT)
	}
	// The classical figures are unchanged beside them.
	if i1.Answers != 8 || !dashNear(i1.Facility, 5.0/8) {
		t.Errorf("Q1 classical: %d answers facility %v, want 8 and 0.625", i1.Answers, i1.Facility)
	}
	if _, err := db.Exec(ctx, `DELETE FROM item_parameters WHERE question_version_id = $1`, f.v2); err != nil {
		t.Fatal(err)
	}
	if _, byQ = dashItems(t, admin, f.campaign); byQ[f.q2].IRT != nil {
		t.Errorf("Q2 without a calibration: got %+v, want null", byQ[f.q2].IRT)
	}
	// The page carries the messages the table uses.
	page := admin.Do("GET", "/dash/campaigns/"+dashID(f.campaign), nil)
	apptest.Expect(t, page, 200, "page")
	for _, want := range []string{"calibrate.suggest_retire", "建议停用", "calibrate.flag.negative_a"} {
		if !strings.Contains(string(page.Body), want) {
			t.Errorf("dashboard page: want %q in its messages", want)
		}
	}
}

// dashItems reads a campaign's item analysis as c sees it: the list and
// the items by question id.
func dashItems(t *testing.T, c *apptest.Client, campaign int64) ([]dashboard.Item, map[int64]dashboard.Item) {
	t.Helper()
	var items struct{ Items []dashboard.Item }
	r := c.Do("GET", "/api/v1/dash/campaigns/"+dashID(campaign)+"/items", nil)
	apptest.Expect(t, r, 200, "items")
	r.JSON(t, &items)
	byQ := map[int64]dashboard.Item{}
	for _, it := range items.Items {
		byQ[it.QuestionID] = it
	}
	return items.Items, byQ
}
