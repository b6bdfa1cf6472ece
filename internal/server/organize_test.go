package server_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/kepu/kepu/internal/apptest"
)

// inEnglish returns a client that shares c's session and has chosen English.
func inEnglish(t *testing.T, inst *apptest.Instance, c *apptest.Client) *apptest.Client {
	t.Helper()
	en := inst.SameBrowser(c)
	if r := postForm(t, en, "/lang", url.Values{"lang": {"en"}, "next": {"/"}, "_csrf": {en.CSRF()}}, nil); r.Status >= 400 {
		t.Fatalf("choose English: got %d", r.Status)
	}
	return en
}

// TestAuditTimesAreBeijing: the audit log shows an entry made at 23:30 UTC
// on the next day at 07:30 and says it is Beijing time (the old page
// showed "2026-01-01 23:30:00 UTC").
func TestAuditTimesAreBeijing(t *testing.T) {
	t.Parallel()
	inst := apptest.Start(t)
	_, pw := inst.CreateUser("tz-admin", "admin")
	admin := inst.Login("tz-admin", pw)
	if _, err := inst.DB.Pool.Exec(context.Background(), `INSERT INTO audit_log (at, action, target) VALUES ('2026-01-01 23:30:00+00', 'user.disable', 'user:1')`); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		c          *apptest.Client
		label, day string
	}{{admin, "时间（北京时间）", "2026-01-02 07:30:00"}, {inEnglish(t, inst, admin), "Time (Beijing time)", "2026-01-02 07:30:00"}} {
		r := tt.c.Do("GET", "/admin/audit", nil)
		apptest.Expect(t, r, 200, "audit page")
		body := string(r.Body)
		for _, want := range []string{tt.label, tt.day, `datetime="2026-01-02T07:30:00`} {
			if !strings.Contains(body, want) {
				t.Errorf("audit page: want %q in it", want)
			}
		}
		if strings.Contains(body, "2026-01-01 23:30") || strings.Contains(body, " UTC") {
			t.Errorf("audit page shows the UTC time")
		}
	}
}

type auditEntries struct {
	Entries []struct {
		ID         int64          `json:"id"`
		ActorName  string         `json:"actor_name"`
		ActorNick  string         `json:"actor_nickname"`
		Action     string         `json:"action"`
		Target     string         `json:"target"`
		TargetName string         `json:"target_name"`
		Detail     map[string]any `json:"detail"`
	} `json:"entries"`
	Next int64 `json:"next"`
}

// TestAuditOrganizers: an organizer's campaign, school and class changes
// are in the audit log, named and in words; the log filters by actor,
// action and dates on the server, keeps the filters across pages, and
// refuses bad filters with a 400 in the user's language.
func TestAuditOrganizers(t *testing.T) {
	t.Parallel()
	f := newCampaign(t, nil) // org1 creates and publishes 健康科普周
	_, pw := f.inst.CreateUser("audit-admin", "admin")
	admin := f.inst.Login("audit-admin", pw)
	if r := f.org.Do("POST", fmt.Sprintf("/api/v1/manage/campaigns/%d/close", f.id), nil); r.Status != 200 {
		t.Fatalf("close: got %d %s", r.Status, r.Body)
	}
	var district int64
	for _, id := range f.inst.Seed.DistrictIDs {
		district = id
		break
	}
	r := f.org.Do("POST", "/api/v1/schools", map[string]any{"region_id": district, "name": "审计实验学校"})
	apptest.Expect(t, r, 201, "create school")
	var sc struct{ ID int64 }
	r.JSON(t, &sc)
	r = f.org.Do("POST", "/api/v1/classes", map[string]any{"school_id": sc.ID, "name": "一年级一班"})
	apptest.Expect(t, r, 201, "create class")

	get := func(q string) auditEntries {
		t.Helper()
		var out auditEntries
		r := admin.Do("GET", "/api/v1/admin/audit?"+q, nil)
		apptest.Expect(t, r, 200, "audit "+q)
		r.JSON(t, &out)
		return out
	}
	all := get("actor=org1")
	var got []string
	for _, e := range all.Entries {
		got = append(got, e.Action+" "+e.TargetName)
		if e.ActorName != "org1" || e.ActorNick != "org1" {
			t.Errorf("entry %s: actor %q %q, want org1", e.Action, e.ActorName, e.ActorNick)
		}
	}
	// Publishing commits the lottery's seed and closing freezes the final
	// board (internal/prize): both are steps of the organizer's, logged.
	want := []string{"class.create 审计实验学校 一年级一班", "school.create 审计实验学校", "prize.freeze 健康科普周",
		"campaign.close 健康科普周", "prize.commit 健康科普周", "campaign.publish 健康科普周", "campaign.create 健康科普周"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("org1's entries: got %q, want %q", got, want)
	}
	if e := get("action=campaign.publish"); len(e.Entries) != 1 || e.Entries[0].Target != fmt.Sprintf("campaign:%d", f.id) {
		t.Errorf("action=campaign.publish: got %+v, want the one publish", e.Entries)
	}
	if e := get("actor=nobody-like-this"); len(e.Entries) != 0 {
		t.Errorf("actor=nobody: got %d entries, want 0", len(e.Entries))
	}
	today := time.Now().In(time.FixedZone("CST", 8*3600)).Format("2006-01-02")
	if e := get("from=" + today + "&to=" + today + "&actor=org1"); len(e.Entries) != len(want) {
		t.Errorf("today: got %d entries, want %d", len(e.Entries), len(want))
	}
	if e := get("from=2000-01-01&to=2000-01-31"); len(e.Entries) != 0 {
		t.Errorf("January 2000: got %d entries, want 0", len(e.Entries))
	}

	page := admin.Do("GET", "/admin/audit?actor=org1", nil)
	apptest.Expect(t, page, 200, "audit page")
	for _, s := range []string{"发布了活动「健康科普周」", "结束了活动「健康科普周」", "新建了班级「审计实验学校 一年级一班」", "org1 <span class=\"muted\">@org1</span>"} {
		if !strings.Contains(string(page.Body), s) {
			t.Errorf("audit page: want %q", s)
		}
	}
	page = inEnglish(t, f.inst, admin).Do("GET", "/admin/audit?actor=org1", nil)
	if !strings.Contains(string(page.Body), "published the campaign “健康科普周”") {
		t.Errorf("English audit page: want the publish in words")
	}

	t.Run("bad filters", func(t *testing.T) {
		for _, q := range []string{"from=2026-13-01", "to=yesterday", "action=user.nuke", "actor=" + strings.Repeat("x", 65),
			"from=2026-02-01&to=2026-01-01", "from=2024-01-01&to=2026-01-01", "before=-1"} {
			r := admin.Do("GET", "/api/v1/admin/audit?"+q, nil)
			if r.Status != 400 || r.ErrorMessage() == "" || !strings.ContainsAny(r.ErrorMessage(), "日期操作范围编号") {
				t.Errorf("%s: got %d %q, want 400 with a Chinese message", q, r.Status, r.ErrorMessage())
			}
			if p := admin.Do("GET", "/admin/audit?"+q, nil); p.Status != 400 || !strings.Contains(string(p.Body), `data-testid="audit-error"`) {
				t.Errorf("page %s: got %d, want 400 with the error in the form", q, p.Status)
			}
		}
	})

	t.Run("pages keep the filters", func(t *testing.T) {
		ctx := context.Background()
		if _, err := f.inst.DB.Pool.Exec(ctx, `INSERT INTO audit_log (action, target) SELECT 'user.enable', 'user:' || g FROM generate_series(1, 60) g`); err != nil {
			t.Fatal(err)
		}
		first := get("action=user.enable")
		if len(first.Entries) != 50 || first.Next == 0 {
			t.Fatalf("first page: got %d entries, next %d; want 50 and a next", len(first.Entries), first.Next)
		}
		if second := get(fmt.Sprintf("action=user.enable&before=%d", first.Next)); len(second.Entries) != 10 || second.Next != 0 {
			t.Errorf("second page: got %d, next %d; want 10 and no next", len(second.Entries), second.Next)
		}
		p := admin.Do("GET", "/admin/audit?action=user.enable", nil)
		want := "/admin/audit?" + url.Values{"action": {"user.enable"}, "before": {fmt.Sprint(first.Next)}}.Encode()
		if !strings.Contains(string(p.Body), strings.ReplaceAll(want, "&", "&amp;")) {
			t.Errorf("audit page: want the older link %s", want)
		}
	})
}

// TestAdminGuests: an admin is not offered a role change or a password
// reset for a guest, and the server refuses both with a 409 that says why.
func TestAdminGuests(t *testing.T) {
	t.Parallel()
	inst := apptest.Start(t)
	_, pw := inst.CreateUser("g-admin", "admin")
	admin := inst.Login("g-admin", pw)
	var guest int64
	if err := inst.DB.Pool.QueryRow(context.Background(), `INSERT INTO users (username, role, nickname) VALUES ('guest-abc', 'guest', '小游客') RETURNING id`).Scan(&guest); err != nil {
		t.Fatal(err)
	}
	r := admin.Do("PUT", fmt.Sprintf("/api/v1/admin/users/%d/role", guest), map[string]any{"role": "teacher"})
	if r.Status != 409 || !strings.Contains(r.ErrorMessage(), "游客") {
		t.Errorf("role change of a guest: got %d %q, want 409 naming the guest", r.Status, r.ErrorMessage())
	}
	r = admin.Do("POST", fmt.Sprintf("/api/v1/admin/users/%d/password", guest), nil)
	if r.Status != 409 || !strings.Contains(r.ErrorMessage(), "游客") {
		t.Errorf("password reset of a guest: got %d %q, want 409", r.Status, r.ErrorMessage())
	}
	if r = admin.Do("GET", "/api/v1/admin/audit?action=user.password_reset", nil); strings.Contains(string(r.Body), fmt.Sprintf("user:%d", guest)) {
		t.Errorf("a refused reset was audited")
	}
	page := admin.Do("GET", "/admin/users?q=guest-abc", nil)
	apptest.Expect(t, page, 200, "users page")
	body := string(page.Body)
	if !strings.Contains(body, `data-user="guest-abc"`) {
		t.Fatalf("users page does not list the guest")
	}
	for _, s := range []string{fmt.Sprintf("/api/v1/admin/users/%d/password", guest), fmt.Sprintf("/api/v1/admin/users/%d/role", guest)} {
		if strings.Contains(body, s) {
			t.Errorf("users page offers %s for a guest", s)
		}
	}
	if !strings.Contains(body, `data-testid="guest-note"`) {
		t.Errorf("users page does not say why a guest has no reset")
	}
}

// TestCampaignNamesItsAudience: the campaign page, the organizer's list
// and the form name the districts, schools and classes a campaign is for,
// in both languages; a campaign for no one in particular names its region.
func TestCampaignNamesItsAudience(t *testing.T) {
	t.Parallel()
	f := newCampaign(t, nil)
	ctx := context.Background()
	var district int64
	var districtName string
	if err := f.inst.DB.Pool.QueryRow(ctx, `SELECT id, name FROM regions WHERE kind = 'district' ORDER BY sort, id LIMIT 1`).Scan(&district, &districtName); err != nil {
		t.Fatal(err)
	}
	var school, class int64
	var schoolName, className string
	if err := f.inst.DB.Pool.QueryRow(ctx, `SELECT c.id, c.name, s.id, s.name FROM classes c JOIN schools s ON s.id = c.school_id ORDER BY c.id LIMIT 1`).
		Scan(&class, &className, &school, &schoolName); err != nil {
		t.Fatal(err)
	}
	id := f.create(t, map[string]any{"title": "定向活动", "starts_at": f.clock.Now().Add(-time.Hour), "ends_at": f.clock.Now().Add(time.Hour),
		"audience": []int64{district}, "rules": map[string]any{"questions": 3, "schools": []int64{school}, "classes": []int64{class}}})
	if r := f.org.Do("POST", fmt.Sprintf("/api/v1/manage/campaigns/%d/publish", id), nil); r.Status != 200 {
		t.Fatalf("publish: %d %s", r.Status, r.Body)
	}
	zh := fmt.Sprintf("参与范围：%s居民；学校：%s；班级：%s %s。", districtName, schoolName, schoolName, className)
	orgEN := inEnglish(t, f.inst, f.org)
	en := fmt.Sprintf("Open to residents of %s; schools: %s; classes: %s %s.", districtName, schoolName, schoolName, className)
	for _, p := range []string{fmt.Sprintf("/campaigns/%d", id), "/manage/campaigns", fmt.Sprintf("/manage/campaigns/%d", id)} {
		for _, tt := range []struct {
			c    *apptest.Client
			want string
		}{{f.org, zh}, {orgEN, en}} {
			r := tt.c.Do("GET", p, nil)
			apptest.Expect(t, r, 200, p)
			if !strings.Contains(string(r.Body), tt.want) {
				t.Errorf("%s: want %q", p, tt.want)
			}
		}
	}
	r := f.inst.Client().Do("GET", fmt.Sprintf("/campaigns/%d", f.id), nil)
	if !strings.Contains(string(r.Body), "参与范围：常德市所有人。") {
		t.Errorf("a campaign for its whole region: want 参与范围：常德市所有人。")
	}
}

// TestContestTimesAreBeijing: the teacher's contest list and the contest
// report (and so its CSV) show a contest made and run at 23:30 UTC at
// 07:30 the next day, labelled Beijing time (the list showed the UTC time
// unlabelled).
func TestContestTimesAreBeijing(t *testing.T) {
	t.Parallel()
	inst := apptest.Start(t)
	ctx := context.Background()
	hostID, pw := inst.CreateUser("tz-teacher", "teacher")
	host := inst.Login("tz-teacher", pw)
	var contest int64
	if err := inst.DB.Pool.QueryRow(ctx, `INSERT INTO contests (owner_id, title, settings, created_at) VALUES ($1, '夜间挑战', '{}', '2026-01-01 23:30:00+00') RETURNING id`,
		hostID).Scan(&contest); err != nil {
		t.Fatal(err)
	}
	if _, err := inst.DB.Pool.Exec(ctx, `INSERT INTO contest_runs (contest_id, host_id, pin, status, settings, created_at, started_at, ended_at)
		VALUES ($1, $2, '654321', 'finished', '{}', '2026-01-01 23:30:00+00', '2026-01-01 23:30:00+00', '2026-01-01 23:40:00+00')`, contest, hostID); err != nil {
		t.Fatal(err)
	}
	r := host.Do("GET", "/contests", nil)
	apptest.Expect(t, r, 200, "contests page")
	if !strings.Contains(string(r.Body), "2026-01-02 07:30（北京时间）") {
		t.Errorf("contests page: want 2026-01-02 07:30（北京时间）")
	}
	var runs struct {
		Columns []string `json:"columns"`
		Rows    [][]any  `json:"rows"`
	}
	r = host.Do("GET", fmt.Sprintf("/api/v1/dash/contests/%d/views/runs", contest), nil)
	apptest.Expect(t, r, 200, "runs view")
	r.JSON(t, &runs)
	if len(runs.Rows) != 1 || runs.Rows[0][1] != "2026-01-02 07:30" || runs.Columns[1] != "开始时间（北京时间）" {
		t.Errorf("runs view: got %v %v, want 2026-01-02 07:30 under 开始时间（北京时间）", runs.Columns, runs.Rows)
	}
}
