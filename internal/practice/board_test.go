package practice_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/kepu/kepu/internal/apptest"
	"github.com/kepu/kepu/internal/practice"
	"github.com/kepu/kepu/internal/scoring"
	"github.com/kepu/kepu/internal/testenv"
)

// weekUser adds a user of district with age band age and credits them
// points this week, reached at the week's start plus after.
func weekUser(t *testing.T, inst *apptest.Instance, name string, district int64, age string, points int, after time.Duration) int64 {
	t.Helper()
	ctx := context.Background()
	db := inst.DB.Pool
	var uid int64
	if err := db.QueryRow(ctx, `INSERT INTO users (username, nickname, region_id, age_band) VALUES ($1, $1, $2, $3)
		RETURNING id`, name, district, age).Scan(&uid); err != nil {
		t.Fatal(err)
	}
	if _, err := inst.App.Practice.AddPoints(ctx, nil, uid, points, "practice", "w-"+name); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, `UPDATE points_ledger SET at = (week::timestamp AT TIME ZONE 'Asia/Shanghai') + $2::interval
		WHERE user_id = $1`, uid, fmt.Sprintf("%d seconds", int(after.Seconds()))); err != nil {
		t.Fatal(err)
	}
	return uid
}

// A weekly board lost from Redis (its keys deleted) is rebuilt from
// Postgres once by the shared board machinery (leaderboard.Set), though
// two instances read it at once, with the same ranks as before: equal
// points rank who reached them first higher, as last week's snapshot
// does; an under-14's nickname is masked on it.
func TestWeeklyBoardRebuiltOnce(t *testing.T) {
	t.Parallel()
	if scoring.StandingScoreMax != 2097151 {
		t.Fatalf("scoring.StandingScoreMax = %d: update sqlWeekRanks", scoring.StandingScoreMax)
	}
	inst := apptest.Start(t)
	ctx := context.Background()
	district := inst.Seed.DistrictIDs["430702"]
	svc := inst.App.Practice
	// Created in this order, the later one has the higher id: Redis alone
	// would rank it first of the two with 20.
	early := weekUser(t, inst, "wk-early", district, "30_39", 20, time.Hour)
	late := weekUser(t, inst, "wk-late", district, "30_39", 20, 2*time.Hour)
	kid := weekUser(t, inst, "wk-kid", district, "u14", 30, 3*time.Hour)
	inst.DB.Pool.Exec(ctx, `UPDATE users SET nickname = '李小红' WHERE id = $1`, kid)
	low := weekUser(t, inst, "wk-low", district, "30_39", 10, time.Hour)
	svc.BoardTouch(ctx, late)

	type line struct {
		nick   string
		points int64
	}
	want := []line{{"李**", 30}, {"wk-early", 20}, {"wk-late", 20}, {"wk-low", 10}}
	check := func(what string, b practice.Board, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		var got []line
		for i, l := range b.Lines {
			got = append(got, line{l.Nickname, l.Points})
			if l.Rank != i+1 {
				t.Errorf("%s: line %d has rank %d", what, i, l.Rank)
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: got %v, want %v", what, got, want)
		}
	}
	b, err := svc.WeekBoard(ctx, practice.BoardDistrict, district, low)
	check("first read", b, err)
	if !b.Lines[3].Me {
		t.Errorf("first read: the viewer's line is not marked: %+v", b.Lines)
	}

	// Redis loses the week's boards; two instances read at once.
	week := practice.WeekOf(time.Now()).Format("20060102")
	keys, err := inst.App.Redis.Keys(ctx, inst.App.Keys.PracticeBoardPattern(week)).Result()
	if err != nil || len(keys) < 2 {
		t.Fatalf("week keys: got %v %v, want a board and its marker", keys, err)
	}
	if err := inst.App.Redis.Del(ctx, keys...).Err(); err != nil {
		t.Fatal(err)
	}
	peer := &practice.Service{DB: svc.DB, Now: svc.Now,
		Boards: &practice.Boards{Redis: inst.App.Redis, Keys: inst.App.Keys}}
	before := svc.BoardRebuilds() + peer.BoardRebuilds()
	var wg sync.WaitGroup
	boards := make([]practice.Board, 8)
	errs := make([]error, 8)
	for i := range boards {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := svc
			if i%2 == 1 {
				s = peer
			}
			boards[i], errs[i] = s.WeekBoard(ctx, practice.BoardDistrict, district, 0)
		}()
	}
	wg.Wait()
	for i := range boards {
		check(fmt.Sprintf("read %d after the loss", i), boards[i], errs[i])
	}
	if n := svc.BoardRebuilds() + peer.BoardRebuilds() - before; n != 1 {
		t.Errorf("rebuilds after the loss: got %d, want 1", n)
	}
	if n, _ := inst.App.Redis.Exists(ctx, inst.App.Keys.PracticeBoardsBuilt(week)).Result(); n != 1 {
		t.Errorf("the week's marker is not back after the rebuild")
	}

	// The snapshot of the week ranks in the same order.
	if err := svc.Snapshot(ctx, practice.WeekOf(time.Now())); err != nil {
		t.Fatal(err)
	}
	rows, _ := inst.DB.Pool.Query(ctx, `SELECT user_id FROM practice_week_boards WHERE week = $1 AND kind = 'district' AND grp = $2
		ORDER BY rank`, practice.WeekOf(time.Now()), district)
	var got []int64
	for rows.Next() {
		var id int64
		rows.Scan(&id)
		got = append(got, id)
	}
	if fmt.Sprint(got) != fmt.Sprint([]int64{kid, early, late, low}) {
		t.Errorf("snapshot order: got %v, want %v", got, []int64{kid, early, late, low})
	}
}

// With Redis away, the weekly boards are read from Postgres (their truth)
// in the same order: /points and its API keep working.
func TestWeeklyBoardWithoutRedis(t *testing.T) {
	t.Parallel()
	proxy := testenv.NewRedisProxy(t)
	inst := apptest.Start(t, apptest.Options{Env: map[string]string{"KEPU_REDIS_URL": proxy.RedisURL()}})
	district := inst.Seed.DistrictIDs["430702"]
	weekUser(t, inst, "wo-other", district, "u14", 40, time.Hour)
	me, pw := inst.CreateUser("wo-me", "participant")
	if _, err := inst.App.Practice.AddPoints(context.Background(), nil, me, 15, "practice", "wo"); err != nil {
		t.Fatal(err)
	}
	c := inst.Login("wo-me", pw)
	proxy.Cut()
	defer proxy.Restore()
	r := c.Do("GET", "/api/v1/practice/boards", nil)
	apptest.Expect(t, r, 200, "weekly boards without Redis")
	var w practice.Weekly
	r.JSON(t, &w)
	if len(w.Boards) != 1 || len(w.Boards[0].Lines) != 2 {
		t.Fatalf("weekly boards without Redis: got %+v, want the district board with 2 lines", w)
	}
	if l := w.Boards[0].Lines; l[0].Nickname != "w**" || l[0].Points != 40 || l[1].Points != 15 || !l[1].Me {
		t.Errorf("district board without Redis: got %+v, want the masked pupil with 40, then me with 15", l)
	}
	apptest.Expect(t, c.Do("GET", "/points", nil), 200, "points page without Redis")
}
