package server_test

import (
	"strings"
	"testing"

	"github.com/kepu/kepu/internal/apptest"
)

// The import report shows the organizer a warning per item with a cue, in
// their language, and imports the rows all the same.
func TestBankImportCueWarnings(t *testing.T) {
	t.Parallel()
	inst := apptest.Start(t)
	_, pw := inst.CreateUser("org-cue", "organizer", inst.Seed.DistrictIDs["430702"])
	o := inst.Login("org-cue", pw)
	file := "key,type,stem,option_a,option_b,option_c,answer,explanation,category,dimension,difficulty\n" +
		"1,single,光年是什么？,时间单位,速度单位,光在真空中一年里传播的距离，是长度单位,C,光年是光在一年里走过的距离。,earth_space,knowledge,2\n" +
		"2,truefalse,测量气温时，应把温度计放在阳光直射的地方，这样测得更准确。,正确,错误,,B,阳光直射会把温度计本身晒热，读数会明显高于真实气温。,earth_space,method,2\n" +
		"3,truefalse,在户外测量气温时，应该把温度计放在阳光直射的地方，这样读数最准确。,正确,错误,,B,阳光直射会让温度计本身被晒热，读数高于真实气温。,earth_space,application,2\n"
	type report struct {
		Imported int `json:"imported"`
		Problems []struct{ Row int }
		Warnings []struct {
			Row     int
			Column  string
			Message string
		}
	}
	var rep report
	r := o.DoRaw("POST", "/api/v1/bank/import?format=csv&mode=all&dry_run=1", []byte(file), "text/csv")
	apptest.Expect(t, r, 200, "dry run")
	r.JSON(t, &rep)
	if len(rep.Problems) != 0 || len(rep.Warnings) != 2 ||
		rep.Warnings[0].Row != 2 || !strings.Contains(rep.Warnings[0].Message, "正确选项明显比其他选项都长") ||
		rep.Warnings[1].Row != 4 || !strings.Contains(rep.Warnings[1].Message, "与文件第 3 行的题目高度相似") {
		t.Errorf("zh-CN warnings: got %+v", rep)
	}
	o.Do("GET", "/lang/en?next=/", nil)
	r = o.DoRaw("POST", "/api/v1/bank/import?format=csv&mode=all", []byte(file), "text/csv")
	apptest.Expect(t, r, 200, "import")
	r.JSON(t, &rep)
	if rep.Imported != 3 || len(rep.Warnings) != 2 || !strings.Contains(rep.Warnings[0].Message, "The keyed option is clearly the longest") ||
		!strings.Contains(rep.Warnings[1].Message, "Very similar to the question in row 3") {
		t.Errorf("en import: got %+v, want 3 imported with 2 warnings", rep)
	}
}
