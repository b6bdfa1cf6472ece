package dashboard

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
)

// Table is one dashboard table as shown beside its chart and as exported:
// column headings (already localized) and rows of cells (string, int64,
// float64 or nil for "suppressed").
type Table struct {
	Name    string   `json:"name"`
	Columns []string `json:"columns"`
	Rows    [][]any  `json:"rows"`
	// Percent lists the columns that hold percentages (0–100), set by
	// Localize; Suppressed the rows of groups smaller than MinGroup, whose
	// numbers are withheld ("<5") and which charts leave out and explain.
	Percent    []int `json:"percent,omitempty"`
	Suppressed []int `json:"suppressed,omitempty"`
}

// percentColumns are the column keys whose values are percentages.
var percentColumns = map[string]bool{"dash.col.pass_rate": true, "dash.col.facility": true, "dash.col.took_part_rate": true, "daily.dash.right_rate": true}

// Neutralize makes a cell safe to open in a spreadsheet: text starting with
// = + - @ tab or CR would be read as a formula, so it gets a leading
// apostrophe.
func Neutralize(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}

// cellText renders a cell for CSV: numbers plainly, text neutralized.
func cellText(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return Neutralize(x)
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return Neutralize(fmt.Sprint(v))
}

// WriteCSV writes t as UTF-8 CSV with a byte-order mark, so that Excel
// opens Chinese text correctly.
func WriteCSV(w io.Writer, t Table) error {
	bw := bufio.NewWriter(w)
	bw.WriteString("\ufeff")
	cw := csv.NewWriter(bw)
	row := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		row[i] = Neutralize(c)
	}
	if err := cw.Write(row); err != nil {
		return fmt.Errorf("dashboard: csv: %w", err)
	}
	for _, r := range t.Rows {
		row = row[:0]
		for _, v := range r {
			row = append(row, cellText(v))
		}
		if err := cw.Write(row); err != nil {
			return fmt.Errorf("dashboard: csv: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("dashboard: csv: %w", err)
	}
	return bw.Flush()
}

// WriteXLSX writes t as one worksheet through excelize's StreamWriter (rows
// are not held in memory twice). Text cells are neutralized and written as
// strings, never as formulas.
func WriteXLSX(w io.Writer, t Table) error {
	f := excelize.NewFile()
	defer f.Close()
	sheet := sheetName(t.Name)
	if err := f.SetSheetName("Sheet1", sheet); err != nil {
		return fmt.Errorf("dashboard: xlsx: %w", err)
	}
	sw, err := f.NewStreamWriter(sheet)
	if err != nil {
		return fmt.Errorf("dashboard: xlsx: %w", err)
	}
	head := make([]any, len(t.Columns))
	for i, c := range t.Columns {
		head[i] = Neutralize(c)
	}
	if err := sw.SetRow("A1", head); err != nil {
		return fmt.Errorf("dashboard: xlsx: %w", err)
	}
	for i, r := range t.Rows {
		cells := make([]any, len(r))
		for j, v := range r {
			switch x := v.(type) {
			case string:
				cells[j] = Neutralize(x)
			case nil:
				cells[j] = ""
			default:
				cells[j] = x
			}
		}
		axis, _ := excelize.CoordinatesToCellName(1, i+2)
		if err := sw.SetRow(axis, cells); err != nil {
			return fmt.Errorf("dashboard: xlsx: %w", err)
		}
	}
	if err := sw.Flush(); err != nil {
		return fmt.Errorf("dashboard: xlsx: %w", err)
	}
	if err := f.Write(w); err != nil {
		return fmt.Errorf("dashboard: xlsx: %w", err)
	}
	return nil
}

// sheetName makes a valid worksheet name (≤ 31 characters, none of []:*?/\).
func sheetName(s string) string {
	s = strings.Map(func(r rune) rune {
		if strings.ContainsRune(`[]:*?/\`, r) {
			return '_'
		}
		return r
	}, s)
	if s == "" {
		s = "data"
	}
	for utf8.RuneCountInString(s) > 31 {
		_, n := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-n]
	}
	return s
}

// Key is a table cell that names a locale key ("dash.age.u14",
// "bank.category.health") rather than holding data; the HTTP layer
// translates it (Table.Localize). Data never becomes a Key, so a school
// named like a key stays as typed.
type Key string

// KeyText is what shows for a key without a translation: its last part.
func KeyText(key Key) string {
	s := string(key)
	return s[strings.LastIndexByte(s, '.')+1:]
}

// Localize returns t with its column names and Key cells translated by tr
// (which reports false for a key it does not know).
func (t Table) Localize(tr func(key string) (string, bool)) Table {
	out := Table{Name: t.Name, Columns: make([]string, len(t.Columns)), Rows: make([][]any, len(t.Rows)), Suppressed: t.Suppressed}
	for i, k := range t.Columns {
		out.Columns[i], _ = tr(k)
		if percentColumns[k] || strings.HasPrefix(k, "dash.tier.") {
			out.Percent = append(out.Percent, i)
		}
	}
	for i, r := range t.Rows {
		row := make([]any, len(r))
		for j, v := range r {
			row[j] = v
			if k, ok := v.(Key); ok {
				if text, ok := tr(string(k)); ok {
					row[j] = text
				} else {
					row[j] = KeyText(k)
				}
			}
		}
		out.Rows[i] = row
	}
	return out
}

// IsPercent reports whether column col holds percentages (after Localize).
func (t Table) IsPercent(col int) bool {
	for _, c := range t.Percent {
		if c == col {
			return true
		}
	}
	return false
}
