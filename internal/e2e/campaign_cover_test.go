package e2e_test

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/kepu/kepu/internal/e2e"
)

// writePNG writes a w×h gradient (with noise, so that it compresses badly:
// a stand-in for a phone's photo) and returns its path.
func writePNG(t *testing.T, name string, w, h int, noise bool) string {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	r := rand.New(rand.NewPCG(1, 2))
	for y := range h {
		for x := range w {
			c := color.RGBA{uint8(x * 255 / w), uint8(y * 255 / h), 160, 255}
			if noise {
				c.R += uint8(r.IntN(24))
				c.G += uint8(r.IntN(24))
			}
			img.SetRGBA(x, y, c)
		}
	}
	path := filepath.Join(t.TempDir(), name)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	return path
}

// An organizer on a phone picks a photo too large for the server: the page
// makes it smaller, uploads and previews it, and saving the form sets the
// cover; a picture the server refuses shows its reason by the field; the
// remove button clears the cover. Citizens see the cover on the list and
// the campaign page, within a phone's width.
func TestCampaignCoverPhone(t *testing.T) {
	t.Parallel()
	b := e2e.Start(t)
	db := b.Inst.DB.Pool
	ctx := context.Background()
	photo := writePNG(t, "photo.png", 2400, 1600, true)
	if st, err := os.Stat(photo); err != nil || st.Size() <= 1<<20 {
		t.Fatalf("the test photo must exceed 1 MiB: %v %v", st, err)
	}
	small := writePNG(t, "small.png", 320, 180, false)
	tiny := writePNG(t, "tiny.png", 8, 8, false)
	previewLoaded := func() bool {
		return e2e.Get(b, chromedp.Evaluate[bool](`(() => { const i = document.getElementById('cover-preview');
			return !i.hidden && i.complete && i.naturalWidth > 0 })()`))
	}
	waitPreview := func() {
		t.Helper()
		b.Do(chromedp.Poll[chromedp.Void](`(() => { const i = document.getElementById('cover-preview'); return !i.hidden && i.complete && i.naturalWidth > 0 })()`))
	}
	var id int64
	cover := func() (cover *int64) {
		t.Helper()
		if err := db.QueryRow(ctx, `SELECT id, cover_image_id FROM campaigns WHERE title = '封面科学周'`).Scan(&id, &cover); err != nil {
			t.Fatal(err)
		}
		return cover
	}

	b.LoginDemo("demo-organizer")
	b.Visit("/manage/campaigns/new")
	b.Fill("#title", "封面科学周")
	b.WaitText("#cover-none", "尚未设置封面")
	if b.Visible("#cover-preview") || b.Visible("#cover-remove") {
		t.Error("new form: the preview or the remove button shows without a cover")
	}
	b.Do(chromedp.SetUploadFiles(chromedp.CSS("#cover"), []string{photo}))
	b.WaitText("#cover-status", "封面已上传")
	waitPreview()
	var mime string
	var w, h, size int
	if err := db.QueryRow(ctx, `SELECT mime, width, height, length(data) FROM images ORDER BY id DESC LIMIT 1`).Scan(&mime, &w, &h, &size); err != nil {
		t.Fatal(err)
	}
	if mime != "image/jpeg" || w > 1600 || h > 1600 || size > 1<<20 || w != 1600 || h < 1066 || h > 1067 {
		t.Errorf("the photo as uploaded: got %s %d×%d %d bytes, want a JPEG of 1600×1067 (3:2) within 1 MiB", mime, w, h, size)
	}
	b.Screenshot("campaign-cover-form-phone")
	b.ClickNav("[data-testid=save]")
	b.WaitText("[data-testid=form-status]", "草稿")
	first := cover()
	if first == nil {
		t.Fatal("saved form: no cover")
	}
	// Opened anew, the form shows the saved cover.
	waitPreview()
	if !b.Visible("#cover-remove") || b.Visible("#cover-none") {
		t.Error("saved form: want the remove button and no 'no cover' line")
	}

	// A picture the server refuses: its reason, by the field.
	b.Do(chromedp.SetUploadFiles(chromedp.CSS("#cover"), []string{tiny}))
	b.WaitText("[data-testid=cover-error]", "图片边长须在 16 到 4096 像素之间")
	if !previewLoaded() {
		t.Error("a refused picture hid the cover")
	}
	// Another picture replaces the cover.
	b.Do(chromedp.SetUploadFiles(chromedp.CSS("#cover"), []string{small}))
	b.WaitText("#cover-status", "封面已上传")
	if b.Visible("[data-testid=cover-error]") {
		t.Error("the error stays after a good upload")
	}
	b.Do(chromedp.Click(chromedp.CSS("[data-testid=save]")))
	b.WaitText("#ok", "已保存")
	second := cover()
	if second == nil || *second == *first {
		t.Fatalf("replaced cover: got %v, want a new image (was %d)", second, *first)
	}

	// Citizens: the cover on the list's card and the campaign page, within
	// the phone's width, its text the title.
	if _, err := db.Exec(ctx, `UPDATE campaigns SET status = 'published', starts_at = now() - interval '1 hour' WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	fits := func(sel string) {
		t.Helper()
		sel = fmt.Sprintf("%q", sel)
		b.Do(chromedp.Poll[chromedp.Void](`(() => { const i = document.querySelector(` + sel + `); return !!i && i.complete && i.naturalWidth > 0 })()`))
		got := e2e.Get(b, chromedp.Evaluate[string](`(() => { const i = document.querySelector(`+sel+`); const r = i.getBoundingClientRect();
			return [i.alt, i.loading, r.width > 0 && r.right <= innerWidth, document.documentElement.scrollWidth <= innerWidth].join('|') })()`))
		if want := "封面科学周|lazy|true|true"; got != want {
			t.Errorf("%s on a phone: got alt|loading|fits|no sideways scroll %s, want %s", sel, got, want)
		}
	}
	b.Visit("/campaigns")
	fits(fmt.Sprintf("[data-testid=cover-%d]", id))
	b.Screenshot("campaign-cover-list-phone")
	b.Visit(fmt.Sprintf("/campaigns/%d", id))
	fits("[data-testid=camp-cover]")
	b.Screenshot("campaign-cover-page-phone")
	b.Desktop()
	b.Visit("/campaigns")
	b.Screenshot("campaign-cover-list-desktop")
	b.Phone()

	// Remove: the preview goes, and saving clears the cover.
	if _, err := db.Exec(ctx, `UPDATE campaigns SET status = 'paused' WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	b.Visit(fmt.Sprintf("/manage/campaigns/%d", id))
	waitPreview()
	b.Do(chromedp.Click(chromedp.CSS("[data-testid=cover-remove]")))
	b.WaitText("#cover-status", "封面已移除")
	if b.Visible("#cover-preview") || b.Visible("#cover-remove") {
		t.Error("after remove: the preview or the remove button still shows")
	}
	b.Do(chromedp.Click(chromedp.CSS("[data-testid=save]")))
	b.WaitText("#ok", "已保存")
	if c := cover(); c != nil {
		t.Errorf("after remove and save: cover %d, want none", *c)
	}
}
