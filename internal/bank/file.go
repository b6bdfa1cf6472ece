package bank

import (
	"archive/zip"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/kepu/kepu/internal/kepu"
)

// Limits of an import file.
const (
	MaxImportBytes = 5 << 20  // the uploaded file
	MaxImportRows  = 5000     // questions in one file
	MaxUnzipped    = 50 << 20 // an XLSX file's uncompressed parts, together
	maxZipEntries  = 200
	maxCell        = 4000 // bytes in one cell
)

// Formats of import and export files.
var Formats = []string{"csv", "xlsx", "json"}

// Columns are the columns of CSV and XLSX files, in order (docs/question-import.md).
var Columns = []string{"key", "lang", "translation_of", "type", "stem",
	"option_a", "option_b", "option_c", "option_d", "option_e", "option_f",
	"answer", "explanation", "category", "dimension", "difficulty", "tags", "source", "image_id", "status"}

// Record is one question as a file carries it: Key names it within the file
// (any text; exports use the seed key or "q<id>"), TranslationOf is the key
// of the zh-CN record an en record translates — in the same file, or an
// existing question of the bank ("q<id>" or its seed key).
type Record struct {
	Key           string `json:"key"`
	TranslationOf string `json:"translation_of"`
	Status        string `json:"status"`
	Input
}

// Problem is one thing wrong with one row of an import file. Row is the
// spreadsheet row (the header is row 1) or, in JSON, the 1-based position
// in the array; Column names the column (or JSON field). Key and Params
// make the message in the user's language.
type Problem struct {
	Row    int            `json:"row"`
	Column string         `json:"column"`
	Key    string         `json:"-"`
	Params map[string]any `json:"-"`
}

// Row is one parsed row and what is wrong with it so far.
type Row struct {
	Line     int
	Record   Record
	Problems []Problem
}

func (r *Row) bad(column, key string, params map[string]any) {
	r.Problems = append(r.Problems, Problem{Row: r.Line, Column: column, Key: key, Params: params})
}

func tooLarge(key string, max any) error {
	return kepu.Errorf(kepu.ETOOLARGE, key).With("max", max).OnField("file")
}

// decodeText turns file bytes into text: UTF-8 with or without a BOM, or
// else GBK/GB18030 (what Excel in China writes); bytes that are neither
// are an error rather than silent replacement characters.
func decodeText(b []byte) (string, error) {
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	if utf8.Valid(b) {
		return string(b), nil
	}
	out, err := simplifiedchinese.GB18030.NewDecoder().Bytes(b)
	if err != nil || !utf8.Valid(out) || bytes.ContainsRune(out, utf8.RuneError) {
		return "", kepu.Invalid("file", "error.bank_import_encoding")
	}
	return string(out), nil
}

// ParseCSV reads a CSV file (UTF-8, UTF-8 with BOM, or GBK). File-level
// failures (too large, unreadable, no header) are errors; everything wrong
// with single rows is in their Problems.
func ParseCSV(data []byte) ([]Row, error) {
	if len(data) > MaxImportBytes {
		return nil, tooLarge("error.bank_import_file_size", "5 MiB")
	}
	text, err := decodeText(data)
	if err != nil {
		return nil, err
	}
	r := csv.NewReader(strings.NewReader(text))
	r.FieldsPerRecord = -1
	r.LazyQuotes = true
	var table [][]string
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, kepu.Invalid("file", "error.bank_import_csv").With("line", csvLine(err))
		}
		table = append(table, rec)
		if len(table) > MaxImportRows+1 {
			return nil, tooLarge("error.bank_import_rows", MaxImportRows)
		}
	}
	return parseTable(table)
}

func csvLine(err error) int {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return pe.Line
	}
	return 0
}

// ParseXLSX reads the first sheet of an XLSX file, after checking the
// zip's declared uncompressed sizes (a zip bomb is refused unread).
func ParseXLSX(data []byte) ([]Row, error) {
	if len(data) > MaxImportBytes {
		return nil, tooLarge("error.bank_import_file_size", "5 MiB")
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, kepu.Invalid("file", "error.bank_import_xlsx")
	}
	if len(zr.File) > maxZipEntries {
		return nil, kepu.Invalid("file", "error.bank_import_xlsx")
	}
	var total uint64
	for _, f := range zr.File {
		total += f.UncompressedSize64
		if total > MaxUnzipped {
			return nil, tooLarge("error.bank_import_unzipped", "50 MiB")
		}
	}
	x, err := excelize.OpenReader(bytes.NewReader(data), excelize.Options{UnzipSizeLimit: MaxUnzipped, UnzipXMLSizeLimit: MaxUnzipped})
	if err != nil {
		return nil, kepu.Invalid("file", "error.bank_import_xlsx")
	}
	defer x.Close()
	sheets := x.GetSheetList()
	if len(sheets) == 0 {
		return nil, kepu.Invalid("file", "error.bank_import_xlsx")
	}
	rows, err := x.Rows(sheets[0])
	if err != nil {
		return nil, kepu.Invalid("file", "error.bank_import_xlsx")
	}
	defer rows.Close()
	var table [][]string
	for rows.Next() {
		cols, err := rows.Columns(excelize.Options{RawCellValue: true})
		if err != nil {
			return nil, kepu.Invalid("file", "error.bank_import_xlsx")
		}
		if len(cols) > 100 {
			cols = cols[:100]
		}
		table = append(table, cols)
		if len(table) > MaxImportRows+1 {
			return nil, tooLarge("error.bank_import_rows", MaxImportRows)
		}
	}
	return parseTable(table)
}

// parseTable turns a header row and data rows into Rows. Blank rows are
// skipped (their row numbers still count).
func parseTable(table [][]string) ([]Row, error) {
	if len(table) == 0 {
		return nil, kepu.Invalid("file", "error.bank_import_empty")
	}
	index := map[string]int{}
	for i, h := range table[0] {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		if _, dup := index[h]; h != "" && !dup {
			index[h] = i
		}
	}
	for _, need := range []string{"type", "stem", "answer", "category", "dimension", "difficulty"} {
		if _, ok := index[need]; !ok {
			return nil, kepu.Invalid("file", "error.bank_import_header").With("column", need)
		}
	}
	var out []Row
	for n, cells := range table[1:] {
		if blank(cells) {
			continue
		}
		cell := func(col string) string {
			i, ok := index[col]
			if !ok || i >= len(cells) {
				return ""
			}
			return unneutralize(cells[i])
		}
		row := Row{Line: n + 2}
		for _, c := range cells {
			if len(c) > maxCell {
				row.bad("", "error.bank_import_cell_size", map[string]any{"max": maxCell})
				break
			}
		}
		rec := &row.Record
		rec.Key = strings.TrimSpace(cell("key"))
		rec.Lang = cell("lang")
		rec.TranslationOf = strings.TrimSpace(cell("translation_of"))
		rec.Type = typeAlias(cell("type"))
		rec.Stem = cell("stem")
		rec.Options = []string{}
		for _, col := range Columns[5:11] {
			if v := strings.TrimSpace(cell(col)); v != "" {
				rec.Options = append(rec.Options, v)
			}
		}
		var ok bool
		if rec.Answer, ok = parseAnswer(cell("answer")); !ok {
			row.bad("answer", "error.bank_import_answer", nil)
		}
		rec.Explanation = cell("explanation")
		rec.Category = cell("category")
		rec.Dimension = cell("dimension")
		if d := strings.TrimSpace(cell("difficulty")); d != "" {
			v, err := strconv.Atoi(d)
			if err != nil {
				row.bad("difficulty", "error.bank_difficulty", nil)
			}
			rec.Difficulty = v
		}
		rec.Tags = strings.FieldsFunc(cell("tags"), func(r rune) bool { return strings.ContainsRune(tagSeparators, r) })
		rec.Source = cell("source")
		if v := strings.TrimSpace(cell("image_id")); v != "" {
			id, err := strconv.ParseInt(v, 10, 64)
			if err != nil || id <= 0 {
				row.bad("image_id", "error.bank_image_missing", nil)
			}
			rec.ImageID = id
		}
		rec.Status = strings.TrimSpace(cell("status"))
		out = append(out, row)
	}
	if len(out) == 0 {
		return nil, kepu.Invalid("file", "error.bank_import_empty")
	}
	return out, nil
}

func blank(cells []string) bool {
	for _, c := range cells {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}

// typeAlias accepts the Chinese names of the types too.
func typeAlias(s string) string {
	s = strings.TrimSpace(s)
	switch s {
	case "单选", "单选题":
		return TypeSingle
	case "多选", "多选题":
		return TypeMultiple
	case "判断", "判断题", "true/false":
		return TypeTrueFalse
	}
	return strings.ToLower(s)
}

// parseAnswer reads answer letters ("B", "A,C", "AC", "a；c"); for a
// true/false question also 正确/错误/对/错/true/false (= A/B).
func parseAnswer(s string) ([]int, bool) {
	s = strings.TrimSpace(s)
	switch strings.ToLower(s) {
	case "正确", "对", "true", "t", "√":
		return []int{0}, true
	case "错误", "错", "false", "f", "×":
		return []int{1}, true
	}
	out := []int{}
	if s == "" {
		return out, true // reported as a missing answer by validation
	}
	for _, r := range strings.ToUpper(s) {
		switch {
		case r >= 'A' && r <= 'F':
			out = append(out, int(r-'A'))
		case r >= 'Ａ' && r <= 'Ｆ':
			out = append(out, int(r-'Ａ'))
		case r == ',' || r == ';' || r == ' ' || strings.ContainsRune(tagSeparators, r) || r == '|':
		default:
			return nil, false
		}
	}
	return out, true
}

// ParseJSON reads a JSON array of records (answer as zero-based indexes).
// An entry that is not a valid record is a problem of its row, not of the
// file.
func ParseJSON(data []byte) ([]Row, error) {
	if len(data) > MaxImportBytes {
		return nil, tooLarge("error.bank_import_file_size", "5 MiB")
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	var items []json.RawMessage
	if err := json.Unmarshal(data, &items); err != nil {
		return nil, kepu.Invalid("file", "error.bank_import_json")
	}
	if len(items) > MaxImportRows {
		return nil, tooLarge("error.bank_import_rows", MaxImportRows)
	}
	if len(items) == 0 {
		return nil, kepu.Invalid("file", "error.bank_import_empty")
	}
	out := make([]Row, 0, len(items))
	for i, raw := range items {
		row := Row{Line: i + 1}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&row.Record); err != nil {
			column := ""
			var te *json.UnmarshalTypeError
			if errors.As(err, &te) {
				column = te.Field[strings.LastIndex(te.Field, ".")+1:]
			}
			row.bad(column, "error.bank_import_json_row", nil)
		}
		out = append(out, row)
	}
	return out, nil
}

// Parse reads a file in one of Formats.
func Parse(format string, data []byte) ([]Row, error) {
	switch format {
	case "csv":
		return ParseCSV(data)
	case "xlsx":
		return ParseXLSX(data)
	case "json":
		return ParseJSON(data)
	}
	return nil, kepu.Invalid("format", "error.bank_format")
}

// neutralize keeps a spreadsheet from running a cell as a formula: a cell
// starting with = + - @ tab or CR (or with the quote itself, so that the
// round trip stays exact) gets a leading single quote, which unneutralize
// removes on import.
func neutralize(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r'", rune(s[0])) {
		return "'" + s
	}
	return s
}

func unneutralize(s string) string { return strings.TrimPrefix(s, "'") }

// cells is a record as one row of Columns.
func (r Record) cells() []string {
	out := []string{r.Key, r.Lang, r.TranslationOf, r.Type, r.Stem}
	for i := 0; i < 6; i++ {
		o := ""
		if i < len(r.Options) {
			o = r.Options[i]
		}
		out = append(out, o)
	}
	var letters []string
	for _, a := range r.Answer {
		letters = append(letters, string(rune('A'+a)))
	}
	img := ""
	if r.ImageID != 0 {
		img = strconv.FormatInt(r.ImageID, 10)
	}
	out = append(out, strings.Join(letters, ","), r.Explanation, r.Category, r.Dimension,
		strconv.Itoa(r.Difficulty), strings.Join(r.Tags, "|"), r.Source, img, r.Status)
	for i := range out {
		out[i] = neutralize(out[i])
	}
	return out
}

// WriteCSV writes records as UTF-8 CSV with a BOM (so Excel reads it), with
// formula-like cells neutralized.
func WriteCSV(w io.Writer, recs []Record) error {
	if _, err := w.Write([]byte("\xef\xbb\xbf")); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	if err := cw.Write(Columns); err != nil {
		return err
	}
	for _, r := range recs {
		if err := cw.Write(r.cells()); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteXLSX writes records as one sheet, every cell a string.
func WriteXLSX(w io.Writer, recs []Record) error {
	x := excelize.NewFile()
	defer x.Close()
	sheet := x.GetSheetName(0)
	sw, err := x.NewStreamWriter(sheet)
	if err != nil {
		return err
	}
	row := func(n int, cells []string) error {
		vals := make([]any, len(cells))
		for i, c := range cells {
			vals[i] = excelize.Cell{Value: c}
		}
		cell, _ := excelize.CoordinatesToCellName(1, n)
		return sw.SetRow(cell, vals)
	}
	if err := row(1, Columns); err != nil {
		return err
	}
	for i, r := range recs {
		if err := row(i+2, r.cells()); err != nil {
			return err
		}
	}
	if err := sw.Flush(); err != nil {
		return err
	}
	return x.Write(w)
}

// WriteJSON writes records as an indented JSON array.
func WriteJSON(w io.Writer, recs []Record) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if recs == nil {
		recs = []Record{}
	}
	return enc.Encode(recs)
}

// Write writes records in one of Formats.
func Write(format string, w io.Writer, recs []Record) error {
	var err error
	switch format {
	case "csv":
		err = WriteCSV(w, recs)
	case "xlsx":
		err = WriteXLSX(w, recs)
	case "json":
		err = WriteJSON(w, recs)
	default:
		return kepu.Invalid("format", "error.bank_format")
	}
	if err != nil {
		return fmt.Errorf("bank: write %s: %w", format, err)
	}
	return nil
}

// TemplateRecords are the examples a downloadable template carries: a
// zh-CN question and its linked English version.
func TemplateRecords() []Record {
	zh := Record{Key: "demo-1", Status: StatusDraft, Input: Input{Lang: "zh-CN", Type: TypeSingle,
		Stem: "水在标准大气压下的沸点是多少？", Options: []string{"90℃", "100℃", "120℃"}, Answer: []int{1},
		Explanation: "在1个标准大气压下，纯水的沸点是100℃；气压越低，沸点越低。", Category: "physics_chemistry",
		Dimension: DimKnowledge, Difficulty: 1, Tags: []string{"水", "沸点"}, Source: "人教版初中物理八年级上册"}}
	en := Record{Key: "demo-1-en", TranslationOf: "demo-1", Status: StatusDraft, Input: Input{Lang: "en", Type: TypeSingle,
		Stem: "At standard atmospheric pressure, what is the boiling point of water?", Options: []string{"90 °C", "100 °C", "120 °C"},
		Answer: []int{1}, Explanation: "At 1 standard atmosphere pure water boils at 100 °C; the lower the pressure, the lower the boiling point.",
		Category: "physics_chemistry", Dimension: DimKnowledge, Difficulty: 1, Tags: []string{"water"}, Source: "Junior-middle-school physics, grade 8"}}
	tf := Record{Key: "demo-2", Status: StatusDraft, Input: Input{Lang: "zh-CN", Type: TypeTrueFalse,
		Stem: "抗生素可以治疗普通感冒。", Options: []string{"正确", "错误"}, Answer: []int{1},
		Explanation: "普通感冒多由病毒引起，抗生素只对细菌有效。", Category: "health", Dimension: DimApplication,
		Difficulty: 2, Tags: []string{"用药"}, Source: "国家卫生健康委《合理用药健康教育核心信息》"}}
	return []Record{zh, en, tf}
}
