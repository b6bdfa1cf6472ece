package e2e_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/fasthttp/websocket"

	"github.com/kepu/kepu/internal/apptest"
	"github.com/kepu/kepu/internal/e2e"
)

// bot is a scripted contest player: it joins over HTTP, holds the room's
// websocket (reading and dropping what the server sends) and answers.
type bot struct {
	t  *testing.T
	ws *websocket.Conn
}

func newBot(t *testing.T, inst *apptest.Instance, pin, nick string) *bot {
	t.Helper()
	r := inst.Client().Do("POST", "/api/v1/play/join", map[string]any{"pin": pin, "nickname": nick})
	apptest.Expect(t, r, 201, "join "+nick)
	var j struct {
		Room  int64
		Token string
	}
	r.JSON(t, &j)
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(inst.URL, "http")+"/ws/contest", http.Header{"Origin": {inst.URL}})
	if err != nil {
		t.Fatalf("bot %s: dial: %v", nick, err)
	}
	t.Cleanup(func() { ws.Close() })
	if err := ws.WriteJSON(map[string]any{"type": "hello", "room": j.Room, "token": j.Token}); err != nil {
		t.Fatalf("bot %s: hello: %v", nick, err)
	}
	go func() {
		for {
			if _, _, err := ws.ReadMessage(); err != nil {
				return
			}
		}
	}()
	return &bot{t: t, ws: ws}
}

func (b *bot) answer(q, choice int) {
	if err := b.ws.WriteJSON(map[string]any{"type": "answer", "q": q, "choice": []int{choice}}); err != nil {
		b.t.Errorf("bot: answer: %v", err)
	}
}

// insertChoice adds a published single-choice question whose answer is
// the second option (乙) and returns its id.
func insertChoice(t *testing.T, inst *apptest.Instance, key, stem, options string) int64 {
	t.Helper()
	var id int64
	err := inst.DB.Pool.QueryRow(context.Background(), `
		WITH q AS (
			INSERT INTO questions (owner_region_id, status, type, category, dimension, difficulty, stem_norm)
			VALUES ($1, 'published', 'single', 'life', 'knowledge', 2, $2) RETURNING id)
		INSERT INTO question_versions (question_id, version, type, stem, options, answer, explanation, category, dimension, difficulty)
		SELECT id, 1, 'single', $3, $4, '{1}', '因为乙', 'life', 'knowledge', 2 FROM q RETURNING question_id`,
		inst.Seed.CityID, key, stem, options).Scan(&id)
	if err != nil {
		t.Fatalf("insert question: %v", err)
	}
	return id
}

// presentWords are what the projector walk reads, by language.
var presentWords = map[string]struct{ joined, ready, first string }{
	"zh-CN": {"已加入 3 人", "准备好！", "第 1 题"},
	"en":    {"3 joined", "Get ready!", "Question 1 of 2"},
}

// The teacher's projector at 1920×1080, in Chinese and in English: no site
// menu, a large QR code with the join URL and PIN in the lobby, a 3-2-1 the
// server times before each question (on the projector and the phones; the
// phone's tiles only appear after it), a pupil answering with the key "2",
// the answer counts per option as bars at the reveal, and a podium that
// builds 3rd → 2nd → 1st.
func TestProjectorPresentation(t *testing.T) {
	t.Parallel()
	for _, lang := range []string{"zh-CN", "en"} {
		t.Run(lang, func(t *testing.T) { projectorWalk(t, lang) })
	}
}

func projectorWalk(t *testing.T, lang string) {
	w := presentWords[lang]
	host := e2e.Start(t)
	inst := host.Inst
	var qids []int64
	for i := 1; i <= 2; i++ {
		qids = append(qids, insertChoice(t, inst, fmt.Sprintf("present-%d", i), fmt.Sprintf("投影第%d题：哪个是乙？", i), `["甲","乙","丙","丁"]`))
	}
	api := inst.Login("demo-teacher", inst.DemoPassword("demo-teacher"))
	r := api.Do("POST", "/api/v1/contests", map[string]any{"title": "投影竞赛", "question_ids": qids,
		"settings": map[string]any{"get_ready": true, "time_limit": 30}})
	apptest.Expect(t, r, 201, "create contest")
	var c struct{ ID int64 }
	r.JSON(t, &c)
	r = api.Do("POST", fmt.Sprintf("/api/v1/contests/%d/runs", c.ID), nil)
	apptest.Expect(t, r, 201, "open room")
	var run struct{ Run struct{ ID int64 } }
	r.JSON(t, &run)

	host.Do(chromedp.EmulateViewport(1920, 1080))
	login(host, "demo-teacher", inst.DemoPassword("demo-teacher"))
	if lang == "en" {
		host.Visit("/contests")
		host.ClickNav("[data-testid=lang-switch]")
	}
	host.Visit(fmt.Sprintf("/host/%d", run.Run.ID))
	pin := host.Text("[data-testid=pin]")
	if host.Visible("header.top") {
		t.Error("the projector shows the site menu")
	}
	qr := e2e.Get(host, chromedp.Evaluate[[]float64](`(() => { const i = document.querySelector('[data-testid=lobby-qr]');
		return [i.naturalWidth, i.getBoundingClientRect().width] })()`))
	if qr[0] == 0 || qr[1] < 400 {
		t.Errorf("lobby QR code: natural width %v, shown %v px, want a loaded image at least 400 px wide at 1080p", qr[0], qr[1])
	}
	if u := host.Text("[data-testid=join-url]"); !strings.HasSuffix(u, "/play?pin="+pin) {
		t.Errorf("join URL on the projector: %q, want …/play?pin=%s", u, pin)
	}

	// 小明 plays on a phone with a keyboard; 小红 and 小刚 are scripted
	// players on the same websocket (a browser each would starve the
	// machine's two cores).
	phone := e2e.New(t, inst)
	phone.Timeout, host.Timeout = time.Minute, time.Minute
	phone.Visit("/play?pin=" + pin)
	if lang == "en" {
		phone.ClickNav("[data-testid=lang-switch]")
	}
	phone.Fill("#pin", pin)
	phone.Fill("#nickname", "小明")
	phone.Do(chromedp.Click(chromedp.CSS("[data-testid=join]")))
	phone.Do(chromedp.WaitVisible(chromedp.CSS("[data-testid=wait]")))
	bots := []*bot{newBot(t, inst, pin, "小红"), newBot(t, inst, pin, "小刚")}
	host.WaitText("[data-testid=joined]", w.joined)
	host.Screenshot("present-lobby-" + lang + "-1920")

	next := func() {
		host.Do(chromedp.WaitEnabled(chromedp.CSS("[data-testid=host-next]")), chromedp.Click(chromedp.CSS("[data-testid=host-next]")))
	}
	// Answers: 小明 right twice (the first time with the key "2"), 小红
	// right then wrong, 小刚 wrong twice: the podium is 小明, 小红, 小刚.
	choices := [][]int{{1, 1, 3}, {1, 2, 3}}
	// The numbers of the countdown as the projector and the phone show them
	// (the phone also notes whether its answer tiles were hidden then).
	const countOn = `(window.counted = [], new MutationObserver(() => counted.push(document.getElementById('%s').textContent + %s))
		.observe(document.getElementById('%s'), { childList: true, characterData: true, subtree: true }), true)`
	e2e.Get(host, chromedp.Evaluate[bool](fmt.Sprintf(countOn, "ready-n", "''", "ready-n")))
	e2e.Get(phone, chromedp.Evaluate[bool](fmt.Sprintf(countOn, "q-ready-n", `(document.getElementById('q-tiles').hidden ? '' : ' tiles shown')`, "q-ready-n")))
	next()
	for q := 0; q < 2; q++ {
		// The 3-2-1 on the projector and the phone, the tiles hidden.
		host.WaitText("[data-testid=ready]", w.ready)
		if q == 1 { // (three seconds: one screenshot per countdown on a slow machine)
			if phone.Visible("[data-testid=phone-ready]") {
				phone.Screenshot("present-ready-" + lang + "-390")
			} else {
				t.Log("the phone's countdown was over before the screenshot")
			}
		} else {
			host.Do(chromedp.WaitVisible(chromedp.CSS("[data-testid=ready]")))
			host.Screenshot("present-ready-" + lang + "-1920")
		}
		host.Do(chromedp.WaitVisible(chromedp.CSS("[data-testid=host-stem]")))
		phone.Do(chromedp.WaitVisible(chromedp.CSS(`#q-tiles [data-option="1"]:not([disabled])`)))
		for _, b := range []*e2e.Browser{host, phone} {
			if n := e2e.Get(b, chromedp.Evaluate[[]string](`window.counted.splice(0)`)); len(n) == 0 || n[0] != "3" || n[len(n)-1] != "1" {
				t.Errorf("question %d: the countdown showed %v, want 3, 2, 1 (with the phone's tiles hidden)", q+1, n)
			}
		}
		if q == 0 {
			host.WaitText("#q-of", w.first)
			px := e2e.Get(host, chromedp.Evaluate[float64](`parseFloat(getComputedStyle(document.querySelector('[data-testid=host-stem]')).fontSize)`))
			if px < 48 {
				t.Errorf("question text on the projector: %.0f px, want at least 48 at 1920×1080", px)
			}
			host.Screenshot("present-question-" + lang + "-1920")
		}
		if q == 0 {
			phone.Screenshot("present-question-" + lang + "-390")
			phone.Do(chromedp.KeyEvent("2"))
			phone.Do(chromedp.WaitVisible(chromedp.CSS("#q-sent")))
			if got := e2e.Get(phone, chromedp.Evaluate[string](`document.querySelector('#q-tiles [data-option="1"]').getAttribute('aria-pressed')`)); got != "true" {
				t.Errorf("after the key 2: option 2 pressed = %q, want true", got)
			}
		} else {
			phone.Do(chromedp.Click(chromedp.CSS(`#q-tiles [data-option="1"]`)))
		}
		for i, b := range bots {
			b.answer(q, choices[q][i+1])
		}
		waitPhase(host, "reveal")
		counts := e2e.Get(host, chromedp.Evaluate[[]string](`[...document.querySelectorAll('[data-testid=dist-count]')].map(e => e.textContent)`))
		want := []string{"0", "2", "0", "1"}
		if q == 1 {
			want = []string{"0", "1", "1", "1"}
		}
		if strings.Join(counts, ",") != strings.Join(want, ",") {
			t.Errorf("question %d reveal: answer counts %v, want %v", q+1, counts, want)
		}
		if q == 0 {
			host.Screenshot("present-reveal-" + lang + "-1920")
			phone.Screenshot("present-result-" + lang + "-390")
		}
		next() // board
		waitPhase(host, "board")
		if q == 0 {
			// The host's key: space moves on.
			host.Do(chromedp.WaitEnabled(chromedp.CSS("[data-testid=host-next]")))
			e2e.Get(host, chromedp.Evaluate[bool](`(document.activeElement.blur(), true)`))
			host.Do(chromedp.KeyEvent(" "))
			continue
		}
		// The podium: watch the order in which the places appear.
		e2e.Get(host, chromedp.Evaluate[bool](`(window.built = [], new MutationObserver(ms => { for (const m of ms)
			if (m.target.classList?.contains('shown') && !built.includes(m.target.dataset.place)) built.push(m.target.dataset.place) })
			.observe(document.getElementById('p-podium'), { subtree: true, attributes: true, attributeFilter: ['class'] }), true)`))
		host.Do(chromedp.WaitEnabled(chromedp.CSS("[data-testid=host-next]")), chromedp.KeyEvent(kb.ArrowRight))
	}
	waitPhase(host, "finished")
	host.Do(chromedp.WaitVisible(chromedp.CSS(`[data-place="1"].shown`)))
	built := e2e.Get(host, chromedp.Evaluate[[]string](`window.built`))
	if strings.Join(built, ",") != "3,2,1" {
		t.Errorf("podium built in the order %v, want 3, 2, 1", built)
	}
	for place, nick := range map[int]string{1: "小明", 2: "小红", 3: "小刚"} {
		if got := host.Text(fmt.Sprintf(`[data-place="%d"] .place-nick`, place)); got != nick {
			t.Errorf("podium place %d: %q, want %q", place, got, nick)
		}
	}
	host.Screenshot("present-podium-" + lang + "-1920")
	phone.Screenshot("present-final-" + lang + "-390")
	host.Phone()
	host.Screenshot("present-podium-" + lang + "-390")
}
