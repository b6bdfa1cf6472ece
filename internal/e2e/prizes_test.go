package e2e_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/kepu/kepu/internal/campaign"
	"github.com/kepu/kepu/internal/e2e"
	"github.com/kepu/kepu/internal/kepu"
	"github.com/kepu/kepu/internal/lottery"
	"github.com/kepu/kepu/internal/prize"
)

// A citizen on a phone sees a campaign's prizes and the lottery's
// commitment before the close; after it, the lottery page shows their
// entry and the winners, recomputes the draw in the browser (match) and
// catches a downloaded file with a changed seed (mismatch), and the CLI's
// code recomputes the same winners from the same URL; the citizen gives
// delivery details under 我的奖品, and once the organizer marks the prize
// sent the page says so and the details are gone.
func TestPrizesLotteryOnPhone(t *testing.T) {
	t.Parallel()
	b := e2e.Start(t)
	inst := b.Inst
	ctx := context.Background()
	db := inst.DB.Pool
	id := campaignOf(t, b, "宁夏式抽奖答题", "答对 2 题即可抽奖", "published", 3, campaign.Rules{Questions: 3, TimeLimit: 30})
	adminID, _ := inst.CreateUser("prize-admin", "admin")
	admin := kepu.Actor{UserID: adminID, Role: kepu.RoleAdmin}
	if _, err := inst.App.Prizes.Save(ctx, admin, id, prize.Definition{
		Prizes:      []prize.Prize{{Kind: prize.KindRank, Name: "一等奖", Count: 1}, {Kind: prize.KindLottery, Name: "纪念徽章", Count: 4}},
		Eligibility: []prize.Eligibility{{Basis: prize.BasisRight, Min: 2, Per: prize.PerPerson}}}); err != nil {
		t.Fatal(err)
	}
	// Finished attempts: the demo citizen and three others with 2 or 3 right answers, one with 1 (not eligible).
	var citizen int64
	db.QueryRow(ctx, `SELECT id FROM users WHERE username = 'demo-citizen'`).Scan(&citizen)
	users := []int64{citizen}
	for i := range 4 {
		u, _ := inst.CreateUser(fmt.Sprintf("prize-p%d", i), "participant")
		users = append(users, u)
	}
	for i, u := range users {
		right := []int{2, 3, 3, 2, 1}[i]
		var att int64
		if err := db.QueryRow(ctx, `INSERT INTO campaign_attempts (campaign_id, user_id, started_at, finished_at, score, max_score, passed,
			questions, answered, time_ms, region_id) VALUES ($1, $2, now() - interval '10 minutes', now() - interval '9 minutes', $3, 30, true, 3, 3, $4,
			(SELECT region_id FROM users WHERE id = $2)) RETURNING id`, id, u, right*10, 20000+i*1000).Scan(&att); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(ctx, `INSERT INTO campaign_answers (attempt_id, seq, question_version_id, correct, points, elapsed_ms)
			SELECT $1, s, (SELECT min(id) FROM question_versions WHERE stem LIKE '活动题%'), s <= $2, 10, 5000 FROM generate_series(1, 3) s`, att, right); err != nil {
			t.Fatal(err)
		}
	}
	var commitment string
	db.QueryRow(ctx, `SELECT commitment FROM prize_lottery WHERE campaign_id = $1`, id).Scan(&commitment)
	t.Run("the organizer's prize page", func(t *testing.T) {
		b.LoginDemo("demo-organizer")
		b.Visit(fmt.Sprintf("/manage/campaigns/%d", id))
		b.ClickNav("[data-testid=prizes-link]")
		b.Do(chromedp.WaitVisible(chromedp.CSS("[data-prize-row]")))
		b.Do(chromedp.Click(chromedp.CSS("[data-testid=save-prizes]")))
		b.Do(chromedp.WaitVisible(chromedp.CSS("[data-saved]")))
		b.Screenshot("prizes-manage-zh-phone")
		b.ClickNav("[data-testid=logout]")
	})
	b.LoginDemo("demo-citizen")

	t.Run("the commitment before the close", func(t *testing.T) {
		b.Visit(fmt.Sprintf("/campaigns/%d", id))
		b.WaitText("[data-testid=prize-box]", "纪念徽章")
		if got := b.Text("[data-testid=commitment]"); got != commitment || len(got) != 64 {
			t.Errorf("commitment on the page %q, want %q", got, commitment)
		}
		b.Screenshot("prizes-campaign-zh-phone")
	})

	if _, err := inst.App.Campaigns.Transition(ctx, admin, id, "close"); err != nil {
		t.Fatal(err)
	}
	lotteryURL := inst.URL + fmt.Sprintf("/api/v1/campaigns/%d/lottery", id)
	t.Run("the lottery result, verified in the browser and by the CLI", func(t *testing.T) {
		b.Visit(fmt.Sprintf("/campaigns/%d", id))
		b.ClickNav("[data-testid=lottery-link]") // the first visit after the close settles the campaign
		b.WaitText("[data-testid=my-entries]", "A")
		b.WaitText("[data-testid=entries-count]", "4")
		b.Do(chromedp.Click(chromedp.CSS("[data-testid=verify]")))
		b.WaitText("[data-testid=verify-result]", "一致：")
		b.Screenshot("prizes-lottery-zh-phone")
		shown := e2e.Get(b, chromedp.Evaluate[[]string](`[...document.querySelectorAll('[data-testid=winners] tbody tr td:nth-child(2)')].map(x => x.textContent)`))

		var out bytes.Buffer
		p, err := lottery.Fetch(ctx, lotteryURL) // what `kepu lottery verify --url` runs
		if err != nil {
			t.Fatal(err)
		}
		if err := lottery.Report(&out, p, commitment); err != nil {
			t.Fatalf("the CLI's verification: %v\n%s", err, out.String())
		}
		for _, e := range shown {
			if !strings.Contains(out.String(), "\t"+e+"\t") {
				t.Errorf("the page shows winner %s, the CLI: %s", e, out.String())
			}
		}
		if len(shown) != 4 || len(p.Winners) != 4 {
			t.Errorf("winners: page %v, published %v; want the 4 eligible", shown, p.Winners)
		}

		// A downloaded file whose seed was changed: the page says it does not match.
		p.Seed = hex.EncodeToString(make([]byte, 32))
		raw, _ := json.Marshal(p)
		file := filepath.Join(t.TempDir(), "forged.json")
		os.WriteFile(file, raw, 0o600)
		b.Do(chromedp.SetUploadFiles(chromedp.CSS("[data-testid=verify-file]"), []string{file}))
		b.WaitText("[data-testid=verify-result]", "种子与承诺值不符")
	})

	var award int64
	db.QueryRow(ctx, `SELECT w.id FROM prize_awards w JOIN prizes p ON p.id = w.prize_id WHERE w.user_id = $1 AND p.kind = 'lottery'`, citizen).Scan(&award)
	t.Run("claiming the prize", func(t *testing.T) {
		b.Visit(fmt.Sprintf("/campaigns/%d", id))
		b.ClickNav("[data-testid=my-prizes-link]")
		b.WaitText("[data-testid=my-prizes]", "纪念徽章")
		sel := fmt.Sprintf("[data-award='%d'] ", award)
		b.Fill(sel+"[data-testid=delivery-name]", "张三")
		b.Fill(sel+"[data-testid=delivery-phone]", "电话")
		b.Fill(sel+"[data-testid=delivery-address]", "湖南省常德市武陵区朗州路 88 号")
		b.Do(chromedp.Click(chromedp.CSS(sel + "[data-testid=delivery-save]")))
		b.WaitText(sel+".form-error", "有效的电话号码")
		b.Fill(sel+"[data-testid=delivery-phone]", "138 0000 0000")
		b.Do(chromedp.Click(chromedp.CSS(sel + "[data-testid=delivery-save]")))
		b.Do(chromedp.WaitVisible(chromedp.CSS(sel + "[data-saved]"))) // its text is there while hidden
		b.Screenshot("prizes-mine-zh-phone")
		var addr string
		db.QueryRow(ctx, `SELECT address FROM prize_deliveries WHERE award_id = $1`, award).Scan(&addr)
		if addr != "湖南省常德市武陵区朗州路 88 号" {
			t.Errorf("stored address %q", addr)
		}
		// The organizer marks it sent on the prize page.
		b.ClickNav("[data-testid=logout]")
		b.LoginDemo("demo-organizer")
		b.Visit(fmt.Sprintf("/manage/campaigns/%d/prizes", id))
		b.WaitText(fmt.Sprintf("tr[data-award='%d']", award), "已填写")
		b.Screenshot("prizes-winners-zh-phone")
		b.ClickNav(fmt.Sprintf("[data-fulfil='%d']", award))
		b.WaitText(fmt.Sprintf("tr[data-award='%d']", award), "已删除")
		b.ClickNav("[data-testid=logout]")
		b.LoginDemo("demo-citizen")
		b.Visit("/me/prizes")
		b.WaitText(sel+"[data-testid=fulfilled]", "收货信息已删除")
		var n int
		db.QueryRow(ctx, `SELECT count(*) FROM prize_deliveries WHERE award_id = $1`, award).Scan(&n)
		if n != 0 {
			t.Errorf("delivery details after fulfilment: %d rows, want 0", n)
		}
	})

	t.Run("English and the projector", func(t *testing.T) {
		b.ClickNav("[data-testid=lang-switch]")
		b.WaitText("h1", "My prizes")
		b.Screenshot("prizes-mine-en-phone")
		b.Visit(fmt.Sprintf("/campaigns/%d/lottery", id))
		b.Do(chromedp.Click(chromedp.CSS("[data-testid=verify]")))
		b.WaitText("[data-testid=verify-result]", "Match:")
		b.Screenshot("prizes-lottery-en-phone")
		b.Do(chromedp.EmulateViewport(1920, 1080))
		b.Visit(fmt.Sprintf("/campaigns/%d/final", id))
		b.WaitText("[data-testid=final-board]", "prize-p0")
		b.Screenshot("prizes-final-en-projector")
		b.ClickNav("[data-testid=lang-switch]")
		b.WaitText("[data-testid=frozen-at]", "北京时间")
		b.Screenshot("prizes-final-zh-projector")
	})
}
