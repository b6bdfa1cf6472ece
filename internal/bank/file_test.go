package bank_test

import (
	"archive/zip"
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"

	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/kepu/kepu/internal/bank"
	"github.com/kepu/kepu/internal/kepu"
)

// tricky are records whose texts a careless exporter would break: formula
// starts, quotes, separators, line breaks, Chinese punctuation.
func tricky() []bank.Record {
	recs := bank.TemplateRecords()
	f := validInput()
	f.Stem = "=HYPERLINK(\"http://evil\",\"点我\")，这是公式吗？"
	f.Options = []string{"+1", "-1", "@sum", "'quoted", "a,b;\"c\"\nd"}
	f.Answer = []int{0}
	f.Explanation = "\t开头的制表符会被去掉，=号不会。" // Normalize trims the tab
	f.Tags = []string{"公式", "安全"}
	mult := validInput()
	mult.Type = bank.TypeMultiple
	mult.Stem = "下列哪些是哺乳动物？"
	mult.Options = []string{"鲸", "蝙蝠", "企鹅", "鸭嘴兽"}
	mult.Answer = []int{0, 1, 3}
	mult.Category = "life"
	mult.Tags = nil
	mult.Source = ""
	recs = append(recs, bank.Record{Key: "f1", Status: bank.StatusPublished, Input: f},
		bank.Record{Key: "m1", Status: bank.StatusRetired, Input: mult})
	for i := range recs {
		recs[i].Input.Normalize()
	}
	return recs
}

func records(t *testing.T, rows []bank.Row) []bank.Record {
	t.Helper()
	var out []bank.Record
	for _, r := range rows {
		if len(r.Problems) > 0 {
			t.Errorf("row %d: unexpected problems %+v", r.Line, r.Problems)
		}
		in := r.Record.Input
		if p := in.Problems(); len(p) > 0 {
			t.Errorf("row %d: invalid after parse: %v", r.Line, p)
		}
		r.Record.Input = in
		out = append(out, r.Record)
	}
	return out
}

func sameRecords(t *testing.T, what string, got, want []bank.Record) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %d records, want %d", what, len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Key != w.Key || g.TranslationOf != w.TranslationOf || g.Status != w.Status || !g.Input.Equal(w.Input) {
			t.Errorf("%s: record %d:\n got  %+v\n want %+v", what, i, g, w)
		}
	}
}

func TestFileRoundTrip(t *testing.T) {
	want := tricky()
	for _, format := range bank.Formats {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			if err := bank.Write(format, &buf, want); err != nil {
				t.Fatal(err)
			}
			rows, err := bank.Parse(format, buf.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			sameRecords(t, format, records(t, rows), want)
			if format == "csv" {
				if !bytes.HasPrefix(buf.Bytes(), []byte("\xef\xbb\xbf")) {
					t.Errorf("CSV export has no BOM")
				}
				// No cell may start with a formula character.
				for _, line := range strings.Split(buf.String(), "\r\n") {
					for _, cell := range strings.Split(line, ",") {
						cell = strings.TrimPrefix(cell, `"`)
						if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
							t.Errorf("CSV cell %q starts like a formula", cell)
						}
					}
				}
				if !strings.Contains(buf.String(), `'=HYPERLINK`) || !strings.Contains(buf.String(), `'+1`) {
					t.Errorf("formula cells not neutralized:\n%s", buf.String())
				}
			}
		})
	}
}

const csvHeader = "key,lang,translation_of,type,stem,option_a,option_b,option_c,option_d,answer,explanation,category,dimension,difficulty,tags,source\n"

const goodCSV = csvHeader +
	"k1,zh-CN,,single,光年是什么单位？,时间,长度,速度,,B,光年是光在一年里走过的距离。,earth_space,knowledge,2,天文|单位,小学科学\n" +
	"k1en,en,k1,single,What does a light-year measure?,time,distance,speed,,B,It is the distance light travels in a year.,earth_space,knowledge,2,astronomy,Primary science\n" +
	"k2,zh-CN,,判断,地球是太阳系中最大的行星。,正确,错误,,,错误,木星才是最大的行星。,earth_space,knowledge,1,,\n" +
	"k3,,,multiple,下列哪些属于可再生能源？,太阳能,风能,煤炭,石油,\"A,B\",太阳能和风能可再生。,environment,application,3,能源,\n"

// badCSV has two bad rows: row 3 (answer E with four options) and row 5
// (difficulty 9 and an unknown category).
const badCSV = csvHeader +
	"b1,zh-CN,,single,声音在哪种介质中传播最快？,空气,水,钢铁,真空,C,固体中声速一般最大。,physics_chemistry,knowledge,3,,\n" +
	"b2,zh-CN,,single,第二行坏了吗？,是,否,,,E,说明,physics_chemistry,knowledge,3,,\n" +
	"b3,zh-CN,,truefalse,植物的光合作用需要光。,正确,错误,,,A,光是光合作用的能量来源。,life,knowledge,1,,\n" +
	"b4,zh-CN,,single,第四行也坏了吗？,是,否,,,A,说明,astrology,knowledge,9,,\n"

func TestParseCSVEncodings(t *testing.T) {
	gbk, err := simplifiedchinese.GBK.NewEncoder().String(goodCSV)
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string]string{"utf-8": goodCSV, "utf-8 bom": "\ufeff" + goodCSV, "gbk": gbk,
		"crlf": strings.ReplaceAll(goodCSV, "\n", "\r\n")} {
		t.Run(name, func(t *testing.T) {
			rows, err := bank.ParseCSV([]byte(data))
			if err != nil {
				t.Fatal(err)
			}
			recs := records(t, rows)
			if len(recs) != 4 {
				t.Fatalf("got %d rows, want 4", len(recs))
			}
			if recs[0].Stem != "光年是什么单位？" || !slices.Equal(recs[0].Options, []string{"时间", "长度", "速度"}) || recs[0].Answer[0] != 1 {
				t.Errorf("row 2: got %+v", recs[0])
			}
			if recs[2].Type != bank.TypeTrueFalse || recs[2].Answer[0] != 1 || recs[1].TranslationOf != "k1" {
				t.Errorf("rows 3-4: got %+v / %+v", recs[2], recs[1])
			}
			if !slices.Equal(recs[3].Answer, []int{0, 1}) || recs[3].Lang != "zh-CN" || recs[0].Tags[1] != "单位" {
				t.Errorf("row 5: got %+v", recs[3])
			}
		})
	}
}

// problemsOf checks rows like an import does (validation included) and
// returns "row:column" of each problem.
func problemsOf(rows []bank.Row) []string {
	var out []string
	for _, r := range rows {
		for _, p := range r.Problems {
			out = append(out, fmt.Sprintf("%d:%s", p.Row, p.Column))
		}
		in := r.Record.Input
		for _, p := range in.Problems() {
			out = append(out, fmt.Sprintf("%d:%s", r.Line, p.Field))
		}
	}
	return out
}

func TestParseBadCSV(t *testing.T) {
	rows, err := bank.ParseCSV([]byte(badCSV))
	if err != nil {
		t.Fatal(err)
	}
	got := problemsOf(rows)
	want := []string{"3:answer", "5:category", "5:difficulty"}
	if !slices.Equal(got, want) {
		t.Errorf("problems: got %v, want %v", got, want)
	}
}

func TestParseFileErrors(t *testing.T) {
	big := bytes.Repeat([]byte("a"), bank.MaxImportBytes+1)
	many := csvHeader + strings.Repeat("k,zh-CN,,single,s,a,b,,,A,e,health,knowledge,1,,\n", bank.MaxImportRows+1)
	tests := []struct {
		name, format string
		data         []byte
		code, key    string
	}{
		{"csv too large", "csv", big, kepu.ETOOLARGE, "error.bank_import_file_size"},
		{"csv too many rows", "csv", []byte(many), kepu.ETOOLARGE, "error.bank_import_rows"},
		{"csv without header columns", "csv", []byte("a,b\n1,2\n"), kepu.EINVALID, "error.bank_import_header"},
		{"csv empty", "csv", []byte(""), kepu.EINVALID, "error.bank_import_empty"},
		{"csv header only", "csv", []byte(csvHeader), kepu.EINVALID, "error.bank_import_empty"},
		{"bad encoding", "csv", []byte(csvHeader + "\xff\xff\xff,\x81\n"), kepu.EINVALID, "error.bank_import_encoding"},
		{"xlsx not a zip", "xlsx", []byte("PK nope"), kepu.EINVALID, "error.bank_import_xlsx"},
		{"xlsx zip bomb", "xlsx", zipBomb(t), kepu.ETOOLARGE, "error.bank_import_unzipped"},
		{"json not an array", "json", []byte(`{"stem":"x"}`), kepu.EINVALID, "error.bank_import_json"},
		{"json empty", "json", []byte(`[]`), kepu.EINVALID, "error.bank_import_empty"},
		{"unknown format", "doc", []byte("x"), kepu.EINVALID, "error.bank_format"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := bank.Parse(tt.format, tt.data)
			var ke *kepu.Error
			if !asKepu(err, &ke) || ke.Code != tt.code || ke.Key != tt.key {
				t.Errorf("got %v, want %s %s", err, tt.code, tt.key)
			}
		})
	}
}

func asKepu(err error, ke **kepu.Error) bool {
	e, ok := err.(*kepu.Error)
	*ke = e
	return ok
}

// zipBomb is a small zip whose one entry declares (and has) 60 MiB of zeros.
func zipBomb(t testing.TB) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.Create("xl/worksheets/sheet1.xml")
	if err != nil {
		t.Fatal(err)
	}
	zero := make([]byte, 1<<20)
	for i := 0; i < 60; i++ {
		w.Write(zero)
	}
	zw.Close()
	return buf.Bytes()
}

func TestParseJSONRows(t *testing.T) {
	data := `[
	 {"key":"j1","lang":"zh-CN","type":"single","stem":"问题一？","options":["甲","乙"],"answer":[0],"explanation":"因为。","category":"health","dimension":"knowledge","difficulty":1,"tags":[],"source":""},
	 {"key":"j2","type":"single","stem":"问题二？","options":["甲","乙"],"answer":"A","explanation":"因为。","category":"health","dimension":"knowledge","difficulty":1},
	 {"key":"j3","stem":"问题三？","colour":"red"}
	]`
	rows, err := bank.ParseJSON([]byte(data))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 || len(rows[0].Problems) != 0 || len(rows[1].Problems) != 1 || rows[1].Problems[0].Column != "answer" ||
		len(rows[2].Problems) != 1 || rows[2].Problems[0].Row != 3 {
		t.Errorf("rows: got %+v", rows)
	}
}

func TestParseXLSXBadRows(t *testing.T) {
	rows, err := bank.ParseCSV([]byte(badCSV))
	if err != nil {
		t.Fatal(err)
	}
	var recs []bank.Record
	for _, r := range rows {
		recs = append(recs, r.Record)
	}
	var buf bytes.Buffer
	if err := bank.WriteXLSX(&buf, recs); err != nil {
		t.Fatal(err)
	}
	back, err := bank.ParseXLSX(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	// Answer E cannot be written as a letter of 2 options and is dropped; the
	// other problems stay on their rows.
	got := problemsOf(back)
	want := []string{"3:answer", "5:category", "5:difficulty"}
	if !slices.Equal(got, want) {
		t.Errorf("XLSX problems: got %v, want %v", got, want)
	}
}

// The fuzz tests run their seed corpora as normal tests; with -fuzz they
// check that no input makes a parser panic, and that every row it returns
// has a row number.
func fuzzParser(f *testing.F, parse func([]byte) ([]bank.Row, error), seeds ...[]byte) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, err := parse(data)
		if err != nil {
			if _, ok := err.(*kepu.Error); !ok {
				t.Fatalf("error %v is not a *kepu.Error", err)
			}
			return
		}
		for _, r := range rows {
			if r.Line < 1 {
				t.Fatalf("row without a number: %+v", r)
			}
			in := r.Record.Input
			in.Problems()
		}
	})
}

func FuzzParseCSV(f *testing.F) {
	gbk, _ := simplifiedchinese.GBK.NewEncoder().String(goodCSV)
	fuzzParser(f, bank.ParseCSV, []byte(goodCSV), []byte(badCSV), []byte(gbk), []byte("\ufeff"+csvHeader+"\"unterminated"), []byte(""))
}

func FuzzParseJSON(f *testing.F) {
	var buf bytes.Buffer
	bank.WriteJSON(&buf, tricky())
	fuzzParser(f, bank.ParseJSON, buf.Bytes(), []byte(`[{"answer":[-1,99]}]`), []byte(`[1,"a",null]`), []byte(`{}`))
}

func FuzzParseXLSX(f *testing.F) {
	var buf bytes.Buffer
	bank.WriteXLSX(&buf, tricky())
	good := buf.Bytes()
	fuzzParser(f, bank.ParseXLSX, good, good[:len(good)/2], []byte("PK\x03\x04"), []byte{})
}
