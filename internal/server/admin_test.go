package server_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/kepu/kepu/internal/apptest"
)

type userJSON struct {
	ID            int64  `json:"id"`
	Username      string `json:"username"`
	Role          string `json:"role"`
	Nickname      string `json:"nickname"`
	AgeBand       string `json:"age_band"`
	SchoolID      int64  `json:"school_id"`
	ClassID       int64  `json:"class_id"`
	ScopeRegionID int64  `json:"scope_region_id"`
	ManagedBy     int64  `json:"managed_by"`
	Disabled      bool   `json:"disabled"`
}

type auditJSON struct {
	Entries []struct {
		ActorID int64          `json:"actor_id"`
		Action  string         `json:"action"`
		Target  string         `json:"target"`
		Detail  map[string]any `json:"detail"`
		IP      string         `json:"ip"`
	} `json:"entries"`
}

// lastAudit returns the newest audit entry as the admin sees it.
func lastAudit(t *testing.T, admin *apptest.Client) (action, target string) {
	t.Helper()
	var a auditJSON
	r := admin.Do("GET", "/api/v1/admin/audit", nil)
	apptest.Expect(t, r, 200, "audit log")
	r.JSON(t, &a)
	if len(a.Entries) == 0 {
		t.Fatalf("audit log is empty")
	}
	if a.Entries[0].IP == "" {
		t.Errorf("audit entry %s has no IP", a.Entries[0].Action)
	}
	return a.Entries[0].Action, a.Entries[0].Target
}

func TestAdminUsers(t *testing.T) {
	t.Parallel()
	inst := apptest.Start(t)
	adminID, adminPW := inst.CreateUser("root-admin", "admin")
	aliceID, alicePW := inst.CreateUser("alice", "participant")
	inst.CreateUser("bob", "teacher")
	admin := inst.Login("root-admin", adminPW)
	alice := inst.Login("alice", alicePW)

	t.Run("search by name and role, paged", func(t *testing.T) {
		tests := []struct {
			query string
			want  []string
		}{
			{"?q=ALI", []string{"alice"}},
			{"?role=teacher&q=", []string{"bob", "demo-teacher"}},
			{"?q=%25", nil}, // a literal %, not a wildcard
			{"?q=demo-&role=admin", []string{"demo-admin"}},
		}
		for _, tt := range tests {
			var page struct {
				Users []userJSON `json:"users"`
				Total int        `json:"total"`
			}
			r := admin.Do("GET", "/api/v1/admin/users"+tt.query, nil)
			apptest.Expect(t, r, 200, "list "+tt.query)
			r.JSON(t, &page)
			var got []string
			for _, u := range page.Users {
				got = append(got, u.Username)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) || page.Total != len(tt.want) {
				t.Errorf("list %s: got %v (total %d), want %v", tt.query, got, page.Total, tt.want)
			}
		}
		var page struct {
			Users   []userJSON `json:"users"`
			Total   int        `json:"total"`
			PerPage int        `json:"per_page"`
		}
		admin.Do("GET", "/api/v1/admin/users?per_page=2&page=2", nil).JSON(t, &page)
		if len(page.Users) != 2 || page.Total < 7 || page.PerPage != 2 {
			t.Errorf("page 2 of 2: got %d users of %d, want 2 of at least 7", len(page.Users), page.Total)
		}
		apptest.Expect(t, admin.Do("GET", "/api/v1/admin/users?role=king", nil), 400, "unknown role filter")
		apptest.Expect(t, admin.Do("GET", "/api/v1/admin/users?q="+strings.Repeat("x", 65), nil), 400, "over-long search")
	})

	t.Run("role and scope", func(t *testing.T) {
		path := fmt.Sprintf("/api/v1/admin/users/%d/role", aliceID)
		r := admin.Do("PUT", path, map[string]any{"role": "organizer"})
		apptest.Expect(t, r, 400, "organizer without scope")
		if !strings.Contains(string(r.Body), `"field":"scope_region_id"`) {
			t.Errorf("organizer without scope: got %s, want field scope_region_id", r.Body)
		}
		apptest.Expect(t, admin.Do("PUT", path, map[string]any{"role": "wizard"}), 400, "unknown role")
		district := inst.Seed.DistrictIDs["430703"]
		r = admin.Do("PUT", path, map[string]any{"role": "organizer", "scope_region_id": district})
		apptest.Expect(t, r, 200, "make organizer")
		var u userJSON
		r.JSON(t, &u)
		if u.Role != "organizer" || u.ScopeRegionID != district {
			t.Errorf("after role change: got %s scope %d, want organizer scope %d", u.Role, u.ScopeRegionID, district)
		}
		if action, target := lastAudit(t, admin); action != "user.role" || target != fmt.Sprintf("user:%d", aliceID) {
			t.Errorf("audit: got %s %s, want user.role user:%d", action, target, aliceID)
		}
		// The change applies to the running session at once.
		apptest.Expect(t, alice.Do("GET", "/api/v1/classes", nil), 200, "alice lists classes as organizer")
		r = admin.Do("PUT", path, map[string]any{"role": "participant", "scope_region_id": district})
		apptest.Expect(t, r, 200, "back to participant")
		u = userJSON{}
		r.JSON(t, &u)
		if u.ScopeRegionID != 0 {
			t.Errorf("participant keeps scope %d, want 0", u.ScopeRegionID)
		}
		apptest.Expect(t, alice.Do("GET", "/api/v1/classes", nil), 403, "alice lists classes as participant")
		r = admin.Do("PUT", fmt.Sprintf("/api/v1/admin/users/%d/role", adminID), map[string]any{"role": "participant"})
		apptest.Expect(t, r, 403, "admin demotes themselves")
		apptest.Expect(t, admin.Do("PUT", "/api/v1/admin/users/999999/role", map[string]any{"role": "teacher"}), 404, "unknown user")
	})

	t.Run("disable ends sessions and login", func(t *testing.T) {
		apptest.Expect(t, admin.Do("POST", fmt.Sprintf("/api/v1/admin/users/%d/disable", aliceID), nil), 200, "disable")
		apptest.Expect(t, alice.Do("GET", "/api/v1/me", nil), 401, "disabled user's session")
		c := inst.Client()
		r := c.Do("POST", "/api/v1/auth/login", map[string]string{"username": "alice", "password": alicePW})
		apptest.Expect(t, r, 423, "disabled user logs in")
		if action, _ := lastAudit(t, admin); action != "user.disable" {
			t.Errorf("audit: got %s, want user.disable", action)
		}
		apptest.Expect(t, admin.Do("POST", fmt.Sprintf("/api/v1/admin/users/%d/disable", adminID), nil), 403, "admin disables themselves")
		apptest.Expect(t, admin.Do("POST", fmt.Sprintf("/api/v1/admin/users/%d/enable", aliceID), nil), 200, "enable")
		alice = inst.Login("alice", alicePW)
	})

	t.Run("reset password", func(t *testing.T) {
		r := admin.Do("POST", fmt.Sprintf("/api/v1/admin/users/%d/password", aliceID), nil)
		apptest.Expect(t, r, 200, "reset")
		var out struct{ Password string }
		r.JSON(t, &out)
		if len(out.Password) < 8 {
			t.Fatalf("temporary password %q, want at least 8 characters", out.Password)
		}
		if r.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("Cache-Control %q, want no-store", r.Header.Get("Cache-Control"))
		}
		apptest.Expect(t, alice.Do("GET", "/api/v1/me", nil), 401, "session after reset")
		c := inst.Client()
		apptest.Expect(t, c.Do("POST", "/api/v1/auth/login", map[string]string{"username": "alice", "password": alicePW}), 401, "old password")
		inst.Login("alice", out.Password)
		if action, _ := lastAudit(t, admin); action != "user.password_reset" {
			t.Errorf("audit: got %s, want user.password_reset", action)
		}
		// The audit detail never holds the password.
		if strings.Contains(string(admin.Do("GET", "/api/v1/admin/audit", nil).Body), out.Password) {
			t.Errorf("the audit log contains the temporary password")
		}
	})

	t.Run("pages", func(t *testing.T) {
		r := admin.Do("GET", "/admin/users?q=alice", nil)
		apptest.Expect(t, r, 200, "users page")
		if !strings.Contains(string(r.Body), `data-user="alice"`) || strings.Contains(string(r.Body), `data-user="bob"`) {
			t.Errorf("users page for q=alice: want alice and not bob")
		}
		r = admin.Do("GET", "/admin/audit", nil)
		apptest.Expect(t, r, 200, "audit page")
		if !strings.Contains(string(r.Body), "重置密码") {
			t.Errorf("audit page does not name the password reset in Chinese")
		}
	})
}

func TestClassRoster(t *testing.T) {
	t.Parallel()
	inst := apptest.Start(t)
	teacher := inst.Login("demo-teacher", inst.DemoPassword("demo-teacher"))
	_, adminPW := inst.CreateUser("root-admin", "admin")
	admin := inst.Login("root-admin", adminPW)
	own, other := inst.Seed.ClassIDs[0], inst.Seed.ClassIDs[1]
	var me userJSON
	teacher.Do("GET", "/api/v1/me", nil).JSON(t, &me)

	r := teacher.Do("POST", fmt.Sprintf("/api/v1/classes/%d/pupils", own),
		map[string]any{"names": []string{"小明", "  ", "小红", "<b>x</b>"}})
	apptest.Expect(t, r, 201, "create pupils")
	var created struct {
		Class struct {
			ID         int64  `json:"id"`
			SchoolName string `json:"school_name"`
		} `json:"class"`
		Pupils []struct {
			ID       int64  `json:"id"`
			Username string `json:"username"`
			Nickname string `json:"nickname"`
			Password string `json:"password"`
		} `json:"pupils"`
	}
	r.JSON(t, &created)
	if len(created.Pupils) != 3 || created.Class.ID != own || created.Class.SchoolName == "" {
		t.Fatalf("created %d pupils in class %d, want 3 in %d: %s", len(created.Pupils), created.Class.ID, own, r.Body)
	}
	for i, want := range []string{"小明", "小红", "<b>x</b>"} {
		p := created.Pupils[i]
		if p.Nickname != want || p.Username != fmt.Sprintf("c%d-%02d", own, i+1) || len(p.Password) < 8 {
			t.Errorf("pupil %d: got %q %q %q, want nickname %q, username c%d-%02d, a password", i, p.Nickname, p.Username, p.Password, want, own, i+1)
		}
	}
	pupil := inst.Login(created.Pupils[0].Username, created.Pupils[0].Password)
	var pu userJSON
	pupil.Do("GET", "/api/v1/me", nil).JSON(t, &pu)
	if pu.AgeBand != "u14" || pu.ManagedBy != me.ID || pu.ClassID != own || pu.SchoolID == 0 || pu.Role != "participant" {
		t.Errorf("pupil account: got %+v, want u14 participant of class %d managed by %d", pu, own, me.ID)
	}
	if action, target := lastAudit(t, admin); action != "roster.create" || target != fmt.Sprintf("class:%d", own) {
		t.Errorf("audit: got %s %s, want roster.create class:%d", action, target, own)
	}

	// A second batch continues the numbering.
	r = teacher.Do("POST", fmt.Sprintf("/api/v1/classes/%d/pupils", own), map[string]any{"names": []string{"小刚"}})
	apptest.Expect(t, r, 201, "second batch")
	if !strings.Contains(string(r.Body), fmt.Sprintf(`"username":"c%d-04"`, own)) {
		t.Errorf("second batch: got %s, want username c%d-04", r.Body, own)
	}

	var roster struct {
		Pupils []struct{ Username, Nickname string } `json:"pupils"`
	}
	r = teacher.Do("GET", fmt.Sprintf("/api/v1/classes/%d/pupils", own), nil)
	apptest.Expect(t, r, 200, "roster")
	r.JSON(t, &roster)
	if len(roster.Pupils) != 4 {
		t.Errorf("roster: got %d pupils, want 4", len(roster.Pupils))
	}

	r = teacher.Do("POST", fmt.Sprintf("/api/v1/classes/%d/pupils/%d/password", own, created.Pupils[0].ID), nil)
	apptest.Expect(t, r, 200, "reset pupil password")
	var reset struct{ Password string }
	r.JSON(t, &reset)
	apptest.Expect(t, pupil.Do("GET", "/api/v1/me", nil), 401, "pupil session after reset")
	inst.Login(created.Pupils[0].Username, reset.Password)

	page := teacher.Do("GET", fmt.Sprintf("/classes/%d", own), nil)
	apptest.Expect(t, page, 200, "roster page")
	if strings.Contains(string(page.Body), "<b>x</b>") || !strings.Contains(string(page.Body), "&lt;b&gt;x&lt;/b&gt;") {
		t.Errorf("roster page does not escape the nickname <b>x</b>")
	}
	apptest.Expect(t, teacher.Do("GET", "/org", nil), 200, "org page of a teacher")

	bad := []struct {
		name   string
		method string
		path   string
		body   any
		status int
	}{
		{"no names", "POST", fmt.Sprintf("/api/v1/classes/%d/pupils", own), map[string]any{"names": []string{" ", ""}}, 400},
		{"too many names", "POST", fmt.Sprintf("/api/v1/classes/%d/pupils", own), map[string]any{"names": strings.Split(strings.Repeat("a,", 61), ",")}, 400},
		{"over-long name", "POST", fmt.Sprintf("/api/v1/classes/%d/pupils", own), map[string]any{"names": []string{strings.Repeat("长", 21)}}, 400},
		{"other class: create", "POST", fmt.Sprintf("/api/v1/classes/%d/pupils", other), map[string]any{"names": []string{"x"}}, 403},
		{"other class: list", "GET", fmt.Sprintf("/api/v1/classes/%d/pupils", other), nil, 403},
		{"other class: read", "GET", fmt.Sprintf("/api/v1/classes/%d", other), nil, 403},
		{"other class: page", "GET", fmt.Sprintf("/classes/%d", other), nil, 403},
		{"other class: reset", "POST", fmt.Sprintf("/api/v1/classes/%d/pupils/%d/password", other, created.Pupils[1].ID), nil, 403},
		{"not a pupil of the class", "POST", fmt.Sprintf("/api/v1/classes/%d/pupils/%d/password", own, me.ID), nil, 404},
		{"no such class", "GET", "/api/v1/classes/999999", nil, 404},
	}
	for _, tt := range bad {
		r := teacher.Do(tt.method, tt.path, tt.body)
		if r.Status != tt.status {
			t.Errorf("%s: got %d, want %d: %s", tt.name, r.Status, tt.status, r.Body)
		}
	}
}

// TestRoleAndScope checks one forbidden request (403) or more for each role,
// and that the same request succeeds for a role that may make it.
func TestRoleAndScope(t *testing.T) {
	t.Parallel()
	inst := apptest.Start(t)
	wuling, dingcheng := inst.Seed.DistrictIDs["430702"], inst.Seed.DistrictIDs["430703"]
	wulingClass, dingchengClass := inst.Seed.ClassIDs[0], inst.Seed.ClassIDs[2]
	_, ppw := inst.CreateUser("pat", "participant")
	_, tpw := inst.CreateUser("tess", "teacher")
	_, opw := inst.CreateUser("olga", "organizer", dingcheng)
	adminID, apw := inst.CreateUser("ada", "admin")
	users := map[string]*apptest.Client{
		"anonymous":   inst.Client(),
		"participant": inst.Login("pat", ppw),
		"teacher":     inst.Login("tess", tpw),
		"organizer":   inst.Login("olga", opw),
		"admin":       inst.Login("ada", apw),
	}
	tests := []struct {
		who    string
		method string
		path   string
		body   any
		status int
	}{
		{"anonymous", "GET", "/api/v1/admin/users", nil, 401},
		{"anonymous", "GET", "/api/v1/classes", nil, 401},
		{"participant", "GET", "/api/v1/admin/users", nil, 403},
		{"participant", "GET", "/api/v1/admin/audit", nil, 403},
		{"participant", "GET", "/api/v1/classes", nil, 403},
		{"participant", "GET", fmt.Sprintf("/api/v1/classes/%d/pupils", wulingClass), nil, 403},
		{"participant", "GET", "/admin/users", nil, 403},
		{"participant", "GET", "/org", nil, 403},
		{"teacher", "GET", "/api/v1/admin/users", nil, 403},
		{"teacher", "GET", fmt.Sprintf("/api/v1/classes/%d", wulingClass), nil, 403},
		{"teacher", "POST", "/api/v1/schools", map[string]any{"region_id": wuling, "name": "新学校"}, 403},
		{"teacher", "PUT", fmt.Sprintf("/api/v1/classes/%d/teacher", wulingClass), map[string]any{"teacher_id": 1}, 403},
		{"teacher", "GET", "/api/v1/teachers", nil, 403},
		{"teacher", "GET", "/api/v1/classes", nil, 200},
		{"organizer", "GET", "/api/v1/admin/users", nil, 403},
		{"organizer", "GET", "/admin/audit", nil, 403},
		{"organizer", "GET", fmt.Sprintf("/api/v1/classes/%d", wulingClass), nil, 403},
		{"organizer", "GET", fmt.Sprintf("/api/v1/classes/%d/pupils", wulingClass), nil, 403},
		{"organizer", "POST", "/api/v1/schools", map[string]any{"region_id": wuling, "name": "越界学校"}, 403},
		{"organizer", "GET", fmt.Sprintf("/api/v1/classes/%d", dingchengClass), nil, 200},
		{"organizer", "POST", "/api/v1/schools", map[string]any{"region_id": dingcheng, "name": "鼎城新学校"}, 201},
		{"organizer", "GET", "/api/v1/teachers", nil, 200},
		{"organizer", "GET", "/org", nil, 200},
		{"admin", "PUT", fmt.Sprintf("/api/v1/admin/users/%d/role", adminID), map[string]any{"role": "teacher"}, 403},
		{"admin", "POST", fmt.Sprintf("/api/v1/admin/users/%d/disable", adminID), nil, 403},
		{"admin", "GET", fmt.Sprintf("/api/v1/classes/%d", wulingClass), nil, 200},
		{"admin", "GET", "/admin/users", nil, 200},
		{"admin", "GET", "/org", nil, 200},
	}
	for _, tt := range tests {
		r := users[tt.who].Do(tt.method, tt.path, tt.body)
		if r.Status != tt.status {
			t.Errorf("%s %s %s: got %d, want %d: %.200s", tt.who, tt.method, tt.path, r.Status, tt.status, r.Body)
		}
	}

	// An organizer's class list holds only their subtree.
	var cl struct {
		Classes []struct {
			ID       int64 `json:"id"`
			RegionID int64 `json:"region_id"`
		} `json:"classes"`
	}
	users["organizer"].Do("GET", "/api/v1/classes", nil).JSON(t, &cl)
	if len(cl.Classes) != 1 || cl.Classes[0].ID != dingchengClass {
		t.Errorf("organizer of 鼎城区 lists %+v, want only class %d", cl.Classes, dingchengClass)
	}
	// A teacher's list holds only their classes.
	users["teacher"].Do("GET", "/api/v1/classes", nil).JSON(t, &cl)
	if len(cl.Classes) != 0 {
		t.Errorf("a teacher without classes lists %d classes, want 0", len(cl.Classes))
	}
}

func TestOrganizerManagesSchoolsAndClasses(t *testing.T) {
	t.Parallel()
	inst := apptest.Start(t)
	dingcheng := inst.Seed.DistrictIDs["430703"]
	_, opw := inst.CreateUser("olga", "organizer", dingcheng)
	teacherID, tpw := inst.CreateUser("tess", "teacher")
	pupilID, _ := inst.CreateUser("pat", "participant")
	_, apw := inst.CreateUser("root-admin", "admin")
	org := inst.Login("olga", opw)
	teacher := inst.Login("tess", tpw)
	admin := inst.Login("root-admin", apw)

	r := org.Do("POST", "/api/v1/schools", map[string]any{"region_id": dingcheng, "name": "  鼎城  第二中学 "})
	apptest.Expect(t, r, 201, "create school")
	var school struct {
		ID   int64  `json:"id"`
		Name string `json:"name"`
	}
	r.JSON(t, &school)
	if school.Name != "鼎城 第二中学" {
		t.Errorf("school name: got %q, want spaces folded", school.Name)
	}
	if action, _ := lastAudit(t, admin); action != "school.create" {
		t.Errorf("audit: got %s, want school.create", action)
	}
	apptest.Expect(t, org.Do("POST", "/api/v1/schools", map[string]any{"region_id": dingcheng, "name": "鼎城 第二中学"}), 409, "duplicate school")
	apptest.Expect(t, org.Do("POST", "/api/v1/schools", map[string]any{"region_id": inst.Seed.CityID, "name": "市直学校"}), 400, "school on the city itself")
	apptest.Expect(t, org.Do("POST", "/api/v1/schools", map[string]any{"region_id": dingcheng, "name": strings.Repeat("校", 81)}), 400, "over-long school name")

	r = org.Do("POST", "/api/v1/classes", map[string]any{"school_id": school.ID, "name": "初一(1)班", "grade": 7, "teacher_id": teacherID})
	apptest.Expect(t, r, 201, "create class with a teacher")
	var class struct {
		ID        int64 `json:"id"`
		TeacherID int64 `json:"teacher_id"`
	}
	r.JSON(t, &class)
	if class.TeacherID != teacherID {
		t.Errorf("class teacher: got %d, want %d", class.TeacherID, teacherID)
	}
	apptest.Expect(t, org.Do("POST", "/api/v1/classes", map[string]any{"school_id": school.ID, "name": "初一(1)班"}), 409, "duplicate class")
	apptest.Expect(t, org.Do("POST", "/api/v1/classes", map[string]any{"school_id": school.ID, "name": "x", "grade": 13}), 400, "grade 13")
	apptest.Expect(t, org.Do("POST", "/api/v1/classes", map[string]any{"school_id": school.ID, "name": "x", "teacher_id": pupilID}), 400, "a participant as teacher")
	apptest.Expect(t, org.Do("POST", "/api/v1/classes", map[string]any{"school_id": inst.Seed.SchoolIDs[0], "name": "越界班"}), 403, "class in a school outside the scope")

	// The teacher sees the class and may open another in the same school, not elsewhere.
	apptest.Expect(t, teacher.Do("GET", fmt.Sprintf("/api/v1/classes/%d", class.ID), nil), 200, "teacher reads their class")
	r = teacher.Do("POST", "/api/v1/classes", map[string]any{"school_id": school.ID, "name": "初一(2)班", "teacher_id": 1})
	apptest.Expect(t, r, 201, "teacher opens a class in their school")
	var own struct {
		TeacherID int64 `json:"teacher_id"`
	}
	r.JSON(t, &own)
	if own.TeacherID != teacherID {
		t.Errorf("a teacher's new class: got teacher %d, want themselves (%d)", own.TeacherID, teacherID)
	}
	apptest.Expect(t, teacher.Do("POST", "/api/v1/classes", map[string]any{"school_id": inst.Seed.SchoolIDs[0], "name": "别校班"}), 403, "teacher opens a class in another school")

	// Reassigning: the organizer moves a class of their subtree to another teacher.
	otherTeacher, _ := inst.CreateUser("theo", "teacher")
	path := fmt.Sprintf("/api/v1/classes/%d/teacher", class.ID)
	apptest.Expect(t, org.Do("PUT", path, map[string]any{"teacher_id": pupilID}), 400, "assign a participant")
	apptest.Expect(t, org.Do("PUT", path, map[string]any{"teacher_id": otherTeacher}), 200, "assign another teacher")
	if action, target := lastAudit(t, admin); action != "class.teacher" || target != fmt.Sprintf("class:%d", class.ID) {
		t.Errorf("audit: got %s %s, want class.teacher class:%d", action, target, class.ID)
	}
	apptest.Expect(t, teacher.Do("GET", fmt.Sprintf("/api/v1/classes/%d", class.ID), nil), 403, "the former teacher reads the class")
	apptest.Expect(t, org.Do("PUT", fmt.Sprintf("/api/v1/classes/%d/teacher", inst.Seed.ClassIDs[0]), map[string]any{"teacher_id": otherTeacher}), 403, "assign in another district")

	// Schools: the organizer's list holds their subtree only.
	var schools struct {
		Schools []struct {
			RegionID int64 `json:"region_id"`
		} `json:"schools"`
	}
	org.Do("GET", "/api/v1/schools", nil).JSON(t, &schools)
	for _, s := range schools.Schools {
		if s.RegionID != dingcheng {
			t.Errorf("organizer of 鼎城区 lists a school of region %d", s.RegionID)
		}
	}
	if len(schools.Schools) != 2 {
		t.Errorf("organizer of 鼎城区 lists %d schools, want 2", len(schools.Schools))
	}
}
