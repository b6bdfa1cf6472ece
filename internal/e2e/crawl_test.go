package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/url"
	"path"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/kepu/kepu/internal/apptest"
	"github.com/kepu/kepu/internal/e2e"
	"github.com/kepu/kepu/web"
)

// crawlMaxPages caps the pages one role visits in one language.
const crawlMaxPages = 40

// TestCrawlEveryRole logs in as each role of the demo seed (a visitor
// without an account, a guest, a citizen, a pupil, a teacher, an organizer
// and an admin), starts at / on a 390×844 phone, in zh-CN and in en, and
// follows every same-site link (GET only, one page per path pattern). Every
// page fails the test when it answers 4xx/5xx, logs a console error or an
// uncaught exception, shows a raw message key of web/locales, is wider than
// the phone, has a doubled title, or, in Chinese, puts ASCII punctuation
// between Chinese characters (checks in crawlCheckJS).
func TestCrawlEveryRole(t *testing.T) {
	t.Parallel()
	e2e.RequireChromium(t)
	inst := apptest.Start(t)
	d := crawlFixture(t, inst)
	keys := localeKeys(t)
	start := time.Now()
	t.Cleanup(func() { t.Logf("crawl: %d pages in %s", d.pages.Load(), time.Since(start).Round(100*time.Millisecond)) })
	roles := []struct {
		name  string
		login func(b *e2e.Browser)
	}{
		{"visitor", func(*e2e.Browser) {}},
		{"guest", func(b *e2e.Browser) {
			b.Visit(fmt.Sprintf("/campaigns/%d", d.campaign))
			ok := e2e.Get(b, chromedp.Evaluate[bool](fmt.Sprintf(`fetch('/api/v1/campaigns/%d/guest', {method: 'POST',
				headers: {'Content-Type': 'application/json', 'X-CSRF-Token': document.querySelector('meta[name=csrf-token]').content},
				body: JSON.stringify({nickname: '路过的游客'})}).then(r => r.ok)`, d.campaign), chromedp.EvalAwaitPromise))
			if !ok {
				t.Fatal("guest: joining the demo campaign failed")
			}
		}},
		{"citizen", func(b *e2e.Browser) { b.LoginDemo("demo-citizen") }},
		{"pupil", func(b *e2e.Browser) { b.Login(d.pupil, d.pupilPassword) }},
		{"teacher", func(b *e2e.Browser) { b.LoginDemo("demo-teacher") }},
		{"organizer", func(b *e2e.Browser) { b.LoginDemo("demo-organizer") }},
		{"admin", func(b *e2e.Browser) { b.LoginDemo("demo-admin") }},
	}
	for _, r := range roles {
		t.Run(r.name, func(t *testing.T) {
			t.Parallel()
			b := e2e.New(t, inst)
			r.login(b)
			for _, lang := range []string{"zh-CN", "en"} {
				t.Run(lang, func(t *testing.T) {
					// The language of this browser only: a login sets the
					// account's language, which another subtest may change.
					b.Visit("/lang/" + lang)
					d.pages.Add(int64(crawl(t, b, lang, keys)))
				})
			}
		})
	}
}

// crawlData is what the fixture made for the crawl to find.
type crawlData struct {
	campaign             int64 // the demo campaign, open to guests, with a finished attempt of demo-citizen
	pupil, pupilPassword string
	pages                atomic.Int64 // checked by every subtest together
}

// crawlFixture gives every role something to look at: the demo campaign
// (guests allowed) with a passed attempt of demo-citizen, a pupil in
// demo-teacher's class, and a contest of demo-teacher with an ended room.
func crawlFixture(t *testing.T, inst *apptest.Instance) *crawlData {
	t.Helper()
	ctx := context.Background()
	d := &crawlData{}
	id, _, err := inst.App.Campaigns.SeedDemo(ctx, inst.Seed.CityID)
	if err != nil {
		t.Fatal(err)
	}
	d.campaign = id
	if _, err := inst.DB.Pool.Exec(ctx, `UPDATE campaigns SET settings = settings || '{"guests": true}' WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	citizen := inst.Login("demo-citizen", inst.DemoPassword("demo-citizen"))
	playAttempt(t, inst, citizen, id)

	teacher := inst.Login("demo-teacher", inst.DemoPassword("demo-teacher"))
	var pupils struct {
		Pupils []struct{ Username, Password string }
	}
	r := teacher.Do("POST", fmt.Sprintf("/api/v1/classes/%d/pupils", inst.Seed.ClassIDs[0]), map[string]any{"names": []string{"小明"}})
	apptest.Expect(t, r, 201, "create a pupil")
	r.JSON(t, &pupils)
	d.pupil, d.pupilPassword = pupils.Pupils[0].Username, pupils.Pupils[0].Password

	var qids []int64
	rows, err := inst.DB.Pool.Query(ctx, `SELECT id FROM questions WHERE status = 'published' AND NOT private ORDER BY id LIMIT 3`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var q int64
		rows.Scan(&q)
		qids = append(qids, q)
	}
	rows.Close()
	var c struct{ ID int64 }
	r = teacher.Do("POST", "/api/v1/contests", map[string]any{"title": "课堂小测验", "question_ids": qids})
	apptest.Expect(t, r, 201, "create a contest")
	r.JSON(t, &c)
	var run struct{ Run struct{ ID int64 } }
	r = teacher.Do("POST", fmt.Sprintf("/api/v1/contests/%d/runs", c.ID), nil)
	apptest.Expect(t, r, 201, "open a room")
	r.JSON(t, &run)
	apptest.Expect(t, teacher.Do("POST", fmt.Sprintf("/api/v1/contest-runs/%d/end", run.Run.ID), nil), 204, "end the room")
	return d
}

// playAttempt starts an attempt of campaign id as c and answers every
// question right (the keys from the database), then finishes it.
func playAttempt(t *testing.T, inst *apptest.Instance, c *apptest.Client, id int64) int64 {
	t.Helper()
	r := c.Do("POST", fmt.Sprintf("/api/v1/campaigns/%d/attempts", id), nil)
	apptest.Expect(t, r, 201, "start an attempt")
	var started struct{ Attempt struct{ ID int64 } }
	r.JSON(t, &started)
	att := started.Attempt.ID
	right := rightChoices(t, inst, att)
	for seq := 1; seq <= len(right); seq++ {
		apptest.Expect(t, c.Do("GET", fmt.Sprintf("/api/v1/attempts/%d", att), nil), 200, "current question")
		apptest.Expect(t, c.Do("POST", fmt.Sprintf("/api/v1/attempts/%d/answers", att), map[string]any{"seq": seq, "choice": right[seq]}), 200, "answer")
	}
	if r := c.Do("POST", fmt.Sprintf("/api/v1/attempts/%d/finish", att), nil); r.Status != 200 && r.Status != 409 {
		t.Fatalf("finish: got %d %s", r.Status, r.Body)
	}
	return att
}

// crawlKeys is what the page checks know of web/locales.
type crawlKeys struct {
	Keys       []string `json:"keys"`       // every message key
	Namespaces []string `json:"namespaces"` // their first segments (campaign, error, …)
	Segments   []string `json:"segments"`   // their other segments (earth_space, health, …)
}

// checkJS is crawlCheckJS for a page in lang.
func (k crawlKeys) checkJS(lang string) string {
	b, _ := json.Marshal(k)
	return fmt.Sprintf(crawlCheckJS, b, lang)
}

func localeKeys(t *testing.T) crawlKeys {
	t.Helper()
	files, err := fs.Glob(web.Locales, "locales/*/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("locale files: %v", err)
	}
	keys, ns, seg := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, f := range files {
		b, err := fs.ReadFile(web.Locales, f)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]string
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for k := range m {
			keys[k] = true
			parts := strings.Split(k, ".")
			ns[parts[0]] = true
			for _, p := range parts[1:] {
				seg[p] = true
			}
		}
	}
	list := func(m map[string]bool) []string {
		out := make([]string, 0, len(m))
		for k := range m {
			out = append(out, k)
		}
		sort.Strings(out)
		return out
	}
	return crawlKeys{Keys: list(keys), Namespaces: list(ns), Segments: list(seg)}
}

// crawlReport is what crawlCheckJS finds on a page.
type crawlReport struct {
	Title       string   `json:"title"`
	ScrollWidth int      `json:"scrollWidth"`
	ClientWidth int      `json:"clientWidth"`
	Wide        []string `json:"wide"`     // the elements sticking out, when it overflows
	Sideways    []string `json:"sideways"` // boxes that scroll sideways without data-scroll-x
	RawKeys     []string `json:"rawKeys"`  // texts that look like message keys
	Punct       []string `json:"punct"`    // ASCII punctuation in Chinese sentences (zh-CN)
	Links       []string `json:"links"`    // absolute URLs of the page's links
	Language    string   `json:"language"` // <html lang>
}

// problems says what is wrong with the page in lang, if anything.
func (rep crawlReport) problems(lang string) []string {
	var out []string
	if rep.Language != lang {
		out = append(out, fmt.Sprintf("page language %q, want %q", rep.Language, lang))
	}
	if rep.ScrollWidth > rep.ClientWidth+1 {
		out = append(out, fmt.Sprintf("wider than the phone: scrollWidth %d > clientWidth %d; sticking out: %v", rep.ScrollWidth, rep.ClientWidth, rep.Wide))
	}
	if len(rep.Sideways) > 0 {
		out = append(out, fmt.Sprintf("scrolls sideways on the phone (mark a wide data table data-scroll-x if it must): %v", rep.Sideways))
	}
	if len(rep.RawKeys) > 0 {
		out = append(out, fmt.Sprintf("raw message keys on the page: %q", rep.RawKeys))
	}
	if len(rep.Punct) > 0 {
		out = append(out, fmt.Sprintf("ASCII punctuation in Chinese text: %q", rep.Punct))
	}
	if doubledTitle(rep.Title) {
		out = append(out, fmt.Sprintf("doubled title %q", rep.Title))
	}
	return out
}

// crawlBusyJS counts the page's fetches in flight (installed before any
// page script runs), so a check waits for what scripts render.
const crawlBusyJS = `(() => {
	window.__crawlBusy = 0; window.__crawlIdleSince = performance.now();
	const f = window.fetch;
	window.fetch = function (...args) {
		window.__crawlBusy++;
		return f.apply(this, args).finally(() => { window.__crawlBusy--; window.__crawlIdleSince = performance.now(); });
	};
})()`

// crawlCheckJS returns a crawlReport of the page; %s is the crawlKeys JSON,
// %q the page's expected language.
const crawlCheckJS = `((K, lang) => {
	const keys = new Set(K.keys), ns = new Set(K.namespaces), seg = new Set(K.segments);
	const out = {title: document.title, language: document.documentElement.lang, rawKeys: [], punct: [], links: [], wide: []};
	const desc = e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.className && typeof e.className === 'string' ? '.' + e.className.trim().split(/\s+/).join('.') : '');
	const de = document.documentElement;
	out.scrollWidth = Math.max(de.scrollWidth, document.body.scrollWidth);
	out.clientWidth = de.clientWidth;
	if (out.scrollWidth > out.clientWidth + 1) {
		for (const e of document.body.querySelectorAll('*')) {
			const r = e.getBoundingClientRect();
			if (r.right > out.clientWidth + 1 && r.width > 0 && ![...e.children].some(c => c.getBoundingClientRect().right > out.clientWidth + 1)) {
				out.wide.push(desc(e) + ' right=' + Math.round(r.right));
				if (out.wide.length >= 3) break;
			}
		}
	}
	// A box that scrolls sideways hides part of itself on a phone: only
	// where the page says it may (data-scroll-x: wide data tables).
	out.sideways = [];
	for (const e of document.body.querySelectorAll('*')) {
		const ox = getComputedStyle(e).overflowX;
		if ((ox === 'auto' || ox === 'scroll') && e.scrollWidth > e.clientWidth + 1 && e.checkVisibility() && !e.closest('[data-scroll-x]')) {
			out.sideways.push(desc(e) + ' ' + e.scrollWidth + '>' + e.clientWidth);
		}
	}
	// What a person reads: the rendered text, the visible controls' labels
	// and hints, and the options of visible selects.
	const texts = document.body.innerText.split('\n');
	for (const e of document.body.querySelectorAll('[placeholder],[title],[aria-label],[alt],input[type=submit],input[type=button],select option')) {
		const host = e.tagName === 'OPTION' ? e.closest('select') : e;
		if (!host || !host.checkVisibility()) continue;
		for (const a of ['placeholder', 'title', 'aria-label', 'alt']) if (e.hasAttribute(a)) texts.push(e.getAttribute(a));
		if (e.tagName === 'INPUT') texts.push(e.value);
		if (e.tagName === 'OPTION') texts.push(e.textContent);
	}
	const dotted = /(?<![\w\/@.:-])[a-z][a-z0-9_]*(?:\.[a-z0-9_]+)+(?![\w\/-])/g;
	const snake = /(?<![\w\/@.:-])[a-z][a-z0-9]*(?:_[a-z0-9]+)+(?![\w\/.-])/g;
	const han = '\\u3400-\\u9fff';
	// After a Chinese character: an ASCII comma, semicolon, colon, ! or ?
	// before a space, the end or another Chinese character, or a full stop at
	// the end; after a number: a comma or semicolon before Chinese.
	const afterHan = new RegExp('[' + han + ']\\s?[,;:!?](?=\\s|$|[' + han + '])|[' + han + ']\\.$');
	const afterNumber = new RegExp('\\d\\s?[,;]\\s?[' + han + ']');
	const seen = new Set();
	const add = (list, s) => { if (!seen.has(s)) { seen.add(s); list.push(s); } };
	for (const raw of texts) {
		const line = raw.trim();
		if (!line) continue;
		for (const m of line.matchAll(dotted)) {
			const tok = m[0].replace(/\.$/, '');
			if (keys.has(tok) || ns.has(tok.split('.')[0])) add(out.rawKeys, tok);
		}
		for (const m of line.matchAll(snake)) if (seg.has(m[0])) add(out.rawKeys, m[0]);
		if (lang === 'zh-CN') {
			if (/^[a-z]+$/.test(line) && seg.has(line)) add(out.rawKeys, line);
			if (afterHan.test(line) || afterNumber.test(line)) add(out.punct, line.slice(0, 80));
		}
	}
	for (const a of document.querySelectorAll('a[href]')) {
		if (a.hasAttribute('download')) continue;
		out.links.push(a.href);
	}
	return out;
})(%s, %q)`

// crawlSkip tells which same-site paths the crawl does not open: logging
// out, the card login (it signs a pupil in), changing the language,
// downloads, the API, websockets, assets and operations endpoints.
var crawlSkip = regexp.MustCompile(`^/(logout|card|lang|api|ws|static|debug|metrics|healthz|readyz|favicon)(/|$)|\.(png|csv|xlsx|svg|ico|json)$`)

var (
	crawlNumber = regexp.MustCompile(`^\d+$`)
	crawlCode   = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
)

// crawlPattern is the path with numbers and codes replaced, and the names
// of its query parameters: one page per pattern is enough.
func crawlPattern(u *url.URL) string {
	parts := strings.Split(u.Path, "/")
	for i, p := range parts {
		switch {
		case crawlNumber.MatchString(p):
			parts[i] = ":n"
		case len(p) >= 8 && crawlCode.MatchString(p) && strings.ContainsAny(p, "0123456789"):
			parts[i] = ":code"
		}
	}
	var names []string
	for k := range u.Query() {
		if k != "next" {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	return path.Clean(strings.Join(parts, "/")) + "?" + strings.Join(names, "&")
}

// crawl visits the site from / in b and reports every problem of every
// page with t.Errorf; it returns how many pages it checked.
func crawl(t *testing.T, b *e2e.Browser, lang string, keys crawlKeys) int {
	t.Helper()
	var mu sync.Mutex
	var console []string
	msgs := chromedp.Console(b.Ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.IsException() {
				mu.Lock()
				console = append(console, m.String()+" "+m.URL)
				mu.Unlock()
			}
		}
	}()
	takeConsole := func() []string {
		mu.Lock()
		defer mu.Unlock()
		out := console
		console = nil
		return out
	}
	if _, err := chromedp.Call(b.Ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: crawlBusyJS}); err != nil {
		t.Fatal(err)
	}
	check := keys.checkJS(lang)
	base, _ := url.Parse(b.Inst.URL)

	home, _ := url.Parse(b.URL("/"))
	queue := []string{home.String()}
	seen := map[string]bool{crawlPattern(home): true}
	pages := 0
	takeConsole() // the login's
	for len(queue) > 0 && pages < crawlMaxPages {
		target := queue[0]
		queue = queue[1:]
		pages++
		ctx, cancel := b.Timed()
		res, err := chromedp.Run(ctx, chromedp.NavigateResponse(target))
		if err != nil {
			cancel()
			t.Errorf("%s: %v", target, err)
			continue
		}
		where := strings.TrimPrefix(target, b.Inst.URL)
		if res.Status >= 400 {
			t.Errorf("%s: status %d", where, res.Status)
		}
		// Let the page's scripts fetch and render.
		chromedp.Run(ctx, chromedp.Poll[bool](`document.readyState === 'complete' && window.__crawlBusy === 0 && performance.now() - window.__crawlIdleSince > 150`,
			chromedp.WithPollingTimeout(3*time.Second)))
		rep, err := chromedp.Run(ctx, chromedp.Evaluate[crawlReport](check))
		cancel()
		if err != nil {
			t.Errorf("%s: checking the page: %v", where, err)
			continue
		}
		for _, p := range rep.problems(lang) {
			t.Errorf("%s: %s", where, p)
		}
		time.Sleep(50 * time.Millisecond) // the last console messages of the page
		for _, m := range takeConsole() {
			t.Errorf("%s: console: %s", where, m)
		}
		for _, l := range rep.Links {
			u, err := url.Parse(l)
			if err != nil || u.Host != base.Host || crawlSkip.MatchString(u.Path) {
				continue
			}
			u.Fragment = ""
			if p := crawlPattern(u); !seen[p] {
				seen[p] = true
				queue = append(queue, u.String())
			}
		}
	}
	if len(queue) > 0 {
		t.Logf("crawl: stopped at %d pages, %d left unvisited (e.g. %s)", pages, len(queue), queue[0])
	}
	return pages
}

// doubledTitle reports whether a part of a "page · site" title repeats.
func doubledTitle(title string) bool {
	seen := map[string]bool{}
	for _, p := range strings.Split(title, "·") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if seen[p] {
			return true
		}
		seen[p] = true
	}
	return false
}

// The crawl's checks catch each kind of problem they look for (a page made
// for the purpose, in Chinese), and pass a page in good order.
func TestCrawlChecksCatchProblems(t *testing.T) {
	t.Parallel()
	b := e2e.Start(t)
	keys := localeKeys(t)
	check := func(html string) []string {
		b.Do(chromedp.Navigate("data:text/html;charset=utf-8," + url.PathEscape(`<!doctype html><html lang="zh-CN"><head><meta name="viewport" content="width=device-width, initial-scale=1">`+html)))
		return e2e.Get(b, chromedp.Evaluate[crawlReport](keys.checkJS("zh-CN"))).problems("zh-CN")
	}
	if got := check(`<title>答题活动 · 科普答题</title><body><p>答对 3 题，用时 20 秒。</p><p>Ping: 20 ms, campaign page</p><div style="overflow-x:auto" data-scroll-x><table style="width:900px"><tr><td>宽表</td></tr></table></div>`); len(got) != 0 {
		t.Errorf("a page in good order: got problems %q", got)
	}
	for _, c := range []struct{ html, want string }{
		{`<title>科普答题 · 科普答题</title><body>`, "doubled title"},
		{`<title>x</title><body><p>campaign.start</p>`, "raw message keys"},
		{`<title>x</title><body><p>campaign.no_such_key</p>`, "raw message keys"},
		{`<title>x</title><body><select><option>health</option></select>`, "raw message keys"},
		{`<title>x</title><body><p>地球 earth_space 宇宙</p>`, "raw message keys"},
		{`<title>x</title><body><p>你好,世界</p>`, "ASCII punctuation"},
		{`<title>x</title><body><p>用户名: demo</p>`, "ASCII punctuation"},
		{`<title>x</title><body><div style="width:600px">宽</div>`, "wider than the phone"},
		{`<title>x</title><body><div style="overflow-x:auto"><div style="width:900px">宽</div></div>`, "scrolls sideways"},
	} {
		got := check(c.html)
		if len(got) != 1 || !strings.Contains(got[0], c.want) {
			t.Errorf("%s: got problems %q, want one: %s", c.html, got, c.want)
		}
	}
}
