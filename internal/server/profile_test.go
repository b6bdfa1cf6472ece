package server_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/kepu/kepu/internal/account"
	"github.com/kepu/kepu/internal/apptest"
)

// TestRefusedProfileChangeIsNotSaved: a change refused for want of a
// guardian's consent leaves the profile as it was.
func TestRefusedProfileChangeIsNotSaved(t *testing.T) {
	t.Parallel()
	inst := apptest.Start(t)
	_, pw := inst.CreateUser("pavel", "participant")
	c := inst.Login("pavel", pw)
	r := c.Do("PATCH", "/api/v1/me", map[string]any{"nickname": "新名字", "region_id": inst.Seed.DistrictIDs["430703"],
		"age_band": "u14", "occupation": "student", "lang": "en"})
	apptest.Expect(t, r, 400, "become under 14 without consent")
	var me struct {
		Nickname, Occupation, Lang string
		AgeBand                    string `json:"age_band"`
		RegionID                   int64  `json:"region_id"`
	}
	c.Do("GET", "/api/v1/me", nil).JSON(t, &me)
	if me.Nickname != "pavel" || me.AgeBand != "30_39" || me.RegionID != inst.Seed.DistrictIDs["430702"] || me.Lang != "zh-CN" {
		t.Errorf("profile after a refused change: got %+v, want it unchanged", me)
	}
	var band string
	inst.DB.Pool.QueryRow(context.Background(), `SELECT age_band FROM users WHERE username = 'pavel'`).Scan(&band)
	if band != "30_39" {
		t.Errorf("age band in the database: got %q, want 30_39", band)
	}
	// With the consent the same change goes through.
	r = c.Do("PATCH", "/api/v1/me", map[string]any{"nickname": "新名字", "region_id": inst.Seed.DistrictIDs["430703"],
		"age_band": "u14", "guardian_consent": true, "lang": "zh-CN"})
	apptest.Expect(t, r, 200, "with consent")
}

// TestPupilCannotChangeManagedFields: a roster pupil edits their nickname
// but not the district and age band their teacher's roster set.
func TestPupilCannotChangeManagedFields(t *testing.T) {
	t.Parallel()
	inst := apptest.Start(t)
	teacher := inst.Login("demo-teacher", inst.DemoPassword("demo-teacher"))
	r := teacher.Do("POST", fmt.Sprintf("/api/v1/classes/%d/pupils", inst.Seed.ClassIDs[0]), map[string]any{"names": []string{"小明"}})
	apptest.Expect(t, r, 201, "create pupil")
	var created struct {
		Pupils []struct{ Username, Password string }
	}
	r.JSON(t, &created)
	pupil := inst.Login(created.Pupils[0].Username, created.Pupils[0].Password)
	var me struct {
		Nickname string
		AgeBand  string `json:"age_band"`
		RegionID int64  `json:"region_id"`
	}
	pupil.Do("GET", "/api/v1/me", nil).JSON(t, &me)
	other := inst.Seed.DistrictIDs["430703"]
	if me.RegionID == other {
		other = inst.Seed.DistrictIDs["430702"]
	}
	profile := func(region int64, band, nickname string) map[string]any {
		return map[string]any{"nickname": nickname, "region_id": region, "age_band": band, "occupation": "student", "lang": "zh-CN"}
	}
	for _, tt := range []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"district", profile(other, "u14", "小明"), "region_id"},
		{"age band", profile(me.RegionID, "18_29", "小明"), "age_band"},
		{"both", profile(other, "30_39", "小明明"), "region_id"},
	} {
		r := pupil.Do("PATCH", "/api/v1/me", tt.body)
		var e struct {
			Error struct{ Code, Message, Field string }
		}
		r.JSON(t, &e)
		if r.Status != 403 || e.Error.Field != tt.field || !strings.Contains(e.Error.Message, "老师") {
			t.Errorf("pupil changes %s: got %d %s, want 403 on %s with a localized message", tt.name, r.Status, r.Body, tt.field)
		}
	}
	var after struct {
		Nickname string
		AgeBand  string `json:"age_band"`
		RegionID int64  `json:"region_id"`
	}
	pupil.Do("GET", "/api/v1/me", nil).JSON(t, &after)
	if after != me {
		t.Errorf("pupil after refused changes: got %+v, want %+v", after, me)
	}
	apptest.Expect(t, pupil.Do("PATCH", "/api/v1/me", profile(me.RegionID, "u14", "小明同学")), 200, "pupil changes the nickname")

	// The profile page shows those fields without offering to change them.
	page := string(pupil.Do("GET", "/profile", nil).Body)
	if !strings.Contains(page, `data-testid="managed-fields"`) || strings.Contains(page, `<select id="age_band"`) ||
		strings.Contains(page, `<select id="region_id"`) {
		t.Errorf("pupil's profile page offers the managed fields")
	}

	// A self-registered participant still changes both.
	_, pw := inst.CreateUser("quinn", "participant")
	c := inst.Login("quinn", pw)
	apptest.Expect(t, c.Do("PATCH", "/api/v1/me", profile(other, "18_29", "quinn")), 200, "participant changes district and age")
}

// TestExportHasCampaignAnswers: the data export holds the user's campaign
// attempts and answers; answer keys only once the attempt is finished.
func TestExportHasCampaignAnswers(t *testing.T) {
	t.Parallel()
	f := newCampaign(t, nil)
	c := f.citizen(t, "rosa")
	id := f.start(t, c)
	answer := func(seq int) {
		current(t, c, id) // serves the question
		r := c.Do("POST", fmt.Sprintf("/api/v1/attempts/%d/answers", id), map[string]any{"seq": seq, "choice": f.rightChoice(t, id, seq)})
		apptest.Expect(t, r, 200, fmt.Sprintf("answer %d", seq))
	}
	type exported struct {
		CampaignAttempts []struct {
			ID         int64
			Campaign   string
			FinishedAt *string `json:"finished_at"`
			Score      int
			Answers    []struct {
				Seq           int
				Stem          string
				Options       []string
				Choice        []int
				Correct       bool
				CorrectChoice []int `json:"correct_choice"`
				Explanation   string
			}
		} `json:"campaign_attempts"`
	}
	export := func() exported {
		r := c.Do("GET", "/api/v1/me/export", nil)
		apptest.Expect(t, r, 200, "export")
		var e exported
		r.JSON(t, &e)
		if len(e.CampaignAttempts) != 1 || e.CampaignAttempts[0].ID != id || e.CampaignAttempts[0].Campaign != "健康科普周" {
			t.Fatalf("export: got %s, want the one attempt", r.Body)
		}
		return e
	}
	answer(1)
	e := export().CampaignAttempts[0]
	if len(e.Answers) != 1 || e.Answers[0].Seq != 1 || !e.Answers[0].Correct || e.Answers[0].Stem == "" || len(e.Answers[0].Options) != 4 ||
		!slices.Equal(e.Answers[0].Choice, f.rightChoice(t, id, 1)) {
		t.Errorf("in progress: got %+v, want answer 1 with its stem, options and choice", e.Answers)
	}
	if len(e.Answers) == 1 && (e.Answers[0].CorrectChoice != nil || e.Answers[0].Explanation != "") {
		t.Errorf("in progress: the export shows the key %v %q", e.Answers[0].CorrectChoice, e.Answers[0].Explanation)
	}
	answer(2)
	answer(3)
	e = export().CampaignAttempts[0]
	if e.FinishedAt == nil || len(e.Answers) != 3 || e.Score == 0 {
		t.Fatalf("finished: got %+v, want 3 answers and a score", e)
	}
	for _, a := range e.Answers {
		if !slices.Equal(a.CorrectChoice, f.rightChoice(t, id, a.Seq)) || !strings.HasPrefix(a.Explanation, "秘密解释") {
			t.Errorf("finished, answer %d: got key %v %q, want the review's", a.Seq, a.CorrectChoice, a.Explanation)
		}
	}
	// Another user's export holds none of it.
	other := f.citizen(t, "sven")
	if r := other.Do("GET", "/api/v1/me/export", nil); strings.Contains(string(r.Body), "秘密解释") || !strings.Contains(string(r.Body), `"campaign_attempts":[]`) {
		t.Errorf("another user's export: %s", r.Body)
	}
}

// TestTeacherListScoped: an organizer sees the teachers of their own
// region subtree only; an admin sees every teacher.
func TestTeacherListScoped(t *testing.T) {
	t.Parallel()
	inst := apptest.Start(t)
	ctx := context.Background()
	wuling, dingcheng := inst.Seed.DistrictIDs["430702"], inst.Seed.DistrictIDs["430703"]
	inst.CreateUser("t-wuling", "teacher") // lives in 武陵区
	if _, err := inst.App.Accounts.EnsureUser(ctx, account.NewUser{Username: "t-dingcheng", Password: "correct horse", Role: "teacher",
		Nickname: "鼎城老师", RegionID: dingcheng, AgeBand: "30_39"}); err != nil {
		t.Fatal(err)
	}
	// t-commuter lives in 武陵区 but teaches a class of a school in 鼎城区.
	cid, _ := inst.CreateUser("t-commuter", "teacher")
	if _, err := inst.DB.Pool.Exec(ctx, `WITH s AS (INSERT INTO schools (region_id, name) VALUES ($1, '鼎城测试学校') RETURNING id)
		INSERT INTO classes (school_id, name, teacher_id) SELECT id, '一班', $2 FROM s`, dingcheng, cid); err != nil {
		t.Fatal(err)
	}
	_, pwA := inst.CreateUser("org-wuling", "organizer", wuling)
	_, pwB := inst.CreateUser("org-dingcheng", "organizer", dingcheng)
	_, pwAdmin := inst.CreateUser("root-admin", "admin")
	list := func(c *apptest.Client) []string {
		var v struct{ Teachers []struct{ Username string } }
		r := c.Do("GET", "/api/v1/teachers", nil)
		apptest.Expect(t, r, 200, "teachers")
		r.JSON(t, &v)
		var out []string
		for _, x := range v.Teachers {
			out = append(out, x.Username)
		}
		slices.Sort(out)
		return out
	}
	for _, tt := range []struct {
		name string
		c    *apptest.Client
		want []string
	}{
		{"organizer of 武陵区", inst.Login("org-wuling", pwA), []string{"demo-teacher", "t-commuter", "t-wuling"}},
		{"organizer of 鼎城区", inst.Login("org-dingcheng", pwB), []string{"t-commuter", "t-dingcheng"}},
		{"admin", inst.Login("root-admin", pwAdmin), []string{"demo-teacher", "t-commuter", "t-dingcheng", "t-wuling"}},
	} {
		if got := list(tt.c); !slices.Equal(got, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
	_, pwT := inst.CreateUser("t-other", "teacher")
	apptest.Expect(t, inst.Login("t-other", pwT).Do("GET", "/api/v1/teachers", nil), 403, "a teacher lists teachers")
}
