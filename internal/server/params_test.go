package server_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/kepu/kepu/internal/apptest"
)

// TestNumbersOutOfRange: integers past what their columns hold — in the
// path, the query or a JSON body — are a 400 with the localized message,
// never a 500; the largest accepted id names nothing (404).
func TestNumbersOutOfRange(t *testing.T) {
	t.Parallel()
	f := newCampaign(t, nil)
	inst := f.inst
	admin := inst.Login("demo-admin", inst.DemoPassword("demo-admin"))
	cit := f.citizen(t, "numbers")
	att := f.start(t, cit)
	const i64, u32, i32 = "9223372036854775807", "4294967297", "2147483648"
	camp := func(extra string) string {
		return `{"title":"x","starts_at":"2026-01-01T00:00:00Z","ends_at":"2027-01-01T00:00:00Z",` + extra + `}`
	}
	tests := []struct {
		who          *apptest.Client
		method, path string
		body         string
		field        string
	}{
		{f.org, "GET", "/api/v1/schools?region_id=" + i64, "", "region_id"},
		{f.org, "GET", "/api/v1/schools?region_id=" + i32, "", "region_id"},
		{f.org, "GET", "/api/v1/classes?school_id=" + u32, "", "school_id"},
		{admin, "GET", "/api/v1/admin/audit?before=" + i64, "", "before"},
		{admin, "GET", "/api/v1/admin/users?page=" + u32, "", "page"},
		{admin, "GET", "/api/v1/admin/users/" + i64, "", "id"},
		{admin, "GET", "/api/v1/campaigns/" + i32, "", "id"},
		{admin, "GET", fmt.Sprintf("/api/v1/campaigns/%d/leaderboard?board=district&id=%s", f.id, i64), "", "id"},
		{admin, "GET", "/api/v1/dash/campaigns/" + u32, "", "id"},
		{admin, "GET", "/api/v1/bank/questions?offset=" + i64, "", "offset"},
		{cit, "POST", fmt.Sprintf("/api/v1/attempts/%d/answers", att), `{"seq":` + u32 + `,"choice":[0]}`, "seq"},
		{cit, "POST", fmt.Sprintf("/api/v1/attempts/%d/answers", att), `{"seq":1,"choice":[` + i64 + `]}`, "choice.0"},
		{cit, "POST", fmt.Sprintf("/api/v1/attempts/%d/signals", att), `{"kind":"hidden","seq":` + u32 + `}`, "seq"},
		{cit, "POST", "/api/v1/attempts/" + u32 + "/answers", `{"seq":1,"choice":[0]}`, "id"},
		{cit, "PATCH", "/api/v1/me", `{"nickname":"numbers","region_id":` + i64 + `,"age_band":"30_39"}`, "region_id"},
		{f.org, "POST", "/api/v1/manage/campaigns", camp(`"region_id":` + u32 + `,"rules":{"questions":3}`), "region_id"},
		{admin, "POST", "/api/v1/manage/campaigns", camp(`"region_id":-1,"rules":{"questions":3}`), "region_id"},
		{admin, "POST", "/api/v1/manage/campaigns", camp(`"region_id":2147483647,"rules":{"questions":3}`), "region_id"},
		{f.org, "POST", "/api/v1/manage/campaigns", camp(`"rules":{"questions":3,"quotas":[{"count":` + u32 + `}]}`), "rules.quotas.0.count"},
		{f.org, "POST", "/api/v1/manage/campaigns", camp(`"rules":{"questions":3,"schools":[` + i64 + `]}`), "rules.schools.0"},
		{admin, "PUT", fmt.Sprintf("/api/v1/classes/%d/teacher", inst.Seed.ClassIDs[0]), `{"teacher_id":` + i64 + `}`, "teacher_id"},
		{admin, "POST", "/api/v1/classes", fmt.Sprintf(`{"school_id":%d,"name":"九班","grade":%s}`, inst.Seed.SchoolIDs[0], u32), "grade"},
		{admin, "POST", "/api/v1/bank/questions/status", `{"ids":[` + i64 + `],"status":"retired"}`, "ids.0"},
		{admin, "POST", "/api/v1/contests", `{"title":"t","settings":{},"question_ids":[` + u32 + `]}`, "question_ids.0"},
		{inst.Client(), "POST", "/api/v1/play/join", `{"pin":"123456","nickname":"xy","team":` + i64 + `}`, "team"},
	}
	for _, tt := range tests {
		name := tt.method + " " + tt.path + " " + tt.body
		var raw []byte
		ct := ""
		if tt.body != "" {
			raw, ct = []byte(tt.body), "application/json"
		}
		res := tt.who.DoRaw(tt.method, tt.path, raw, ct)
		var e struct {
			Error struct{ Code, Message, Field string }
		}
		if res.Status == 400 {
			res.JSON(t, &e)
		}
		if res.Status != 400 || e.Error.Code != "invalid_input" || e.Error.Field != tt.field || e.Error.Message == "" {
			t.Errorf("%s: got %d %s, want 400 invalid_input on %s", name, res.Status, res.Body, tt.field)
		}
		if strings.Contains(e.Error.Message, "error.") {
			t.Errorf("%s: message %q is a raw key", name, e.Error.Message)
		}
	}

	// Pages: the same checks, the error page instead of JSON.
	for _, p := range []string{"/admin/audit?before=" + i64, "/campaigns/" + i32, "/admin/users?page=" + u32} {
		if res := admin.Do("GET", p, nil); res.Status != 400 {
			t.Errorf("GET %s: got %d, want 400", p, res.Status)
		}
	}
	// The message is in the client's language.
	res := f.org.Do("GET", "/api/v1/classes?school_id="+u32, nil)
	if got := res.ErrorMessage(); got != "编号不正确" {
		t.Errorf("zh-CN message: got %q", got)
	}
	// The largest accepted id is a well-formed request for nothing.
	for _, p := range []string{"/api/v1/campaigns/2147483647", "/api/v1/admin/users/2147483647"} {
		if res := admin.Do("GET", p, nil); res.Status != 404 {
			t.Errorf("GET %s: got %d %s, want 404", p, res.Status, res.Body)
		}
	}
	for _, p := range []string{"/api/v1/schools?region_id=2147483647", "/api/v1/admin/audit?before=2147483647"} {
		if res := admin.Do("GET", p, nil); res.Status != 200 {
			t.Errorf("GET %s: got %d %s, want 200", p, res.Status, res.Body)
		}
	}
}
