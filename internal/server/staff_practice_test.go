package server_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/kepu/kepu/internal/apptest"
	"github.com/kepu/kepu/internal/leaderboard"
)

// boardNames reads a board over HTTP as c and returns its nicknames in order.
func boardNames(t *testing.T, c *apptest.Client, campaign int64, query string) []string {
	t.Helper()
	res := c.Do("GET", fmt.Sprintf("/api/v1/campaigns/%d/leaderboard?%s", campaign, query), nil)
	if res.Status != 200 {
		t.Fatalf("board %s: got %d %s", query, res.Status, res.Body)
	}
	var v struct{ Top []leaderboard.Entry }
	res.JSON(t, &v)
	names := []string{}
	for _, e := range v.Top {
		names = append(names, e.Nickname)
	}
	return names
}

// play finishes one attempt of c at the fixture's campaign with every
// answer right (right) or wrong, and returns the attempt id.
func (f *campaignFixture) play(t *testing.T, c *apptest.Client, campaign int64, right bool) int64 {
	t.Helper()
	old := f.id
	f.id = campaign
	id := f.start(t, c)
	f.id = old
	f.finishAll(t, c, id, right)
	return id
}

func attemptJSON(t *testing.T, c *apptest.Client, id int64) map[string]any {
	t.Helper()
	res := c.Do("GET", fmt.Sprintf("/api/v1/attempts/%d", id), nil)
	if res.Status != 200 {
		t.Fatalf("attempt %d: got %d %s", id, res.Status, res.Body)
	}
	var v struct{ Attempt map[string]any }
	res.JSON(t, &v)
	return v.Attempt
}

// TestStaffPracticeTeacher: a teacher can read every published key in the
// bank (the attack: search the stem, read "answer"). Their attempt at a
// ranked campaign drawn from that bank is staff practice: shown as such,
// never on a board (live or after a rebuild), no rank on the result page,
// no certificate (403 on the page and the PNG, no button).
func TestStaffPracticeTeacher(t *testing.T) {
	t.Parallel()
	f := newCampaign(t, map[string]any{"questions": 2})
	_, pw := f.inst.CreateUser("teach1", "teacher")
	teacher := f.inst.Login("teach1", pw)
	pupil := f.citizen(t, "pupil1")

	// The premise: the teacher reads the keys of the campaign's questions.
	if res := teacher.Do("GET", "/api/v1/bank/questions?q="+url.QueryEscape("health-knowledge-single 第0题"), nil); res.Status != 200 ||
		!strings.Contains(string(res.Body), `"answer":[0]`) {
		t.Fatalf("teacher reads the bank: got %d %s", res.Status, res.Body)
	}

	if res := teacher.Do("GET", fmt.Sprintf("/campaigns/%d", f.id), nil); !strings.Contains(string(res.Body), `data-testid="staff-practice"`) {
		t.Errorf("campaign page for a teacher: got %d without the staff-practice notice", res.Status)
	}
	if res := pupil.Do("GET", fmt.Sprintf("/campaigns/%d", f.id), nil); strings.Contains(string(res.Body), `data-testid="staff-practice"`) {
		t.Error("campaign page for a participant shows the staff-practice notice")
	}
	tid := f.play(t, teacher, f.id, true)
	f.play(t, pupil, f.id, false)
	if v := attemptJSON(t, teacher, tid); v["staff_practice"] != true || v["cert_code"] != nil {
		t.Errorf("teacher's attempt: got staff_practice %v, cert_code %v; want true and none", v["staff_practice"], v["cert_code"])
	}

	check := func(when string) {
		t.Helper()
		names := boardNames(t, f.inst.Client(), f.id, "board=all")
		if strings.Join(names, ",") != "pupil1" {
			t.Errorf("%s: overall board %v, want only pupil1 (the teacher is staff practice)", when, names)
		}
		if names := boardNames(t, teacher, f.id, "board=district"); strings.Contains(strings.Join(names, ","), "teach1") {
			t.Errorf("%s: district board %v holds the teacher", when, names)
		}
		r, err := f.inst.App.Boards.RanksOf(context.Background(), f.id, mustUserID(t, f, "teach1"), tid)
		if err != nil || r != (leaderboard.Ranks{}) {
			t.Errorf("%s: teacher's ranks %+v %v, want none", when, r, err)
		}
	}
	check("live")
	if err := f.inst.App.Boards.Rebuild(context.Background(), f.id); err != nil {
		t.Fatal(err)
	}
	time.Sleep(60 * time.Millisecond) // the HTTP top cache
	check("after rebuild")

	res := teacher.Do("GET", fmt.Sprintf("/attempts/%d/result", tid), nil)
	body := string(res.Body)
	if res.Status != 200 || !strings.Contains(body, "工作人员练习") || strings.Contains(body, `data-testid="cert-link"`) ||
		strings.Contains(body, `data-testid="rank-overall"`) {
		t.Errorf("result page: got %d, want 工作人员练习, no ranks, no certificate button", res.Status)
	}
	for _, path := range []string{fmt.Sprintf("/attempts/%d/certificate", tid), fmt.Sprintf("/api/v1/attempts/%d/certificate.png", tid)} {
		res := teacher.Do("GET", path, nil)
		if res.Status != 403 || !strings.Contains(string(res.Body), "工作人员练习不发证书") {
			t.Errorf("GET %s: got %d %.200s, want 403 with the staff-practice message", path, res.Status, res.Body)
		}
	}
}

func mustUserID(t *testing.T, f *campaignFixture, username string) int64 {
	t.Helper()
	var id int64
	if err := f.inst.DB.Pool.QueryRow(context.Background(), `SELECT id FROM users WHERE username = $1`, username).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

func pngBytes(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 20, 20))
	for x := 0; x < 20; x++ {
		img.Set(x, x, color.RGBA{200, 10, 10, 255})
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestPrivatePool: an organizer's private questions (stem, key, image) are
// hidden from teachers in the bank API (search, get, versions, export,
// contest search) and never drawn by ordinary campaigns; a campaign drawing
// from the private pool ranks a teacher normally (they cannot read its
// keys) and keeps the organizer to staff practice; publishing checks the
// pool's size.
func TestPrivatePool(t *testing.T) {
	t.Parallel()
	f := newCampaign(t, map[string]any{"questions": 2})
	ctx := context.Background()
	res := f.org.DoRaw("POST", "/api/v1/bank/images", pngBytes(t), "image/png")
	if res.Status != 201 {
		t.Fatalf("upload image: got %d %s", res.Status, res.Body)
	}
	var img struct{ ID int64 }
	res.JSON(t, &img)
	var ids []int64
	for i := 0; i < 2; i++ {
		res := f.org.Do("POST", "/api/v1/bank/questions", map[string]any{"type": "single", "stem": fmt.Sprintf("绝密题%d：光年是什么单位？", i),
			"options": []string{"距离", "时间"}, "answer": []int{0}, "explanation": "光在一年里走的距离", "category": "health",
			"dimension": "knowledge", "difficulty": 2, "private": true, "image_id": img.ID})
		if res.Status != 201 || !strings.Contains(string(res.Body), `"private":true`) {
			t.Fatalf("create private question: got %d %s", res.Status, res.Body)
		}
		var q struct{ ID int64 }
		res.JSON(t, &q)
		ids = append(ids, q.ID)
	}
	if res := f.org.Do("POST", "/api/v1/bank/questions/status", map[string]any{"ids": ids, "status": "published"}); res.Status != 200 {
		t.Fatalf("publish questions: got %d %s", res.Status, res.Body)
	}

	_, pw := f.inst.CreateUser("teach2", "teacher")
	teacher := f.inst.Login("teach2", pw)
	for _, path := range []string{"/api/v1/bank/questions?q=" + url.QueryEscape("绝密"), "/api/v1/bank/questions?limit=500",
		"/api/v1/contests/bank?q=" + url.QueryEscape("绝密")} {
		res := teacher.Do("GET", path, nil)
		if res.Status != 200 || strings.Contains(string(res.Body), "绝密") || strings.Contains(string(res.Body), "光在一年") {
			t.Errorf("teacher GET %s: got %d %.300s, want no private question", path, res.Status, res.Body)
		}
	}
	for _, path := range []string{fmt.Sprintf("/api/v1/bank/questions/%d", ids[0]), fmt.Sprintf("/api/v1/bank/questions/%d/versions", ids[0]),
		"/api/v1/bank/export?format=json"} {
		if res := teacher.Do("GET", path, nil); res.Status != 403 {
			t.Errorf("teacher GET %s: got %d %.300s, want 403", path, res.Status, res.Body)
		}
	}
	imgPath := fmt.Sprintf("/api/v1/bank/images/%d", img.ID)
	for who, c := range map[string]*apptest.Client{"teacher": teacher, "anonymous": f.inst.Client()} {
		if res := c.Do("GET", imgPath, nil); res.Status != 404 {
			t.Errorf("%s GET the private question's image: got %d, want 404", who, res.Status)
		}
	}
	if res := f.org.Do("GET", imgPath, nil); res.Status != 200 {
		t.Errorf("organizer GET the private question's image: got %d, want 200", res.Status)
	}
	// The organizer's export holds them.
	if res := f.org.Do("GET", "/api/v1/bank/export?format=json", nil); res.Status != 200 || !strings.Contains(string(res.Body), "绝密题0") {
		t.Errorf("organizer's export: got %d without the private questions", res.Status)
	}

	// An ordinary campaign never draws a private question.
	var leaked int
	pupil := f.citizen(t, "pupil2")
	pid := f.play(t, pupil, f.id, true)
	if err := f.inst.DB.Pool.QueryRow(ctx, `SELECT count(*) FROM campaign_attempt_questions s JOIN question_versions v ON v.id = s.question_version_id
		JOIN questions q ON q.id = v.question_id WHERE s.attempt_id = $1 AND q.private`, pid).Scan(&leaked); err != nil || leaked != 0 {
		t.Errorf("ordinary campaign drew %d private questions (%v)", leaked, err)
	}

	body := func(n int) map[string]any {
		return map[string]any{"title": "私有题库赛", "starts_at": f.clock.Now().Add(-time.Hour), "ends_at": f.clock.Now().Add(24 * time.Hour),
			"rules": map[string]any{"questions": n, "time_limit": 20, "scoring": "speed", "pool": "private"}}
	}
	short := f.create(t, body(3))
	if res := f.org.Do("POST", fmt.Sprintf("/api/v1/manage/campaigns/%d/publish", short), nil); res.Status != 400 ||
		!strings.Contains(res.ErrorMessage(), "私有题库不足") {
		t.Errorf("publish a campaign the private pool cannot fill: got %d %s", res.Status, res.Body)
	}
	if res := f.org.Do("POST", "/api/v1/manage/campaigns", map[string]any{"title": "x", "starts_at": f.clock.Now(), "ends_at": f.clock.Now().Add(time.Hour),
		"rules": map[string]any{"pool": "secret"}}); res.Status != 400 {
		t.Errorf("unknown pool: got %d, want 400", res.Status)
	}
	private := f.create(t, body(2))
	if res := f.org.Do("POST", fmt.Sprintf("/api/v1/manage/campaigns/%d/publish", private), nil); res.Status != 200 {
		t.Fatalf("publish the private-pool campaign: got %d %s", res.Status, res.Body)
	}

	tid := f.play(t, teacher, private, true)
	if v := attemptJSON(t, teacher, tid); v["staff_practice"] != false || v["cert_code"] == nil {
		t.Errorf("teacher on the private pool: got staff_practice %v, cert_code %v; want a ranked, certified attempt", v["staff_practice"], v["cert_code"])
	}
	// Having been shown the questions, the teacher may load their image.
	if res := teacher.Do("GET", imgPath, nil); res.Status != 200 {
		t.Errorf("teacher GET the image of a question they were shown: got %d, want 200", res.Status)
	}
	oid := f.play(t, f.org, private, true)
	if v := attemptJSON(t, f.org, oid); v["staff_practice"] != true {
		t.Errorf("organizer on the private pool: got staff_practice %v, want true (they read its keys)", v["staff_practice"])
	}
	if names := boardNames(t, f.inst.Client(), private, "board=all"); strings.Join(names, ",") != "teach2" {
		t.Errorf("private-pool board: got %v, want the teacher alone", names)
	}
	if res := teacher.Do("GET", fmt.Sprintf("/attempts/%d/certificate", tid), nil); res.Status != 200 {
		t.Errorf("teacher's certificate on the private pool: got %d, want 200", res.Status)
	}
	// Still hidden from the teacher in the bank after playing.
	if res := teacher.Do("GET", fmt.Sprintf("/api/v1/bank/questions/%d", ids[1]), nil); res.Status != 403 {
		t.Errorf("teacher GET a private question after playing: got %d, want 403", res.Status)
	}
}
