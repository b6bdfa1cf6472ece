package practice_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/kepu/kepu/internal/apptest"
	"github.com/kepu/kepu/internal/dashboard"
	"github.com/kepu/kepu/internal/kepu"
	"github.com/kepu/kepu/internal/practice"
)

// Organizers see daily-practice participation by district and age band,
// with groups under five people suppressed; a practice day older than 30
// days does not count; the weekly district board ranks the week's points
// with minors' names masked.
func TestPracticeDashboardAndWeeklyBoard(t *testing.T) {
	t.Parallel()
	inst := apptest.Start(t)
	ctx := context.Background()
	db := inst.DB.Pool
	var big, small int64
	for _, id := range inst.Seed.DistrictIDs {
		if big == 0 {
			big = id
		} else if small == 0 && id != big {
			small = id
		}
	}
	today := practice.DayOf(time.Now())
	add := func(name string, district int64, age string, day time.Time, finished bool) int64 {
		var uid int64
		if err := db.QueryRow(ctx, `INSERT INTO users (username, nickname, region_id, age_band) VALUES ($1, $1, $2, $3)
			RETURNING id`, name, district, age).Scan(&uid); err != nil {
			t.Fatal(err)
		}
		var fin *time.Time
		if finished {
			fin = &day
		}
		if _, err := db.Exec(ctx, `INSERT INTO practice_days (user_id, day, started_at, finished_at, questions, answered, correct,
			region_id, age_band) VALUES ($1, $2, $6, $3, 5, 5, 4, $4, $5)`, uid, day, fin, district, age, day); err != nil {
			t.Fatal(err)
		}
		return uid
	}
	var bigUsers []int64
	for i := range 6 {
		bigUsers = append(bigUsers, add(fmt.Sprintf("dash-big-%d", i), big, "30_39", today, i < 5))
	}
	// PK battles: two finished matches between people of the big district
	// (one match counts once), one still playing, one finished 40 days ago.
	pkMatch := func(status string, finished time.Time, users ...int64) {
		var id int64
		if err := db.QueryRow(ctx, `INSERT INTO pk_matches (mode, lang, status, versions, round_ms, reveal_ms, grace_ms, finished_at)
			VALUES (2, 'zh-CN', $1, '{}', 10000, 0, 0, $2) RETURNING id`, status, finished).Scan(&id); err != nil {
			t.Fatal(err)
		}
		for seat, u := range users {
			if _, err := db.Exec(ctx, `INSERT INTO pk_players (match_id, seat, user_id, nick) VALUES ($1, $2, $3, 'p')`, id, seat, u); err != nil {
				t.Fatal(err)
			}
		}
	}
	now := time.Now()
	pkMatch("done", now, bigUsers[0], bigUsers[1])
	pkMatch("done", now, bigUsers[2], bigUsers[0])
	pkMatch("playing", now, bigUsers[3], bigUsers[4])
	pkMatch("done", now.AddDate(0, 0, -40), bigUsers[3], bigUsers[4])
	add("dash-small-1", small, "u14", today, true)
	add("dash-small-2", small, "u14", today, true)
	add("dash-old", small, "u14", today.AddDate(0, 0, -40), true) // outside the window

	tab, err := inst.App.Dash.Practice(ctx, dashboard.Scope{Full: true}, "district")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]any{}
	for _, r := range tab.Rows {
		got[fmt.Sprint(r[0])] = r
	}
	var bigName, smallName string
	db.QueryRow(ctx, `SELECT name FROM regions WHERE id = $1`, big).Scan(&bigName)
	db.QueryRow(ctx, `SELECT name FROM regions WHERE id = $1`, small).Scan(&smallName)
	if r := got[bigName]; r == nil || r[1] != int64(6) || r[3] != int64(5) || r[4] != 80.0 || r[5] != int64(2) {
		t.Errorf("%s: got %v, want 6 people, 5 finished, 80%% right, 2 PK battles (all rows %v)", bigName, r, tab.Rows)
	}
	if r := got[smallName]; r == nil || r[1] != "<5" || r[2] != nil || len(tab.Suppressed) != 1 {
		t.Errorf("%s: got %v, want suppressed <5 (2 people; the 40-day-old one not counted)", smallName, r)
	}
	ages, err := inst.App.Dash.Practice(ctx, dashboard.Scope{Full: true}, "age")
	if err != nil || len(ages.Rows) != 2 {
		t.Fatalf("by age: got %v %v, want two bands", ages.Rows, err)
	}

	// The weekly district board: points of this week, minors masked.
	svc := inst.App.Practice
	kid := add("dash-kid", big, "u14", today.AddDate(0, 0, -1), false)
	db.Exec(ctx, `UPDATE users SET nickname = '张小明' WHERE id = $1`, kid)
	adult := add("dash-adult", big, "30_39", today.AddDate(0, 0, -1), false)
	if _, err := svc.AddPoints(ctx, nil, kid, 30, "practice", "t1"); err != nil {
		t.Fatal(err)
	}
	if added, err := svc.AddPoints(ctx, nil, kid, 30, "practice", "t1"); err != nil || added {
		t.Errorf("a second award with the same ref: added %v %v, want nothing", added, err)
	}
	if _, err := svc.AddPoints(ctx, nil, adult, 20, "pk", "pk:1"); err != nil {
		t.Fatal(err)
	}
	svc.BoardTouch(ctx, kid)
	w, err := svc.WeeklyOf(ctx, kid)
	if err != nil || len(w.Boards) != 1 || len(w.Boards[0].Lines) != 2 {
		t.Fatalf("weekly boards: got %+v %v, want the district board with 2 lines", w, err)
	}
	l := w.Boards[0].Lines
	if l[0].Nickname != "张**" || l[0].Points != 30 || !l[0].Me || l[1].Points != 20 {
		t.Errorf("district board: got %+v, want the masked kid first with 30, then 20", l)
	}
	// Redis lost: the board comes back from Postgres.
	keys, _ := inst.App.Redis.Keys(ctx, inst.App.Keys.PracticeBoardPattern(practice.WeekOf(time.Now()).Format("20060102"))).Result()
	if len(keys) == 0 {
		t.Fatal("no weekly board keys in Redis")
	}
	inst.App.Redis.Del(ctx, keys...)
	w, err = svc.WeeklyOf(ctx, adult)
	if err != nil || len(w.Boards[0].Lines) != 2 || w.Boards[0].Lines[1].Nickname == "" {
		t.Errorf("after a Redis flush: got %+v %v, want the board rebuilt", w, err)
	}
	if _, err := svc.AddPoints(ctx, nil, kid, 1, "Bad Reason", ""); kepu.ErrorCode(err) != kepu.EINVALID {
		t.Errorf("bad reason: got %v, want invalid", err)
	}

	// Over HTTP: visitors are refused, bad input is a 4xx in the reader's
	// language, and the key never comes with a question.
	anon := inst.Client()
	apptest.Expect(t, anon.Do("GET", "/api/v1/practice/today", nil), 401, "visitor")
	_, pw := inst.CreateUser("http-player", "participant")
	c := inst.Login("http-player", pw)
	r := c.Do("GET", "/api/v1/practice/today", nil)
	apptest.Expect(t, r, 200, "today")
	var st struct {
		Day      struct{ Day string } `json:"day"`
		Question map[string]any       `json:"question"`
	}
	r.JSON(t, &st)
	for _, k := range []string{"answer", "correct_choice", "explanation"} {
		if _, ok := st.Question[k]; ok {
			t.Errorf("question carries %q before the answer: %v", k, st.Question)
		}
	}
	apptest.Expect(t, c.Do("POST", "/api/v1/practice/answers", map[string]any{"day": "2026-13-01", "seq": 1, "choice": []int{0}}), 400, "bad day")
	apptest.Expect(t, c.Do("POST", "/api/v1/practice/answers", map[string]any{"day": st.Day.Day, "seq": 1, "choice": []int{99}}), 400, "bad choice")
	apptest.Expect(t, c.Do("POST", "/api/v1/practice/answers", map[string]any{"day": st.Day.Day, "seq": 3, "choice": []int{0}}), 409, "wrong seq")
	apptest.Expect(t, c.Do("POST", "/api/v1/notebook/999999/retry", nil), 404, "retry of a question not in the notebook")
}
