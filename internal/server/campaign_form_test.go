package server_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestCampaignFormAudiencePicker: the organizer's form lists the schools
// of the organizer's scope for the picker and shows a saved campaign's
// schools and classes as chosen (names escaped); a district organizer's
// picker holds their district's schools only; a school outside the
// campaign's region is refused on its own field.
func TestCampaignFormAudiencePicker(t *testing.T) {
	t.Parallel()
	f := newCampaign(t, nil)
	ctx := context.Background()
	db := f.inst.DB.Pool
	wuling := f.inst.Seed.DistrictIDs["430702"]
	var tricky, class, otherSchool int64
	if err := db.QueryRow(ctx, `INSERT INTO schools (region_id, name) VALUES ($1, '<b>实验</b>&小学') RETURNING id`, wuling).Scan(&tricky); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(ctx, `SELECT c.id, c.school_id FROM classes c JOIN schools s ON s.id = c.school_id
		WHERE s.name = '鼎城区演示中学'`).Scan(&class, &otherSchool); err != nil {
		t.Fatal(err)
	}
	body := map[string]any{"title": "校园周", "starts_at": time.Now().Add(time.Hour), "ends_at": time.Now().Add(48 * time.Hour),
		"rules": map[string]any{"questions": 3, "schools": []int64{tricky}, "classes": []int64{class}}}
	id := f.create(t, body)

	page := string(f.org.Do("GET", fmt.Sprintf("/manage/campaigns/%d", id), nil).Body)
	for _, want := range []string{
		fmt.Sprintf(`data-kind="school" data-id="%d" data-name="&lt;b&gt;实验&lt;/b&gt;&amp;小学"`, tricky),
		fmt.Sprintf(`data-kind="class" data-id="%d" data-name="鼎城区演示中学 · 初一(3)班"`, class),
		`aria-label="移除 鼎城区演示中学 · 初一(3)班"`,
		`id="aud-q"`, `id="aud-district"`, "武陵区演示实验小学", "桃源县演示中学", // the city organizer's schools
	} {
		if !strings.Contains(page, want) {
			t.Errorf("form lacks %q", want)
		}
	}
	if strings.Contains(page, "<b>实验") {
		t.Error("a school's name reached the page unescaped")
	}
	if !strings.Contains(page, `id="aud-none" hidden`) {
		t.Error("the 'nothing chosen' line shows although a school and a class are chosen")
	}
	blank := string(f.org.Do("GET", "/manage/campaigns/new", nil).Body)
	if strings.Contains(blank, `data-kind="school"`) || strings.Contains(blank, `id="aud-none" hidden`) {
		t.Error("a new campaign's form shows chosen schools")
	}

	// A district organizer's picker lists their district's schools only.
	_, pw := f.inst.CreateUser("org-wuling", "organizer", wuling)
	od := f.inst.Login("org-wuling", pw)
	mine := string(od.Do("GET", "/manage/campaigns/new", nil).Body)
	if !strings.Contains(mine, "武陵区演示实验小学") || strings.Contains(mine, "鼎城区演示中学") || strings.Contains(mine, "桃源县演示中学") {
		t.Errorf("district organizer's picker: want Wuling's schools only")
	}
	body["rules"] = map[string]any{"questions": 3, "schools": []int64{otherSchool}}
	res := od.Do("POST", "/api/v1/manage/campaigns", body)
	var e struct{ Error struct{ Field string } }
	res.JSON(t, &e)
	if res.Status != 400 || e.Error.Field != "rules.schools" {
		t.Errorf("a school outside the region: got %d %s, want 400 on rules.schools", res.Status, res.Body)
	}
}
