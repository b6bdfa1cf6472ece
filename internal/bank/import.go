package bank

import (
	"context"
	"fmt"
	"slices"
	"strconv"

	"github.com/jackc/pgx/v5"

	"github.com/kepu/kepu/internal/kepu"
	"github.com/kepu/kepu/internal/postgres"
)

// Import modes.
const (
	ImportGood = "good" // import the valid rows, skip the others
	ImportAll  = "all"  // all or nothing: any problem imports nothing
)

// ImportOptions say how to import.
type ImportOptions struct {
	Mode   string // ImportGood or ImportAll
	DryRun bool   // check and report only
}

// Report is the result of an import (or a dry run): every problem of every
// row, in row order.
type Report struct {
	Total    int       `json:"total"`    // data rows in the file
	Valid    int       `json:"valid"`    // rows without problems
	Imported int       `json:"imported"` // rows stored (0 on a dry run or a refused all-or-nothing import)
	DryRun   bool      `json:"dry_run"`
	Mode     string    `json:"mode"`
	Problems []Problem `json:"problems"`
	// Warnings point at test-wiseness cues (CueWarnings): they never stop
	// a row from being imported.
	Warnings []Problem `json:"warnings"`
}

// existing is what duplicate checks and links need to know of the bank.
type existing struct {
	stems map[string]int64 // lang + "\x00" + stem_norm -> id
	keys  map[string]int64 // "q<id>" and seed keys -> id of zh-CN questions
	taken map[int64]bool   // zh-CN questions that have an en version
}

func (s *Service) loadExisting(ctx context.Context, tx pgx.Tx, owner int64) (existing, error) {
	e := existing{stems: map[string]int64{}, keys: map[string]int64{}, taken: map[int64]bool{}}
	rows, _ := tx.Query(ctx, `SELECT id, lang, stem_norm, coalesce(seed_key, ''), coalesce(translation_of, 0)
		FROM questions WHERE owner_region_id = $1`, owner)
	var id, tr int64
	var lang, norm, key string
	_, err := pgx.ForEachRow(rows, []any{&id, &lang, &norm, &key, &tr}, func() error {
		e.stems[lang+"\x00"+norm] = id
		if lang == "zh-CN" {
			e.keys["q"+strconv.FormatInt(id, 10)] = id
			if key != "" {
				e.keys[key] = id
			}
		}
		if tr != 0 {
			e.taken[tr] = true
		}
		return nil
	})
	if err != nil {
		return e, fmt.Errorf("bank: import: existing: %w", err)
	}
	return e, nil
}

// problemColumn names the file column of a validation problem.
func problemColumn(e *kepu.Error) string {
	if e.Field == "options" {
		if n, ok := e.Params["n"].(int); ok && n >= 1 && n <= 6 {
			return Columns[4+n]
		}
		return "option_a"
	}
	return e.Field
}

// Import checks every row of a parsed file and (unless DryRun, or Mode is
// ImportAll and some row has a problem) stores the valid ones in the
// actor's bank in one transaction. Duplicates — the same normalized stem
// and language twice in the file or already in the bank — are problems,
// never silently doubled. en rows link to their zh-CN row by
// translation_of. Only organizers and admins import.
func (s *Service) Import(ctx context.Context, a kepu.Actor, rows []Row, opt ImportOptions) (Report, error) {
	rep := Report{Total: len(rows), DryRun: opt.DryRun, Mode: opt.Mode, Problems: []Problem{}, Warnings: []Problem{}}
	if opt.Mode != ImportGood && opt.Mode != ImportAll {
		return rep, kepu.Invalid("mode", "error.bank_import_mode")
	}
	if len(rows) > MaxImportRows {
		return rep, tooLarge("error.bank_import_rows", MaxImportRows)
	}
	owner, err := s.OwnerFor(ctx, a)
	if err != nil {
		return rep, err
	}
	err = postgres.Tx(ctx, s.DB, func(tx pgx.Tx) error {
		if err := lockBank(ctx, tx, owner); err != nil {
			return err
		}
		ex, err := s.loadExisting(ctx, tx, owner)
		if err != nil {
			return err
		}
		images, err := s.imageIDs(ctx, tx, rows)
		if err != nil {
			return err
		}
		ok := checkRows(rows, ex, images)
		for _, r := range rows {
			rep.Problems = append(rep.Problems, r.Problems...)
		}
		for _, good := range ok {
			if good {
				rep.Valid++
			}
		}
		texts, err := loadCueTexts(ctx, tx, owner)
		if err != nil {
			return err
		}
		rep.Warnings = append(rep.Warnings, CueWarnings(rows, ok, texts)...)
		if opt.DryRun || (opt.Mode == ImportAll && rep.Valid < rep.Total) {
			return nil
		}
		n, err := insertRows(ctx, tx, owner, a.UserID, rows, ok, ex)
		rep.Imported = n
		return err
	})
	if err != nil {
		return Report{}, err
	}
	return rep, nil
}

// loadCueTexts returns the current text of every question of the bank
// that is not retired, for the near-duplicate warnings of an import.
func loadCueTexts(ctx context.Context, tx pgx.Tx, owner int64) ([]CueText, error) {
	rows, _ := tx.Query(ctx, `SELECT q.id, q.lang, v.type, v.stem, v.options, v.explanation
		FROM questions q JOIN question_versions v ON v.question_id = q.id AND v.version = q.current_version
		WHERE q.owner_region_id = $1 AND q.status <> 'retired' ORDER BY q.id`, owner)
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (CueText, error) {
		var t CueText
		err := row.Scan(&t.ID, &t.Item.Lang, &t.Item.Type, &t.Item.Stem, &t.Item.Options, &t.Item.Explanation)
		return t, err
	})
	if err != nil {
		return nil, fmt.Errorf("bank: import: bank texts: %w", err)
	}
	return out, nil
}

func (s *Service) imageIDs(ctx context.Context, tx pgx.Tx, rows []Row) (map[int64]bool, error) {
	var ids []int64
	for _, r := range rows {
		if r.Record.ImageID > 0 {
			ids = append(ids, r.Record.ImageID)
		}
	}
	out := map[int64]bool{}
	if len(ids) == 0 {
		return out, nil
	}
	q, _ := tx.Query(ctx, `SELECT id FROM images WHERE id = ANY($1)`, ids)
	found, err := pgx.CollectRows(q, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("bank: import: images: %w", err)
	}
	for _, id := range found {
		out[id] = true
	}
	return out, nil
}

// checkRows validates every row in place (adding its problems) and returns
// which rows are good.
func checkRows(rows []Row, ex existing, images map[int64]bool) []bool {
	keys := map[string]int{}   // file key -> index of its row
	stems := map[string]int{}  // lang + stem_norm -> first row line
	linked := map[string]int{} // translation_of key -> line that links to it
	for i := range rows {
		r := &rows[i]
		rec := &r.Record
		for _, p := range rec.Input.Problems() {
			if p.Field == "translation_of" {
				continue // file links are keys, checked below
			}
			r.bad(problemColumn(p), p.Key, p.Params)
		}
		if rec.Status == "" {
			rec.Status = StatusDraft
		}
		if !slices.Contains(Statuses, rec.Status) {
			r.bad("status", "error.bank_status", nil)
		}
		if rec.ImageID > 0 && !images[rec.ImageID] {
			r.bad("image_id", "error.bank_image_missing", nil)
		}
		if rec.Key != "" {
			if first, dup := keys[rec.Key]; dup {
				r.bad("key", "error.bank_import_key_dup", map[string]any{"row": rows[first].Line})
			} else {
				keys[rec.Key] = i
			}
		}
		norm := rec.Lang + "\x00" + NormalizeStem(rec.Stem)
		if rec.Stem != "" {
			if first, dup := stems[norm]; dup {
				r.bad("stem", "error.bank_import_dup_file", map[string]any{"row": first})
			} else if id, dup := ex.stems[norm]; dup {
				r.bad("stem", "error.bank_import_dup_bank", map[string]any{"id": id})
			} else {
				stems[norm] = r.Line
			}
		}
	}
	ok := make([]bool, len(rows))
	for i := range rows {
		ok[i] = len(rows[i].Problems) == 0
	}
	// Links: an en row names the key of a zh-CN row (good, in the file) or
	// of an existing zh-CN question without an en version.
	for i := range rows {
		r := &rows[i]
		t := r.Record.TranslationOf
		if t == "" {
			continue
		}
		if r.Record.Lang != "en" {
			r.bad("translation_of", "error.bank_translation_lang", nil)
		} else if j, inFile := keys[t]; inFile {
			if rows[j].Record.Lang != "zh-CN" {
				r.bad("translation_of", "error.bank_translation_missing", nil)
			} else if !ok[j] {
				r.bad("translation_of", "error.bank_import_link_bad", map[string]any{"row": rows[j].Line})
			}
		} else if id, inBank := ex.keys[t]; !inBank {
			r.bad("translation_of", "error.bank_translation_missing", nil)
		} else if ex.taken[id] {
			r.bad("translation_of", "error.bank_translation_taken", map[string]any{"id": id})
		}
		if first, dup := linked[t]; dup {
			r.bad("translation_of", "error.bank_import_link_dup", map[string]any{"row": first})
		} else {
			linked[t] = r.Line
		}
		ok[i] = len(r.Problems) == 0
	}
	return ok
}

// insertRows stores the good rows, zh-CN (and unlinked) ones first so that
// en rows can link to them.
func insertRows(ctx context.Context, tx pgx.Tx, owner, userID int64, rows []Row, ok []bool, ex existing) (int, error) {
	ids := map[string]int64{}
	n := 0
	for pass := 0; pass < 2; pass++ {
		for i, r := range rows {
			linkedRow := r.Record.TranslationOf != ""
			if !ok[i] || (pass == 0) == linkedRow {
				continue
			}
			in := r.Record.Input
			if linkedRow {
				if id, inFile := ids[r.Record.TranslationOf]; inFile {
					in.TranslationOf = id
				} else {
					in.TranslationOf = ex.keys[r.Record.TranslationOf]
				}
			}
			id, err := insertQuestion(ctx, tx, owner, "", r.Record.Status, in, userID)
			if err != nil {
				return 0, fmt.Errorf("bank: import row %d: %w", r.Line, err)
			}
			if r.Record.Key != "" {
				ids[r.Record.Key] = id
			}
			n++
		}
	}
	return n, nil
}

// Export returns, as file records, the questions matching f that the
// actor may edit (organizers: their subtree; admins: all), oldest first,
// at most MaxImportRows. Keys are seed keys or "q<id>"; an en record's
// translation_of is its original's key.
func (s *Service) Export(ctx context.Context, a kepu.Actor, f Filter) ([]Record, error) {
	if !CanEdit(a) {
		return nil, kepu.Forbidden
	}
	sc, err := s.readScope(ctx, a)
	if err != nil {
		return nil, err
	}
	if err := f.check(); err != nil {
		return nil, err
	}
	where, args := f.where(sc.regions)
	rows, _ := s.DB.Query(ctx, selectQuestion+where+` ORDER BY q.id LIMIT `+strconv.Itoa(MaxImportRows), args...)
	qs, err := pgx.CollectRows(rows, scanQuestion)
	if err != nil {
		return nil, fmt.Errorf("bank: export: %w", err)
	}
	keyOf := func(id int64, seedKey string) string {
		if seedKey != "" {
			return seedKey
		}
		return "q" + strconv.FormatInt(id, 10)
	}
	keys := map[int64]string{}
	var missing []int64
	for _, q := range qs {
		keys[q.ID] = keyOf(q.ID, q.SeedKey)
	}
	for _, q := range qs {
		if q.TranslationOf != 0 && keys[q.TranslationOf] == "" {
			missing = append(missing, q.TranslationOf)
		}
	}
	if len(missing) > 0 {
		rows, _ := s.DB.Query(ctx, `SELECT id, coalesce(seed_key, '') FROM questions WHERE id = ANY($1)`, missing)
		var id int64
		var sk string
		if _, err := pgx.ForEachRow(rows, []any{&id, &sk}, func() error { keys[id] = keyOf(id, sk); return nil }); err != nil {
			return nil, fmt.Errorf("bank: export: keys: %w", err)
		}
	}
	out := make([]Record, len(qs))
	for i, q := range qs {
		in := q.Input
		in.TranslationOf = 0
		out[i] = Record{Key: keys[q.ID], TranslationOf: keys[q.TranslationOf], Status: q.Status, Input: in}
	}
	return out, nil
}
