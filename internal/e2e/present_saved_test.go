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

// A teacher's saved contests on /contests, in Chinese and English: the bank
// picker previews a question (type, options, answer) before adding it; a
// contest is edited with its questions reordered, duplicated, and deleted
// after a confirmation that says its played games stay in the history.
func TestSavedContestsPage(t *testing.T) {
	t.Parallel()
	host := e2e.Start(t)
	inst := host.Inst
	var qids []int64
	for i := 1; i <= 3; i++ {
		qids = append(qids, insertChoice(t, inst, fmt.Sprintf("saved-%d", i), fmt.Sprintf("排序题%d？", i), `["甲","乙","丙"]`))
	}
	api := inst.Login("demo-teacher", inst.DemoPassword("demo-teacher"))
	r := api.Do("POST", "/api/v1/contests", map[string]any{"title": "排序竞赛", "question_ids": qids[:2]})
	apptest.Expect(t, r, 201, "create contest")
	var c struct{ ID int64 }
	r.JSON(t, &c)

	host.Desktop()
	login(host, "demo-teacher", inst.DemoPassword("demo-teacher"))
	for _, lang := range []string{"zh-CN", "en"} {
		if lang == "en" {
			host.ClickNav("[data-testid=lang-switch]")
		}
		host.Visit(fmt.Sprintf("/contests/%d/edit", c.ID))
		host.WaitText("#picked", "排序题2")
		// The picker previews a question before it is added.
		host.Fill("#q", "排序题3")
		host.WaitText("#bank li:first-child", "排序题3")
		host.Do(chromedp.Click(chromedp.CSS("#bank li:first-child [data-testid=preview-question]")))
		want := map[string]string{"zh-CN": "答案：◆ 乙", "en": "Answer: ◆ 乙"}[lang]
		host.WaitText("#bank [data-testid=preview]", want)
		host.WaitText("#bank [data-testid=preview]", map[string]string{"zh-CN": "单选题", "en": "Single choice"}[lang])
		host.Screenshot("present-picker-" + lang + "-1280")
		host.Phone()
		host.Screenshot("present-picker-" + lang + "-390")
		host.Desktop()
		if lang == "zh-CN" {
			// Add question 3, move it to the top, save.
			host.Do(chromedp.Click(chromedp.CSS("#bank li:first-child [data-testid=add-question]")))
			host.WaitText("#picked", "排序题3")
			host.Do(chromedp.Click(chromedp.CSS("#picked li:nth-child(3) [data-move=up]")))
			host.Do(chromedp.Click(chromedp.CSS("#picked li:nth-child(2) [data-move=up]")))
			order := e2e.Get(host, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#picked li > span:first-child')].map(e => e.textContent)`))
			if strings.Join(order, ",") != "排序题3？,排序题1？,排序题2？" {
				t.Errorf("picked order after moving up twice: %v", order)
			}
			host.ClickNav("[data-testid=save-contest]")
			var stems []string
			rows, _ := inst.DB.Pool.Query(context.Background(), `SELECT v.stem FROM contest_questions cq
				JOIN question_versions v ON v.id = cq.question_version_id WHERE cq.contest_id = $1 ORDER BY cq.position`, c.ID)
			for rows.Next() {
				var s string
				rows.Scan(&s)
				stems = append(stems, s)
			}
			rows.Close()
			if strings.Join(stems, ",") != "排序题3？,排序题1？,排序题2？" {
				t.Errorf("saved order: %v, want 3, 1, 2", stems)
			}
		}
		host.Visit("/contests")
		host.Screenshot("present-contests-" + lang + "-1280")
		host.Phone()
		host.Screenshot("present-contests-" + lang + "-390")
		host.Desktop()
	}

	// Duplicate, then delete the copy (English now).
	host.Do(chromedp.Click(chromedp.CSS(fmt.Sprintf("[data-testid=duplicate-%d]", c.ID))))
	host.WaitText("[data-testid=contest-ok]", "Copied as “Copy of 排序竞赛”")
	var dup int64
	inst.DB.Pool.QueryRow(context.Background(), `SELECT max(id) FROM contests`).Scan(&dup)
	e2e.Get(host, chromedp.Evaluate[bool](`(window.asked = [], window.confirm = (m) => (asked.push(m), true), true)`))
	host.Do(chromedp.Click(chromedp.CSS(fmt.Sprintf("[data-testid=delete-%d]", dup))))
	host.WaitText("[data-testid=contest-ok]", "“Copy of 排序竞赛” deleted.")
	host.Screenshot("present-contests-deleted-en-1280")
	if host.Visible(fmt.Sprintf("[data-testid=delete-%d]", dup)) {
		t.Error("the deleted copy is still listed")
	}
}
