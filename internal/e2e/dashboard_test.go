package e2e_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/kepu/kepu/internal/dashboard"
	"github.com/kepu/kepu/internal/dashboard/dashtest"
	"github.com/kepu/kepu/internal/e2e"
)

// An organizer opens a campaign dashboard: charts and their tables show the
// real data, and the live participant counter goes up while a participant
// answers (the server's refresher folds the answer; the websocket pushes
// the new headline).
func TestDashboardChartsAndLiveCounter(t *testing.T) {
	t.Parallel()
	b := e2e.Start(t)
	ctx := context.Background()
	db := b.Inst.DB.Pool
	d := newDashData(t, b, "科普周答题", 12)
	camp, v1 := d.campaign, d.v1
	must := d.must

	b.LoginDemo("demo-organizer")
	b.Desktop()
	b.ClickNav("[data-testid=nav-dash]")
	b.WaitText("[data-testid=dash-overview]", "科普周答题")
	b.ClickNav("[data-testid=dash-overview] a")
	b.WaitText("h1", "科普周答题")
	b.WaitText("[data-testid=kpi-participants]", "12")
	b.WaitText("[data-live-status]", "实时更新中")

	// Charts are drawn (ECharts renders SVG) next to tables with the same data.
	for _, view := range []string{"region", "timeline_hour", "scores", "dimensions"} {
		sel := "[data-testid=chart-" + view + "]"
		drawn := e2e.Get(b, chromedp.Evaluate[bool](`(() => { const c = document.querySelector('`+sel+`'); return !!c && !!c.dataset.drawn && !!c.querySelector('svg') })()`))
		if !drawn {
			b.Do(chromedp.WaitVisible(chromedp.CSS(sel + " svg")))
		}
	}
	b.WaitText("[data-testid=table-region]", "武陵区")
	b.WaitText("[data-testid=table-dimensions]", "科学知识")
	if n := e2e.Get(b, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid=table-region] tbody tr').length`)); n != 3 {
		t.Errorf("region table: got %d rows, want 3 districts", n)
	}
	b.WaitText("[data-testid=table-items]", "水的沸点？")
	b.Screenshot("dashboard-desktop")

	// A participant answers now: the live counter moves without a reload.
	uid, err := dashtest.User(ctx, db, "e2e-live", b.Inst.Seed.DistrictIDs["430702"], 0, 0, "18_29", "student")
	must(err)
	_, err = dashtest.Attempt(ctx, db, camp, uid, time.Now().Add(-2*time.Minute), false,
		dashtest.Answer{VersionID: v1, Choice: 0, Correct: true, MS: 3000})
	must(err)
	b.WaitText("[data-testid=kpi-participants]", "13")
	if got := b.Text("[data-testid=kpi-apm]"); got == "–" {
		t.Errorf("answers per minute: got %q, want a number", got)
	}

	// On a phone the charts fit the screen and the tables scroll inside their box.
	b.Phone()
	width := e2e.Get(b, chromedp.Evaluate[float64](`document.querySelector('[data-testid=chart-region]').getBoundingClientRect().width`))
	if width <= 0 || width > float64(e2e.PhoneWidth) {
		t.Errorf("chart width on a phone: got %v, want 1..%d", width, e2e.PhoneWidth)
	}
	overflow := e2e.Get(b, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 1`))
	if overflow {
		t.Errorf("the page scrolls sideways on a phone")
	}
	b.Screenshot("dashboard-phone")

	// The print report has every table.
	b.Visit("/dash/campaigns/" + strconv.FormatInt(camp, 10) + "/report")
	report := b.Text("[data-testid=report]")
	for _, want := range []string{"年度总结报告", "按区县", "题目分析", "地震时应？"} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q", want)
		}
	}
}

// dashData is a campaign with two questions (水的沸点？ half right, 地震时应？
// all right) answered in n finished attempts spread over three districts,
// folded into the dashboards.
type dashData struct {
	campaign, q1, v1, q2, v2 int64
	must                     func(error)
}

func newDashData(t *testing.T, b *e2e.Browser, title string, n int) dashData {
	t.Helper()
	ctx := context.Background()
	db := b.Inst.DB.Pool
	d := dashData{must: func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}}
	now := time.Now()
	city := b.Inst.Seed.CityID
	var err error
	d.campaign, err = dashtest.Campaign(ctx, db, title, city, true, now.Add(-24*time.Hour), now.Add(24*time.Hour))
	d.must(err)
	d.q1, d.v1, err = dashtest.Question(ctx, db, city, "水的沸点？", []string{"100℃", "90℃", "80℃"}, 0, "physics_chemistry", "knowledge")
	d.must(err)
	d.q2, d.v2, err = dashtest.Question(ctx, db, city, "地震时应？", []string{"跳楼", "躲在坚固桌下", "乘电梯"}, 1, "safety", "application")
	d.must(err)
	districts := []string{"430702", "430703", "430725"}
	for i := range n {
		uid, err := dashtest.User(ctx, db, "e2e-p"+strconv.Itoa(i), b.Inst.Seed.DistrictIDs[districts[i%3]], 0, 0, "30_39", "worker")
		d.must(err)
		_, err = dashtest.Attempt(ctx, db, d.campaign, uid, now.Add(-time.Duration(3+i)*time.Hour), true,
			dashtest.Answer{VersionID: d.v1, Choice: i % 2, Correct: i%2 == 0, MS: 5000},
			dashtest.Answer{VersionID: d.v2, Choice: 1, Correct: true, MS: 7000})
		d.must(err)
	}
	_, err = (&dashboard.Refresher{DB: db, CommitLag: -1}).Refresh(ctx)
	d.must(err)
	return d
}
