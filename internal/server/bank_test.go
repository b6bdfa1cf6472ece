package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"strings"
	"testing"

	"github.com/kepu/kepu/internal/apptest"
	"github.com/kepu/kepu/internal/bank"
)

// bankQuestion is a question body for the API.
func bankQuestion(stem string) map[string]any {
	return map[string]any{"lang": "zh-CN", "type": "single", "stem": stem, "options": []string{"甲", "乙", "丙"},
		"answer": []int{2}, "explanation": "因为丙。", "category": "safety", "dimension": "application",
		"difficulty": 2, "tags": []string{"演示"}, "source": "测试"}
}

type bankQ struct {
	ID            int64    `json:"id"`
	OwnerRegionID int64    `json:"owner_region_id"`
	Status        string   `json:"status"`
	Version       int      `json:"version"`
	VersionID     int64    `json:"version_id"`
	Stem          string   `json:"stem"`
	Answer        []int    `json:"answer"`
	Options       []string `json:"options"`
}

func TestBankScopes(t *testing.T) {
	t.Parallel()
	inst := apptest.Start(t)
	wuling := inst.Seed.DistrictIDs["430702"]
	dingcheng := inst.Seed.DistrictIDs["430703"]
	_, pw := inst.CreateUser("org-wuling", "organizer", wuling)
	wl := inst.Login("org-wuling", pw)
	_, pw = inst.CreateUser("org-dingcheng", "organizer", dingcheng)
	dc := inst.Login("org-dingcheng", pw)
	_, pw = inst.CreateUser("org-city", "organizer")
	city := inst.Login("org-city", pw)
	_, pw = inst.CreateUser("teacher-b", "teacher")
	teacher := inst.Login("teacher-b", pw)
	_, pw = inst.CreateUser("citizen-b", "participant")
	citizen := inst.Login("citizen-b", pw)

	r := wl.Do("POST", "/api/v1/bank/questions", bankQuestion("遇到火灾时应该怎么做？"))
	apptest.Expect(t, r, 201, "create")
	var q bankQ
	r.JSON(t, &q)
	if q.OwnerRegionID != wuling || q.Status != "draft" || q.Version != 1 {
		t.Errorf("created: got %+v, want a draft version 1 owned by Wuling", q)
	}
	path := fmt.Sprintf("/api/v1/bank/questions/%d", q.ID)

	// Out of subtree: 403 on read, edit and status; the city organizer (parent) may edit.
	apptest.Expect(t, dc.Do("GET", path, nil), 403, "other district reads")
	apptest.Expect(t, dc.Do("PUT", path, bankQuestion("改题")), 403, "other district edits")
	apptest.Expect(t, dc.Do("POST", "/api/v1/bank/questions/status", map[string]any{"ids": []int64{q.ID}, "status": "retired"}), 403, "other district retires")
	apptest.Expect(t, city.Do("GET", path, nil), 200, "city organizer reads")
	// Participants: 403 everywhere.
	for _, p := range []string{"/api/v1/bank/questions", path, path + "/versions", "/api/v1/bank/export?format=csv"} {
		apptest.Expect(t, citizen.Do("GET", p, nil), 403, "participant GET "+p)
	}
	apptest.Expect(t, citizen.Do("POST", "/api/v1/bank/questions", bankQuestion("x")), 403, "participant create")
	apptest.Expect(t, citizen.Do("GET", "/bank", nil), 403, "participant page")
	// Teachers: drafts are hidden, published ones readable, nothing editable.
	apptest.Expect(t, teacher.Do("GET", path, nil), 403, "teacher reads a draft")
	apptest.Expect(t, wl.Do("POST", "/api/v1/bank/questions/status", map[string]any{"ids": []int64{q.ID}, "status": "published"}), 200, "publish")
	r = teacher.Do("GET", path, nil)
	apptest.Expect(t, r, 200, "teacher reads published")
	var tq bankQ
	r.JSON(t, &tq)
	if len(tq.Answer) != 1 || tq.Answer[0] != 2 {
		t.Errorf("teacher sees answer %v, want [2]", tq.Answer)
	}
	apptest.Expect(t, teacher.Do("PUT", path, bankQuestion("改题")), 403, "teacher edits")
	apptest.Expect(t, teacher.Do("POST", "/api/v1/bank/questions", bankQuestion("教师出题")), 403, "teacher creates")
	apptest.Expect(t, teacher.Do("POST", "/api/v1/bank/import?format=csv", "x"), 403, "teacher imports")
	var list struct {
		Questions []bankQ
		Total     int
	}
	teacher.Do("GET", "/api/v1/bank/questions?status=draft", nil).JSON(t, &list)
	if list.Total != 0 {
		t.Errorf("teacher lists %d drafts, want 0", list.Total)
	}
	// The Dingcheng organizer's list does not show Wuling's question.
	dc.Do("GET", "/api/v1/bank/questions?q=火灾", nil).JSON(t, &list)
	if list.Total != 0 {
		t.Errorf("other district lists %d questions, want 0", list.Total)
	}

	// Edit the published question: version 2; the old version keeps its text.
	edit := bankQuestion("遇到火灾时，第一步应该怎么做？")
	r = wl.Do("PUT", path, edit)
	apptest.Expect(t, r, 200, "edit")
	var q2 bankQ
	r.JSON(t, &q2)
	if q2.Version != 2 || q2.VersionID == q.VersionID {
		t.Errorf("after edit: got %+v, want version 2 with a new version id", q2)
	}
	old, err := inst.App.Bank.Version(t.Context(), q.VersionID)
	if err != nil || old.Stem != "遇到火灾时应该怎么做？" {
		t.Errorf("old version: got %q, %v", old.Stem, err)
	}
	var hist struct{ Versions []bank.Version }
	wl.Do("GET", path+"/versions", nil).JSON(t, &hist)
	if len(hist.Versions) != 2 || hist.Versions[1].Stem != "遇到火灾时应该怎么做？" {
		t.Errorf("history: got %+v", hist.Versions)
	}

	// Text search works for Chinese and treats % and _ literally.
	for query, want := range map[string]int{"第一步": 1, "%": 0, "_": 0, "火灾时，第": 1} {
		wl.Do("GET", "/api/v1/bank/questions?q="+urlQuery(query), nil).JSON(t, &list)
		if list.Total != want {
			t.Errorf("search %q: got %d, want %d", query, list.Total, want)
		}
	}
	// Bad input is a localized 400, not a 500.
	bad := bankQuestion("")
	r = wl.Do("POST", "/api/v1/bank/questions", bad)
	if r.Status != 400 || !strings.Contains(r.ErrorMessage(), "题干") {
		t.Errorf("empty stem: got %d %s", r.Status, r.Body)
	}
	apptest.Expect(t, wl.Do("GET", "/api/v1/bank/questions?category=nope", nil), 400, "bad filter")
	r = wl.Do("POST", "/api/v1/bank/questions", edit)
	apptest.Expect(t, r, 409, "duplicate stem")

	// Pages: organizers get the editor and import page, teachers the list.
	for _, p := range []string{"/bank", "/bank/new", "/bank/import", fmt.Sprintf("/bank/%d", q.ID)} {
		apptest.Expect(t, wl.Do("GET", p, nil), 200, "organizer page "+p)
	}
	apptest.Expect(t, teacher.Do("GET", "/bank", nil), 200, "teacher list page")
	apptest.Expect(t, teacher.Do("GET", fmt.Sprintf("/bank/%d", q.ID), nil), 200, "teacher reads a published question's page")
	apptest.Expect(t, teacher.Do("GET", "/bank/new", nil), 403, "teacher new page")
}

func urlQuery(s string) string {
	return strings.NewReplacer("%", "%25", "_", "%5F", "，", "%EF%BC%8C").Replace(s)
}

func TestBankSeededAndAdmin(t *testing.T) {
	t.Parallel()
	inst := apptest.Start(t)
	admin := inst.Login("demo-admin", inst.DemoPassword("demo-admin"))
	var list struct {
		Questions []bankQ
		Total     int
	}
	admin.Do("GET", "/api/v1/bank/questions?status=published&lang=en&limit=5", nil).JSON(t, &list)
	if list.Total < 150 || len(list.Questions) != 5 {
		t.Errorf("seeded en questions: got %d (page %d), want ≥150 (page 5)", list.Total, len(list.Questions))
	}
}

func pngOf(w, h int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	img.Set(0, 0, color.RGBA{255, 0, 0, 255})
	var buf bytes.Buffer
	png.Encode(&buf, img)
	return buf.Bytes()
}

func TestBankImages(t *testing.T) {
	t.Parallel()
	inst := apptest.Start(t)
	_, pw := inst.CreateUser("org-img", "organizer")
	o := inst.Login("org-img", pw)
	tests := []struct {
		name   string
		data   []byte
		status int
	}{
		{"png", pngOf(40, 30), 201},
		{"too small", pngOf(4, 4), 400},
		{"not an image", []byte("<svg onload=alert(1)>"), 415},
		{"png magic but garbage", append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{0}, 100)...), 400},
		{"too large", append(pngOf(40, 30), make([]byte, bank.MaxImageBytes)...), 413},
	}
	var id int64
	for _, tt := range tests {
		r := o.DoRaw("POST", "/api/v1/bank/images", tt.data, "application/octet-stream")
		if r.Status != tt.status {
			t.Errorf("%s: got %d %s, want %d", tt.name, r.Status, r.Body, tt.status)
		}
		if r.Status == 201 {
			var v struct{ ID int64 }
			r.JSON(t, &v)
			id = v.ID
		}
	}
	// Served to anyone, cacheable, revalidated by ETag.
	anon := inst.Client()
	r := anon.Do("GET", fmt.Sprintf("/api/v1/bank/images/%d", id), nil)
	apptest.Expect(t, r, 200, "image")
	if ct, cc := r.Header.Get("Content-Type"), r.Header.Get("Cache-Control"); ct != "image/png" || !strings.Contains(cc, "max-age") {
		t.Errorf("image headers: Content-Type %q, Cache-Control %q", ct, cc)
	}
	r = anon.DoHeader("GET", fmt.Sprintf("/api/v1/bank/images/%d", id), nil, map[string]string{"If-None-Match": r.Header.Get("ETag")})
	apptest.Expect(t, r, 304, "image revalidation")
	// A question with the image.
	body := bankQuestion("看图回答：这是什么颜色？")
	body["image_id"] = id
	apptest.Expect(t, o.Do("POST", "/api/v1/bank/questions", body), 201, "question with image")
	body = bankQuestion("看图回答：不存在的图？")
	body["image_id"] = id + 1000
	apptest.Expect(t, o.Do("POST", "/api/v1/bank/questions", body), 400, "question with a missing image")
}

// importReport is the import API's answer.
type importReport struct {
	Total, Valid, Imported int
	DryRun                 bool `json:"dry_run"`
	Problems               []struct {
		Row     int
		Column  string
		Message string
	}
}

func TestBankImportExportAPI(t *testing.T) {
	t.Parallel()
	inst := apptest.Start(t)
	_, pw := inst.CreateUser("org-a", "organizer", inst.Seed.DistrictIDs["430702"])
	a := inst.Login("org-a", pw)
	_, pw = inst.CreateUser("org-b", "organizer", inst.Seed.DistrictIDs["430703"])
	b := inst.Login("org-b", pw)
	file := "key,type,stem,option_a,option_b,option_c,answer,explanation,category,dimension,difficulty,status\n" +
		"1,single,=1+1 等于几？,1,2,3,B,因为。,info_literacy,method,1,published\n" +
		"2,single,坏行一？,1,2,,D,因为。,info_literacy,method,1,\n" +
		"3,multiple,哪些是质数？,2,3,4,\"A,B\",2 和 3 是质数。,info_literacy,knowledge,2,\n" +
		"4,single,坏行二？,1,2,,A,因为。,info_literacy,method,7,\n"
	// Dry run: both bad rows reported with their row numbers.
	r := b.DoRaw("POST", "/api/v1/bank/import?format=csv&mode=all&dry_run=1", []byte(file), "text/csv")
	apptest.Expect(t, r, 200, "dry run")
	var rep importReport
	r.JSON(t, &rep)
	if rep.Total != 4 || rep.Valid != 2 || rep.Imported != 0 || len(rep.Problems) != 2 ||
		rep.Problems[0].Row != 3 || rep.Problems[0].Column != "answer" || rep.Problems[1].Row != 5 || rep.Problems[1].Column != "difficulty" ||
		!strings.Contains(rep.Problems[1].Message, "难度") {
		t.Errorf("dry run report: got %+v", rep)
	}
	// The report speaks the user's language.
	b.Do("GET", "/lang/en?next=/", nil)
	b.DoRaw("POST", "/api/v1/bank/import?format=csv&mode=all&dry_run=1", []byte(file), "text/csv").JSON(t, &rep)
	if len(rep.Problems) != 2 || !strings.Contains(rep.Problems[1].Message, "difficulty is a whole number") {
		t.Errorf("English report: got %+v", rep.Problems)
	}
	// All or nothing: nothing.
	b.DoRaw("POST", "/api/v1/bank/import?format=csv&mode=all", []byte(file), "text/csv").JSON(t, &rep)
	if rep.Imported != 0 {
		t.Errorf("all or nothing imported %d", rep.Imported)
	}
	// Good rows.
	b.DoRaw("POST", "/api/v1/bank/import?format=csv&mode=good", []byte(file), "text/csv").JSON(t, &rep)
	if rep.Imported != 2 {
		t.Errorf("good rows: imported %d, want 2", rep.Imported)
	}
	// Export B's bank in every format, import into A's, export again: same file.
	for _, format := range bank.Formats {
		r := b.Do("GET", "/api/v1/bank/export?format="+format, nil)
		apptest.Expect(t, r, 200, "export "+format)
		if format == "csv" && !bytes.Contains(r.Body, []byte("'=1+1")) {
			t.Errorf("CSV export does not neutralize the formula: %s", r.Body)
		}
		ra := a.DoRaw("POST", "/api/v1/bank/import?mode=all&format="+format, r.Body, "application/octet-stream")
		apptest.Expect(t, ra, 200, "import "+format)
		ra.JSON(t, &rep)
		if format == "csv" && rep.Imported != 2 {
			t.Errorf("round trip import: got %+v", rep)
		}
		if format != "csv" && (rep.Imported != 0 || len(rep.Problems) != 2) {
			t.Errorf("%s re-import into the same bank: got %+v, want 2 duplicates", format, rep)
		}
	}
	ea := a.Do("GET", "/api/v1/bank/export?format=json", nil)
	eb := b.Do("GET", "/api/v1/bank/export?format=json", nil)
	strip := func(body []byte) []bank.Record {
		var recs []bank.Record
		if err := jsonUnmarshal(body, &recs); err != nil {
			t.Fatal(err)
		}
		for i := range recs {
			recs[i].Key = ""
		}
		return recs
	}
	ga, gb := strip(ea.Body), strip(eb.Body)
	if len(ga) != len(gb) || len(ga) != 2 {
		t.Fatalf("round trip: %d vs %d questions", len(ga), len(gb))
	}
	for i := range ga {
		if !ga[i].Input.Equal(gb[i].Input) || ga[i].Status != gb[i].Status {
			t.Errorf("round trip question %d: got %+v, want %+v", i, ga[i], gb[i])
		}
	}
	// Limits and bad files.
	apptest.Expect(t, a.DoRaw("POST", "/api/v1/bank/import?format=csv", bytes.Repeat([]byte("a"), bank.MaxImportBytes+1), "text/csv"), 413, "too large")
	apptest.Expect(t, a.DoRaw("POST", "/api/v1/bank/import?format=doc", []byte("x"), "text/csv"), 400, "unknown format")
	apptest.Expect(t, a.DoRaw("POST", "/api/v1/bank/import?format=xlsx", []byte("PK"), "application/octet-stream"), 400, "broken xlsx")
	for _, format := range bank.Formats {
		r := a.Do("GET", "/api/v1/bank/template?format="+format, nil)
		apptest.Expect(t, r, 200, "template "+format)
		rows, err := bank.Parse(format, r.Body)
		if err != nil || len(rows) != 3 {
			t.Errorf("template %s: %d rows, %v", format, len(rows), err)
		}
	}
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
