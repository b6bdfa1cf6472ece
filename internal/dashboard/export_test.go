package dashboard

import (
	"bytes"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
)

func TestNeutralize(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"=SUM(A1)", "'=SUM(A1)"}, {"+1", "'+1"}, {"-2", "'-2"}, {"@cmd", "'@cmd"},
		{"\tx", "'\tx"}, {"\rx", "'\rx"}, {"武陵区", "武陵区"}, {"", ""}, {"a=b", "a=b"},
	} {
		if got := Neutralize(tt.in); got != tt.want {
			t.Errorf("Neutralize(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

var exportTable = Table{Name: "学校/school", Columns: []string{"学校", "参与人数", "平均分"},
	Rows: [][]any{{"=HYPERLINK(\"http://x\")", int64(12), 81.5}, {"武陵区实验小学", int64(7), nil}}}

func TestWriteCSV(t *testing.T) {
	var b bytes.Buffer
	if err := WriteCSV(&b, exportTable); err != nil {
		t.Fatal(err)
	}
	want := "\ufeff学校,参与人数,平均分\n\"'=HYPERLINK(\"\"http://x\"\")\",12,81.5\n武陵区实验小学,7,\n"
	if got := b.String(); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestWriteXLSX(t *testing.T) {
	var b bytes.Buffer
	if err := WriteXLSX(&b, exportTable); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(&b)
	if err != nil {
		t.Fatal(err)
	}
	sheet := f.GetSheetName(0)
	if sheet != "学校_school" {
		t.Errorf("sheet = %q, want 学校_school", sheet)
	}
	rows, err := f.GetRows(sheet)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(rows[0], "|"); got != "学校|参与人数|平均分" {
		t.Errorf("header = %q", got)
	}
	if rows[1][0] != "'=HYPERLINK(\"http://x\")" || rows[1][1] != "12" || rows[1][2] != "81.5" {
		t.Errorf("row 1 = %q", rows[1])
	}
	if formula, _ := f.GetCellFormula(sheet, "A2"); formula != "" {
		t.Errorf("A2 holds formula %q, want none", formula)
	}
}

func TestLocalize(t *testing.T) {
	tr := func(k string) (string, bool) {
		m := map[string]string{"dash.col.school": "学校", "dash.age.u14": "14岁以下"}
		v, ok := m[k]
		if !ok {
			return k, false
		}
		return v, true
	}
	in := Table{Name: "x", Columns: []string{"dash.col.school"},
		Rows: [][]any{{Key("dash.age.u14")}, {Key("dash.category.new_one")}, {"dash.age.u14"}, {int64(3)}}}
	got := in.Localize(tr)
	want := []any{"14岁以下", "new_one", "dash.age.u14", int64(3)}
	if got.Columns[0] != "学校" {
		t.Errorf("column: got %q, want 学校", got.Columns[0])
	}
	for i, w := range want {
		if got.Rows[i][0] != w {
			t.Errorf("row %d: got %#v, want %#v (data that looks like a key stays data)", i, got.Rows[i][0], w)
		}
	}
	if in.Rows[0][0] != Key("dash.age.u14") {
		t.Errorf("Localize changed its input")
	}
}
