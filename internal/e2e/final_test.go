package e2e_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/kepu/kepu/internal/campaign"
	"github.com/kepu/kepu/internal/e2e"
)

// The online-to-live final (Jiangsu 2017 style): the organizer invites
// the top of a closed campaign's frozen board from a 1920×1080 projector,
// checks a player in at the door, opens the final's room; two invited
// players find the 决赛邀请 in their accounts on their phones, join under
// their own names and play both questions; the roster shows them in the
// room (someone not invited is refused: TestFinalInvitationsAndRoster),
// and the podium, named as on the frozen board (a minor masked),
// then shows on the campaign page.
func TestLiveFinalOnProjector(t *testing.T) {
	t.Parallel()
	host := e2e.Start(t)
	inst := host.Inst
	outer := t // the phones live for the whole journey, not one step
	ctx := context.Background()
	db := inst.DB.Pool
	id := campaignOf(t, host, "青少年科普知识竞赛", "线上初赛", campaign.StatusClosed, 2, campaign.Rules{})
	if _, err := db.Exec(ctx, `INSERT INTO campaign_boards_frozen (campaign_id, entries) VALUES ($1, 3)
		ON CONFLICT (campaign_id) DO UPDATE SET entries = 3`, /* the prizes job may have frozen it, empty */ id); err != nil {
		t.Fatal(err)
	}
	type player struct{ user, pw, shown string }
	players := []player{{user: "final-a", shown: "王**"}, {user: "final-b", shown: "李四"}, {user: "final-c", shown: "赵六"}}
	for i := range players {
		uid, pw := inst.CreateUser(players[i].user, "participant")
		players[i].pw = pw
		if _, err := db.Exec(ctx, `INSERT INTO campaign_final_board (campaign_id, division, rank, user_id, display_name, score, time_ms, reached_at)
			VALUES ($1, '', $2, $3, $4, $5, 9000, now())`, id, i+1, uid, players[i].shown, 2000-100*i); err != nil {
			t.Fatal(err)
		}
	}

	host.Do(chromedp.EmulateViewport(1920, 1080))
	host.LoginDemo("demo-organizer")
	t.Run("organizer calls the final", func(t *testing.T) {
		host.Visit(fmt.Sprintf("/campaigns/%d/live-final", id))
		host.Fill("#top_n", "2")
		e2e.Get(host, chromedp.Evaluate[bool](`(document.getElementById('starts_at').value = '2026-12-20T14:00', true)`))
		host.Fill("#place", "省科技馆报告厅")
		host.Fill("#questions", "2")
		host.Do(chromedp.Click(chromedp.CSS("[data-testid=final-create]")))
		host.WaitText("[data-testid=final-invited]", "2")
		host.WaitText("[data-testid=final-when]", "2026-12-20 14:00")
		host.WaitText("[data-testid=final-roster]", "李四")
		if strings.Contains(host.Text("[data-testid=final-roster]"), "赵六") {
			t.Error("the roster lists the third place, outside the top 2")
		}
		host.Do(chromedp.Click(chromedp.CSS(`[data-checkin]`))) // 王** arrives at the door
		host.Screenshot("final-roster-zh-1920")
	})

	var phones []*e2e.Browser
	t.Run("invited players join on their phones", func(t *testing.T) {
		host.Do(chromedp.Click(chromedp.CSS("[data-testid=final-open]")))
		host.Do(chromedp.WaitVisible(chromedp.CSS("[data-testid=pin]")))
		for i, p := range players[:2] {
			ph := e2e.New(outer, inst)
			ph.Login(p.user, p.pw)
			ph.Visit("/profile")
			ph.WaitText("[data-testid=final-invitation]", "决赛邀请")
			if i == 0 {
				ph.Screenshot("final-invitation-zh-390")
			}
			ph.ClickNav("[data-testid=final-join]")
			ph.Do(chromedp.Click(chromedp.CSS("[data-testid=join]")))
			ph.Do(chromedp.WaitVisible(chromedp.CSS("[data-testid=wait]")))
			if got := ph.Text("[data-testid=me-nick]"); got != p.user {
				t.Errorf("player's name in the final: got %q, want their own nickname %q", got, p.user)
			}
			phones = append(phones, ph)
		}
		host.WaitText("[data-testid=joined]", "已加入 2 人")
		host.Screenshot("final-lobby-zh-1920")
	})

	t.Run("the final is played to its podium", func(t *testing.T) {
		next := func() {
			host.Do(chromedp.WaitEnabled(chromedp.CSS("[data-testid=host-next]")), chromedp.Click(chromedp.CSS("[data-testid=host-next]")))
		}
		next()
		for q := 1; q <= 2; q++ {
			waitPhase(host, "question")
			for i, ph := range phones {
				choice := 1 // 乙, right
				if i == 1 && q == 2 {
					choice = 3 // 丁, wrong
				}
				ph.Do(chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`#q-tiles [data-option="%d"]:not([disabled])`, choice))),
					chromedp.Click(chromedp.CSS(fmt.Sprintf(`#q-tiles [data-option="%d"]`, choice))))
			}
			waitPhase(host, "reveal")
			next()
			waitPhase(host, "board")
			next()
		}
		waitPhase(host, "finished")
		host.WaitText("[data-testid=podium]", players[0].user)
		host.Screenshot("final-podium-zh-1920")
	})

	t.Run("roster and campaign page", func(t *testing.T) {
		host.Visit(fmt.Sprintf("/campaigns/%d/live-final", id))
		roster := host.Text("[data-testid=final-roster]")
		if strings.Count(roster, "已进入") != 2 {
			t.Errorf("roster after the final: %q, want both in the room", roster)
		}
		if !e2e.Get(host, chromedp.Evaluate[bool](`document.querySelector('[data-checkin]').checked`)) {
			t.Error("the door check-in did not stay")
		}
		host.Visit(fmt.Sprintf("/campaigns/%d", id))
		host.WaitText("[data-testid=final-podium]", "现场决赛领奖台")
		podium := host.Text("[data-testid=final-podium]")
		if !strings.Contains(podium, "王**") || !strings.Contains(podium, "李四") || strings.Contains(podium, "final-a") {
			t.Errorf("podium on the campaign page: %q, want the frozen board's names (王** masked), no account name", podium)
		}
		host.Screenshot("final-campaign-podium-zh-1920")
		host.Phone()
		host.Screenshot("final-campaign-podium-zh-390")
		host.ClickNav("[data-testid=lang-switch]")
		host.WaitText("[data-testid=final-podium]", "Live final podium")
		host.Screenshot("final-campaign-podium-en-390")
		// The organizer's own invitation and the reach report, on a phone.
		host.Visit(fmt.Sprintf("/campaigns/%d/invite", id))
		host.Do(chromedp.WaitVisible(chromedp.CSS("[data-testid=invite-qr]")))
		host.Screenshot("invite-en-390")
		host.Visit(fmt.Sprintf("/campaigns/%d/reach", id))
		host.WaitText("[data-testid=reach-totals]", "1")
		host.Screenshot("reach-en-390")
		host.Do(chromedp.EmulateViewport(1920, 1080))
		host.Visit(fmt.Sprintf("/campaigns/%d/live-final", id))
		host.Screenshot("final-roster-en-1920")
	})
}
