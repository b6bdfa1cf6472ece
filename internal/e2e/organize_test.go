package e2e_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/kepu/kepu/internal/campaign"
	"github.com/kepu/kepu/internal/dashboard"
	"github.com/kepu/kepu/internal/dashboard/dashtest"
	"github.com/kepu/kepu/internal/e2e"
)

// An organizer on a phone publishes and ends a campaign from the list:
// each asks in the page's own dialog (focus on 取消, Esc answers no and
// nothing happens), and what was done is said after the reload. An admin
// then finds the publish in the audit log by actor and action, in words,
// in Chinese and English, on a phone and a projector.
func TestOrganizerConfirmsAndAudits(t *testing.T) {
	t.Parallel()
	b := e2e.Start(t)
	ctx := context.Background()
	id := campaignOf(t, b, "确认对话框活动", "", "draft", 3, campaign.Rules{Questions: 2, TimeLimit: 20})
	status := func() string {
		t.Helper()
		var s string
		if err := b.Inst.DB.Pool.QueryRow(ctx, `SELECT status FROM campaigns WHERE id = $1`, id).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	b.Phone()
	b.LoginDemo("demo-organizer")
	b.Visit("/manage/campaigns")
	b.WaitText(fmt.Sprintf("[data-testid=audience-%d]", id), "参与范围：常德市所有人。")
	b.Do(chromedp.Click(chromedp.CSS(fmt.Sprintf("[data-testid=publish-%d]", id))))
	b.WaitText("dialog[open][data-testid=confirm]", "发布「确认对话框活动」后")
	if got := e2e.Get(b, chromedp.Evaluate[string](`document.activeElement.dataset.testid || ''`)); got != "confirm-cancel" {
		t.Errorf("focus in the dialog: on %q, want confirm-cancel", got)
	}
	if got := e2e.Get(b, chromedp.Evaluate[string](`(() => { const d = document.querySelector('dialog[open]');
		return document.getElementById(d.getAttribute('aria-labelledby')).textContent })()`)); got != "发布活动？" {
		t.Errorf("dialog's accessible name: got %q, want 发布活动？", got)
	}
	b.Screenshot("organize-confirm-publish-phone-zh")
	b.Do(chromedp.KeyEvent(kb.Escape))
	b.Do(chromedp.WaitNotPresent(chromedp.CSS("dialog[data-testid=confirm]")))
	if s := status(); s != "draft" {
		t.Fatalf("after Esc: status %s, want draft", s)
	}
	b.Do(chromedp.Click(chromedp.CSS(fmt.Sprintf("[data-testid=publish-%d]", id))))
	b.ClickNav("[data-testid=confirm-ok]")
	b.WaitText("[data-testid=notice]", "已发布「确认对话框活动」。")
	if s := status(); s != "published" {
		t.Fatalf("after confirming: status %s, want published", s)
	}
	b.Do(chromedp.Click(chromedp.CSS(fmt.Sprintf("[data-testid=close-%d]", id))))
	b.WaitText("dialog[open][data-testid=confirm]", "任何人都不能再答题")
	b.ClickNav("[data-testid=confirm-ok]")
	b.WaitText("[data-testid=notice]", "已结束「确认对话框活动」。")
	b.Screenshot("organize-campaigns-ended-phone-zh")
	projector(b, "organize-campaigns-ended-zh")

	admin := e2e.New(t, b.Inst)
	admin.Phone()
	admin.LoginDemo("demo-admin")
	admin.Visit("/admin/audit")
	admin.Fill("[data-testid=audit-actor]", "demo-organizer")
	admin.Do(chromedp.SetValue(chromedp.CSS("[data-testid=audit-action]"), "campaign.publish"))
	admin.ClickNav("[data-testid=audit-apply]")
	admin.WaitText("[data-testid=audit] tbody", "发布了活动「确认对话框活动」")
	if n := e2e.Get(admin, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid=audit] tbody tr[data-action]').length`)); n != 1 {
		t.Errorf("filtered audit log: %d rows, want the one publish", n)
	}
	admin.WaitText("[data-testid=audit] thead", "时间（北京时间）")
	admin.Screenshot("organize-audit-phone-zh")
	projector(admin, "organize-audit-zh")
	// A bad date range is refused in the form.
	admin.Visit("/admin/audit?from=2026-02-01&to=2026-01-01")
	admin.WaitText("[data-testid=audit-error]", "结束日期不能早于开始日期")

	admin.ClickNav("[data-testid=lang-switch]")
	admin.Visit("/admin/audit?action=campaign.close")
	admin.WaitText("[data-testid=audit] tbody", "ended the campaign “确认对话框活动”")
	admin.WaitText("[data-testid=audit] thead", "Time (Beijing time)")
	admin.Screenshot("organize-audit-phone-en")
	projector(admin, "organize-audit-en")

	b.ClickNav("[data-testid=lang-switch]")
	id2 := campaignOf(t, b, "Dialog campaign", "", "draft", 3, campaign.Rules{Questions: 2, TimeLimit: 20})
	b.Visit("/manage/campaigns")
	b.Do(chromedp.Click(chromedp.CSS(fmt.Sprintf("[data-testid=publish-%d]", id2))))
	b.WaitText("dialog[open][data-testid=confirm]", "Once “Dialog campaign” is published")
	b.WaitText("[data-testid=confirm-cancel]", "Cancel")
	b.Screenshot("organize-confirm-publish-phone-en")
	projector(b, "organize-confirm-publish-en")
	b.Do(chromedp.Click(chromedp.CSS("[data-testid=confirm-cancel]")))
	b.Do(chromedp.WaitNotPresent(chromedp.CSS("dialog[data-testid=confirm]")))
	b.Visit(fmt.Sprintf("/campaigns/%d", id))
	b.WaitText("[data-testid=camp-audience]", "Open to everyone in")
	b.Screenshot("organize-campaign-phone-en")
	projector(b, "organize-campaign-en")
}

// An organizer's dashboard explains the district it withholds (fewer than
// 5 participants) under the chart instead of leaving it out silently,
// shows shares as percentages (pass rate, the items' 答对率) and counts on
// whole-number ticks; in Chinese and English, on a phone and a projector.
func TestDashboardExplainsWithheldGroups(t *testing.T) {
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
	now := time.Now()
	city := b.Inst.Seed.CityID
	camp, err := dashtest.Campaign(ctx, db, "分组说明", city, false, now.Add(-24*time.Hour), now.Add(24*time.Hour))
	must(err)
	_, v1, err := dashtest.Question(ctx, db, city, "水的沸点？", []string{"100℃", "90℃"}, 0, "physics_chemistry", "knowledge")
	must(err)
	for i := range 7 {
		district := "430702" // 武陵区: 5 participants, shown
		if i >= 5 {
			district = "430703" // 鼎城区: 2, withheld
		}
		uid, err := dashtest.User(ctx, db, "e2e-g"+strconv.Itoa(i), b.Inst.Seed.DistrictIDs[district], 0, 0, "30_39", "worker")
		must(err)
		_, err = dashtest.Attempt(ctx, db, camp, uid, now.Add(-time.Duration(2+i)*time.Hour), true,
			dashtest.Answer{VersionID: v1, Choice: i % 2, Correct: i%2 == 0, MS: 5000})
		must(err)
	}
	_, err = (&dashboard.Refresher{DB: db, CommitLag: -1}).Refresh(ctx)
	must(err)

	b.Phone()
	b.LoginDemo("demo-organizer")
	b.Visit("/dash/campaigns/" + strconv.FormatInt(camp, 10))
	b.WaitText("[data-testid=table-region]", "鼎城区")
	b.WaitText("#sec-region [data-testid=suppressed-note]", "鼎城区：参与人数少于 5 人，不予显示。")
	if got := e2e.Get(b, chromedp.Evaluate[string](`document.querySelector('[data-testid=chart-region]').dataset.drawn`)); got != "1" {
		t.Errorf("region chart: %s groups drawn, want 1 (鼎城区 withheld)", got)
	}
	b.WaitText("[data-testid=table-region] tbody tr:first-child td:nth-child(5)", "%")
	b.WaitText("[data-testid=table-items] tbody tr:first-child td:nth-child(4)", "57.1%") // 4 of 7 answers right
	ticks := e2e.Get(b, chromedp.Evaluate[string](`(() => { const c = echarts.getInstanceByDom(document.querySelector('[data-testid=chart-scores]'));
		return String(c.getOption().yAxis[0].minInterval) })()`))
	if ticks != "1" {
		t.Errorf("scores chart (participants): minInterval %s, want 1", ticks)
	}
	b.Do(chromedp.ScrollIntoView(chromedp.CSS("#sec-region")))
	b.Screenshot("organize-dash-withheld-phone-zh")
	projector(b, "organize-dash-withheld-zh")

	b.ClickNav("[data-testid=lang-switch]")
	b.WaitText("#sec-region [data-testid=suppressed-note]", "Not shown (鼎城区): fewer than 5 participants.")
	b.Do(chromedp.ScrollIntoView(chromedp.CSS("#sec-region")))
	b.Screenshot("organize-dash-withheld-phone-en")
	projector(b, "organize-dash-withheld-en")
}
