package server_test

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// TestCampaignAudienceSchoolsAndClasses: a campaign for one school and one
// class (of another school) admits their members only; a school outside
// the campaign's region cannot be chosen.
func TestCampaignAudienceSchoolsAndClasses(t *testing.T) {
	t.Parallel()
	f := newCampaign(t, nil)
	ctx := context.Background()
	seed := f.inst.Seed
	school := seed.SchoolIDs[0]
	var class, classSchool int64
	if err := f.inst.DB.Pool.QueryRow(ctx, `SELECT id, school_id FROM classes WHERE school_id <> $1 ORDER BY id LIMIT 1`,
		school).Scan(&class, &classSchool); err != nil {
		t.Fatal(err)
	}
	body := map[string]any{"title": "校园科普", "starts_at": f.clock.Now().Add(-time.Hour), "ends_at": f.clock.Now().Add(time.Hour),
		"rules": map[string]any{"questions": 3, "schools": []int64{school}, "classes": []int64{class}}}
	id := f.create(t, body)
	if res := f.org.Do("POST", fmt.Sprintf("/api/v1/manage/campaigns/%d/publish", id), nil); res.Status != 200 {
		t.Fatalf("publish: got %d %s", res.Status, res.Body)
	}
	place := func(name string, schoolID, classID any) int {
		uid, pw := f.inst.CreateUser(name, "participant")
		if _, err := f.inst.DB.Pool.Exec(ctx, `UPDATE users SET school_id = $2, class_id = $3,
			region_id = (SELECT region_id FROM schools WHERE id = $2) WHERE id = $1`, uid, schoolID, classID); err != nil {
			t.Fatal(err)
		}
		return f.inst.Login(name, pw).Do("POST", fmt.Sprintf("/api/v1/campaigns/%d/attempts", id), nil).Status
	}
	var otherClass int64
	if err := f.inst.DB.Pool.QueryRow(ctx, `INSERT INTO classes (school_id, name) VALUES ($1, '未选中的班') RETURNING id`,
		classSchool).Scan(&otherClass); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name          string
		school, class any
		want          int
	}{
		{"in the chosen school", school, nil, 201},
		{"in the chosen class", classSchool, class, 201},
		{"another class of that school", classSchool, otherClass, 403},
		{"no school", nil, nil, 403},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := place(fmt.Sprintf("aud%d", i), tt.school, tt.class); got != tt.want {
				t.Errorf("start: got %d, want %d", got, tt.want)
			}
		})
	}
	body["rules"] = map[string]any{"questions": 3, "schools": []int64{1 << 40}}
	if res := f.org.Do("POST", "/api/v1/manage/campaigns", body); res.Status != 400 {
		t.Errorf("unknown school: got %d %s, want 400", res.Status, res.Body)
	}
}
