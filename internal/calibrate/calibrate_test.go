package calibrate_test

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/kepu/kepu/internal/apptest"
	"github.com/kepu/kepu/internal/calibrate"
	"github.com/kepu/kepu/internal/calibrate/calibtest"
	"github.com/kepu/kepu/internal/irt"
)

// TestMain seeds one template database for the package's instances.
func TestMain(m *testing.M) { os.Exit(apptest.Main(m)) }

func truth(n int, seed uint64) []irt.Item {
	rng := rand.New(rand.NewPCG(seed, 9))
	out := make([]irt.Item, n)
	for i := range out {
		out[i] = irt.Item{A: 0.7 + rng.Float64(), B: -1.5 + 3*float64(i)/float64(n-1)}
	}
	return out
}

// Calibrating reads the campaign answers — first finished attempts only,
// no staff practice, nothing abandoned, only items with 200 answers —,
// recovers the difficulties, stores the run and keeps every run.
func TestCalibrateFromAnswers(t *testing.T) {
	inst := apptest.Start(t)
	ctx := context.Background()
	db := inst.DB.Pool
	vs, err := calibtest.Versions(ctx, db, "zh-CN", 13)
	if err != nil || len(vs) != 13 {
		t.Fatalf("versions: %v %v", vs, err)
	}
	items := truth(12, 1)
	// 12 items, 700 people answering 6 each (≈350 answers per item), with
	// the attempts that must not count; one more item with 150 answers.
	if _, err := calibtest.Insert(ctx, db, calibtest.Answers{RegionID: inst.Seed.CityID, Versions: vs[:12], Truth: items,
		Persons: 700, PerPerson: 6, Seed: 1, Noise: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := calibtest.Insert(ctx, db, calibtest.Answers{RegionID: inst.Seed.CityID, Versions: vs[12:], Truth: items[:1],
		Persons: 150, Seed: 2}); err != nil {
		t.Fatal(err)
	}
	svc := inst.App.Calibration
	run, err := svc.Calibrate(ctx, "cli")
	if err != nil {
		t.Fatal(err)
	}
	if run.ID == 0 || run.Items != 12 || run.Persons != 700 || run.Responses != 700*6 || !run.Converged {
		t.Fatalf("run: got %+v, want 12 items, 700 persons, 4200 answers, converged", run)
	}
	got, err := svc.Latest(ctx, vs)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := got[vs[12]]; ok || len(got) != 12 {
		t.Fatalf("calibrated %d versions (with the 150-answer one: %v), want the 12 with ≥ 200 answers", len(got), ok)
	}
	var tb, gb []float64
	for i, v := range vs[:12] {
		p := got[v]
		if p.RunID != run.ID || p.N < 200 {
			t.Errorf("version %d: run %d with %d answers", v, p.RunID, p.N)
		}
		tb, gb = append(tb, items[i].B), append(gb, p.B)
	}
	if r := corr(tb, gb); r < 0.95 {
		t.Errorf("difficulties: correlation %.3f with the truth, want ≥ 0.95 (got %v)", r, gb)
	}
	// Were the all-right extra attempts counted, every item would look easy.
	if mean(gb) < mean(tb)-0.4 {
		t.Errorf("mean difficulty %.2f, true %.2f: the extra attempts were counted", mean(gb), mean(tb))
	}
	again, err := svc.Calibrate(ctx, "job")
	if err != nil {
		t.Fatal(err)
	}
	runs, err := svc.Runs(ctx, 10)
	if err != nil || len(runs) != 2 || runs[0].ID != again.ID || runs[1].ID != run.ID {
		t.Fatalf("runs: got %+v %v, want the two, newest first", runs, err)
	}
	latest, _ := svc.Latest(ctx, vs[:1])
	if latest[vs[0]].RunID != again.ID {
		t.Errorf("latest of version %d: run %d, want %d", vs[0], latest[vs[0]].RunID, again.ID)
	}
	var kept int
	db.QueryRow(ctx, `SELECT count(*) FROM item_parameters WHERE run_id = $1`, run.ID).Scan(&kept)
	if kept != 12 {
		t.Errorf("first run's parameters: %d rows left, want 12 (history is kept)", kept)
	}
}

// One calibration at a time across instances; the job runs only when due.
func TestCalibrateLockAndJob(t *testing.T) {
	inst := apptest.Start(t)
	ctx := context.Background()
	db := inst.DB.Pool
	svc := inst.App.Calibration
	if _, err := svc.Calibrate(ctx, "cli"); !errors.Is(err, calibrate.ErrNoItems) {
		t.Fatalf("no answers: got %v, want ErrNoItems", err)
	}
	vs, _ := calibtest.Versions(ctx, db, "zh-CN", 5)
	if _, err := calibtest.Insert(ctx, db, calibtest.Answers{RegionID: inst.Seed.CityID, Versions: vs, Truth: truth(5, 2),
		Persons: 250, Seed: 3}); err != nil {
		t.Fatal(err)
	}
	// Another instance holds the lock.
	conn, err := db.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, calibrate.LockKey)
	if _, err := svc.Calibrate(ctx, "cli"); !errors.Is(err, calibrate.ErrBusy) {
		t.Errorf("while locked elsewhere: got %v, want ErrBusy", err)
	}
	job := &calibrate.Job{Service: svc, Every: time.Hour}
	if did, err := job.Once(ctx); did || err != nil {
		t.Errorf("job while locked elsewhere: ran %v err %v, want skipped", did, err)
	}
	conn.Exec(ctx, `SELECT pg_advisory_unlock($1)`, calibrate.LockKey)
	conn.Release()
	if did, err := job.Once(ctx); !did || err != nil {
		t.Fatalf("job: ran %v err %v, want a run", did, err)
	}
	if did, _ := job.Once(ctx); did {
		t.Error("job again at once: ran, want not due (one run per interval)")
	}
	// Due by time, but no new answers since: nothing to do.
	db.Exec(ctx, `UPDATE calibration_runs SET started_at = started_at - interval '2 hours'`)
	if did, _ := job.Once(ctx); did {
		t.Error("job without new answers: ran, want skipped")
	}
	calibtest.Insert(ctx, db, calibtest.Answers{RegionID: inst.Seed.CityID, Versions: vs, Truth: truth(5, 2), Persons: 10, Seed: 4})
	if did, err := job.Once(ctx); !did || err != nil {
		t.Errorf("job with new answers an interval later: ran %v err %v, want a run", did, err)
	}
}

func corr(x, y []float64) float64 {
	mx, my := mean(x), mean(y)
	var sxy, sxx, syy float64
	for i := range x {
		sxy += (x[i] - mx) * (y[i] - my)
		sxx += (x[i] - mx) * (x[i] - mx)
		syy += (y[i] - my) * (y[i] - my)
	}
	return sxy / math.Sqrt(sxx*syy)
}

func mean(x []float64) float64 {
	s := 0.0
	for _, v := range x {
		s += v
	}
	return s / float64(len(x))
}
