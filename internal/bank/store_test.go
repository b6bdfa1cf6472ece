package bank_test

import (
	"context"
	"testing"
	"time"

	"github.com/kepu/kepu/internal/bank"
	"github.com/kepu/kepu/internal/kepu"
	"github.com/kepu/kepu/internal/org"
	"github.com/kepu/kepu/internal/testenv"
)

type fixture struct {
	svc            *bank.Service
	city, district int64
	db             *testenv.DB
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	db := testenv.NewDB(t)
	o := &org.Service{DB: db.Pool}
	ctx := context.Background()
	city, err := o.EnsureRegion(ctx, 0, "city", "c1", "City", 0)
	if err != nil {
		t.Fatal(err)
	}
	district, err := o.EnsureRegion(ctx, city, "district", "d1", "District", 1)
	if err != nil {
		t.Fatal(err)
	}
	return fixture{svc: &bank.Service{DB: db.Pool, Org: o}, city: city, district: district, db: db}
}

func TestSeedIsIdempotent(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	start := time.Now()
	res, err := bank.Seed(ctx, f.db.Pool, f.city)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("first seed: %+v in %v", res, time.Since(start))
	qs, _ := bank.SeedBank()
	want := len(qs)
	for _, q := range qs {
		if q.En != nil {
			want++
		}
	}
	if res.Inserted != want {
		t.Errorf("first seed inserted %d, want %d", res.Inserted, want)
	}
	res, err = bank.Seed(ctx, f.db.Pool, f.city)
	if err != nil {
		t.Fatal(err)
	}
	if res.Inserted != 0 || res.Updated != 0 || res.Unchanged != want {
		t.Errorf("second seed: got %+v, want all %d unchanged", res, want)
	}
	// A changed seed question (here: edited in the database) is set back by a new version.
	if _, err := f.db.Pool.Exec(ctx, `UPDATE question_versions SET stem = 'changed' WHERE question_id = (SELECT id FROM questions WHERE seed_key = 'health-001')`); err != nil {
		t.Fatal(err)
	}
	if res, err = bank.Seed(ctx, f.db.Pool, f.city); err != nil || res.Updated != 1 {
		t.Errorf("seed after a change: got %+v, %v; want 1 updated", res, err)
	}
	var n, en, linked, version int
	f.db.Pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE lang = 'en'), count(translation_of),
		max(current_version) FILTER (WHERE seed_key = 'health-001') FROM questions WHERE status = 'published' AND owner_region_id = $1`, f.city).
		Scan(&n, &en, &linked, &version)
	if n != want || en < 150 || linked != en || version != 2 {
		t.Errorf("published %d (en %d, linked %d), health-001 at version %d; want %d, ≥150 en all linked, version 2", n, en, linked, version, want)
	}
	cands, err := f.svc.Candidates(ctx, bank.Filter{Category: "health", Lang: "zh-CN", Dimension: bank.DimKnowledge})
	if err != nil || len(cands) == 0 {
		t.Fatalf("candidates: got %d, %v", len(cands), err)
	}
	v, err := f.svc.Version(ctx, cands[0].VersionID)
	if err != nil || v.Category != "health" || v.Stem == "" || len(v.Answer) == 0 {
		t.Errorf("Version(%d): got %+v, %v", cands[0].VersionID, v, err)
	}
}

func TestVersionsKeepOldText(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	org := kepu.Actor{UserID: 0, Role: kepu.RoleOrganizer, ScopeRegionID: f.district}
	in := validInput()
	q, err := f.svc.Create(ctx, org, in)
	if err != nil {
		t.Fatal(err)
	}
	if q.Status != bank.StatusDraft || q.OwnerRegionID != f.district || q.Version != 1 {
		t.Errorf("created: got status %s owner %d version %d", q.Status, q.OwnerRegionID, q.Version)
	}
	if _, err := f.svc.SetStatus(ctx, org, []int64{q.ID}, bank.StatusPublished); err != nil {
		t.Fatal(err)
	}
	first := q.VersionID
	in.Stem = "水在海平面上的沸点约为多少？"
	q2, err := f.svc.Update(ctx, org, q.ID, in)
	if err != nil {
		t.Fatal(err)
	}
	if q2.Version != 2 || q2.VersionID == first || q2.Stem != in.Stem {
		t.Errorf("after edit: version %d (id %d), stem %q", q2.Version, q2.VersionID, q2.Stem)
	}
	old, err := f.svc.Version(ctx, first)
	if err != nil || old.Stem != validInput().Stem {
		t.Errorf("old version: got %q, %v; want %q", old.Stem, err, validInput().Stem)
	}
	// Saving the same content again makes no version.
	if q3, err := f.svc.Update(ctx, org, q.ID, in); err != nil || q3.Version != 2 {
		t.Errorf("unchanged save: version %d, %v; want 2", q3.Version, err)
	}
	hist, err := f.svc.History(ctx, org, q.ID)
	if err != nil || len(hist) != 2 || hist[0].Version != 2 || hist[1].Stem != validInput().Stem {
		t.Errorf("history: got %+v, %v", hist, err)
	}
	// Retiring hides it from draws, not from history.
	if _, err := f.svc.SetStatus(ctx, org, []int64{q.ID}, bank.StatusRetired); err != nil {
		t.Fatal(err)
	}
	cands, _ := f.svc.Candidates(ctx, bank.Filter{})
	for _, c := range cands {
		if c.QuestionID == q.ID {
			t.Errorf("retired question %d is still a candidate", q.ID)
		}
	}
	if _, err := f.svc.Version(ctx, first); err != nil {
		t.Errorf("retired question's old version: %v", err)
	}
	// A duplicate stem in the same bank and language is refused.
	if _, err := f.svc.Create(ctx, org, in); kepu.ErrorCode(err) != kepu.ECONFLICT {
		t.Errorf("duplicate create: got %v, want conflict", err)
	}
	// An organizer of another subtree may not edit it.
	other := kepu.Actor{Role: kepu.RoleOrganizer, ScopeRegionID: -1}
	if _, err := f.svc.Update(ctx, other, q.ID, in); kepu.ErrorCode(err) != kepu.EFORBIDDEN {
		t.Errorf("out-of-scope edit: got %v, want forbidden", err)
	}
	teacher := kepu.Actor{Role: kepu.RoleTeacher}
	if _, err := f.svc.Update(ctx, teacher, q.ID, in); kepu.ErrorCode(err) != kepu.EFORBIDDEN {
		t.Errorf("teacher edit: got %v, want forbidden", err)
	}
}
