package e2e_test

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/kepu/kepu/internal/apptest"
	"github.com/kepu/kepu/internal/e2e"
	"github.com/kepu/kepu/internal/seed"
)

// TestScreens draws the screenshots of docs/screens, the README's gallery:
// each journey on a fresh, seeded instance (the demo campaign, and a year
// of generated campaign volume for the dashboards), on a 390×844 phone and
// a 1920×1080 projector, in Chinese, and the citizen's and the teacher's in
// English too. It runs only when KEPU_SCREENS names the directory to write
// (`make screens`), which it empties of PNG files first.
func TestScreens(t *testing.T) {
	dir := os.Getenv("KEPU_SCREENS")
	if dir == "" {
		t.Skip("KEPU_SCREENS is not set (make screens)")
	}
	e2e.RequireChromium(t)
	old, _ := filepath.Glob(filepath.Join(dir, "*.png"))
	for _, f := range old {
		os.Remove(f)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	inst := apptest.Start(t)
	camp, _, err := inst.App.Campaigns.SeedDemo(ctx, inst.Seed.CityID)
	if err != nil {
		t.Fatal(err)
	}
	// Both languages' citizens play on the same day.
	if _, err := inst.DB.Pool.Exec(ctx, `UPDATE campaigns SET settings = settings || '{"per_day": 10}' WHERE id = $1`, camp); err != nil {
		t.Fatal(err)
	}
	vol := seed.Volume{DB: inst.DB.Pool, Orgs: inst.App.Org, Campaigns: inst.App.Campaigns}
	if err := vol.Load(ctx, 400, 2000, 1, io.Discard); err != nil {
		t.Fatal(err)
	}
	s := &screens{t: t, dir: dir, inst: inst}
	for _, lang := range []string{"zh-CN", "en"} {
		s.citizen(lang, camp)
		s.host(lang)
	}
	s.organizer(camp)
	s.admin()
}

type screens struct {
	t    *testing.T
	dir  string
	inst *apptest.Instance
}

// browser is a new phone browser in lang, logged in as demo account user
// ("" for none).
func (s *screens) browser(lang, user string) *e2e.Browser {
	b := e2e.New(s.t, s.inst)
	if user != "" {
		b.LoginDemo(user)
	}
	b.Visit("/lang/" + lang)
	return b
}

// shot saves what b shows as <name>-<lang>-<device>.png, recompressed.
func (s *screens) shot(b *e2e.Browser, name, lang, device string) {
	s.t.Helper()
	time.Sleep(300 * time.Millisecond) // transitions and fonts
	raw := e2e.Get(b, chromedp.CaptureScreenshot())
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		s.t.Fatal(err)
	}
	var out bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&out, img); err != nil {
		s.t.Fatal(err)
	}
	short := map[string]string{"zh-CN": "zh", "en": "en"}[lang]
	file := filepath.Join(s.dir, fmt.Sprintf("%s-%s-%s.png", name, short, device))
	if err := os.WriteFile(file, out.Bytes(), 0o644); err != nil {
		s.t.Fatal(err)
	}
	s.t.Logf("screens: %s (%d KB)", file, out.Len()/1024)
}

// both saves b on the phone and on the projector, scrolled to sel when
// given, and leaves it on the phone.
func (s *screens) both(b *e2e.Browser, name, lang, sel string) {
	s.t.Helper()
	for _, device := range []string{"phone", "projector"} {
		if device == "phone" {
			b.Phone()
		} else {
			b.Do(chromedp.EmulateViewport(1920, 1080))
		}
		if sel != "" {
			e2e.Get(b, chromedp.Evaluate[bool](fmt.Sprintf(`(document.querySelector(%q)?.scrollIntoView({block: 'start'}), true)`, sel)))
		}
		s.shot(b, name, lang, device)
	}
	b.Phone()
}

// citizen: home, the campaign, a question, its answer with the explanation,
// the result and the leaderboard.
func (s *screens) citizen(lang string, camp int64) {
	b := s.browser(lang, "demo-citizen")
	b.Visit("/")
	s.both(b, "citizen-1-home", lang, "")
	b.Visit(fmt.Sprintf("/campaigns/%d", camp))
	b.Do(chromedp.WaitVisible(chromedp.CSS("[data-testid=start]")))
	s.both(b, "citizen-2-campaign", lang, "")
	b.ClickNav("[data-testid=start]")
	b.Do(chromedp.WaitVisible(chromedp.CSS("#q-tiles .tile")))
	s.both(b, "citizen-3-question", lang, "")
	att := e2e.Get(b, chromedp.Evaluate[int64](`+location.pathname.split('/')[2]`))
	// A wrong answer: the page shows the right one and the explanation.
	right := rightChoices(s.t, s.inst, att)
	clicked := e2e.Get(b, chromedp.Evaluate[bool](fmt.Sprintf(`(() => {
		const right = %s;
		const t = [...document.querySelectorAll('#q-tiles .tile')].find(x => !right.includes(+x.dataset.option));
		if (!t) return false;
		t.click();
		const s = document.querySelector('#q-submit'); if (s && !s.hidden) s.click();
		return true })()`, strings.Join(strings.Fields(fmt.Sprint(right[1])), ","))))
	if !clicked {
		s.t.Fatalf("citizen %s: no wrong option to choose (right: %v)", lang, right[1])
	}
	b.Do(chromedp.WaitVisible(chromedp.CSS("[data-testid=verdict]")))
	s.both(b, "citizen-4-answer", lang, "")
	// The other questions right, through the page's session.
	var answers []string
	for seq := 2; seq <= len(right); seq++ {
		answers = append(answers, fmt.Sprintf("[%d, %s]", seq, strings.Join(strings.Fields(fmt.Sprint(right[seq])), ",")))
	}
	msg := e2e.Get(b, chromedp.Evaluate[string](fmt.Sprintf(`(async (att, answers) => {
		const h = {'Content-Type': 'application/json', 'X-CSRF-Token': document.querySelector('meta[name=csrf-token]').content};
		for (const [seq, choice] of answers) {
			await fetch('/api/v1/attempts/' + att);
			const r = await fetch('/api/v1/attempts/' + att + '/answers', {method: 'POST', headers: h, body: JSON.stringify({seq, choice})});
			if (!r.ok) return 'answer ' + seq + ': ' + r.status;
		}
		const f = await fetch('/api/v1/attempts/' + att + '/finish', {method: 'POST', headers: h});
		return f.ok || f.status === 409 ? '' : 'finish: ' + f.status;
	})(%d, [%s])`, att, strings.Join(answers, ",")), chromedp.EvalAwaitPromise))
	if msg != "" {
		s.t.Fatalf("citizen: %s", msg)
	}
	b.Visit(fmt.Sprintf("/attempts/%d/result", att))
	b.Do(chromedp.WaitVisible(chromedp.CSS("[data-testid=rank-overall]")))
	s.both(b, "citizen-5-result", lang, "")
	b.Visit(fmt.Sprintf("/campaigns/%d/leaderboard", camp))
	b.WaitText("[data-testid=lb-rows]", "科学爱好者")
	s.both(b, "citizen-6-leaderboard", lang, "")
}

// host: demo-teacher's three-question contest on the projector (lobby,
// question, reveal, podium) with three pupils' phones.
func (s *screens) host(lang string) {
	ctx := context.Background()
	type q struct {
		id  int64
		key int
	}
	var qs []q
	rows, err := s.inst.DB.Pool.Query(ctx, `SELECT q.id, v.answer[1] FROM questions q
		JOIN question_versions v ON v.question_id = q.id AND v.version = (SELECT max(version) FROM question_versions WHERE question_id = q.id)
		WHERE q.status = 'published' AND NOT q.private AND q.type = 'single' AND q.seed_key IS NOT NULL AND q.lang = $1
		ORDER BY q.id LIMIT 3`, lang)
	if err != nil {
		s.t.Fatal(err)
	}
	var ids []int64
	for rows.Next() {
		var x q
		if err := rows.Scan(&x.id, &x.key); err != nil {
			s.t.Fatal(err)
		}
		qs, ids = append(qs, x), append(ids, x.id)
	}
	rows.Close()
	api := s.inst.Login("demo-teacher", s.inst.DemoPassword("demo-teacher"))
	title := map[string]string{"zh-CN": "五年级科学课堂竞赛", "en": "Grade 5 science contest"}[lang]
	var c struct{ ID int64 }
	r := api.Do("POST", "/api/v1/contests", map[string]any{"title": title, "question_ids": ids, "settings": map[string]any{"time_limit": 30}})
	apptest.Expect(s.t, r, 201, "create a contest")
	r.JSON(s.t, &c)
	var run struct{ Run struct{ ID int64 } }
	r = api.Do("POST", fmt.Sprintf("/api/v1/contests/%d/runs", c.ID), nil)
	apptest.Expect(s.t, r, 201, "open a room")
	r.JSON(s.t, &run)

	host := s.browser(lang, "demo-teacher")
	projector := func() { host.Do(chromedp.EmulateViewport(1920, 1080)) }
	projector()
	host.Visit(fmt.Sprintf("/host/%d", run.Run.ID))
	pin := strings.TrimSpace(host.Text("[data-testid=pin]"))
	var players []*e2e.Browser
	for _, n := range []string{"小明", "小红", "Lily"} {
		p := s.browser(lang, "")
		p.Visit("/play?pin=" + pin)
		p.Fill("#nickname", n)
		p.Do(chromedp.Click(chromedp.CSS("[data-testid=join]")))
		p.Do(chromedp.WaitVisible(chromedp.CSS("[data-testid=wait]")))
		players = append(players, p)
	}
	host.WaitText("[data-testid=joined]", "3")
	s.shot(host, "host-1-lobby", lang, "projector")
	s.shot(players[0], "host-1-lobby-player", lang, "phone")
	next := func() {
		host.Do(chromedp.WaitEnabled(chromedp.CSS("[data-testid=host-next]")), chromedp.Click(chromedp.CSS("[data-testid=host-next]")))
	}
	next()
	for i, question := range qs {
		waitPhase(host, "question")
		for j, p := range players {
			choice := question.key
			if j == 2 {
				choice = (question.key + 1) % 2
			}
			sel := fmt.Sprintf(`#q-tiles [data-option="%d"]:not([disabled])`, choice)
			p.Do(chromedp.WaitVisible(chromedp.CSS(sel)))
			if i == 0 && j == 0 {
				s.shot(host, "host-2-question", lang, "projector")
				s.shot(p, "host-2-question-player", lang, "phone")
			}
			p.Do(chromedp.Click(chromedp.CSS(sel)))
		}
		waitPhase(host, "reveal")
		if i == 0 {
			players[0].Do(chromedp.WaitVisible(chromedp.CSS("[data-testid=verdict]")))
			s.shot(host, "host-3-reveal", lang, "projector")
			s.shot(players[0], "host-3-reveal-player", lang, "phone")
		}
		next()
		waitPhase(host, "board")
		next()
	}
	waitPhase(host, "finished")
	host.Do(chromedp.WaitVisible(chromedp.CSS("[data-testid=podium]")))
	time.Sleep(3 * time.Second) // the podium builds 3rd → 2nd → 1st
	s.shot(host, "host-4-podium", lang, "projector")
	players[0].Do(chromedp.WaitVisible(chromedp.CSS("[data-testid=final-rank]")))
	s.shot(players[0], "host-4-podium-player", lang, "phone")
}

// organizer: the dashboard, a campaign's management page and the item
// analysis of the busiest generated campaign.
func (s *screens) organizer(demo int64) {
	b := s.browser("zh-CN", "demo-organizer")
	b.Visit("/dash")
	b.Do(chromedp.WaitVisible(chromedp.CSS("[data-testid=dash-overview]")))
	s.both(b, "organizer-1-dashboard", "zh-CN", "")
	b.Visit(fmt.Sprintf("/manage/campaigns/%d", demo))
	b.Do(chromedp.WaitVisible(chromedp.CSS("[data-testid=form-status]")))
	s.both(b, "organizer-2-campaign", "zh-CN", "")
	var busiest int64
	if err := s.inst.DB.Pool.QueryRow(context.Background(), `SELECT campaign_id FROM campaign_attempts
		GROUP BY campaign_id ORDER BY count(*) DESC LIMIT 1`).Scan(&busiest); err != nil {
		s.t.Fatal(err)
	}
	b.Visit(fmt.Sprintf("/dash/campaigns/%d", busiest))
	b.Do(chromedp.WaitVisible(chromedp.CSS("#sec-items table")))
	s.both(b, "organizer-3-items", "zh-CN", "#sec-items")
}

// admin: the audit log, after an organizer has added a school and a
// teacher pupils to their class.
func (s *screens) admin() {
	org := s.inst.Login("demo-organizer", s.inst.DemoPassword("demo-organizer"))
	apptest.Expect(s.t, org.Do("POST", "/api/v1/schools", map[string]any{"region_id": s.inst.Seed.DistrictIDs["430725"], "name": "桃源县第一中学"}), 201, "create a school")
	teacher := s.inst.Login("demo-teacher", s.inst.DemoPassword("demo-teacher"))
	apptest.Expect(s.t, teacher.Do("POST", fmt.Sprintf("/api/v1/classes/%d/pupils", s.inst.Seed.ClassIDs[0]), map[string]any{"names": []string{"小明", "小红"}}), 201, "create pupils")
	b := s.browser("zh-CN", "demo-admin")
	b.Visit("/admin/audit")
	b.Do(chromedp.WaitVisible(chromedp.CSS("[data-testid=audit]")))
	s.both(b, "admin-1-audit", "zh-CN", "")
}
