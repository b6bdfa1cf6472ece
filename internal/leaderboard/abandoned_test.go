package leaderboard_test

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/kepu/kepu/internal/apptest"
	"github.com/kepu/kepu/internal/campaign"
	"github.com/kepu/kepu/internal/kepu"
	"github.com/kepu/kepu/internal/leaderboard"
)

// A citizen who gives up at once with no points is never ranked above one
// who played every question to the end with no points (each timed out):
// the given-up attempt counts only the moment its first question was open
// and the full limit of the others, less than the finished one.
func TestAbandonedZeroNeverAboveFinished(t *testing.T) {
	var mu sync.Mutex
	now := time.Now().UTC()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	add := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	inst := apptest.Start(t, apptest.Options{Now: clock})
	ctx := context.Background()
	db := inst.DB.Pool
	if _, err := db.Exec(ctx, `
		WITH q AS (
			INSERT INTO questions (owner_region_id, status, type, category, dimension, difficulty, stem_norm)
			SELECT $1, 'published', 'single', 'life', 'knowledge', 2, 'lb-abandon' || i FROM generate_series(1, 3) i RETURNING id)
		INSERT INTO question_versions (question_id, version, type, stem, options, answer, explanation, category, dimension, difficulty)
		SELECT id, 1, 'single', '题' || id, '["甲","乙"]', '{1}', '乙', 'life', 'knowledge', 2 FROM q`, inst.Seed.CityID); err != nil {
		t.Fatal(err)
	}
	in := campaign.Input{Title: "放弃", StartsAt: now.Add(-time.Hour), EndsAt: now.Add(24 * time.Hour),
		Rules: campaign.Rules{Questions: 3, TimeLimit: 20}}
	if err := in.Validate(); err != nil {
		t.Fatal(err)
	}
	var id int64
	if err := db.QueryRow(ctx, `INSERT INTO campaigns (title, region_id, status, starts_at, ends_at, settings)
		VALUES ($1, $2, 'published', $3, $4, $5) RETURNING id`, in.Title, inst.Seed.CityID, in.StartsAt, in.EndsAt,
		in.Rules).Scan(&id); err != nil {
		t.Fatal(err)
	}
	if err := inst.App.Boards.Rebuild(ctx, id); err != nil {
		t.Fatal(err)
	}
	svc := inst.App.Campaigns
	actor := func(name string) kepu.Actor {
		uid, _ := inst.CreateUser(name, "participant")
		return kepu.Actor{UserID: uid, Role: kepu.RoleParticipant}
	}
	finisher, quitter := actor("finisher"), actor("quitter")

	// The finisher lets every question run out.
	att, _, err := svc.Start(ctx, finisher, id)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := svc.Current(ctx, finisher, att.ID); err != nil {
			t.Fatal(err)
		}
		add(23 * time.Second)
	}
	if st, err := svc.Current(ctx, finisher, att.ID); err != nil || !st.Attempt.Finished() {
		t.Fatalf("finisher: %+v %v, want finished", st.Attempt, err)
	}
	// The quitter gives up on question 1 after a second.
	att2, _, err := svc.Start(ctx, quitter, id)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Current(ctx, quitter, att2.ID); err != nil {
		t.Fatal(err)
	}
	add(time.Second)
	if _, err := svc.Finish(ctx, quitter, att2.ID); err != nil {
		t.Fatal(err)
	}

	key := inst.App.Boards.Key(id, leaderboard.Board{Kind: leaderboard.All})
	order := func() []string {
		ids, err := inst.App.Boards.Redis.ZRevRange(ctx, key, 0, -1).Result()
		if err != nil {
			t.Fatal(err)
		}
		return ids
	}
	check := func(when string) {
		t.Helper()
		got := order()
		f, q := strconv.FormatInt(finisher.UserID, 10), strconv.FormatInt(quitter.UserID, 10)
		for i, m := range got {
			if m == q {
				t.Errorf("%s: board %v ranks the given-up 0-point attempt (user %s) at %d, want it below the finished one (user %s) or off the board",
					when, got, q, i+1, f)
				return
			}
			if m == f {
				return
			}
		}
		t.Errorf("%s: board %v lacks the finished attempt of user %s", when, got, f)
	}
	check("live")
	if err := inst.App.Boards.Rebuild(ctx, id); err != nil {
		t.Fatal(err)
	}
	check("rebuilt")
}
