package server_test

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/xuri/excelize/v2"

	"github.com/kepu/kepu/internal/apptest"
	"github.com/kepu/kepu/internal/dashboard"
	"github.com/kepu/kepu/internal/dashboard/dashtest"
	"github.com/kepu/kepu/internal/testenv"
)

// dashFixture is a small hand-built campaign whose figures are worked out
// below. Eight participants each finish one attempt of two questions:
//
//	p1–p6 in school "=HYPERLINK(1)" (district 430702), class C1; p7, p8 in 430703, no school.
//	Q1 (key A): right p1 p2 p3 p6 p7; p4 p5 chose B, p8 chose C.
//	Q2 (key B): right p4 p6; p1 p2 p3 p5 p7 chose C, p8 chose D.
//	Scores (%): p1 50, p2 50, p3 50, p4 50, p5 0, p6 100, p7 50, p8 0. Pass ≥ 60: only p6.
type dashFixture struct {
	inst      *apptest.Instance
	campaign  int64
	q1, q2    int64 // question ids
	v1, v2    int64 // version ids
	classID   int64
	teacherPW string
	scores    []float64
	q1Right   []bool
	q2Right   []bool
}

// finishOne adds a new participant (dash-p9, 鼎城区) with one finished
// attempt of the fixture's campaign, one correct answer.
func (f *dashFixture) finishOne(t *testing.T) {
	t.Helper()
	ctx, db := context.Background(), f.inst.DB.Pool
	uid, err := dashtest.User(ctx, db, "dash-p9", f.inst.Seed.DistrictIDs["430703"], 0, 0, "u14", "student")
	if err != nil {
		t.Fatal(err)
	}
	a := dashtest.Answer{VersionID: f.v1, Choice: 0, Correct: true, MS: 3000}
	if _, err := dashtest.Attempt(ctx, db, f.campaign, uid, time.Now().Add(-10*time.Minute), true, a); err != nil {
		t.Fatal(err)
	}
}

func newDashFixture(t *testing.T, opts ...apptest.Options) *dashFixture {
	t.Helper()
	inst := apptest.Start(t, opts...)
	ctx := context.Background()
	db := inst.DB.Pool
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	f := &dashFixture{inst: inst}
	d1, d2 := inst.Seed.DistrictIDs["430702"], inst.Seed.DistrictIDs["430703"]
	var school int64
	must(db.QueryRow(ctx, `INSERT INTO schools (region_id, name) VALUES ($1, '=HYPERLINK(1)') RETURNING id`, d1).Scan(&school))
	teacherID, pw := inst.CreateUser("dash-teacher", "teacher")
	f.teacherPW = pw
	must(db.QueryRow(ctx, `INSERT INTO classes (school_id, name, grade, teacher_id) VALUES ($1, 'C1', 5, $2) RETURNING id`, school, teacherID).Scan(&f.classID))
	now := time.Now()
	var err error
	f.campaign, err = dashtest.Campaign(ctx, db, "2026 科学素质测评", inst.Seed.CityID, true, now.Add(-48*time.Hour), now.Add(48*time.Hour))
	must(err)
	f.q1, f.v1, err = dashtest.Question(ctx, db, inst.Seed.CityID, "Q1 stem", []string{"A", "B", "C", "D"}, 0, "health", "knowledge")
	must(err)
	f.q2, f.v2, err = dashtest.Question(ctx, db, inst.Seed.CityID, "Q2 stem", []string{"A", "B", "C", "D"}, 1, "safety", "method")
	must(err)
	q1 := []int{0, 0, 0, 1, 1, 0, 0, 2}
	q2 := []int{2, 2, 2, 1, 2, 1, 2, 3}
	start := now.Add(-3 * time.Hour)
	for i := range 8 {
		region, sc, cl := d1, school, f.classID
		if i >= 6 {
			region, sc, cl = d2, 0, 0
		}
		uid, err := dashtest.User(ctx, db, "dash-p"+string(rune('1'+i)), region, sc, cl, "u14", "student")
		must(err)
		a1 := dashtest.Answer{VersionID: f.v1, Choice: q1[i], Correct: q1[i] == 0, MS: 4000}
		a2 := dashtest.Answer{VersionID: f.v2, Choice: q2[i], Correct: q2[i] == 1, MS: 8000}
		_, err = dashtest.Attempt(ctx, db, f.campaign, uid, start.Add(time.Duration(i)*time.Minute), true, a1, a2)
		must(err)
		score := 0.0
		if a1.Correct {
			score += 50
		}
		if a2.Correct {
			score += 50
		}
		f.scores = append(f.scores, score)
		f.q1Right = append(f.q1Right, a1.Correct)
		f.q2Right = append(f.q2Right, a2.Correct)
	}
	foldAll(t, db, f.campaign)
	inst.App.Dash.MinFlagAnswers = 5
	return f
}

// pointBiserial is the textbook formula, written out independently of the
// dashboard's moments.
func pointBiserial(scores []float64, right []bool) float64 {
	var n, n1, sum, sum1, sumsq float64
	for i, s := range scores {
		n++
		sum += s
		sumsq += s * s
		if right[i] {
			n1++
			sum1 += s
		}
	}
	mean := sum / n
	sd := math.Sqrt(sumsq/n - mean*mean)
	m1, m0 := sum1/n1, (sum-sum1)/(n-n1)
	p := n1 / n
	return (m1 - m0) / sd * math.Sqrt(p*(1-p))
}

func TestDashboardAggregates(t *testing.T) {
	t.Parallel()
	f := newDashFixture(t)
	adminID, pw := f.inst.CreateUser("dash-admin", "admin")
	_ = adminID
	admin := f.inst.Login("dash-admin", pw)
	base := "/api/v1/dash/campaigns/" + dashID(f.campaign)

	var sum struct {
		Headline dashboard.Headline
		Full     bool
	}
	r := admin.Do("GET", base, nil)
	apptest.Expect(t, r, 200, "summary")
	r.JSON(t, &sum)
	h := sum.Headline
	if h.Participants != 8 || h.Attempts != 8 || h.Finished != 8 || !sum.Full {
		t.Errorf("headline: got participants %d attempts %d finished %d full %v, want 8 8 8 true", h.Participants, h.Attempts, h.Finished, sum.Full)
	}
	if !dashNear(h.PassRate, 1.0/8) || !dashNear(h.AvgScore, 350.0/8) || !dashNear(h.CompletionRate, 1) {
		t.Errorf("headline: got pass %v avg %v completion %v, want 0.125 43.75 1", h.PassRate, h.AvgScore, h.CompletionRate)
	}

	items, byQ := dashItems(t, admin, f.campaign)
	i1, i2 := byQ[f.q1], byQ[f.q2]
	if i1.Answers != 8 || !dashNear(i1.Facility, 5.0/8) || !dashNear(i2.Facility, 2.0/8) {
		t.Errorf("facility: got %d answers, Q1 %v Q2 %v; want 8, 0.625, 0.25", i1.Answers, i1.Facility, i2.Facility)
	}
	if want := pointBiserial(f.scores, f.q1Right); i1.PointBiserial == nil || !dashNear(*i1.PointBiserial, want) {
		t.Errorf("Q1 point-biserial: got %v, want %v", dashPtr(i1.PointBiserial), want)
	}
	if want := pointBiserial(f.scores, f.q2Right); i2.PointBiserial == nil || !dashNear(*i2.PointBiserial, want) {
		t.Errorf("Q2 point-biserial: got %v, want %v", dashPtr(i2.PointBiserial), want)
	}
	if got := i1.OptionCounts; len(got) != 4 || got[0] != 5 || got[1] != 2 || got[2] != 1 || got[3] != 0 {
		t.Errorf("Q1 option counts: got %v, want [5 2 1 0]", got)
	}
	if !dashNear(i1.AvgSeconds, 4) {
		t.Errorf("Q1 average time: got %v, want 4", i1.AvgSeconds)
	}
	if len(i1.Flags) != 0 || !strings.Contains(strings.Join(i2.Flags, ","), dashboard.FlagDistractor) {
		t.Errorf("flags: got Q1 %v Q2 %v, want none and %s", i1.Flags, i2.Flags, dashboard.FlagDistractor)
	}
	if len(items) > 0 && items[0].QuestionID != f.q2 {
		t.Errorf("flagged items first: got %d first, want %d", items[0].QuestionID, f.q2)
	}

	// By school, as an organizer sees it: the school's 6 shown with tiers;
	// the 2 without a school suppressed.
	org := f.inst.Login(dashUser(f.inst, "dash-org", "organizer"))
	var school dashboard.Table
	r = org.Do("GET", base+"/views/school", nil)
	apptest.Expect(t, r, 200, "school view")
	r.JSON(t, &school)
	if len(school.Rows) != 2 {
		t.Fatalf("school rows: got %v, want 2", school.Rows)
	}
	got := school.Rows[0]
	// name, participants, attempts, avg, pass rate, then the tiers of
	// scoring.DefaultTiers (>85 advanced, >70 literate, ≥55 basic): 100 is
	// advanced, 50 and 0 are low.
	want := []any{"=HYPERLINK(1)", 6.0, 6.0, 50.0, 16.7, 16.7, 0.0, 0.0, 83.3}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("school row col %d (%s): got %v, want %v", i, school.Columns[i], got[i], want[i])
		}
	}
	if school.Rows[1][1] != "<5" || school.Rows[1][2] != nil {
		t.Errorf("small group: got %v, want suppressed", school.Rows[1])
	}

	var day dashboard.Table
	admin.Do("GET", base+"/views/timeline_day", nil).JSON(t, &day)
	var answers float64
	for _, row := range day.Rows {
		answers += row[4].(float64)
	}
	if answers != 16 {
		t.Errorf("timeline answers: got %v, want 16 (%v)", answers, day.Rows)
	}
	var hist dashboard.Table
	admin.Do("GET", base+"/views/scores", nil).JSON(t, &hist)
	if len(hist.Rows) != 10 || hist.Rows[0][1] != 2.0 || hist.Rows[5][1] != 5.0 || hist.Rows[9][1] != 1.0 {
		t.Errorf("histogram: got %v, want 2 at 0–9, 5 at 50–59, 1 at 90–100", hist.Rows)
	}
	var dims dashboard.Table
	admin.Do("GET", base+"/views/dimensions", nil).JSON(t, &dims)
	if len(dims.Rows) != 2 || dims.Rows[0][0] != "科学方法" || dims.Rows[0][3] != 25.0 {
		t.Errorf("dimensions (weakest first): got %v, want 科学方法 25%% first", dims.Rows)
	}
	var roster dashboard.Table
	teacher := f.inst.Login("dash-teacher", f.teacherPW)
	teacher.Do("GET", base+"/views/roster", nil).JSON(t, &roster)
	if len(roster.Rows) != 1 || roster.Rows[0][1] != "C1" || roster.Rows[0][2] != 6.0 || roster.Rows[0][3] != 6.0 {
		t.Errorf("roster: got %v, want C1 6 of 6", roster.Rows)
	}
}

func TestDashboardScope(t *testing.T) {
	t.Parallel()
	f := newDashFixture(t)
	base := "/api/v1/dash/campaigns/" + dashID(f.campaign)
	d2 := f.inst.Seed.DistrictIDs["430703"]
	id, pw := f.inst.CreateUser("dash-org2", "organizer", d2)
	_ = id
	org2 := f.inst.Login("dash-org2", pw)
	city := f.inst.Login(dashUser(f.inst, "dash-orgcity", "organizer"))
	teacher := f.inst.Login("dash-teacher", f.teacherPW)
	pupil := f.inst.Login(dashUser(f.inst, "dash-pupil", "participant"))
	otherTeacher := f.inst.Login(dashUser(f.inst, "dash-t2", "teacher"))

	participants := func(c *apptest.Client) int64 {
		var s struct{ Headline dashboard.Headline }
		r := c.Do("GET", base, nil)
		apptest.Expect(t, r, 200, "summary")
		r.JSON(t, &s)
		return s.Headline.Participants
	}
	for _, tt := range []struct {
		name string
		c    *apptest.Client
		want int64
	}{{"district organizer sees their subtree", org2, 2}, {"city organizer", city, 8}, {"teacher sees their class", teacher, 6}} {
		if got := participants(tt.c); got != tt.want {
			t.Errorf("%s: got %d participants, want %d", tt.name, got, tt.want)
		}
	}
	for _, tt := range []struct {
		name   string
		c      *apptest.Client
		method string
		path   string
		status int
	}{
		{"participant summary", pupil, "GET", base, 403},
		{"teacher without classes", otherTeacher, "GET", base, 403},
		{"participant overview", pupil, "GET", "/api/v1/dash/overview", 403},
		{"participant export", pupil, "GET", base + "/export/school", 403},
		{"participant page", pupil, "GET", "/dash/campaigns/" + dashID(f.campaign), 403},
		{"anonymous", f.inst.Client(), "GET", base, 401},
		{"district organizer items (campaign is city-wide)", org2, "GET", base + "/items", 403},
		{"district organizer categories", org2, "GET", base + "/views/categories", 403},
		{"teacher items", teacher, "GET", base + "/items", 403},
		{"teacher retire", teacher, "POST", base + "/items/" + dashID(f.q2) + "/retire", 403},
		{"district organizer retire", org2, "POST", base + "/items/" + dashID(f.q2) + "/retire", 403},
		{"unknown view", city, "GET", base + "/views/nope", 404},
		{"unknown campaign", city, "GET", "/api/v1/dash/campaigns/999999", 404},
		{"bad format", city, "GET", base + "/export/school?format=pdf", 400},
		{"retire a question the campaign did not use", city, "POST", base + "/items/999999/retire", 404},
	} {
		if r := tt.c.Do(tt.method, tt.path, nil); r.Status != tt.status {
			t.Errorf("%s: got %d, want %d (%s)", tt.name, r.Status, tt.status, r.Body)
		}
	}

	// A campaign of another district reaches neither its organizers nor its teachers.
	var other int64
	if err := f.inst.DB.Pool.QueryRow(context.Background(), `INSERT INTO campaigns (title, region_id, kind, starts_at, ends_at)
		VALUES ('鼎城区活动', $1, 'quiz', now(), now() + interval '1 day') RETURNING id`, d2).Scan(&other); err != nil {
		t.Fatal(err)
	}
	d1org := f.inst.Login(dashUser(f.inst, "dash-org-d1", "organizer", f.inst.Seed.DistrictIDs["430702"]))
	for _, tt := range []struct {
		name   string
		c      *apptest.Client
		status int
	}{{"organizer of another district", d1org, 403}, {"teacher in another district", teacher, 403},
		{"organizer of the district", org2, 200}, {"city organizer", city, 200}} {
		if r := tt.c.Do("GET", "/api/v1/dash/campaigns/"+dashID(other), nil); r.Status != tt.status {
			t.Errorf("district campaign, %s: got %d, want %d", tt.name, r.Status, tt.status)
		}
	}

	// One click retires a flagged question, with an audit entry.
	apptest.Expect(t, city.Do("POST", base+"/items/"+dashID(f.q2)+"/retire", nil), 200, "retire")
	var status string
	var audits int
	ctx := context.Background()
	f.inst.DB.Pool.QueryRow(ctx, `SELECT status FROM questions WHERE id = $1`, f.q2).Scan(&status)
	f.inst.DB.Pool.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE action = 'question.retire' AND target = $1`, "question:"+dashID(f.q2)).Scan(&audits)
	if status != "retired" || audits != 1 {
		t.Errorf("retire: got status %q and %d audit entries, want retired and 1", status, audits)
	}
}

func TestDashboardExports(t *testing.T) {
	t.Parallel()
	f := newDashFixture(t)
	city := f.inst.Login(dashUser(f.inst, "dash-exp", "organizer"))
	base := "/api/v1/dash/campaigns/" + dashID(f.campaign) + "/export/school"
	r := city.Do("GET", base, nil)
	apptest.Expect(t, r, 200, "csv")
	body := string(r.Body)
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
		t.Errorf("content type: got %q", ct)
	}
	if !strings.HasPrefix(body, "\ufeff学校,参与人数,答题次数,平均分,及格率") {
		t.Errorf("csv header: got %q", strings.SplitN(body, "\n", 2)[0])
	}
	if !strings.Contains(body, "\n'=HYPERLINK(1),6,6,50,16.7,16.7,0,0,83.3") {
		t.Errorf("csv: formula not neutralized or figures wrong:\n%s", body)
	}
	if !strings.Contains(body, "未填写,<5,,,,") {
		t.Errorf("csv: small group not suppressed:\n%s", body)
	}
	r = city.Do("GET", base+"?format=xlsx", nil)
	apptest.Expect(t, r, 200, "xlsx")
	x, err := excelize.OpenReader(strings.NewReader(string(r.Body)))
	if err != nil {
		t.Fatal(err)
	}
	rows, _ := x.GetRows(x.GetSheetName(0))
	if len(rows) != 3 || rows[1][0] != "'=HYPERLINK(1)" {
		t.Errorf("xlsx rows: got %q", rows)
	}
	// English headers follow the language.
	city.Do("GET", "/lang/en?next=/", nil)
	r = city.Do("GET", base, nil)
	if !strings.HasPrefix(string(r.Body), "\ufeffSchool,Participants") {
		t.Errorf("english csv header: got %q", strings.SplitN(string(r.Body), "\n", 2)[0])
	}
	// The print report renders every table on the server.
	city.Do("GET", "/lang/zh-CN?next=/", nil)
	r = city.Do("GET", "/dash/campaigns/"+dashID(f.campaign)+"/report", nil)
	apptest.Expect(t, r, 200, "report")
	for _, want := range []string{"年度总结报告", "按学校", "题目分析", "=HYPERLINK(1)"} {
		if !strings.Contains(string(r.Body), want) {
			t.Errorf("report lacks %q", want)
		}
	}
}

func dashNear(a, b float64) bool { return math.Abs(a-b) < 1e-6 }

func dashID(n int64) string { return strconv.FormatInt(n, 10) }

func dashUser(inst *apptest.Instance, name, role string, scope ...int64) (string, string) {
	_, pw := inst.CreateUser(name, role, scope...)
	return name, pw
}

// A teacher's contest report: runs, per question and per player; other
// teachers get 403; nicknames are masked unless the host asks for names.
func TestDashboardContestReport(t *testing.T) {
	t.Parallel()
	inst := apptest.Start(t)
	ctx := context.Background()
	db := inst.DB.Pool
	hostID, hostPW := inst.CreateUser("dash-host", "teacher")
	_, v1, err := dashtest.Question(ctx, db, inst.Seed.CityID, "Q1 stem", []string{"A", "B", "C"}, 0, "life", "knowledge")
	if err != nil {
		t.Fatal(err)
	}
	var contestID, runID int64
	steps := []func() error{
		func() error {
			return db.QueryRow(ctx, `INSERT INTO contests (owner_id, title, settings) VALUES ($1, '班级挑战', '{}') RETURNING id`, hostID).Scan(&contestID)
		},
		func() error {
			_, err := db.Exec(ctx, `INSERT INTO contest_questions (contest_id, position, question_version_id) VALUES ($1, 0, $2)`, contestID, v1)
			return err
		},
		func() error {
			return db.QueryRow(ctx, `INSERT INTO contest_runs (contest_id, host_id, pin, status, settings, started_at, ended_at)
				VALUES ($1, $2, '123456', 'finished', '{}', now(), now()) RETURNING id`, contestID, hostID).Scan(&runID)
		},
		func() error {
			_, err := db.Exec(ctx, `INSERT INTO contest_players (run_id, player_id, nickname, score, correct, rank) VALUES
				($1, 1, '张小明', 900, 1, 1), ($1, 2, '=cmd', 0, 0, 2), ($1, 3, 'Li', 0, 0, 3)`, runID)
			return err
		},
		func() error {
			_, err := db.Exec(ctx, `INSERT INTO contest_answers (run_id, player_id, position, choice, correct, points, elapsed_ms) VALUES
				($1, 1, 0, '{0}', true, 900, 2000), ($1, 2, 0, '{1}', false, 0, 4000), ($1, 3, 0, '{1}', false, 0, 6000)`, runID)
			return err
		},
	}
	for _, step := range steps {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	host := inst.Login("dash-host", hostPW)
	base := "/api/v1/dash/contests/" + dashID(contestID)
	var q dashboard.Table
	r := host.Do("GET", base+"/views/questions", nil)
	apptest.Expect(t, r, 200, "questions")
	r.JSON(t, &q)
	// position, stem, answers, facility %, avg seconds, wrong options
	if len(q.Rows) != 1 || q.Rows[0][2] != 3.0 || q.Rows[0][3] != 33.3 || q.Rows[0][4] != 4.0 || q.Rows[0][5] != "B:2 C:0" {
		t.Errorf("questions: got %v, want 3 answers, 33.3%%, 4s, B:2 C:0", q.Rows)
	}
	// The report is the host's (and staff's over the host's region): pupils'
	// full nicknames, in the table and in the export, with no opt-in.
	var players dashboard.Table
	host.Do("GET", base+"/views/players", nil).JSON(t, &players)
	if len(players.Rows) != 3 || players.Rows[0][2] != "张小明" || players.Rows[2][2] != "Li" {
		t.Errorf("host's players table: got %v, want full nicknames 张小明 … Li", players.Rows)
	}
	r = host.Do("GET", base+"/export/players", nil)
	if !strings.Contains(string(r.Body), "\n1,2,'=cmd,") || !strings.Contains(string(r.Body), "张小明") {
		t.Errorf("players csv: want the full nickname and the formula neutralized:\n%s", r.Body)
	}
	var runs dashboard.Table
	host.Do("GET", base+"/views/runs", nil).JSON(t, &runs)
	if len(runs.Rows) != 1 || runs.Rows[0][2] != "已结束" || runs.Rows[0][3] != 3.0 || runs.Rows[0][4] != 300.0 {
		t.Errorf("runs: got %v, want one finished run, 3 players, 300 average", runs.Rows)
	}
	other := inst.Login(dashUser(inst, "dash-other-teacher", "teacher"))
	pupil := inst.Login(dashUser(inst, "dash-pupil2", "participant"))
	org := inst.Login(dashUser(inst, "dash-org3", "organizer"))
	for _, tt := range []struct {
		name   string
		c      *apptest.Client
		path   string
		status int
	}{
		{"another teacher", other, base + "/views/players", 403},
		{"another teacher export", other, base + "/export/players", 403},
		{"participant", pupil, base + "/views/runs", 403},
		{"organizer of the host's region", org, base + "/views/runs", 200},
		{"organizer of the host's region sees the players", org, base + "/views/players", 200},
		{"page for another teacher", other, "/dash/contests/" + dashID(contestID), 403},
		{"page for the host", host, "/dash/contests/" + dashID(contestID), 200},
		{"unknown contest", host, "/api/v1/dash/contests/999999/views/runs", 404},
	} {
		r := tt.c.Do("GET", tt.path, nil)
		if r.Status != tt.status {
			t.Errorf("%s: got %d, want %d (%s)", tt.name, r.Status, tt.status, r.Body)
		}
		if tt.status != 200 && strings.Contains(string(r.Body), "张小明") {
			t.Errorf("%s: refused, but the nickname is in the answer", tt.name)
		}
		if tt.c == org && strings.HasSuffix(tt.path, "/players") && !strings.Contains(string(r.Body), "张小明") {
			t.Errorf("%s: want the full nickname, got %s", tt.name, r.Body)
		}
	}
}

// The live headline websocket: pushes the headline to staff in scope,
// refuses foreign origins and participants before the upgrade.
func TestDashboardLiveSocket(t *testing.T) {
	t.Parallel()
	f := newDashFixture(t)
	url := "ws" + strings.TrimPrefix(f.inst.URL, "http") + "/ws/dash/" + dashID(f.campaign)
	org := f.inst.Login(dashUser(f.inst, "dash-live-org", "organizer"))
	pupil := f.inst.Login(dashUser(f.inst, "dash-live-pupil", "participant"))
	header := func(c *apptest.Client, origin string) http.Header {
		return http.Header{"Origin": {origin}, "Cookie": {"kepu_session=" + c.Cookie("kepu_session")}}
	}
	ws, _, err := websocket.DefaultDialer.Dial(url, header(org, f.inst.URL))
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer ws.Close()
	ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	var m struct {
		Type     string
		Headline dashboard.Headline
	}
	if err := ws.ReadJSON(&m); err != nil || m.Type != "headline" || m.Headline.Participants != 8 {
		t.Errorf("first message: got %+v, %v; want a headline with 8 participants", m, err)
	}
	for _, tt := range []struct {
		name   string
		h      http.Header
		status int
	}{
		{"foreign origin", header(org, "https://evil.example"), 403},
		{"participant", header(pupil, f.inst.URL), 403},
		{"anonymous", http.Header{"Origin": {f.inst.URL}}, 401},
	} {
		_, resp, err := websocket.DefaultDialer.Dial(url, tt.h)
		if err == nil || resp == nil || resp.StatusCode != tt.status {
			code := 0
			if resp != nil {
				code = resp.StatusCode
			}
			t.Errorf("%s: got %d (%v), want %d", tt.name, code, err, tt.status)
		}
	}
}

// foldAll folds every committed attempt of campaign into the dashboard
// rollups. The instance's own background refresher may hold the fold lock
// (then a Refresh folds nothing) or fold some rows itself, so it refreshes
// until every finished attempt is counted, for at most 10 s.
func foldAll(t *testing.T, db *pgxpool.Pool, campaign int64) {
	t.Helper()
	ctx := context.Background()
	var want int64
	if err := db.QueryRow(ctx, `SELECT count(*) FROM campaign_attempts WHERE campaign_id = $1 AND finished_at IS NOT NULL`, campaign).Scan(&want); err != nil {
		t.Fatal(err)
	}
	var got int64
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if _, err := (&dashboard.Refresher{DB: db, CommitLag: -1}).Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		if err := db.QueryRow(ctx, `SELECT coalesce(sum(finished), 0) FROM dash_hourly WHERE campaign_id = $1`, campaign).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got == want {
			return
		}
	}
	t.Fatalf("dashboard fold: %d finished attempts counted, want %d", got, want)
}

// dashCounter reads a counter of the instance's metrics registry.
func dashCounter(t *testing.T, inst *apptest.Instance, name string) float64 {
	t.Helper()
	mfs, err := inst.App.Server.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("metric %s not found", name)
	return 0
}

// Two dashboards open on one campaign in one scope: a refresh that folds
// new rows computes the headline once and pushes it to both.
func TestDashboardLivePushOncePerRefresh(t *testing.T) {
	t.Parallel()
	f := newDashFixture(t)
	url := "ws" + strings.TrimPrefix(f.inst.URL, "http") + "/ws/dash/" + dashID(f.campaign)
	org := f.inst.Login(dashUser(f.inst, "dash-push-org", "organizer"))
	h := http.Header{"Origin": {f.inst.URL}, "Cookie": {"kepu_session=" + org.Cookie("kepu_session")}}
	type msg struct {
		Type     string
		Headline dashboard.Headline
	}
	var socks []*websocket.Conn
	for i := range 2 {
		ws, _, err := websocket.DefaultDialer.Dial(url, h)
		if err != nil {
			t.Fatalf("dial %d: %v", i, err)
		}
		defer ws.Close()
		ws.SetReadDeadline(time.Now().Add(10 * time.Second))
		var m msg
		if err := ws.ReadJSON(&m); err != nil || m.Type != "headline" || m.Headline.Participants != 8 {
			t.Fatalf("socket %d first message: got %+v, %v; want a headline with 8 participants", i, m, err)
		}
		socks = append(socks, ws)
	}

	// The instance's refresher may still push the fixture's rows (before
	// or while the sockets opened): count from here.
	refreshes0 := dashCounter(t, f.inst, "kepu_dash_live_refreshes_total")
	headlines0 := dashCounter(t, f.inst, "kepu_dash_live_headlines_total")
	f.finishOne(t)
	// The instance's own refresher (every 3 s, rows 2 s old) folds the
	// attempt and pushes; both sockets see the ninth participant.
	for i, ws := range socks {
		ws.SetReadDeadline(time.Now().Add(20 * time.Second))
		for {
			var m msg
			if err := ws.ReadJSON(&m); err != nil {
				t.Fatalf("socket %d: no push with 9 participants: %v", i, err)
			}
			if m.Type != "headline" {
				t.Fatalf("socket %d: got type %q, want headline", i, m.Type)
			}
			if m.Headline.Participants == 9 {
				break
			}
		}
	}
	refreshes := dashCounter(t, f.inst, "kepu_dash_live_refreshes_total") - refreshes0
	headlines := dashCounter(t, f.inst, "kepu_dash_live_headlines_total") - headlines0
	if refreshes < 1 || headlines < 1 || headlines > refreshes {
		t.Errorf("pushes: %v headlines computed for %v refreshes, want one per refresh (one open topic, two sockets)", headlines, refreshes)
	}
}

// TestDashboardSocketSurvivesRedisDrop: the instance reaches Redis through a
// proxy that is cut (its subscription to refresh announcements drops) and
// then restored; without a restart the subscription comes back by itself,
// and an open dashboard is pushed the next participant.
func TestDashboardSocketSurvivesRedisDrop(t *testing.T) {
	t.Parallel()
	proxy := testenv.NewRedisProxy(t)
	f := newDashFixture(t, apptest.Options{Env: map[string]string{"KEPU_REDIS_URL": proxy.RedisURL()}})
	url := "ws" + strings.TrimPrefix(f.inst.URL, "http") + "/ws/dash/" + dashID(f.campaign)
	org := f.inst.Login(dashUser(f.inst, "dash-drop-org", "organizer"))
	ws, _, err := websocket.DefaultDialer.Dial(url, http.Header{"Origin": {f.inst.URL}, "Cookie": {"kepu_session=" + org.Cookie("kepu_session")}})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer ws.Close()
	type msg struct {
		Type     string
		Headline dashboard.Headline
	}
	readUntil := func(what string, participants int64) {
		t.Helper()
		ws.SetReadDeadline(time.Now().Add(20 * time.Second))
		for {
			var m msg
			if err := ws.ReadJSON(&m); err != nil {
				t.Fatalf("%s: no headline with %d participants: %v", what, participants, err)
			}
			if m.Type == "headline" && int64(m.Headline.Participants) == participants {
				return
			}
		}
	}
	readUntil("first message", 8)

	dropRedis(t, f.inst, proxy, f.inst.Redis.Keys.DashRefreshChannel())

	f.finishOne(t)
	// The instance's own refresher (every 3 s, rows 2 s old) folds it and
	// announces the refresh; the socket sees the ninth participant.
	readUntil("after Redis came back", 9)
}

// A contest reordered between two runs: the per-question report counts
// each answer for the question its run played at that position (the run's
// snapshot), not for whatever question sits at that position now.
func TestDashboardContestQuestionsFollowTheRun(t *testing.T) {
	t.Parallel()
	inst := apptest.Start(t)
	ctx := context.Background()
	db := inst.DB.Pool
	hostID, hostPW := inst.CreateUser("dash-reorder-host", "teacher")
	_, v1, err := dashtest.Question(ctx, db, inst.Seed.CityID, "Q1 stem", []string{"A", "B", "C"}, 0, "life", "knowledge")
	if err != nil {
		t.Fatal(err)
	}
	_, v2, err := dashtest.Question(ctx, db, inst.Seed.CityID, "Q2 stem", []string{"A", "B", "C"}, 0, "life", "knowledge")
	if err != nil {
		t.Fatal(err)
	}
	var contestID int64
	if err := db.QueryRow(ctx, `INSERT INTO contests (owner_id, title, settings) VALUES ($1, '顺序调整', '{}') RETURNING id`, hostID).Scan(&contestID); err != nil {
		t.Fatal(err)
	}
	// run plays the versions in order, the contest holding them in that order
	// at the time; one player answers position 0 with a and position 1 with b.
	run := func(pin string, versions [2]int64, a, b int) {
		t.Helper()
		if _, err := db.Exec(ctx, `DELETE FROM contest_questions WHERE contest_id = $1`, contestID); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(ctx, `INSERT INTO contest_questions (contest_id, position, question_version_id) VALUES ($1, 0, $2), ($1, 1, $3)`,
			contestID, versions[0], versions[1]); err != nil {
			t.Fatal(err)
		}
		var runID int64
		snapshot := fmt.Sprintf(`[{"version_id": %d}, {"version_id": %d}]`, versions[0], versions[1])
		if err := db.QueryRow(ctx, `INSERT INTO contest_runs (contest_id, host_id, pin, status, settings, questions, started_at, ended_at)
			VALUES ($1, $2, $3, 'finished', '{}', $4, now(), now()) RETURNING id`, contestID, hostID, pin, snapshot).Scan(&runID); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(ctx, `INSERT INTO contest_players (run_id, player_id, nickname, score, correct, rank) VALUES ($1, 1, '小红', 0, 0, 1)`, runID); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(ctx, `INSERT INTO contest_answers (run_id, player_id, position, choice, correct, points, elapsed_ms) VALUES
			($1, 1, 0, ARRAY[$2::int], $2 = 0, 0, 1000), ($1, 1, 1, ARRAY[$3::int], $3 = 0, 0, 3000)`, runID, a, b); err != nil {
			t.Fatal(err)
		}
	}
	run("223451", [2]int64{v1, v2}, 0, 1) // Q1 right, Q2 answered B
	run("223452", [2]int64{v2, v1}, 0, 2) // reordered: Q2 right, Q1 answered C

	host := inst.Login("dash-reorder-host", hostPW)
	var q dashboard.Table
	r := host.Do("GET", "/api/v1/dash/contests/"+dashID(contestID)+"/views/questions", nil)
	apptest.Expect(t, r, 200, "questions")
	r.JSON(t, &q)
	// position, stem, answers, facility %, avg seconds, wrong options: in the
	// contest's order now (Q2, Q1), each over both runs.
	want := [][]any{{1.0, "Q2 stem", 2.0, 50.0, 2.0, "B:1 C:0"}, {2.0, "Q1 stem", 2.0, 50.0, 2.0, "B:0 C:1"}}
	if fmt.Sprint(q.Rows) != fmt.Sprint(want) {
		t.Errorf("questions after a reorder: got %v, want %v", q.Rows, want)
	}
}

// dashPtr shows a figure that may be missing.
func dashPtr(v *float64) any {
	if v == nil {
		return "none"
	}
	return *v
}
