package bank_test

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/kepu/kepu/internal/bank"
	"github.com/kepu/kepu/internal/kepu"
)

func TestImportModesAndDuplicates(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	org := kepu.Actor{Role: kepu.RoleOrganizer, ScopeRegionID: f.district}
	parse := func(data string) []bank.Row {
		rows, err := bank.ParseCSV([]byte(data))
		if err != nil {
			t.Fatal(err)
		}
		return rows
	}
	// All or nothing with two bad rows: nothing imported, both reported.
	rep, err := f.svc.Import(ctx, org, parse(badCSV), bank.ImportOptions{Mode: bank.ImportAll})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range rep.Problems {
		got = append(got, fmt.Sprintf("%d:%s", p.Row, p.Column))
	}
	if want := []string{"3:answer", "5:category", "5:difficulty"}; !slices.Equal(got, want) || rep.Imported != 0 || rep.Valid != 2 || rep.Total != 4 {
		t.Errorf("all-or-nothing: got problems %v, %d/%d valid, %d imported; want %v, 2/4, 0", got, rep.Valid, rep.Total, rep.Imported, want)
	}
	// Dry run of the good rows: nothing stored either.
	if rep, _ = f.svc.Import(ctx, org, parse(badCSV), bank.ImportOptions{Mode: bank.ImportGood, DryRun: true}); rep.Imported != 0 {
		t.Errorf("dry run imported %d", rep.Imported)
	}
	if _, n, _ := f.svc.List(ctx, org, bank.Filter{}); n != 0 {
		t.Errorf("after refused imports the bank has %d questions, want 0", n)
	}
	// Good rows only.
	if rep, err = f.svc.Import(ctx, org, parse(badCSV), bank.ImportOptions{Mode: bank.ImportGood}); err != nil || rep.Imported != 2 {
		t.Fatalf("import good rows: got %+v, %v", rep, err)
	}
	// The same file again: the two good rows are now duplicates of the bank.
	rep, _ = f.svc.Import(ctx, org, parse(badCSV), bank.ImportOptions{Mode: bank.ImportGood})
	dups := 0
	for _, p := range rep.Problems {
		if p.Key == "error.bank_import_dup_bank" {
			dups++
		}
	}
	if dups != 2 || rep.Imported != 0 {
		t.Errorf("re-import: got %d bank duplicates, %d imported; want 2, 0", dups, rep.Imported)
	}
	// Twice in one file.
	twice := csvHeader + "x1,zh-CN,,single,重复的题？,a,b,,,A,e,health,knowledge,1,,\n" + "x2,zh-CN,,single,重复的题?,a,b,,,A,e,health,knowledge,1,,\n"
	rep, _ = f.svc.Import(ctx, org, parse(twice), bank.ImportOptions{Mode: bank.ImportGood})
	if len(rep.Problems) != 1 || rep.Problems[0].Row != 3 || rep.Problems[0].Key != "error.bank_import_dup_file" || rep.Imported != 1 {
		t.Errorf("duplicate in file: got %+v", rep)
	}
	// Linked en version.
	rep, err = f.svc.Import(ctx, org, parse(goodCSV), bank.ImportOptions{Mode: bank.ImportAll})
	if err != nil || rep.Imported != 4 {
		t.Fatalf("good csv: got %+v, %v", rep, err)
	}
	qs, _, err := f.svc.List(ctx, org, bank.Filter{Lang: "en"})
	if err != nil {
		t.Fatal(err)
	}
	if len(qs) != 1 || qs[0].TranslationOf == 0 {
		t.Errorf("en question: got %+v, want one linked", qs)
	}
	// Teachers and participants do not import.
	for _, role := range []kepu.Role{kepu.RoleTeacher, kepu.RoleParticipant} {
		if _, err := f.svc.Import(ctx, kepu.Actor{Role: role}, parse(goodCSV), bank.ImportOptions{Mode: bank.ImportAll}); kepu.ErrorCode(err) != kepu.EFORBIDDEN {
			t.Errorf("%s import: got %v, want forbidden", role, err)
		}
	}
}

// Export from one bank, import into another: the same questions, in every
// format, links and statuses included.
func TestExportImportRoundTrip(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	src := kepu.Actor{Role: kepu.RoleOrganizer, ScopeRegionID: f.district}
	var rows []bank.Row
	for i, r := range tricky() {
		rows = append(rows, bank.Row{Line: i + 2, Record: r})
	}
	if rep, err := f.svc.Import(ctx, src, rows, bank.ImportOptions{Mode: bank.ImportAll}); err != nil || rep.Imported != len(rows) {
		t.Fatalf("import: %+v, %v", rep, err)
	}
	want, err := f.svc.Export(ctx, src, bank.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, format := range bank.Formats {
		t.Run(format, func(t *testing.T) {
			region, err := (&orgSvc{f}).region(t, format)
			if err != nil {
				t.Fatal(err)
			}
			dst := kepu.Actor{Role: kepu.RoleOrganizer, ScopeRegionID: region}
			var buf bytes.Buffer
			if err := bank.Write(format, &buf, want); err != nil {
				t.Fatal(err)
			}
			parsed, err := bank.Parse(format, buf.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			if rep, err := f.svc.Import(ctx, dst, parsed, bank.ImportOptions{Mode: bank.ImportAll}); err != nil || rep.Imported != len(want) {
				t.Fatalf("re-import: %+v, %v", rep, err)
			}
			got, err := f.svc.Export(ctx, dst, bank.Filter{})
			if err != nil {
				t.Fatal(err)
			}
			// Keys are the new ids; compare content, status and the link's target.
			if len(got) != len(want) {
				t.Fatalf("got %d questions, want %d", len(got), len(want))
			}
			keyIndex := func(recs []bank.Record, key string) int {
				return slices.IndexFunc(recs, func(r bank.Record) bool { return r.Key == key })
			}
			for i := range want {
				g, w := got[i], want[i]
				if g.Status != w.Status || !g.Input.Equal(w.Input) {
					t.Errorf("question %d:\n got  %+v\n want %+v", i, g, w)
				}
				if (g.TranslationOf == "") != (w.TranslationOf == "") ||
					(w.TranslationOf != "" && keyIndex(got, g.TranslationOf) != keyIndex(want, w.TranslationOf)) {
					t.Errorf("question %d links to %q, want the counterpart of %q", i, g.TranslationOf, w.TranslationOf)
				}
			}
		})
	}
}

type orgSvc struct{ f fixture }

func (o *orgSvc) region(t *testing.T, code string) (int64, error) {
	var id int64
	err := o.f.db.Pool.QueryRow(context.Background(), `INSERT INTO regions (parent_id, kind, code, name, path)
		VALUES ($1, 'district', $2, $2, '') RETURNING id`, o.f.city, "rt-"+code).Scan(&id)
	if err == nil {
		_, err = o.f.db.Pool.Exec(context.Background(), `UPDATE regions SET path = (SELECT path FROM regions WHERE id = $1) || id || '/' WHERE id = $2`, o.f.city, id)
	}
	return id, err
}

// Cue warnings never stop an import, and a question already in the bank is
// compared too.
func TestImportWarnsAboutCues(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	org := kepu.Actor{Role: kepu.RoleOrganizer, ScopeRegionID: f.district}
	first := csvHeader +
		"c1,zh-CN,,single,下列哪一项是光年的正确含义？,一种时间单位,一种速度单位,光在真空中传播一年所经过的距离，是长度单位,,C,光年是光在一年里走过的距离。,earth_space,knowledge,2,,\n" +
		"c2,zh-CN,,truefalse,测量气温时，应把温度计放在阳光直射的地方，这样测得更准确。,正确,错误,,,B,阳光直射会把温度计本身晒热，读数会明显高于真实气温。,earth_space,method,2,,\n"
	rows, err := bank.ParseCSV([]byte(first))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := f.svc.Import(ctx, org, rows, bank.ImportOptions{Mode: bank.ImportAll})
	if err != nil || rep.Imported != 2 || len(rep.Problems) != 0 {
		t.Fatalf("import: got %+v, %v; want 2 imported, no problems", rep, err)
	}
	if len(rep.Warnings) != 1 || rep.Warnings[0].Row != 2 || rep.Warnings[0].Key != "warning.bank_cue_longest" {
		t.Errorf("warnings: got %+v, want the longest key of row 2", rep.Warnings)
	}
	second := csvHeader +
		"d1,zh-CN,,truefalse,在户外测量气温时，应该把温度计放在阳光直射的地方，这样读数最准确。,正确,错误,,,B,阳光直射会让温度计本身被晒热，读数高于真实气温。,earth_space,application,2,,\n"
	rows, _ = bank.ParseCSV([]byte(second))
	rep, err = f.svc.Import(ctx, org, rows, bank.ImportOptions{Mode: bank.ImportAll})
	if err != nil || rep.Imported != 1 {
		t.Fatalf("second import: got %+v, %v", rep, err)
	}
	if len(rep.Warnings) != 1 || rep.Warnings[0].Key != "warning.bank_cue_similar_bank" || rep.Warnings[0].Params["id"] == nil {
		t.Errorf("second import warnings: got %+v, want one near-duplicate of the bank", rep.Warnings)
	}
}
