package seed_test

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/kepu/kepu/internal/apptest"
	"github.com/kepu/kepu/internal/campaign"
	"github.com/kepu/kepu/internal/kepu"
	"github.com/kepu/kepu/internal/seed"
)

func volumeOf(inst *apptest.Instance) seed.Volume {
	return seed.Volume{DB: inst.DB.Pool, Orgs: inst.App.Org, Campaigns: inst.App.Campaigns}
}

// TestGenerate loads a small year through the feature APIs and the bulk
// COPY and checks that every row landed where the dashboards read it.
func TestGenerate(t *testing.T) {
	t.Parallel()
	inst := apptest.Start(t)
	ctx := context.Background()
	db := inst.DB.Pool
	end := time.Now()
	res, err := volumeOf(inst).Generate(ctx, seed.GenerateOptions{Participants: 40, Attempts: 150, Seed: 1, End: end})
	if err != nil {
		t.Fatal(err)
	}
	if res.Users != 40 || res.Attempts != 150 || len(res.Campaigns) != 13 {
		t.Fatalf("got %d users, %d attempts, %d campaigns, want 40, 150, 13", res.Users, res.Attempts, len(res.Campaigns))
	}
	var schools, classes, attempts, answers, assessments, drafts, gen int
	for _, q := range []struct {
		sql  string
		dest *int
	}{
		{`SELECT count(*) FROM schools WHERE name LIKE '测试学校%'`, &schools},
		{`SELECT count(*) FROM classes c JOIN schools s ON s.id = c.school_id WHERE s.name LIKE '测试学校%'`, &classes},
		{`SELECT count(*) FROM campaign_attempts WHERE campaign_id = ANY($1)`, &attempts},
		{`SELECT count(*) FROM campaign_answers a JOIN campaign_attempts t ON t.id = a.attempt_id WHERE t.campaign_id = ANY($1)`, &answers},
		{`SELECT count(*) FROM campaigns WHERE id = ANY($1) AND kind = 'assessment'`, &assessments},
		{`SELECT count(*) FROM campaigns WHERE id = ANY($1) AND status = 'draft' AND settings = '{}'`, &drafts},
		{`SELECT count(*) FROM users WHERE username LIKE 'gen-%' AND role = 'participant' AND region_id IS NOT NULL`, &gen},
	} {
		args := []any{}
		if strings.Contains(q.sql, "$1") {
			args = append(args, res.Campaigns)
		}
		if err := db.QueryRow(ctx, q.sql, args...).Scan(q.dest); err != nil {
			t.Fatalf("%s: %v", q.sql, err)
		}
	}
	districts := len(seed.Districts)
	if schools != districts*20 || classes != districts*120 {
		t.Errorf("got %d schools, %d classes, want %d, %d", schools, classes, districts*20, districts*120)
	}
	if attempts != 150 || answers != res.Answers || answers == 0 {
		t.Errorf("got %d attempts, %d answers, want 150, %d", attempts, answers, res.Answers)
	}
	if assessments != 1 || drafts != 13 || gen != 40 {
		t.Errorf("got %d assessments, %d draft campaigns, %d participants, want 1, 13, 40", assessments, drafts, gen)
	}
	var tiers int
	db.QueryRow(ctx, `SELECT count(*) FROM campaign_attempts WHERE tier IS NOT NULL AND campaign_id <> $1`, res.Campaigns[12]).Scan(&tiers)
	if tiers != 0 {
		t.Errorf("got %d tiers outside the assessment, want 0", tiers)
	}
}

// TestGenerateEmptyBank: a bank without questions gets 200 plain published
// ones through bank.EnsureSeedQuestion, once.
func TestGenerateEmptyBank(t *testing.T) {
	t.Parallel()
	inst := apptest.Start(t, apptest.Options{NoSeed: true})
	ctx := context.Background()
	if _, err := seed.Foundation(ctx, inst.DB.Pool, inst.App.Accounts, inst.App.Org); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := volumeOf(inst).Generate(ctx, seed.GenerateOptions{Participants: 5, Attempts: 10, Seed: 2}); err != nil {
			t.Fatal(err)
		}
	}
	var n, versions int
	inst.DB.Pool.QueryRow(ctx, `SELECT count(*), count(v.id) FROM questions q LEFT JOIN question_versions v ON v.question_id = q.id
		WHERE q.seed_key LIKE 'gen-q-%' AND q.status = 'published' AND q.type = 'single'`).Scan(&n, &versions)
	if n != 200 || versions != 200 {
		t.Errorf("got %d generated questions with %d versions, want 200, 200", n, versions)
	}
}

// TestRanked makes board volume: a published sum-counted campaign and one
// finished attempt per new participant, none of them today.
func TestRanked(t *testing.T) {
	t.Parallel()
	inst := apptest.Start(t)
	ctx := context.Background()
	db := inst.DB.Pool
	id, err := volumeOf(inst).Ranked(ctx, 0, 30, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	c, err := inst.App.Campaigns.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if c.Title != seed.RankedTitle || c.Status != "published" || c.Rules.Counts != "sum" || c.Rules.Questions != 10 || c.Rules.Base != 10 {
		t.Errorf("got campaign %+v, want the published ranked campaign", c)
	}
	var attempts, finished int
	db.QueryRow(ctx, `SELECT count(*), count(finished_at) FROM campaign_attempts WHERE campaign_id = $1
		AND finished_at < date_trunc('day', now() AT TIME ZONE 'Asia/Shanghai') AT TIME ZONE 'Asia/Shanghai'`, id).Scan(&attempts, &finished)
	if attempts != 30 || finished != 30 {
		t.Errorf("got %d attempts, %d finished before today, want 30, 30", attempts, finished)
	}
	// Volume for a campaign that exists.
	other, err := inst.App.Campaigns.CreateGenerated(ctx, campaign.Generated{Title: "other", RegionID: inst.Seed.CityID, Kind: "quiz",
		StartsAt: time.Now().AddDate(0, 0, -2), EndsAt: time.Now().AddDate(0, 0, 2)})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := volumeOf(inst).Ranked(ctx, other, 5, io.Discard); err != nil || got != other {
		t.Fatalf("got campaign %d, %v, want %d", got, err, other)
	}
	db.QueryRow(ctx, `SELECT count(*) FROM campaign_attempts WHERE campaign_id = $1`, other).Scan(&attempts)
	if attempts != 5 {
		t.Errorf("got %d attempts, want 5", attempts)
	}
}

// TestGenerateYears: with Years, each earlier year gets its own literacy
// assessment, and the five-year report has a share for every one of them.
func TestGenerateYears(t *testing.T) {
	t.Parallel()
	inst := apptest.Start(t)
	ctx := context.Background()
	res, err := volumeOf(inst).Generate(ctx, seed.GenerateOptions{Participants: 80, Attempts: 900, Seed: 3, Years: 3, End: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Campaigns) != 15 {
		t.Fatalf("got %d campaigns, want 12 quizzes and 3 assessments", len(res.Campaigns))
	}
	adminID, _ := inst.CreateUser("gen-report-admin", "admin")
	rep, err := inst.App.Literacy.FiveYear(ctx, kepu.Actor{UserID: adminID, Role: kepu.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Literacy) != 3 {
		t.Fatalf("got literacy shares for %d years, want 3", len(rep.Literacy))
	}
	for _, y := range rep.Literacy {
		if y.Share.People == 0 || y.Share.Total.Estimate == nil {
			t.Errorf("%d: got %+v, want people with an estimate", y.Year, y.Share.Total)
		}
	}
	if rep.TotalAttempts != 900 || len(rep.Missed) == 0 {
		t.Errorf("got %d attempts, %d missed questions; want 900 and some", rep.TotalAttempts, len(rep.Missed))
	}
}
