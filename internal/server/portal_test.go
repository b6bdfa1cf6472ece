package server_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kepu/kepu/internal/apptest"
	"github.com/kepu/kepu/internal/dashboard/dashtest"
	"github.com/kepu/kepu/internal/kepu"
	"github.com/kepu/kepu/internal/testenv"
)

// portalFixture: open campaigns 城市科学周 (the city) and 鼎城专场 (only
// 鼎城区), an upcoming 下月科学节 and an ended 去年旧活动; three minors of
// 桃源县 and one of 武陵区 finished 城市科学周; the citizen (武陵区)
// finished it yesterday and today (Asia/Shanghai).
type portalFixture struct {
	inst                       *apptest.Instance
	city, dingcheng, next, old int64
	citizen                    *apptest.Client
	lastAttempt                int64
}

func newPortalFixture(t *testing.T, opts ...apptest.Options) *portalFixture {
	t.Helper()
	inst := apptest.Start(t, opts...)
	ctx, db := context.Background(), inst.DB.Pool
	f := &portalFixture{inst: inst}
	now := time.Now()
	mk := func(title string, from, to time.Time, audience ...int64) int64 {
		t.Helper()
		id, err := dashtest.Campaign(ctx, db, title, inst.Seed.CityID, false, from, to)
		if err != nil {
			t.Fatal(err)
		}
		if audience == nil {
			audience = []int64{}
		}
		if _, err := db.Exec(ctx, `UPDATE campaigns SET status = 'published', audience = $2 WHERE id = $1`, id, audience); err != nil {
			t.Fatal(err)
		}
		return id
	}
	f.city = mk("城市科学周", now.Add(-48*time.Hour), now.Add(50*time.Hour+7*time.Minute))
	f.dingcheng = mk("鼎城专场", now.Add(-time.Hour), now.Add(3*time.Hour), inst.Seed.DistrictIDs["430703"])
	f.next = mk("下月科学节", now.Add(30*24*time.Hour), now.Add(40*24*time.Hour))
	f.old = mk("去年旧活动", now.Add(-400*24*time.Hour), now.Add(-390*24*time.Hour))
	_, v, err := dashtest.Question(ctx, db, inst.Seed.CityID, "门户题", []string{"A", "B"}, 0, "life", "knowledge")
	if err != nil {
		t.Fatal(err)
	}
	right := dashtest.Answer{VersionID: v, Choice: 0, Correct: true, MS: 2000}
	// Attempts finish in time order, as they do live: the dashboard folds
	// them by finished_at.
	y, m, d := now.In(kepu.Shanghai).Date()
	today := time.Date(y, m, d, 0, 1, 0, 0, kepu.Shanghai)
	// Today's attempt finishes at 00:04 Beijing time (dashtest: a minute
	// per answer); in the first minutes of a Beijing day that is still to
	// come, and the dashboard folds only what has finished. Wait for it
	// (at most 4 minutes, on no more than 4 minutes of a day).
	if ready := today.Add(3*time.Minute + 5*time.Second); now.Before(ready) {
		time.Sleep(time.Until(ready))
	}
	for i, d := range []string{"430725", "430725", "430725", "430702"} {
		uid, err := dashtest.User(ctx, db, fmt.Sprintf("小明未成年%d", i), inst.Seed.DistrictIDs[d], 0, 0, "u14", "student")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := dashtest.Attempt(ctx, db, f.city, uid, today.AddDate(0, 0, -2), true, right); err != nil {
			t.Fatal(err)
		}
	}
	uid, pw := inst.CreateUser("portal-citizen", "participant")
	if _, err := db.Exec(ctx, `UPDATE users SET region_id = $2 WHERE id = $1`, uid, inst.Seed.DistrictIDs["430702"]); err != nil {
		t.Fatal(err)
	}
	if _, err := dashtest.Attempt(ctx, db, f.city, uid, today.AddDate(0, 0, -1), true, right, right); err != nil {
		t.Fatal(err)
	}
	wrong := right
	wrong.Correct, wrong.Choice = false, 1
	if f.lastAttempt, err = dashtest.Attempt(ctx, db, f.city, uid, today, true, right, wrong); err != nil {
		t.Fatal(err)
	}
	foldAll(t, db, f.city)
	f.citizen = inst.Login("portal-citizen", pw)
	return f
}

// shown is a page without its stylesheet and script names and the
// messages embedded for its script: what may not hold a raw key.
func shown(body string) string {
	if i := strings.Index(body, `id="portal-msgs"`); i > 0 {
		body = body[:i]
	}
	return strings.NewReplacer("portal.css", "", "portal.js", "").Replace(body)
}

// TestPortalHome: the home page is the campaigns' portal. A visitor sees
// the open campaigns (dates in Beijing time, a countdown, participants so
// far, one 去答题 per campaign), the next ones, and the districts ranked by
// participation (no person named); a participant sees only the campaigns
// open to them, their streak and their last result. In both languages.
func TestPortalHome(t *testing.T) {
	t.Parallel()
	f := newPortalFixture(t)
	anon := f.inst.Client()
	body := string(anon.Do("GET", "/", nil).Body)
	mustContain(t, "home (visitor)", body, "城市科学周", "鼎城专场", "下月科学节", "北京时间", "距结束还有", "2 天 2 小时",
		"已有 5 人参加", fmt.Sprintf(`href="/campaigns/%d" data-testid="go-%d">去答题<`, f.city, f.city),
		fmt.Sprintf(`data-testid="go-%d"`, f.dingcheng), "各区县参与排行", "立即注册")
	mustLack(t, "home (visitor)", body, "去年旧活动", "小明未成年", `data-testid="me"`)
	mustLack(t, "home (visitor)", shown(body), "portal.")
	// Districts: most participants first (桃源县 3, 武陵区 2), ties in
	// official order; every district is listed.
	var names []string
	for _, m := range regexp.MustCompile(`<span class="portal-dname">([^<]+)</span>`).FindAllStringSubmatch(body, -1) {
		names = append(names, m[1])
	}
	if len(names) != 15 || names[0] != "桃源县" || names[1] != "武陵区" || names[2] != "鼎城区" || names[3] != "津市市" {
		t.Errorf("district ranking: got %v, want 桃源县 武陵区 then the rest in official order (鼎城区 津市市 …)", names)
	}
	if strings.Index(body, "城市科学周") > strings.Index(body, "下月科学节") {
		t.Error("the upcoming campaign comes before the open one")
	}

	body = string(f.citizen.Do("GET", "/", nil).Body)
	mustContain(t, "home (citizen)", body, "城市科学周", "连续答题 2 天", "最近一次成绩", "1 / 2 分",
		fmt.Sprintf(`href="/attempts/%d/result"`, f.lastAttempt))
	mustLack(t, "home (citizen of 武陵区)", body, "鼎城专场")
	mustLack(t, "home (citizen)", shown(body), "portal.")

	switchLang(t, f.citizen, "en")
	body = string(f.citizen.Do("GET", "/", nil).Body)
	mustContain(t, "home (citizen, en)", body, ">Take the quiz<", "Beijing time", "Ends in", "2 days 2 h",
		"5 participants so far", "2-day streak", "1 of 2 points", "Districts by participation")
	mustLack(t, "home (citizen, en)", shown(body), "portal.", "去答题", "北京时间")
}

// TestPortalWithoutRedis: Postgres is the truth of the home page; with
// Redis away it still shows the campaigns and says what does not work.
func TestPortalWithoutRedis(t *testing.T) {
	t.Parallel()
	proxy := testenv.NewRedisProxy(t)
	f := newPortalFixture(t, apptest.Options{Env: map[string]string{"KEPU_REDIS_URL": proxy.RedisURL()}})
	body := string(f.citizen.Do("GET", "/", nil).Body)
	mustLack(t, "home with Redis", body, `data-testid="redis-down"`)
	proxy.Cut()
	time.Sleep(3100 * time.Millisecond) // the last ping's answer is trusted for 3 s
	for _, c := range []*apptest.Client{f.citizen, f.inst.Client()} {
		r := c.Do("GET", "/", nil)
		apptest.Expect(t, r, 200, "home without Redis")
		mustContain(t, "home without Redis", string(r.Body), "城市科学周", "去答题", `data-testid="redis-down"`, "部分功能暂时不可用")
	}
}
