package e2e_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/kepu/kepu/internal/app"
	"github.com/kepu/kepu/internal/apptest"
	"github.com/kepu/kepu/internal/e2e"
)

// Two people on two phones tap 开始匹配 on the PK page, are matched, and
// play one 1-vs-1 match: each sees the same question, the other's progress
// live, the answer and explanation after each round, and the result.
func TestPKDuelTwoPhones(t *testing.T) {
	t.Parallel()
	li := e2e.Start(t, apptest.Options{Setup: func(a *app.App) {
		a.PK.Round, a.PK.Reveal, a.PK.Ready = 8*time.Second, 1500*time.Millisecond, time.Second
	}})
	inst := li.Inst
	_, pwLi := inst.CreateUser("pk_li", "participant")
	_, pwWang := inst.CreateUser("pk_wang", "participant")
	wang := e2e.New(t, inst)
	login(li, "pk_li", pwLi)
	login(wang, "pk_wang", pwWang)

	t.Run("matched from the home page's PK entry", func(t *testing.T) {
		li.Visit("/")
		li.ClickNav("[data-testid=pk-entry] a")
		li.Do(chromedp.Click(chromedp.CSS("[data-testid=pk-start]")))
		li.WaitText("[data-testid=pk-wait]", "正在匹配") // the heading; the line under it moves on to the seconds waited
		wang.Visit("/pk")
		wang.Do(chromedp.Click(chromedp.CSS("[data-testid=pk-start]")))
		for _, b := range []*e2e.Browser{li, wang} {
			b.Do(chromedp.WaitVisible(chromedp.CSS("[data-testid=pk-stem]")))
		}
	})
	loc := e2e.Get(li, chromedp.Evaluate[string](`location.pathname`))
	var id int64
	if _, err := fmt.Sscanf(loc, "/pk/match/%d", &id); err != nil {
		t.Fatalf("li's page is %s, want /pk/match/{id}", loc)
	}
	rows, err := inst.DB.Pool.Query(context.Background(), `
		SELECT v.answer[1] FROM pk_matches m, unnest(m.versions) WITH ORDINALITY AS u(vid, n)
		JOIN question_versions v ON v.id = u.vid WHERE m.id = $1 ORDER BY u.n`, id)
	if err != nil {
		t.Fatal(err)
	}
	var keys []int
	for rows.Next() {
		var k int
		rows.Scan(&k)
		keys = append(keys, k)
	}
	rows.Close()

	t.Run("five rounds", func(t *testing.T) {
		for q, k := range keys {
			of := fmt.Sprintf("第 %d 题", q+1)
			li.WaitText("[data-testid=pk-of]", of)
			wang.WaitText("[data-testid=pk-of]", of)
			if a, b := li.Text("[data-testid=pk-stem]"), wang.Text("[data-testid=pk-stem]"); a != b {
				t.Fatalf("q%d: li sees %q, wang %q", q, a, b)
			}
			li.Do(chromedp.Click(chromedp.CSS(fmt.Sprintf("[data-testid=pk-option-%d]", k))))
			li.WaitText("[data-testid=pk-status]", "已提交")
			if q == 0 { // li's answer shows on wang's phone while the round is open
				wang.WaitText("#pk-players li:not(.me) .dots", "●")
				wang.Screenshot("pk-question-phone-zh")
			}
			wang.Do(chromedp.Click(chromedp.CSS(fmt.Sprintf("[data-testid=pk-option-%d]", (k+1)%2))))
			if q < len(keys)-1 {
				wang.Do(chromedp.WaitVisible(chromedp.CSS("[data-testid=pk-reveal] [data-testid=pk-key]")))
				if q == 0 {
					wang.Screenshot("pk-reveal-phone-zh")
				}
			}
		}
	})

	t.Run("result", func(t *testing.T) {
		li.WaitText("[data-testid=pk-verdict]", "你赢了")
		wang.WaitText("[data-testid=pk-verdict]", "第 2 名")
		if n := e2e.Get(wang, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid=pk-rounds] .pk-round, #pk-rounds .pk-round').length`)); n != len(keys) {
			t.Errorf("result shows %d rounds, want %d", n, len(keys))
		}
		li.Screenshot("pk-result-phone-zh")
		wang.Visit("/lang/en?next=" + loc)
		wang.Visit(loc)
		wang.WaitText("[data-testid=pk-verdict]", "Your place: 2")
		if txt := wang.Text("#pk-rounds"); !strings.Contains(txt, "Correct answer") {
			t.Errorf("en result: %q", txt)
		}
		wang.Screenshot("pk-result-phone-en")
	})
}
