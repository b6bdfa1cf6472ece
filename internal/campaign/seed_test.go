package campaign_test

import (
	"context"
	"testing"

	"github.com/kepu/kepu/internal/apptest"
	"github.com/kepu/kepu/internal/campaign"
	"github.com/kepu/kepu/internal/kepu"
)

// `kepu seed` makes the demo campaign once, published, and the seeded bank
// fills its 20 questions: 7 true/false, 7 single and 6 multiple choice.
func TestSeedDemoCampaign(t *testing.T) {
	inst := apptest.Start(t)
	ctx := context.Background()
	svc := inst.App.Campaigns
	id, created, err := svc.SeedDemo(ctx, inst.Seed.CityID)
	if err != nil || !created {
		t.Fatalf("first seed: got id %d created %v err %v, want a new campaign", id, created, err)
	}
	again, created, err := svc.SeedDemo(ctx, inst.Seed.CityID)
	if err != nil || created || again != id {
		t.Fatalf("second seed: got id %d created %v err %v, want %d unchanged", again, created, err, id)
	}
	c, err := svc.Public(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if c.Title != campaign.DemoTitle || c.Status != campaign.StatusPublished || !c.Open(svc.Now()) ||
		c.Rules.Questions != 20 || c.Rules.TimeLimit != 30 || c.Rules.PerDay != 3 || c.Rules.Scoring != "speed" {
		t.Errorf("demo campaign: got %+v", c)
	}
	uid, _ := inst.CreateUser("demo-player", "participant")
	att, _, err := svc.Start(ctx, kepu.Actor{UserID: uid, Role: kepu.RoleParticipant}, id)
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	rows, err := inst.DB.Pool.Query(ctx, `SELECT v.type, count(*) FROM campaign_attempt_questions s
		JOIN question_versions v ON v.id = s.question_version_id WHERE s.attempt_id = $1 GROUP BY v.type`, att.ID)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for rows.Next() {
		var typ string
		var n int
		if err := rows.Scan(&typ, &n); err != nil {
			t.Fatal(err)
		}
		got[typ] = n
	}
	want := map[string]int{"truefalse": 7, "single": 7, "multiple": 6}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s questions: got %d, want %d (all: %v)", k, got[k], v, got)
		}
	}
}
