package e2e_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/kepu/kepu/internal/dashboard/dashtest"
	"github.com/kepu/kepu/internal/e2e"
)

// An organizer reads the literacy share (unweighted), uploads population
// margins through the page — a bad file first, with its problems by row —
// sees the share weighted, then opens the five-year report with its charts;
// on a phone and a projector, in Chinese and English.
func TestLiteracyPages(t *testing.T) {
	t.Parallel()
	b := e2e.Start(t)
	ctx := context.Background()
	db := b.Inst.DB.Pool
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	city := b.Inst.Seed.CityID
	_, v, err := dashtest.Question(ctx, db, city, "光年是什么单位？", []string{"时间", "长度"}, 1, "earth_space", "knowledge")
	must(err)
	districts := []string{"430702", "430703", "430725", "430726"}
	ages := []string{"18_29", "30_39", "50_59"}
	n := 0
	for back := 2; back >= 0; back-- {
		at := time.Now().AddDate(-back, 0, 0)
		camp, err := dashtest.Campaign(ctx, db, fmt.Sprintf("%d 年度公民科学素质测评", at.Year()), city, true, at.Add(-72*time.Hour), at.Add(72*time.Hour))
		must(err)
		for di, d := range districts {
			for i := range 12 {
				n++
				uid, err := dashtest.User(ctx, db, fmt.Sprintf("e2e-lit-%d", n), b.Inst.Seed.DistrictIDs[d], 0, 0, ages[i%3], "worker")
				must(err)
				right := (i+di+back)%10 < 5+di-back // improves over the years, more in some districts
				choice := 0
				if right {
					choice = 1
				}
				_, err = dashtest.Attempt(ctx, db, camp, uid, at.Add(-time.Duration(i+1)*time.Hour), true,
					dashtest.Answer{VersionID: v, Choice: choice, Correct: right, MS: 4000})
				must(err)
			}
		}
	}
	// One small district: suppressed.
	for i := range 3 {
		uid, err := dashtest.User(ctx, db, fmt.Sprintf("e2e-lit-small-%d", i), b.Inst.Seed.DistrictIDs["430781"], 0, 0, "40_49", "farmer")
		must(err)
		var camp int64
		must(db.QueryRow(ctx, `SELECT max(id) FROM campaigns`).Scan(&camp))
		_, err = dashtest.Attempt(ctx, db, camp, uid, time.Now().Add(-time.Hour), true, dashtest.Answer{VersionID: v, Choice: 1, Correct: true, MS: 4000})
		must(err)
	}

	b.LoginDemo("demo-organizer")
	b.Visit("/dash")
	b.ClickNav("[data-testid=dash-literacy]")
	b.WaitText("[data-testid=lit-label]", "未加权")
	b.WaitText("[data-testid=lit-table]", "不足 5 人，不显示")
	b.Screenshot("literacy-share-phone-zh")

	bad := tempFile(t, "bad.csv", "district,age_band,population\n430702,18_29,1000\n火星区,30_39,5\n430703,elderly,10\n")
	csv := "district,age_band,occupation,population\n"
	for i, d := range districts {
		csv += fmt.Sprintf("%s,18_29,,%d\n%s,30_39,,%d\n%s,50_59,,%d\n", d, 90000+i*5000, d, 120000, d, 150000+i*20000)
	}
	good := tempFile(t, "good.csv", csv)
	b.ClickNav("[data-testid=lit-margins-link]")
	b.Do(chromedp.SetUploadFiles(chromedp.CSS("#lit-file"), []string{bad}))
	b.Do(chromedp.Click(chromedp.CSS("[data-testid=lit-check]")))
	b.WaitText("[data-testid=lit-problems]", "第 3 行：区县“火星区”不存在")
	b.WaitText("[data-testid=lit-problems]", "第 4 行：年龄段“elderly”无法识别")
	b.Screenshot("literacy-margins-errors-phone-zh")
	b.Do(chromedp.SetUploadFiles(chromedp.CSS("#lit-file"), []string{good}))
	b.Fill("#lit-source", "示例人口数据")
	b.Do(chromedp.Click(chromedp.CSS("[data-testid=lit-save]")))
	b.WaitText("[data-testid=lit-ok]", "已保存 12 行")
	b.WaitText("[data-testid=lit-margins-table]", "武陵区") // the page reloads with the margins

	b.Visit("/dash/literacy")
	b.WaitText("[data-testid=lit-label]", "已加权")
	b.Desktop()
	b.Screenshot("literacy-share-projector-zh")

	b.Visit("/dash/literacy/report")
	b.WaitText("[data-testid=lit-improving]", "个百分点")
	b.WaitText("[data-testid=lit-missed]", "光年是什么单位？")
	for _, id := range []string{"lit-chart-participation", "lit-chart-trend", "lit-chart-districts"} {
		b.Do(chromedp.WaitVisible(chromedp.CSS("#" + id + " svg")))
	}
	b.Screenshot("literacy-report-projector-zh")
	b.PrintMedia(true)
	b.Screenshot("literacy-report-print-zh")
	b.PrintMedia(false)

	b.ClickNav("[data-testid=lang-switch]")
	b.WaitText("[data-testid=lit-label]", "Weighted")
	b.WaitText("h1", "five-year report")
	b.Screenshot("literacy-report-projector-en")
	b.Phone()
	b.Visit("/dash/literacy")
	b.WaitText("[data-testid=lit-table]", "Fewer than 5")
	b.Screenshot("literacy-share-phone-en")
	b.Visit("/dash/literacy/report")
	b.Do(chromedp.WaitVisible(chromedp.CSS("#lit-chart-districts svg")))
	b.Screenshot("literacy-report-phone-en")
}
