package server_test

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/kepu/kepu/internal/apptest"
	"github.com/kepu/kepu/internal/dashboard/dashtest"
	"github.com/kepu/kepu/internal/literacy"
)

// litFixture: one literacy assessment this year. 武陵区 (430702): ten
// people aged 18–29, eight literate, and ten aged 30–39, two literate;
// one of the young who failed took it again and passed (the first
// attempt counts). 鼎城区 (430703): three people, all literate (fewer
// than five: not shown). Unweighted: 13 of 23. Weighted to 18–29: 100,
// 30–39: 300 in 武陵区: (100·0.8 + 300·0.2)/400 = 35%.
type litFixture struct {
	inst     *apptest.Instance
	campaign int64
	v        int64 // the question's version
}

func newLitFixture(t *testing.T) *litFixture {
	t.Helper()
	inst := apptest.Start(t)
	ctx, db := context.Background(), inst.DB.Pool
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	f := &litFixture{inst: inst}
	now := time.Now()
	var err error
	f.campaign, err = dashtest.Campaign(ctx, db, "年度公民科学素质测评", inst.Seed.CityID, true, now.Add(-72*time.Hour), now.Add(72*time.Hour))
	must(err)
	_, f.v, err = dashtest.Question(ctx, db, inst.Seed.CityID, "光年是时间单位还是长度单位？", []string{"时间单位", "长度单位"}, 1, "earth_space", "knowledge")
	must(err)
	must(inst.DB.Pool.QueryRow(ctx, `UPDATE question_versions SET explanation = '光年是光在一年中走过的距离。' WHERE id = $1 RETURNING id`, f.v).Scan(&f.v))
	n := 0
	add := func(district, age string, literate bool) int64 {
		n++
		uid, err := dashtest.User(ctx, db, fmt.Sprintf("lit-p%d", n), inst.Seed.DistrictIDs[district], 0, 0, age, "worker")
		must(err)
		a := dashtest.Answer{VersionID: f.v, Choice: 0, Correct: literate, MS: 5000}
		if literate {
			a.Choice = 1
		}
		_, err = dashtest.Attempt(ctx, db, f.campaign, uid, now.Add(-48*time.Hour+time.Duration(n)*time.Minute), true, a)
		must(err)
		return uid
	}
	for i := range 10 {
		uid := add("430702", "18_29", i < 8)
		if i == 9 { // a retake that passes: not counted
			_, err := dashtest.Attempt(ctx, db, f.campaign, uid, now.Add(-24*time.Hour), true, dashtest.Answer{VersionID: f.v, Choice: 1, Correct: true, MS: 3000})
			must(err)
		}
	}
	for i := range 10 {
		add("430702", "30_39", i < 2)
	}
	for range 3 {
		add("430703", "40_49", true)
	}
	return f
}

type litShareBody struct {
	Share literacy.Share `json:"share"`
}

func TestLiteracyShareAccess(t *testing.T) {
	t.Parallel()
	f := newLitFixture(t)
	path := fmt.Sprintf("/api/v1/literacy/campaigns/%d/share", f.campaign)
	for _, role := range []string{"participant", "teacher"} {
		_, pw := f.inst.CreateUser("lit-"+role, role)
		c := f.inst.Login("lit-"+role, pw)
		for _, p := range []string{path, "/api/v1/literacy/report", "/api/v1/literacy/margins"} {
			apptest.Expect(t, c.Do("GET", p, nil), 403, role+" "+p)
		}
		apptest.Expect(t, c.DoRaw("POST", "/api/v1/literacy/margins", []byte("district,age_band,population\n430702,18_29,5\n"), "text/csv"), 403, role+" upload")
		if r := c.Do("GET", "/dash/literacy", nil); r.Status != 403 {
			t.Errorf("%s: literacy page: got %d, want 403", role, r.Status)
		}
	}
	if r := f.inst.Client().Do("GET", "/dash/literacy/report", nil); r.Status != 302 && r.Status != 303 {
		t.Errorf("anonymous report page: got %d, want a redirect to login", r.Status)
	}

	// An organizer of 鼎城区 sees only their district, which is too small.
	_, pw := f.inst.CreateUser("lit-org-d2", "organizer", f.inst.Seed.DistrictIDs["430703"])
	d2 := f.inst.Login("lit-org-d2", pw)
	r := d2.Do("GET", path, nil)
	apptest.Expect(t, r, 200, "district organizer")
	var body litShareBody
	r.JSON(t, &body)
	if len(body.Share.Districts) != 1 || !body.Share.Districts[0].Suppressed || body.Share.Districts[0].Estimate != nil || !body.Share.Total.Suppressed {
		t.Errorf("district organizer: got %+v, want only 鼎城区, suppressed", body.Share)
	}
	// …and may not set another district's margins.
	r = d2.DoRaw("POST", "/api/v1/literacy/margins", []byte("district,age_band,population\n430702,18_29,5\n"), "text/csv")
	if r.Status != 400 || !strings.Contains(string(r.Body), "不在您的管理范围内") {
		t.Errorf("margins outside the scope: got %d %s, want 400 naming the district", r.Status, r.Body)
	}
}

func TestLiteracyShareWeighting(t *testing.T) {
	t.Parallel()
	f := newLitFixture(t)
	_, pw := f.inst.CreateUser("lit-org", "organizer")
	org := f.inst.Login("lit-org", pw)
	path := fmt.Sprintf("/api/v1/literacy/campaigns/%d/share", f.campaign)

	var body litShareBody
	r := org.Do("GET", path, nil)
	apptest.Expect(t, r, 200, "share")
	r.JSON(t, &body)
	sh := body.Share
	if sh.Weighted || sh.Total.N != 23 || math.Abs(sh.Total.Estimate.Share-13.0/23) > 1e-9 {
		t.Fatalf("unweighted: got weighted %v, total %+v; want 13 of 23 (first attempts)", sh.Weighted, sh.Total)
	}
	page := string(org.Do("GET", "/dash/literacy", nil).Body)
	for _, want := range []string{"未加权", "56.5%", "不足 5 人，不显示", "武陵区", "鼎城区"} {
		if !strings.Contains(page, want) {
			t.Errorf("unweighted page lacks %q", want)
		}
	}

	// A file with problems: every row's problem, in the reader's language, and nothing saved.
	bad := "district,age_band,occupation,population\n430702,18_29,,100\n430702,18_29,,100\n火星区,30_39,,5\n430702,30_39,,many\n"
	r = org.DoRaw("POST", "/api/v1/literacy/margins", []byte(bad), "text/csv")
	var problems struct {
		Error    struct{ Message string }
		Problems []struct {
			Row     int
			Message string
		}
	}
	r.JSON(t, &problems)
	if r.Status != 400 || len(problems.Problems) != 3 || problems.Problems[0].Row != 3 || !strings.Contains(problems.Problems[1].Message, "火星区") ||
		!strings.Contains(problems.Error.Message, "3 处问题") {
		t.Fatalf("bad file: got %d %s", r.Status, r.Body)
	}
	setLang(org, "en")
	r = org.DoRaw("POST", "/api/v1/literacy/margins", []byte(bad), "text/csv")
	if r.Status != 400 || !strings.Contains(string(r.Body), "Row 5: the population") {
		t.Errorf("bad file in English: got %d %s", r.Status, r.Body)
	}
	setLang(org, "zh-CN")
	if big := bytes.Repeat([]byte("x"), literacy.MaxMarginBytes+1); org.DoRaw("POST", "/api/v1/literacy/margins", big, "text/csv").Status != 413 {
		t.Error("a file over 1 MiB: want 413")
	}
	var n int
	f.inst.DB.Pool.QueryRow(context.Background(), `SELECT count(*) FROM literacy_margins`).Scan(&n)
	if n != 0 {
		t.Fatalf("%d margin rows saved from bad files", n)
	}

	good := "区县,年龄段,人口\n武陵区,18_29,100\n430702,30_39,300\n"
	r = org.DoRaw("POST", "/api/v1/literacy/margins?dry_run=1", []byte(good), "text/csv")
	apptest.Expect(t, r, 200, "dry run")
	f.inst.DB.Pool.QueryRow(context.Background(), `SELECT count(*) FROM literacy_margins`).Scan(&n)
	if n != 0 {
		t.Fatal("a dry run saved margins")
	}
	apptest.Expect(t, org.DoRaw("POST", "/api/v1/literacy/margins?source=census", []byte(good), "text/csv"), 200, "upload")

	r = org.Do("GET", path, nil)
	r.JSON(t, &body)
	sh = body.Share
	d1 := sh.Districts[0]
	if !sh.Weighted || !d1.Weighted || math.Abs(d1.Estimate.Share-0.35) > 1e-6 || math.Abs(sh.Total.Estimate.Share-0.35) > 1e-6 {
		t.Fatalf("weighted: got %+v, want 武陵区 and the total at 35%%", sh)
	}
	if sh.InWeighting != 20 || sh.People != 23 || sh.Unweighted.N != 23 {
		t.Errorf("got %d of %d people weighted, want 20 of 23", sh.InWeighting, sh.People)
	}
	page = string(org.Do("GET", "/dash/literacy", nil).Body)
	for _, want := range []string{"已加权", "35.0%", "设计效应", "有效样本量", "未加权比例（仅参与者）：56.5%", "本次没有权重超过上限"} {
		if !strings.Contains(page, want) {
			t.Errorf("weighted page lacks %q", want)
		}
	}
	setLang(org, "en")
	page = string(org.Do("GET", "/dash/literacy", nil).Body)
	for _, want := range []string{"Weighted: participants are adjusted", "Design effect", "Fewer than 5: not shown"} {
		if !strings.Contains(page, want) {
			t.Errorf("English page lacks %q", want)
		}
	}
	margins := string(org.Do("GET", "/dash/literacy/margins", nil).Body)
	if !strings.Contains(margins, "census") || !strings.Contains(margins, "400") {
		t.Errorf("margins page does not show the upload")
	}
}

func TestLiteracyFiveYearReport(t *testing.T) {
	f := newLitFixture(t)
	_, pw := f.inst.CreateUser("lit-admin", "admin")
	admin := f.inst.Login("lit-admin", pw)
	var rep literacy.Report
	r := admin.Do("GET", "/api/v1/literacy/report", nil)
	apptest.Expect(t, r, 200, "report")
	r.JSON(t, &rep)
	year := time.Now().In(time.FixedZone("CST", 8*3600)).Year()
	if len(rep.Years) != 5 || rep.Years[4] != year || rep.TotalAttempts != 24 || rep.TotalParticipants != 23 {
		t.Errorf("got years %v, %d attempts, %d participants; want the five years to %d, 24, 23", rep.Years, rep.TotalAttempts, rep.TotalParticipants, year)
	}
	if len(rep.Literacy) != 1 || rep.Literacy[0].Year != year || rep.Literacy[0].Share.Total.N != 23 {
		t.Errorf("literacy per year: got %+v, want this year's 23 people", rep.Literacy)
	}
	if len(rep.Missed) != 1 || !strings.Contains(rep.Missed[0].Explanation, "光年") || rep.Missed[0].Answer != "B. 长度单位" {
		t.Errorf("missed questions: got %+v", rep.Missed)
	}
	page := string(admin.Do("GET", "/dash/literacy/report", nil).Body)
	for _, want := range []string{"五年报告", "lit-chart-participation", "lit-report-data", "光年是光在一年中走过的距离", "未加权", "56.5%", "（北京时间）"} {
		if !strings.Contains(page, want) {
			t.Errorf("report page lacks %q", want)
		}
	}
	if _, err := exec.LookPath("chromium"); err != nil {
		t.Log("no chromium: PDF not tried")
		return
	}
	admin.HTTP.Timeout = 2 * time.Minute // Chromium starts slowly on a busy machine
	r = admin.Do("GET", "/api/v1/literacy/report/export.pdf", nil)
	if r.Status != 200 || r.Header.Get("Content-Type") != "application/pdf" || !bytes.HasPrefix(r.Body, []byte("%PDF")) {
		t.Fatalf("pdf: got %d %s %.60q", r.Status, r.Header.Get("Content-Type"), r.Body)
	}
}

// setLang makes c's next requests speak lang (the language cookie, which
// login set from the profile, wins over Accept-Language).
func setLang(c *apptest.Client, lang string) {
	u, _ := url.Parse(c.Base)
	c.HTTP.Jar.SetCookies(u, []*http.Cookie{{Name: "kepu_lang", Value: lang}})
	c.Lang = lang
}
