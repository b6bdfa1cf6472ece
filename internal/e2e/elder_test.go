package e2e_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/kepu/kepu/internal/campaign"
	"github.com/kepu/kepu/internal/e2e"
)

// overflowJS lists the elements that stick out of the viewport on the right
// (so the page scrolls sideways), leaving out those inside a box that
// scrolls or clips them itself (a wide table in its .table-wrap).
const overflowJS = `(() => {
	const vw = document.documentElement.clientWidth, bad = [];
	if (document.documentElement.scrollWidth > vw) bad.push('document: scrollWidth ' + document.documentElement.scrollWidth + ' > ' + vw);
	for (const e of document.body.querySelectorAll('*')) {
		const r = e.getBoundingClientRect();
		if (!r.width || r.right <= vw + 0.5) continue;
		let clipped = false;
		for (let p = e.parentElement; p && p !== document.body; p = p.parentElement) {
			if (getComputedStyle(p).overflowX !== 'visible') { clipped = true; break; }
		}
		if (!clipped) bad.push(e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.className ? '.' + String(e.className).replace(/ /g, '.') : '') + ' right=' + Math.round(r.right));
	}
	return bad })()`

// noOverflow fails the test when the page scrolls sideways.
func noOverflow(t *testing.T, b *e2e.Browser, where string) {
	t.Helper()
	if bad := e2e.Get(b, chromedp.Evaluate[[]string](overflowJS)); len(bad) > 0 {
		t.Errorf("%s: wider than the viewport: %s", where, strings.Join(bad, "; "))
	}
}

// fontPx is the computed font size of the first element matching sel, in px.
func fontPx(b *e2e.Browser, sel string) float64 {
	return e2e.Get(b, chromedp.Evaluate[float64](fmt.Sprintf(`parseFloat(getComputedStyle(document.querySelector(%q)).fontSize)`, sel)))
}

// elderOn reports the mode as the page shows it: the class on <html> and
// the switch's aria-pressed.
func elderOn(b *e2e.Browser) (class bool, pressed string) {
	class = e2e.Get(b, chromedp.Evaluate[bool](`document.documentElement.classList.contains('elder')`))
	pressed = e2e.Get(b, chromedp.Evaluate[string](`document.querySelector('[data-testid=elder-toggle]').getAttribute('aria-pressed')`))
	return class, pressed
}

// stubSpeech replaces the page's speech synthesis with a recorder:
// window.spoken gets {text, lang} per speak, window.cancels counts cancel.
const stubSpeech = `(() => {
	window.spoken = []; window.cancels = 0;
	Object.defineProperty(window, 'speechSynthesis', { configurable: true, value: {
		speak: (u) => window.spoken.push({ text: u.text, lang: u.lang }),
		cancel: () => { window.cancels++ }, getVoices: () => [], speaking: false,
	} });
	return true })()`

type utterance struct {
	Text string `json:"text"`
	Lang string `json:"lang"`
}

// An older citizen turns on 长辈模式 in the header of a phone: the type
// grows to at least 20 px, the choice survives a reload (applied from
// <head>, before the page paints), and the home page, the leaderboard and
// the question page still fit a 390 px phone. On the question page 「朗读题目」
// reads the stem and the options in a zh-CN voice, stops when the question
// is answered, and reads the next question's text; on the English page the
// options are read in English. Without speech synthesis the button is not
// shown.
func TestElderModeLargeTextAndReadAloud(t *testing.T) {
	t.Parallel()
	b := e2e.Start(t)
	id := campaignOf(t, b, "长辈模式答题", "大字和朗读", "published", 3, campaign.Rules{Questions: 3, TimeLimit: 120, PerDay: 3})
	b.LoginDemo("demo-citizen")

	b.Visit("/")
	normal := fontPx(b, "body")
	if class, pressed := elderOn(b); class || pressed != "false" {
		t.Fatalf("before the switch: class elder %v, aria-pressed %q; want off", class, pressed)
	}
	b.WaitText("[data-testid=elder-toggle]", "长辈模式")
	b.Screenshot("elder-off-home-phone")
	// The keyboard works the switch (a real button).
	b.Do(chromedp.Focus(chromedp.CSS("[data-testid=elder-toggle]")), chromedp.KeyEvent("\r"))
	if class, pressed := elderOn(b); !class || pressed != "true" {
		t.Fatalf("after Enter on the switch: class elder %v, aria-pressed %q; want on", class, pressed)
	}
	b.Visit("/")
	if class, pressed := elderOn(b); !class || pressed != "true" {
		t.Fatalf("after a reload: class elder %v, aria-pressed %q; want still on", class, pressed)
	}
	large := fontPx(b, "body")
	if large < 20 || large <= normal {
		t.Errorf("body font size: got %.1f px in large mode (%.1f px normally), want at least 20 and larger", large, normal)
	}
	noOverflow(t, b, "home page")
	b.Screenshot("elder-home-phone")

	b.Visit(fmt.Sprintf("/campaigns/%d/leaderboard", id))
	b.WaitText("#lb-empty", "还没有人上榜")
	noOverflow(t, b, "leaderboard")
	b.Screenshot("elder-leaderboard-phone")

	b.Visit(fmt.Sprintf("/campaigns/%d", id))
	b.ClickNav("[data-testid=start]")
	b.WaitText("[data-testid=q-of]", "第 1 / 3 题")
	if got := fontPx(b, "#q-stem"); got < 24 {
		t.Errorf("question stem font size in large mode: got %.1f px, want at least 24", got)
	}
	noOverflow(t, b, "question page")
	b.Screenshot("elder-question-zh-phone")

	// 朗读: the stem and the options, in Chinese.
	if !b.Visible("[data-testid=read-aloud]") {
		t.Fatal("no read-aloud button on the question page")
	}
	e2e.Get(b, chromedp.Evaluate[bool](stubSpeech))
	stem := b.Text("[data-testid=stem]")
	opts := tiles(b)
	b.Do(chromedp.Click(chromedp.CSS("[data-testid=read-aloud]")))
	spoken := e2e.Get(b, chromedp.Evaluate[[]utterance](`window.spoken`))
	if len(spoken) != 1 {
		t.Fatalf("utterances after one press: got %d, want 1", len(spoken))
	}
	want := []string{stem}
	for i, o := range opts {
		want = append(want, fmt.Sprintf("选项%c：%s。", 'A'+i, o))
	}
	if len(opts) != 4 {
		t.Fatalf("options on the page: got %q, want 4", opts)
	}
	for _, want := range want {
		if !strings.Contains(spoken[0].Text, want) {
			t.Errorf("read aloud: got %q, want it to contain %q", spoken[0].Text, want)
		}
	}
	if spoken[0].Lang != "zh-CN" {
		t.Errorf("utterance lang: got %q, want zh-CN", spoken[0].Lang)
	}
	if got := b.Text("[data-testid=read-aloud]"); got != "停止朗读" {
		t.Errorf("button while reading: got %q, want 停止朗读", got)
	}
	// Answering stops the reading; the next question reads its own text.
	cancels := e2e.Get(b, chromedp.Evaluate[int](`window.cancels`))
	clickTile(t, b, "乙")
	b.WaitText("[data-testid=verdict]", "回答正确！")
	if got := e2e.Get(b, chromedp.Evaluate[int](`window.cancels`)); got <= cancels {
		t.Errorf("speechSynthesis.cancel calls after answering: got %d, want more than %d", got, cancels)
	}
	b.Do(chromedp.Click(chromedp.CSS("[data-testid=next]")))
	b.WaitText("[data-testid=q-of]", "第 2 / 3 题")
	if got := b.Text("[data-testid=read-aloud]"); got != "朗读题目" {
		t.Errorf("button on the next question: got %q, want 朗读题目", got)
	}
	stem2 := b.Text("[data-testid=stem]")
	b.Do(chromedp.Click(chromedp.CSS("[data-testid=read-aloud]")))
	spoken = e2e.Get(b, chromedp.Evaluate[[]utterance](`window.spoken`))
	if len(spoken) != 2 || !strings.HasPrefix(spoken[1].Text, stem2) || stem2 == stem {
		t.Errorf("second question read aloud: got %+v, want the new stem %q", spoken, stem2)
	}

	// A projector-sized screen in large mode.
	b.Do(chromedp.EmulateViewport(1920, 1080))
	b.Screenshot("elder-question-zh-desktop")
	b.Phone()

	// English: the switch and the button in English, the options read as
	// "Option B: …" (the Chinese question keeps a zh-CN voice; an English
	// text gets en-US).
	b.ClickNav("[data-testid=lang-switch]")
	b.WaitText("[data-testid=q-of]", "2")
	b.WaitText("[data-testid=elder-toggle]", "Large text")
	if class, pressed := elderOn(b); !class || pressed != "true" {
		t.Errorf("English page: class elder %v, aria-pressed %q; want on", class, pressed)
	}
	b.WaitText("[data-testid=read-aloud]", "Read aloud")
	noOverflow(t, b, "English question page")
	b.Screenshot("elder-question-en-phone")
	b.Do(chromedp.EmulateViewport(1920, 1080))
	b.Screenshot("elder-question-en-desktop")
	b.Phone()
	e2e.Get(b, chromedp.Evaluate[bool](stubSpeech))
	b.Do(chromedp.Click(chromedp.CSS("[data-testid=read-aloud]")))
	spoken = e2e.Get(b, chromedp.Evaluate[[]utterance](`window.spoken`))
	if wantB := "Option B: " + tiles(b)[1] + "."; len(spoken) != 1 || !strings.Contains(spoken[0].Text, wantB) || spoken[0].Lang != "zh-CN" {
		t.Errorf("English page, Chinese question: got %+v, want %q in a zh-CN voice", spoken, wantB)
	}
	lang := e2e.Get(b, chromedp.Evaluate[string](`import('/static/js/speak.js').then(m => m.speechLang('Which gas do plants take in? Option A: Oxygen.'))`, chromedp.EvalAwaitPromise))
	if lang != "en-US" {
		t.Errorf("voice for an English question on the English page: got %q, want en-US", lang)
	}

	// A browser without speech synthesis shows no button.
	b.Do(chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument,
			page.AddScriptToEvaluateOnNewDocumentParams{Source: `delete Window.prototype.speechSynthesis; delete window.speechSynthesis;`})
		return err
	}))
	b.Visit(e2e.Get(b, chromedp.Evaluate[string](`location.pathname`)))
	b.WaitText("[data-testid=q-of]", "2")
	if b.Visible("[data-testid=read-aloud]") {
		t.Error("read-aloud button shown in a browser without speechSynthesis")
	}
}

// tiles returns the option texts of the question tiles, in order.
func tiles(b *e2e.Browser) []string {
	return e2e.Get(b, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#q-tiles .tile')].map(t => t.lastChild.textContent)`))
}

// clickTile clicks the option tile whose text contains want.
func clickTile(t *testing.T, b *e2e.Browser, want string) {
	t.Helper()
	if !e2e.Get(b, chromedp.Evaluate[bool](fmt.Sprintf(`(() => {
		const t = [...document.querySelectorAll('#q-tiles .tile')].find(x => x.textContent.includes(%q));
		if (!t) return false; t.click(); return true })()`, want))) {
		t.Fatalf("no tile %s", want)
	}
}
