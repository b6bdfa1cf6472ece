package e2e_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/kepu/kepu/internal/campaign"
	"github.com/kepu/kepu/internal/dashboard"
	"github.com/kepu/kepu/internal/dashboard/dashtest"
	"github.com/kepu/kepu/internal/e2e"
)

// The home page on a phone and on a projector, in Chinese and English: a
// stranger sees at once the open campaign with its cover, dates in
// Beijing time, the countdown ticking, the participants so far and one
// big 去答题 button that leads to it; the next campaign and the districts
// by participation; logged in, their streak and last result. Choosing
// English on the login page survives the login.
func TestPortalHomePhoneAndProjector(t *testing.T) {
	t.Parallel()
	b := e2e.Start(t)
	ctx, db := context.Background(), b.Inst.DB.Pool
	id := campaignOf(t, b, "常德市科学素质网络答题周", "", "published", 5, campaign.Rules{Questions: 5, TimeLimit: 20, PerDay: 3})
	raw, err := os.ReadFile(writePNG(t, "cover.png", 640, 360, false))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(raw)
	if _, err := db.Exec(ctx, `WITH i AS (INSERT INTO images (sha256, mime, data, width, height) VALUES ($1, 'image/png', $2, 640, 360) RETURNING id)
		UPDATE campaigns SET cover_image_id = (SELECT id FROM i) WHERE id = $3`, sum[:], raw, id); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, `INSERT INTO campaigns (title, region_id, status, starts_at, ends_at)
		VALUES ('暑期青少年科学营', $1, 'published', now() + interval '20 days', now() + interval '30 days')`, b.Inst.Seed.CityID); err != nil {
		t.Fatal(err)
	}
	var vid int64
	if err := db.QueryRow(ctx, `SELECT v.id FROM question_versions v JOIN questions q ON q.id = v.question_id
		WHERE q.stem_norm LIKE 'camp-e2e%' LIMIT 1`).Scan(&vid); err != nil {
		t.Fatal(err)
	}
	ok := dashtest.Answer{VersionID: vid, Choice: 1, Correct: true, MS: 3000}
	for i, d := range []string{"430725", "430725", "430725", "430703", "430781"} {
		uid, err := dashtest.User(ctx, db, fmt.Sprintf("portal-p%d", i), b.Inst.Seed.DistrictIDs[d], 0, 0, "30_39", "worker")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := dashtest.Attempt(ctx, db, id, uid, time.Now().Add(-30*time.Minute), true, ok); err != nil {
			t.Fatal(err)
		}
	}
	// The demo citizen's attempt: finished just now.
	var citizen int64
	if err := db.QueryRow(ctx, `SELECT id FROM users WHERE username = 'demo-citizen'`).Scan(&citizen); err != nil {
		t.Fatal(err)
	}
	if _, err := dashtest.Attempt(ctx, db, id, citizen, time.Now().Add(-5*time.Minute), true, ok, ok, ok, ok); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := (&dashboard.Refresher{DB: db, CommitLag: -1}).Refresh(ctx); err != nil {
			t.Fatal(err)
		}
	}

	b.Phone()
	b.Visit("/")
	b.WaitText("[data-testid=go-"+fmt.Sprint(id)+"]", "去答题")
	b.WaitText("[data-testid=count-"+fmt.Sprint(id)+"]", "已有 6 人参加")
	if got := b.Text(".portal-dates"); !strings.Contains(got, "北京时间") {
		t.Errorf("dates: got %q, want them labelled 北京时间", got)
	}
	if got := b.Text("[data-testid=districts] .portal-dname"); got != "桃源县" {
		t.Errorf("first district: got %q, want 桃源县 (three participants)", got)
	}
	first := b.Text("[data-testid=countdown-" + fmt.Sprint(id) + "]")
	time.Sleep(1100 * time.Millisecond)
	if again := b.Text("[data-testid=countdown-" + fmt.Sprint(id) + "]"); again == first || !strings.Contains(again, "秒") {
		t.Errorf("countdown: %q then %q, want it ticking in seconds", first, again)
	}
	// The button is in the first screen of a phone, with the cover.
	if top := e2e.Get(b, chromedp.Evaluate[float64](`document.querySelector('.portal-go').getBoundingClientRect().bottom`)); top > 844 {
		t.Errorf("去答题 ends %.0f px down, below the phone's first screen (844)", top)
	}
	if !e2e.Get(b, chromedp.Evaluate[bool](`(() => { const i = document.querySelector('.portal-cover'); return i.complete && i.naturalWidth === 640 })()`)) {
		t.Error("the cover did not load")
	}
	noOverflow(t, b, "home on a phone")
	b.Screenshot("portal-home-zh-phone")
	projector(b, "portal-home-zh")

	// English chosen on the login page survives the login.
	b.Visit("/login")
	b.ClickNav("[data-testid=lang-switch]")
	b.WaitText("h1", "Log in")
	b.Fill("#username", "demo-citizen")
	for _, d := range b.Inst.Seed.Accounts {
		if d.Username == "demo-citizen" {
			b.Fill("#password", d.Password)
		}
	}
	b.ClickNav(`main form button[type=submit]`)
	b.Visit("/")
	b.WaitText("[data-testid=go-"+fmt.Sprint(id)+"]", "Take the quiz")
	b.WaitText("[data-testid=streak]", "1-day streak")
	b.WaitText("[data-testid=last]", "4 of 4 points")
	if got := b.Text(".portal-dates"); !strings.Contains(got, "Beijing time") {
		t.Errorf("dates in English: got %q, want Beijing time", got)
	}
	noOverflow(t, b, "home in English on a phone")
	b.Screenshot("portal-home-en-phone")
	projector(b, "portal-home-en")
	b.ClickNav("[data-testid=last-link]")
	if got := e2e.Get(b, chromedp.Evaluate[string](`location.pathname`)); !strings.HasSuffix(got, "/result") {
		t.Errorf("last result link: got %s, want the attempt's result", got)
	}
	b.Visit("/")
	b.ClickNav("[data-testid=go-" + fmt.Sprint(id) + "]")
	if got := e2e.Get(b, chromedp.Evaluate[string](`location.pathname`)); got != campaignPath(id) {
		t.Errorf("去答题 leads to %s, want %s", got, campaignPath(id))
	}
}
