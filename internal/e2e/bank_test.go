package e2e_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/kepu/kepu/internal/e2e"
)

// bankImportCSV has two bad rows: row 3 (answer D with two options) and
// row 5 (difficulty 9).
const bankImportCSV = "key,type,stem,option_a,option_b,option_c,answer,explanation,category,dimension,difficulty\n" +
	"1,single,浏览器测试：光合作用主要发生在植物的哪个部位？,根,叶,茎,B,叶绿体主要分布在叶片中。,life,knowledge,2\n" +
	"2,single,浏览器测试：坏行一？,是,否,,D,说明。,life,knowledge,2\n" +
	"3,判断,浏览器测试：月球自己会发光。,正确,错误,,错误,月光是反射的太阳光。,earth_space,knowledge,1\n" +
	"4,single,浏览器测试：坏行二？,是,否,,A,说明。,life,knowledge,9\n"

// An organizer checks a file with two bad rows, sees both with their row
// numbers, imports the good rows and finds them in the bank.
func TestBankImportReportsBadRows(t *testing.T) {
	t.Parallel()
	b := e2e.Start(t)
	file := tempFile(t, "questions.csv", bankImportCSV)
	b.LoginDemo("demo-organizer")
	b.Visit("/bank")
	b.WaitText("#bank-status", "共")
	b.ClickNav("[data-testid=bank-import]")
	b.WaitText("h1", "导入题目")
	b.Do(chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{file}))
	b.Do(chromedp.Click(chromedp.CSS("[data-testid=import-check]")))
	b.WaitText("[data-testid=report-summary]", "共 4 行，2 行没有问题，2 行有问题")
	rows := e2e.Get(b, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#report tbody tr')].map(r => r.textContent)`))
	if len(rows) != 2 || !strings.HasPrefix(rows[0], "3answer") || !strings.HasPrefix(rows[1], "5difficulty") {
		t.Errorf("report rows: got %q, want row 3 (answer) and row 5 (difficulty)", rows)
	}
	if !strings.Contains(rows[1], "难度是 1 到 5 的整数") {
		t.Errorf("row 5's reason: got %q", rows[1])
	}
	b.Screenshot("bank-import-report-phone")
	b.Do(chromedp.Click(chromedp.CSS("[data-testid=import-do]")))
	b.WaitText("[data-testid=report-imported]", "已导入 2 题")
	b.Visit("/bank")
	b.Fill("#f-q", "浏览器测试")
	b.Do(chromedp.Click(chromedp.CSS(`#bank-filters button[type=submit]`)))
	b.WaitText("#bank-status", "共 2 题")
	b.Screenshot("bank-list-phone")
	b.Desktop()
	b.Screenshot("bank-list-desktop")
}

// The editor's preview shows the question as a participant sees it, and
// follows the typing; saving twice leaves two versions in the history.
func TestBankEditorPreviewAndHistory(t *testing.T) {
	t.Parallel()
	b := e2e.Start(t)
	b.LoginDemo("demo-organizer")
	b.Visit("/bank/new")
	b.Fill("#stem", "浏览器里的新题：彩虹有几种颜色？")
	b.WaitText("[data-testid=preview-stem]", "彩虹有几种颜色")
	b.Do(
		chromedp.SendKeys(chromedp.CSS("#options li:nth-child(1) [data-option]"), "五种"),
		chromedp.SendKeys(chromedp.CSS("#options li:nth-child(2) [data-option]"), "七种"),
		chromedp.SendKeys(chromedp.CSS("#options li:nth-child(3) [data-option]"), "<b>九种</b>"),
		chromedp.Click(chromedp.CSS("#options li:nth-child(2) [data-correct]")),
		chromedp.SendKeys(chromedp.CSS("#explanation"), "通常说红橙黄绿蓝靛紫七种。"),
	)
	b.WaitText("#preview", "B. 七种")
	b.WaitText("#preview", "正确答案：B")
	if n := e2e.Get(b, chromedp.Evaluate[int](`document.querySelectorAll('#preview b').length`)); n != 0 {
		t.Errorf("option markup became %d elements in the preview, want text", n)
	}
	b.Screenshot("bank-editor-phone")
	b.ClickNav("[data-testid=save-publish]")
	b.WaitText("[data-testid=question-status]", "已发布")
	b.Fill("#stem", "浏览器里的新题：雨后彩虹通常有几种颜色？")
	b.Do(chromedp.Click(chromedp.CSS("[data-testid=save-question]")))
	b.WaitText(".form-ok", "第 2 版")
	b.WaitText("[data-testid=history]", "第 1 版")
	b.WaitText("[data-testid=history]", "浏览器里的新题：彩虹有几种颜色？")
}
