package e2e_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/kepu/kepu/internal/apptest"
	"github.com/kepu/kepu/internal/e2e"
)

// openRoom makes a one-question contest for demo-teacher through the API
// and opens a room of it: the run id.
func openRoom(t *testing.T, inst *apptest.Instance) int64 {
	t.Helper()
	var qid int64
	err := inst.DB.Pool.QueryRow(context.Background(), `
		WITH q AS (
			INSERT INTO questions (owner_region_id, status, type, category, dimension, difficulty, stem_norm)
			VALUES ($1, 'published', 'single', 'life', 'knowledge', 2, 'e2e-host') RETURNING id)
		INSERT INTO question_versions (question_id, version, type, stem, options, answer, explanation, category, dimension, difficulty)
		SELECT id, 1, 'single', '空房间题？', '["甲","乙"]', '{1}', '因为乙', 'life', 'knowledge', 2 FROM q RETURNING question_id`,
		inst.Seed.CityID).Scan(&qid)
	if err != nil {
		t.Fatalf("insert question: %v", err)
	}
	api := inst.Login("demo-teacher", inst.DemoPassword("demo-teacher"))
	var c struct {
		ID int64 `json:"id"`
	}
	r := api.Do("POST", "/api/v1/contests", map[string]any{"title": "空房间", "question_ids": []int64{qid}})
	apptest.Expect(t, r, 201, "")
	r.JSON(t, &c)
	var run struct {
		Run struct {
			ID int64 `json:"id"`
		} `json:"run"`
	}
	r = api.Do("POST", fmt.Sprintf("/api/v1/contests/%d/runs", c.ID), nil)
	apptest.Expect(t, r, 201, "")
	r.JSON(t, &run)
	return run.Run.ID
}

// The teacher on the projector: removing a pupil asks first (in the page's
// language) and keeps them out — the phone says so, and joining again is
// refused with a message. Ending the room nobody is left in shows a clear
// empty podium, live and later from the stored results, in Chinese and in
// English, on a projector and a phone, with no JavaScript exception (the
// Browser fails the test on one).
func TestHostKicksThenEndsEmptyRoom(t *testing.T) {
	t.Parallel()
	host := e2e.Start(t)
	inst := host.Inst
	run := openRoom(t, inst)
	host.Do(chromedp.EmulateViewport(1920, 1080))
	login(host, "demo-teacher", inst.DemoPassword("demo-teacher"))
	host.Visit(fmt.Sprintf("/host/%d", run))
	pin := strings.TrimSpace(host.Text("[data-testid=pin]"))

	phone := e2e.New(t, inst)
	phone.Visit("/play?pin=" + pin)
	phone.Fill("#nickname", "小明")
	phone.Do(chromedp.Click(chromedp.CSS("[data-testid=join]")))
	phone.Do(chromedp.WaitVisible(chromedp.CSS("[data-testid=wait]")))
	host.WaitText("[data-testid=joined]", "已加入 1 人")

	// The host changes their mind: the pupil stays.
	e2e.Get(host, chromedp.Evaluate[bool](`(window.asked = [], window.confirm = (m) => (asked.push(m), false), true)`))
	host.Do(chromedp.Click(chromedp.CSS("[data-testid=kick]")))
	asked := e2e.Get(host, chromedp.Evaluate[[]string](`window.asked`))
	if len(asked) != 1 || !strings.Contains(asked[0], "小明") || !strings.Contains(asked[0], "移出") {
		t.Errorf("kick confirmation: got %q, want one question naming 小明 in Chinese", asked)
	}
	if n := e2e.Get(host, chromedp.Evaluate[int](`document.querySelectorAll('#lobby-list li').length`)); n != 1 {
		t.Errorf("after a declined kick: %d players in the lobby, want 1", n)
	}
	host.ConfirmAll()
	host.Do(chromedp.Click(chromedp.CSS("[data-testid=kick]")))
	host.WaitText("[data-testid=joined]", "等待选手加入")
	phone.WaitText("#gone-msg", "主持人已将你移出游戏")
	phone.Visit("/play?pin=" + pin)
	phone.Fill("#nickname", "小明二号")
	phone.Do(chromedp.Click(chromedp.CSS("[data-testid=join]")))
	phone.WaitText(".form-error", "主持人已将你移出本场游戏")

	// Nobody left: the host ends the room.
	host.Do(chromedp.Click(chromedp.CSS("#btn-end")))
	waitPhase(host, "finished")
	host.WaitText("[data-testid=podium-empty]", "本场没有玩家参加")
	if host.Visible("#p-detail") || host.Visible("[data-testid=podium]") {
		t.Error("the empty podium still shows the (empty) podium list or tables")
	}
	host.Screenshot("contest-empty-podium-zh-1920")
	host.Phone()
	host.Screenshot("contest-empty-podium-zh-390")

	// In English, from the stored results (the room has finished).
	host.Do(chromedp.EmulateViewport(1920, 1080))
	host.Visit("/contests") // the projector has no site menu
	host.ClickNav("[data-testid=lang-switch]")
	host.Visit(fmt.Sprintf("/host/%d", run))
	host.WaitText("[data-testid=podium-empty]", "Nobody played in this game")
	host.Screenshot("contest-empty-podium-en-1920")
	host.Phone()
	host.Screenshot("contest-empty-podium-en-390")
}
