package e2e_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/kepu/kepu/internal/campaign"
	"github.com/kepu/kepu/internal/e2e"
)

// The leaderboard page while Redis lost the boards and another instance
// is rebuilding them (its lock held): the page keeps the lines it shows
// and says the board is being rebuilt, in Chinese and in English; when the
// lock expires this instance rebuilds and the page is live again.
func TestLeaderboardPageWhileRebuilding(t *testing.T) {
	t.Parallel()
	b := e2e.Start(t)
	inst := b.Inst
	ctx := context.Background()
	boards := inst.App.Boards
	boards.RebuildWait = 100 * time.Millisecond
	id := campaignOf(t, b, "重建中的排行榜", "", "published", 1, campaign.Rules{Questions: 1, TimeLimit: 30})
	user, _ := inst.CreateUser("lbrebuild", "participant")
	if _, err := inst.DB.Pool.Exec(ctx, `INSERT INTO campaign_attempts (campaign_id, user_id, started_at, finished_at, score,
		max_score, passed, questions, answered, time_ms, region_id)
		SELECT $1, $2, now() - interval '1 minute', now(), 800, 1000, true, 1, 1, 20000, region_id FROM users WHERE id = $2`, id, user); err != nil {
		t.Fatal(err)
	}
	if err := boards.Record(ctx, id, user); err != nil {
		t.Fatal(err)
	}
	b.Visit(fmt.Sprintf("/campaigns/%d/leaderboard", id))
	b.WaitText("[data-testid=lb-rows]", "lbrebuild")

	// Redis loses the boards; another instance holds the rebuild lock.
	lose := func() {
		t.Helper()
		keys, err := boards.Redis.Keys(ctx, boards.Keys.BoardPattern(id)).Result()
		if err != nil {
			t.Fatal(err)
		}
		if err := boards.Redis.Del(ctx, keys...).Err(); err != nil {
			t.Fatal(err)
		}
		if err := boards.Redis.Set(ctx, boards.Keys.BoardRebuild(id, "lock"), "1-elsewhere", 3*time.Second).Err(); err != nil {
			t.Fatal(err)
		}
		boards.Redis.Publish(ctx, boards.Channel(id), "changed") // what the other instance's writes announce
	}
	lose()
	b.WaitText("#lb-status", "排行榜正在重建，下面是稍早的名次")
	b.WaitText("[data-testid=lb-rows]", "lbrebuild")
	b.Screenshot("leaderboard-rebuilding-phone")
	b.WaitText("#lb-status", "实时更新中") // the lock expired: rebuilt here, pushed

	b.ClickNav("[data-testid=lang-switch]")
	b.WaitText("[data-testid=lb-rows]", "lbrebuild")
	lose()
	b.WaitText("#lb-status", "The leaderboard is being rebuilt; below are the standings from a moment ago")
	b.Desktop()
	b.Screenshot("leaderboard-rebuilding-desktop-en")
	b.WaitText("#lb-status", "Live")
}
