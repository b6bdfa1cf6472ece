package leaderboard_test

import (
	"context"
	"fmt"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/kepu/kepu/internal/apptest"
	"github.com/kepu/kepu/internal/kepu"
	"github.com/kepu/kepu/internal/leaderboard"
)

// attempt is one finished attempt of the test data: user index, score,
// time used and minutes after the campaign's start it finished.
type attempt struct {
	user, score int
	timeMS      int64
	at          int
}

// snapshot reads every board of the campaign (not the marker) in rank
// order with its scores.
func snapshot(t *testing.T, inst *apptest.Instance, campaignID int64) map[string][]redis.Z {
	t.Helper()
	ctx := context.Background()
	b := inst.App.Boards
	out := map[string][]redis.Z{}
	keys, err := b.Redis.Keys(ctx, b.Keys.BoardPattern(campaignID)).Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if k == b.Keys.BoardsBuilt(campaignID) {
			continue
		}
		zs, err := b.Redis.ZRevRangeWithScores(ctx, k, 0, -1).Result()
		if err != nil {
			t.Fatal(err)
		}
		out[k] = zs
	}
	return out
}

func flush(t *testing.T, inst *apptest.Instance, campaignID int64) {
	t.Helper()
	ctx := context.Background()
	b := inst.App.Boards
	keys, err := b.Redis.Keys(ctx, b.Keys.BoardPattern(campaignID)).Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) > 0 {
		if err := b.Redis.Del(ctx, keys...).Err(); err != nil {
			t.Fatal(err)
		}
	}
}

// After the campaign's Redis keys are flushed, a rebuild (what `kepu
// leaderboard rebuild` runs) and the automatic rebuild on first read
// produce the boards the live updates had built: same members, order and
// scores, ties included, for every counting rule.
func TestLeaderboardRebuildEqualsLive(t *testing.T) {
	inst := apptest.Start(t)
	// What is checked is the rebuilt board, not how long a reader waits
	// for it: on a loaded machine the rebuild may take longer than the
	// 2 s a reader waits by default (TestRebuildServesLastKnownTop covers that).
	inst.App.Boards.RebuildWait = 30 * time.Second
	ctx := context.Background()
	db := inst.DB.Pool
	var schoolID, classID int64
	if err := db.QueryRow(ctx, `SELECT id, school_id FROM classes ORDER BY id LIMIT 1`).Scan(&classID, &schoolID); err != nil {
		t.Fatal(err)
	}
	users := make([]int64, 5)
	for i := range users {
		users[i], _ = inst.CreateUser(fmt.Sprintf("lbuser%d", i), "participant")
	}
	// Users 0-2 are in one school and class.
	if _, err := db.Exec(ctx, `UPDATE users SET school_id = $2, class_id = $3 WHERE id = ANY($1)`, users[:3], schoolID, classID); err != nil {
		t.Fatal(err)
	}
	data := []attempt{
		{0, 900, 10000, 5}, {1, 900, 10000, 5}, // a full tie
		{2, 900, 12000, 4},
		{3, 500, 5000, 6},
		{4, 700, 8000, 2}, {4, 300, 4000, 7}, // best 700, latest 300, sum 1000
	}
	tests := []struct {
		counts string
		order  []int // expected overall order by user index; ties listed in Redis's order
	}{
		{"best", []int{-1, -1, 2, 4, 3}},
		{"sum", []int{4, -1, -1, 2, 3}},
		{"latest", []int{-1, -1, 2, 3, 4}},
	}
	// The tie of users 0 and 1: Redis orders equal scores by member, so
	// ZREVRANGE lists the larger member (as bytes) first.
	tie := []int{0, 1}
	if strconv.FormatInt(users[1], 10) > strconv.FormatInt(users[0], 10) {
		tie = []int{1, 0}
	}
	for _, tt := range tests {
		t.Run(tt.counts, func(t *testing.T) {
			// The attempts (up to 8 minutes after start) fall on today's
			// Beijing date, so that today's boards have lines: in the first
			// half hour of a Beijing day, start at its midnight (make test
			// at 00:03 Shanghai found no today boards).
			start := time.Now().Add(-30 * time.Minute).UTC().Truncate(time.Minute)
			y, m, d := time.Now().In(kepu.Shanghai).Date()
			if midnight := time.Date(y, m, d, 0, 0, 0, 0, kepu.Shanghai).UTC(); start.Before(midnight) {
				start = midnight
			}
			var id int64
			if err := db.QueryRow(ctx, `INSERT INTO campaigns (title, region_id, status, starts_at, ends_at, settings)
				VALUES ($1, $2, 'published', $3, $4, $5) RETURNING id`, "榜单"+tt.counts, inst.Seed.CityID, start,
				start.Add(48*time.Hour), map[string]any{"counts": tt.counts}).Scan(&id); err != nil {
				t.Fatal(err)
			}
			// Build the (empty) boards first: else the first Record finds
			// none and starts a rebuild in the background, whose swap can
			// land in the middle of the live snapshot below.
			if err := inst.App.Boards.Rebuild(ctx, id); err != nil {
				t.Fatalf("first build: %v", err)
			}
			for _, a := range data {
				if _, err := db.Exec(ctx, `INSERT INTO campaign_attempts (campaign_id, user_id, started_at, finished_at, score,
					max_score, passed, questions, answered, time_ms, region_id, school_id, class_id)
					SELECT $1, $2, $3, $3, $4, 1000, true, 10, 10, $5, region_id, school_id, class_id FROM users WHERE id = $2`,
					id, users[a.user], start.Add(time.Duration(a.at)*time.Minute+time.Second), a.score, a.timeMS); err != nil {
					t.Fatal(err)
				}
				if err := inst.App.Boards.Record(ctx, id, users[a.user]); err != nil {
					t.Fatalf("record: %v", err)
				}
			}
			live := snapshot(t, inst, id)
			all := live[inst.App.Boards.Key(id, leaderboard.Board{Kind: leaderboard.All})]
			var got []int64
			for _, z := range all {
				n, _ := strconv.ParseInt(z.Member.(string), 10, 64)
				got = append(got, n)
			}
			var want []int64
			ti := 0
			for _, u := range tt.order {
				if u < 0 {
					u = tie[ti]
					ti++
				}
				want = append(want, users[u])
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("overall board order: got %v, want %v", got, want)
			}
			if n := len(live); n < 6 { // overall, district, school, class × all-time and today
				t.Errorf("boards: got %d, want at least 6: %v", n, live)
			}
			cls := live[inst.App.Boards.Key(id, leaderboard.Board{Kind: leaderboard.Class, ID: classID})]
			if len(cls) != 3 {
				t.Errorf("class board: got %d members, want 3", len(cls))
			}

			flush(t, inst, id)
			if err := inst.App.Boards.Rebuild(ctx, id); err != nil {
				t.Fatalf("rebuild: %v", err)
			}
			if rebuilt := snapshot(t, inst, id); !reflect.DeepEqual(rebuilt, live) {
				t.Errorf("after rebuild:\n got %v\nwant %v", rebuilt, live)
			}

			flush(t, inst, id)
			top, err := inst.App.Boards.Top(ctx, id, leaderboard.Board{Kind: leaderboard.All}, 10, 0)
			if err != nil || len(top) != len(want) {
				t.Fatalf("top after flush: got %v %v, want %d entries", top, err, len(want))
			}
			if auto := snapshot(t, inst, id); !reflect.DeepEqual(auto, live) {
				t.Errorf("after automatic rebuild:\n got %v\nwant %v", auto, live)
			}
		})
	}
}

// TestLeaderboardBoardsOfTheSnapshot: a user who played in district A
// (900) and then in district B (100, then 200) stands on each district
// board with the attempts made there only — under every counting rule —
// and the overall board takes every attempt; a rebuild gives exactly the
// boards the live updates built.
func TestLeaderboardBoardsOfTheSnapshot(t *testing.T) {
	inst := apptest.Start(t)
	ctx := context.Background()
	db := inst.DB.Pool
	a, b := inst.Seed.DistrictIDs["430702"], inst.Seed.DistrictIDs["430703"]
	mover, _ := inst.CreateUser("lbmover", "participant")
	stay, _ := inst.CreateUser("lbstay", "participant")
	type play struct {
		user   int64
		region int64
		score  int
		at     int // minutes after the start
	}
	plays := []play{{mover, a, 900, 1}, {stay, b, 500, 2}, {mover, b, 100, 3}, {mover, b, 200, 4}}
	tests := []struct {
		counts          string
		overall, dA, dB int64 // the mover's score on each board
	}{
		{"best", 900, 900, 200},
		{"latest", 200, 900, 200},
		{"sum", 1200, 900, 300},
	}
	for _, tt := range tests {
		t.Run(tt.counts, func(t *testing.T) {
			// The attempts (up to 8 minutes after start) fall on today's
			// Beijing date, so that today's boards have lines: in the first
			// half hour of a Beijing day, start at its midnight (make test
			// at 00:03 Shanghai found no today boards).
			start := time.Now().Add(-30 * time.Minute).UTC().Truncate(time.Minute)
			y, m, d := time.Now().In(kepu.Shanghai).Date()
			if midnight := time.Date(y, m, d, 0, 0, 0, 0, kepu.Shanghai).UTC(); start.Before(midnight) {
				start = midnight
			}
			var id int64
			if err := db.QueryRow(ctx, `INSERT INTO campaigns (title, region_id, status, starts_at, ends_at, settings)
				VALUES ($1, $2, 'published', $3, $4, $5) RETURNING id`, "快照"+tt.counts, inst.Seed.CityID, start,
				start.Add(48*time.Hour), map[string]any{"counts": tt.counts}).Scan(&id); err != nil {
				t.Fatal(err)
			}
			for _, p := range plays {
				// The profile moves too: boards must follow the attempt's region, not it.
				if _, err := db.Exec(ctx, `UPDATE users SET region_id = $2 WHERE id = $1`, p.user, p.region); err != nil {
					t.Fatal(err)
				}
				if _, err := db.Exec(ctx, `INSERT INTO campaign_attempts (campaign_id, user_id, started_at, finished_at, score,
					max_score, passed, questions, answered, time_ms, region_id) VALUES ($1, $2, $3, $3, $4, 1000, true, 10, 10, 1000, $5)`,
					id, p.user, start.Add(time.Duration(p.at)*time.Minute), p.score, p.region); err != nil {
					t.Fatal(err)
				}
				if err := inst.App.Boards.Record(ctx, id, p.user); err != nil {
					t.Fatalf("record: %v", err)
				}
			}
			score := func(board leaderboard.Board) int64 {
				t.Helper()
				top, err := inst.App.Boards.Top(ctx, id, board, 10, 0)
				if err != nil {
					t.Fatal(err)
				}
				for _, e := range top {
					if e.Nickname == "lbmover" {
						return e.Score
					}
				}
				return -1
			}
			check := func(when string) {
				t.Helper()
				if got := score(leaderboard.Board{Kind: leaderboard.All}); got != tt.overall {
					t.Errorf("%s: overall: got %d, want %d", when, got, tt.overall)
				}
				if got := score(leaderboard.Board{Kind: leaderboard.District, ID: a}); got != tt.dA {
					t.Errorf("%s: district A: got %d, want %d", when, got, tt.dA)
				}
				if got := score(leaderboard.Board{Kind: leaderboard.District, ID: b}); got != tt.dB {
					t.Errorf("%s: district B: got %d, want %d", when, got, tt.dB)
				}
			}
			check("live")
			live := snapshot(t, inst, id)
			flush(t, inst, id)
			if err := inst.App.Boards.Rebuild(ctx, id); err != nil {
				t.Fatalf("rebuild: %v", err)
			}
			if rebuilt := snapshot(t, inst, id); !reflect.DeepEqual(rebuilt, live) {
				t.Errorf("after rebuild:\n got %v\nwant %v", rebuilt, live)
			}
			check("rebuilt")
		})
	}
}
