package e2e_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/kepu/kepu/internal/e2e"
)

// A teacher builds a three-question contest from the bank, opens a room,
// three pupils join on their phones with the PIN and play to the podium.
func TestLiveContestToPodium(t *testing.T) {
	t.Parallel()
	host := e2e.Start(t)
	inst := host.Inst
	// Three published questions whose answer is option B.
	_, err := inst.DB.Pool.Exec(context.Background(), `
		WITH q AS (
			INSERT INTO questions (owner_region_id, status, type, category, dimension, difficulty, stem_norm)
			SELECT $1, 'published', 'single', 'life', 'knowledge', 2, 'e2e' || i FROM generate_series(1, 3) i RETURNING id)
		INSERT INTO question_versions (question_id, version, type, stem, options, answer, explanation, category, dimension, difficulty)
		SELECT id, 1, 'single', '直播题' || id || '？', '["甲","乙","丙","丁"]', '{1}', '因为乙', 'life', 'knowledge', 2 FROM q`, inst.Seed.CityID)
	if err != nil {
		t.Fatalf("insert questions: %v", err)
	}

	host.Desktop()
	login(host, "demo-teacher", host.Inst.DemoPassword("demo-teacher"))
	host.Visit("/contests/new")
	host.Fill("#title", "第一课竞赛")
	host.Fill("#q", "直播题")
	host.WaitText("#bank", "直播题")
	host.Do(chromedp.WaitVisible(chromedp.CSS("#bank li:nth-child(3) [data-testid=add-question]")))
	for i := 1; i <= 3; i++ {
		host.Do(chromedp.Click(chromedp.CSS(fmt.Sprintf("#bank li:nth-child(%d) [data-testid=add-question]", i))))
	}
	host.WaitText("#picked-count", "3")
	host.Fill("#time_limit", "30")
	host.ClickNav("[data-testid=save-contest]") // (the new-contest page's h1 says 课堂竞赛 too)
	host.WaitText("h1", "课堂竞赛")
	host.Do(chromedp.Click(chromedp.CSS("[data-open-room]")))
	host.Do(chromedp.WaitVisible(chromedp.CSS("[data-testid=pin]")))
	pin := strings.TrimSpace(host.Text("[data-testid=pin]"))
	if len(pin) != 6 {
		t.Fatalf("PIN on the projector: %q", pin)
	}

	names := []string{"小明", "小红", "<b>小刚</b>"}
	var players []*e2e.Browser
	for _, n := range names {
		p := e2e.New(t, inst)
		p.Visit("/play?pin=" + pin)
		p.Fill("#nickname", n)
		p.Do(chromedp.Click(chromedp.CSS("[data-testid=join]")))
		p.Do(chromedp.WaitVisible(chromedp.CSS("[data-testid=wait]")))
		if got := p.Text("[data-testid=me-nick]"); got != n {
			t.Errorf("player's own name: got %q, want %q", got, n)
		}
		players = append(players, p)
	}
	host.WaitText("[data-testid=joined]", "已加入 3 人")
	host.Screenshot("contest-lobby")
	if n := e2e.Get(host, chromedp.Evaluate[int](`document.querySelectorAll('#lobby-list b').length`)); n != 0 {
		t.Errorf("a nickname's markup became %d elements, want text", n)
	}

	// The host's button is disabled while its command is in flight, and the
	// room's event can reach the projector before the command's response:
	// click once it is enabled again.
	next := func() {
		host.Do(chromedp.WaitEnabled(chromedp.CSS("[data-testid=host-next]")), chromedp.Click(chromedp.CSS("[data-testid=host-next]")))
	}
	next() // start
	for q := 1; q <= 3; q++ {
		waitPhase(host, "question")
		host.WaitText("#q-of", fmt.Sprintf("第 %d 题", q))
		for i, p := range players {
			choice := 1 // 乙, right
			if i == 2 {
				choice = 3 // 丁, wrong
			}
			p.Do(chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`#q-tiles [data-option="%d"]:not([disabled])`, choice))))
			if q == 1 && i == 0 {
				p.Screenshot("contest-player-question")
				// 朗读 on the phone: the stem and the numbered options.
				e2e.Get(p, chromedp.Evaluate[bool](stubSpeech))
				p.Do(chromedp.Click(chromedp.CSS("[data-testid=read-aloud]")))
				spoken := e2e.Get(p, chromedp.Evaluate[[]utterance](`window.spoken`))
				if len(spoken) != 1 || !strings.HasPrefix(spoken[0].Text, "直播题") || !strings.Contains(spoken[0].Text, "选项2：乙。") || spoken[0].Lang != "zh-CN" {
					t.Errorf("player's read aloud: got %+v, want the stem and 选项2：乙。 in zh-CN", spoken)
				}
			}
			p.Do(chromedp.Click(chromedp.CSS(fmt.Sprintf(`#q-tiles [data-option="%d"]`, choice))))
		}
		// Everyone answered: the server closes the round; the projector shows
		// the answer and the phones right or wrong.
		waitPhase(host, "reveal")
		host.WaitText("#r-expl", "因为乙")
		host.WaitText("[data-testid=right-option]", "乙")
		if q == 1 {
			host.Screenshot("contest-reveal")
		}
		players[0].WaitText("[data-testid=verdict]", "答对了")
		if q == 1 {
			if n := e2e.Get(players[0], chromedp.Evaluate[int](`window.cancels`)); n == 0 {
				t.Error("the reading did not stop when the question closed")
			}
		}
		players[2].WaitText("[data-testid=verdict]", "答错了")
		players[2].WaitText("[data-testid=rank]", "第 3 名")
		next() // leaderboard
		waitPhase(host, "board")
		host.WaitText("[data-testid=board]", "小明")
		next() // next question, or podium after the last
	}
	waitPhase(host, "finished")
	host.WaitText("[data-testid=podium]", "小刚")
	podium := host.Text("[data-testid=podium]")
	if !strings.Contains(podium, "小明") || !strings.Contains(podium, "小红") || !strings.Contains(podium, "<b>小刚</b>") {
		t.Errorf("podium: %q", podium)
	}
	players[2].WaitText("[data-testid=final-rank]", "第 3 名")
	players[0].WaitText("[data-testid=final-rank]", "共 3 人")
	host.Screenshot("contest-podium")
	players[0].Screenshot("contest-player-final")
}

// waitPhase waits until the projector shows the given phase of the game.
func waitPhase(b *e2e.Browser, phase string) {
	b.Do(chromedp.WaitReady(chromedp.CSS(`#host[data-phase="` + phase + `"]`)))
}
