package seed

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kepu/kepu/internal/campaign"
	"github.com/kepu/kepu/internal/kepu"
	"github.com/kepu/kepu/internal/postgres"
	"github.com/kepu/kepu/internal/scoring"
)

// RankedTitle is the title of the campaign Ranked creates.
const RankedTitle = "排行榜容量测试（生成数据）"

// Ranked is `kepu seed --ranked N`: it makes board volume for the
// leaderboard load test. It creates a published campaign (sum of
// attempts counts, 10 questions, flat 10 points; open from 30 days ago for
// 30 more) unless campaignID names one, and COPYs n new participants
// (usernames rank-<campaign>-<i>, no password: they cannot log in) with one
// finished attempt each, finished on one of the 20 days before today
// (Asia/Shanghai), so the all-time boards hold n entries and today's
// boards stay empty for live traffic. Attempts are rows of
// campaign_attempts like the engine's (no answer rows): run
// `kepu leaderboard rebuild <campaign>` afterwards; boards stay
// rebuildable from Postgres. It returns the campaign id.
func (v Volume) Ranked(ctx context.Context, campaignID int64, n int, out io.Writer) (int64, error) {
	start := time.Now()
	if n <= 0 {
		return 0, fmt.Errorf("seed: ranked: n must be positive")
	}
	db := v.DB
	var city int64
	if err := db.QueryRow(ctx, `SELECT id FROM regions WHERE kind = 'city' ORDER BY id LIMIT 1`).Scan(&city); err != nil {
		return 0, fmt.Errorf("seed: ranked: no city (run kepu seed first): %w", err)
	}
	rows, _ := db.Query(ctx, `SELECT id FROM regions WHERE kind = 'district' ORDER BY sort, id`)
	districts, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil || len(districts) == 0 {
		return 0, fmt.Errorf("seed: ranked: no districts (run kepu seed first): %v", err)
	}
	now := time.Now().UTC()
	campStart := now.AddDate(0, 0, -30)
	if campaignID == 0 {
		campaignID, err = v.Campaigns.CreateGenerated(ctx, campaign.Generated{Title: RankedTitle, RegionID: city, Kind: "quiz",
			Status: "published", StartsAt: campStart, EndsAt: now.AddDate(0, 0, 30), Rules: &campaign.Rules{
				Questions: 10, Lang: "zh-CN", TimeLimit: 20, Counts: campaign.CountSum, Scoring: scoring.RuleFlat, Base: 10, PassMark: 60}})
		if err != nil {
			return 0, fmt.Errorf("seed: ranked: %w", err)
		}
	} else if err := db.QueryRow(ctx, `SELECT starts_at FROM campaigns WHERE id = $1`, campaignID).Scan(&campStart); err != nil {
		return 0, fmt.Errorf("seed: ranked: campaign %d: %w", campaignID, err)
	}
	// The day before today ends at Asia/Shanghai midnight.
	y, m, d := now.In(kepu.Shanghai).Date()
	midnight := time.Date(y, m, d, 0, 0, 0, 0, kepu.Shanghai)
	rng := rand.New(rand.NewPCG(uint64(now.UnixNano()), uint64(campaignID)))
	const chunk = 50_000
	for done := 0; done < n; done += chunk {
		k := min(chunk, n-done)
		err := postgres.Tx(ctx, db, func(tx pgx.Tx) error {
			// Ids come from the sequence, so concurrent writers are safe.
			rows, _ := tx.Query(ctx, `SELECT nextval(pg_get_serial_sequence('users', 'id')) FROM generate_series(1, $1)`, k)
			ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
			if err != nil {
				return fmt.Errorf("user ids: %w", err)
			}
			users := make([][]any, k)
			for i, id := range ids {
				users[i] = []any{id, fmt.Sprintf("rank-%d-%d", campaignID, done+i+1), "participant", fmt.Sprintf("选手%d", done+i+1),
					districts[rng.IntN(len(districts))], "30_39", "other"}
			}
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{"users"}, []string{"id", "username", "role", "nickname", "region_id",
				"age_band", "occupation"}, pgx.CopyFromRows(users)); err != nil {
				return fmt.Errorf("users: %w", err)
			}
			attempts := make([][]any, k)
			for i := range k {
				region := users[i][4]
				fin := midnight.Add(-time.Duration(1+rng.Int64N(int64(20*24*time.Hour)-1)) * time.Nanosecond).Truncate(time.Second)
				if fin.Before(campStart) {
					fin = campStart.Add(time.Minute)
				}
				right := rng.IntN(11)
				timeMS := int64(20_000 + rng.IntN(180_000))
				started := fin.Add(-time.Duration(timeMS) * time.Millisecond)
				passed := right >= 6
				attempts[i] = []any{campaignID, ids[i], started, fin, int32(right * 10), int32(100), passed, false,
					shanghaiDay(started), int32(10), int32(10), timeMS, region}
			}
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{"campaign_attempts"}, []string{"campaign_id", "user_id", "started_at",
				"finished_at", "score", "max_score", "passed", "in_progress", "day", "questions", "answered", "time_ms", "region_id"},
				pgx.CopyFromRows(attempts)); err != nil {
				return fmt.Errorf("attempts: %w", err)
			}
			return nil
		})
		if err != nil {
			return 0, fmt.Errorf("seed: ranked: %w", err)
		}
		fmt.Fprintf(out, "  ranked participants: %d/%d\n", done+k, n)
	}
	if _, err := db.Exec(ctx, `ANALYZE users; ANALYZE campaign_attempts`); err != nil {
		return 0, fmt.Errorf("seed: ranked: analyze: %w", err)
	}
	fmt.Fprintf(out, "Campaign %d: %d ranked participants added in %s; now run: kepu leaderboard rebuild %d\n",
		campaignID, n, time.Since(start).Round(time.Second), campaignID)
	return campaignID, nil
}
