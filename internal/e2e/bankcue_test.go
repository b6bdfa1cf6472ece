package e2e_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/kepu/kepu/internal/e2e"
)

// cueCSV has no errors but three cues: row 2's key is by far the longest
// option, row 3 repeats the seeded question earth_space-022 of the demo
// organizer's (city) bank, and row 4 repeats row 3 in other words.
const cueCSV = "key,type,stem,option_a,option_b,option_c,answer,explanation,category,dimension,difficulty\n" +
	"1,single,浏览器提醒测试：光年是什么？,时间单位,速度单位,光在真空中一年里传播的距离，是长度单位,C,光年是光在一年里走过的距离。,earth_space,knowledge,2\n" +
	"2,truefalse,浏览器提醒测试：测量气温时，应把温度计放在阳光直射的地方，这样测得更准确。,正确,错误,,B,阳光直射会把温度计本身晒热，读数会明显高于真实气温。,earth_space,method,2\n" +
	"3,truefalse,浏览器提醒测试：在户外测量气温时，应该把温度计放在阳光直射的地方，这样读数最准确。,正确,错误,,B,阳光直射会让温度计本身被晒热，读数高于真实气温。,earth_space,application,2\n"

// An organizer checks a file with cues: the report lists them as warnings,
// apart from the problems, in both languages, and the rows still import.
func TestBankImportShowsCueWarnings(t *testing.T) {
	t.Parallel()
	b := e2e.Start(t)
	file := tempFile(t, "cues.csv", cueCSV)
	b.LoginDemo("demo-organizer")
	check := func() []string {
		b.Do(chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{file}))
		b.Do(chromedp.Click(chromedp.CSS("[data-testid=import-check]")))
		b.Do(chromedp.WaitVisible(chromedp.CSS("[data-testid=report-warnings]")))
		return e2e.Get(b, chromedp.Evaluate[[]string](`[...document.querySelectorAll('[data-testid=report-warnings] tbody tr')].map(r => r.textContent)`))
	}
	b.Visit("/bank/import")
	rows := check()
	if len(rows) != 3 || !strings.HasPrefix(rows[0], "2answer正确选项明显比其他选项都长") ||
		!strings.HasPrefix(rows[1], "3stem与题库中编号") || !strings.HasPrefix(rows[2], "4stem与文件第 3 行的题目高度相似") {
		t.Errorf("warnings: got %q", rows)
	}
	b.WaitText("[data-testid=report-summary]", "共 3 行，3 行没有问题，0 行有问题")
	b.WaitText("#report h3", "提醒（不影响导入）")
	b.Screenshot("bankcue-import-zh-phone")
	b.Do(chromedp.EmulateViewport(1920, 1080))
	b.Screenshot("bankcue-import-zh-1920")

	b.Visit("/lang/en?next=/bank/import")
	rows = check()
	if len(rows) != 3 || !strings.Contains(rows[0], "The keyed option is clearly the longest") ||
		!strings.Contains(rows[1], "in the bank") || !strings.Contains(rows[2], "Very similar to the question in row 3") {
		t.Errorf("English warnings: got %q", rows)
	}
	b.Screenshot("bankcue-import-en-1920")
	b.Phone()
	b.Screenshot("bankcue-import-en-phone")
	b.Do(chromedp.Click(chromedp.CSS("[data-testid=import-do]")))
	b.WaitText("[data-testid=report-imported]", "3")
}

// tempFile writes data to a new file name in a test's temporary folder, for
// an upload, and returns its path.
func tempFile(t *testing.T, name, data string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(file, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}
