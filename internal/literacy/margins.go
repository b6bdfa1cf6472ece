package literacy

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/kepu/kepu/internal/kepu"
	"github.com/kepu/kepu/internal/postgres"
)

// Limits of a margins upload.
const (
	MaxMarginBytes = 1 << 20 // 1 MiB
	MaxMarginRows  = 5000
	MaxPopulation  = 100_000_000 // per row
	MaxProblems    = 100         // problems reported per upload
	MaxSourceRunes = 200
)

// Problem is one thing wrong with one row of an uploaded file. Row is the
// line number in the file (1: the header); Key and Params name the message.
type Problem struct {
	Row    int            `json:"row"`
	Key    string         `json:"-"`
	Params map[string]any `json:"-"`
}

// MarginRow is one population figure: a district's people in one age
// band, or in one occupation group (exactly one of the two is set).
type MarginRow struct {
	DistrictID int64  `json:"district_id"`
	District   string `json:"district"`
	AgeBand    string `json:"age_band,omitempty"`
	Occupation string `json:"occupation,omitempty"`
	Population int64  `json:"population"`
}

// District is a district the actor may see.
type District struct {
	ID   int64
	Code string
	Name string
}

// columns the header may name (English or Chinese).
var headerNames = map[string]string{
	"district": "district", "区县": "district", "地区": "district", "district_code": "district",
	"age_band": "age_band", "年龄段": "age_band", "age": "age_band",
	"occupation": "occupation", "职业": "occupation", "occupation_group": "occupation",
	"population": "population", "人口": "population", "人数": "population",
}

// ParseMargins reads a margins CSV (docs/measurement.md "The margins
// file"): a header naming district, age_band, population and optionally
// occupation, then one row per figure. districts are the districts the
// uploader may set (by code or exact name). It returns the rows when the
// whole file is good, else the problems (at most MaxProblems) and no rows;
// kepu errors for a file that is not a CSV at all or too large.
func ParseMargins(data []byte, districts []District) ([]MarginRow, []Problem, error) {
	if len(data) > MaxMarginBytes {
		return nil, nil, kepu.Errorf(kepu.ETOOLARGE, "error.literacy_margins_size").With("max", "1 MiB").OnField("file")
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // Excel's UTF-8 mark
	if !utf8.Valid(data) {
		return nil, nil, kepu.Invalid("file", "error.literacy_margins_encoding")
	}
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	header, err := r.Read()
	if err != nil {
		return nil, nil, kepu.Invalid("file", "error.literacy_margins_empty")
	}
	col := map[string]int{}
	for i, h := range header {
		name, ok := headerNames[strings.ToLower(strings.TrimSpace(h))]
		if !ok {
			return nil, nil, kepu.Invalid("file", "error.literacy_margins_header").With("column", strings.TrimSpace(h))
		}
		if _, dup := col[name]; dup {
			return nil, nil, kepu.Invalid("file", "error.literacy_margins_header_dup").With("column", name)
		}
		col[name] = i
	}
	for _, need := range []string{"district", "age_band", "population"} {
		if _, ok := col[need]; !ok {
			return nil, nil, kepu.Invalid("file", "error.literacy_margins_header_missing").With("column", need)
		}
	}
	byKey := map[string]District{}
	for _, d := range districts {
		byKey[d.Code] = d
		byKey[d.Name] = d
	}
	var rows []MarginRow
	var problems []Problem
	add := func(line int, key string, kv ...any) {
		if len(problems) >= MaxProblems {
			return
		}
		p := Problem{Row: line, Key: key, Params: map[string]any{"row": line}}
		for i := 0; i+1 < len(kv); i += 2 {
			p.Params[fmt.Sprint(kv[i])] = kv[i+1]
		}
		problems = append(problems, p)
	}
	seen := map[string]int{}
	ageTotal := map[int64]int64{}
	line := 1
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line++
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				line = pe.Line
			}
			add(line, "error.literacy_row_csv")
			break
		}
		if len(rows)+len(problems) >= MaxMarginRows {
			return nil, nil, kepu.Errorf(kepu.ETOOLARGE, "error.literacy_margins_rows").With("max", MaxMarginRows).OnField("file")
		}
		field := func(name string) string {
			i, ok := col[name]
			if !ok || i >= len(rec) {
				return ""
			}
			return strings.TrimSpace(rec[i])
		}
		if strings.Join(rec, "") == "" {
			continue // a blank line
		}
		if len(rec) != len(header) {
			add(line, "error.literacy_row_columns", "got", len(rec), "want", len(header))
			continue
		}
		d, ok := byKey[field("district")]
		if !ok {
			add(line, "error.literacy_row_district", "district", field("district"))
			continue
		}
		age := strings.ReplaceAll(field("age_band"), "-", "_")
		if age == "60+" {
			age = "60p"
		}
		occ := field("occupation")
		switch {
		case age == "" && occ == "":
			add(line, "error.literacy_row_neither")
			continue
		case age != "" && occ != "":
			add(line, "error.literacy_row_both")
			continue
		case age != "" && !kepu.Contains(kepu.AgeBands, age):
			add(line, "error.literacy_row_age", "age", field("age_band"))
			continue
		case occ != "" && !kepu.Contains(kepu.Occupations, occ):
			add(line, "error.literacy_row_occupation", "occupation", occ)
			continue
		}
		pop, err := strconv.ParseInt(strings.ReplaceAll(field("population"), ",", ""), 10, 64)
		if err != nil || pop < 0 || pop > MaxPopulation {
			add(line, "error.literacy_row_population", "value", field("population"), "max", MaxPopulation)
			continue
		}
		key := fmt.Sprintf("%d/%s/%s", d.ID, age, occ)
		if first, dup := seen[key]; dup {
			add(line, "error.literacy_row_duplicate", "first", first)
			continue
		}
		seen[key] = line
		if age != "" {
			ageTotal[d.ID] += pop
		}
		rows = append(rows, MarginRow{DistrictID: d.ID, District: d.Name, AgeBand: age, Occupation: occ, Population: pop})
	}
	if len(problems) == 0 {
		reported := map[int64]bool{}
		for _, m := range rows {
			if ageTotal[m.DistrictID] == 0 && !reported[m.DistrictID] {
				reported[m.DistrictID] = true
				add(0, "error.literacy_district_no_age", "district", m.District)
			}
		}
	}
	if len(problems) > 0 {
		return nil, problems, nil
	}
	if len(rows) == 0 {
		return nil, nil, kepu.Invalid("file", "error.literacy_margins_empty")
	}
	return rows, nil, nil
}

// Districts returns the districts within the actor's scope (all for
// admins), in the city's order. Only organizers and admins get any.
func (s *Service) Districts(ctx context.Context, a kepu.Actor) ([]District, error) {
	if a.Role != kepu.RoleAdmin && a.Role != kepu.RoleOrganizer {
		return nil, kepu.Forbidden
	}
	scope, err := s.Org.ScopeRegionIDs(ctx, a)
	if err != nil {
		return nil, err
	}
	rows, _ := s.DB.Query(ctx, `SELECT id, code, name FROM regions WHERE kind = 'district'
		AND ($1::bigint[] IS NULL OR id = ANY($1)) ORDER BY sort, id`, scope)
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (District, error) {
		var d District
		return d, r.Scan(&d.ID, &d.Code, &d.Name)
	})
}

// Upload is one stored margins upload.
type Upload struct {
	ID         int64     `json:"id"`
	UploadedBy string    `json:"uploaded_by"`
	UploadedAt time.Time `json:"uploaded_at"`
	Source     string    `json:"source"`
	Rows       int       `json:"rows"`
	Districts  int       `json:"districts"`
}

// SaveMargins replaces the margins of every district the rows name with
// the rows, in one transaction, and records the upload. source says where
// the figures come from (at most MaxSourceRunes).
func (s *Service) SaveMargins(ctx context.Context, a kepu.Actor, source string, rows []MarginRow) (Upload, error) {
	source = strings.TrimSpace(source)
	if utf8.RuneCountInString(source) > MaxSourceRunes {
		return Upload{}, kepu.Invalid("source", "error.literacy_source_length").With("max", MaxSourceRunes)
	}
	var districts []int64
	seen := map[int64]bool{}
	for _, r := range rows {
		if !seen[r.DistrictID] {
			seen[r.DistrictID] = true
			districts = append(districts, r.DistrictID)
		}
	}
	up := Upload{Source: source, Rows: len(rows), Districts: len(districts)}
	err := postgres.Tx(ctx, s.DB, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `INSERT INTO literacy_margin_uploads (uploaded_by, source, rows, districts)
			VALUES ($1, $2, $3, $4) RETURNING id, uploaded_at`, a.UserID, source, len(rows), districts).Scan(&up.ID, &up.UploadedAt); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM literacy_margins WHERE district_id = ANY($1)`, districts); err != nil {
			return err
		}
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"literacy_margins"}, []string{"district_id", "age_band", "occupation", "population", "upload_id"},
			pgx.CopyFromSlice(len(rows), func(i int) ([]any, error) {
				r := rows[i]
				return []any{r.DistrictID, r.AgeBand, r.Occupation, r.Population, up.ID}, nil
			}))
		return err
	})
	if err != nil {
		return Upload{}, fmt.Errorf("literacy: save margins: %w", err)
	}
	return up, nil
}

// Margins returns the current margins of the districts in scope (nil:
// all), in district order, and the uploads they came from, newest first.
func (s *Service) Margins(ctx context.Context, scope []int64) ([]MarginRow, []Upload, error) {
	rows, _ := s.DB.Query(ctx, `SELECT m.district_id, r.name, m.age_band, m.occupation, m.population
		FROM literacy_margins m JOIN regions r ON r.id = m.district_id
		WHERE $1::bigint[] IS NULL OR m.district_id = ANY($1)
		ORDER BY r.sort, r.id, m.occupation, m.age_band`, scope)
	ms, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (MarginRow, error) {
		var m MarginRow
		return m, r.Scan(&m.DistrictID, &m.District, &m.AgeBand, &m.Occupation, &m.Population)
	})
	if err != nil {
		return nil, nil, fmt.Errorf("literacy: margins: %w", err)
	}
	rows, _ = s.DB.Query(ctx, `SELECT u.id, coalesce(a.nickname, ''), u.uploaded_at, u.source, u.rows, cardinality(u.districts)
		FROM literacy_margin_uploads u LEFT JOIN users a ON a.id = u.uploaded_by
		WHERE u.id IN (SELECT DISTINCT upload_id FROM literacy_margins WHERE $1::bigint[] IS NULL OR district_id = ANY($1))
		ORDER BY u.id DESC`, scope)
	ups, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Upload, error) {
		var u Upload
		return u, r.Scan(&u.ID, &u.UploadedBy, &u.UploadedAt, &u.Source, &u.Rows, &u.Districts)
	})
	if err != nil {
		return nil, nil, fmt.Errorf("literacy: uploads: %w", err)
	}
	return ms, ups, nil
}
