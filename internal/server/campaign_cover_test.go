package server_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kepu/kepu/internal/apptest"
)

// coverCampaign is what the cover tests read back of a campaign.
type coverCampaign struct {
	ID           int64
	Title        string
	Status       string
	CoverImageID *int64  `json:"cover_image_id"`
	CoverURL     *string `json:"cover_url"`
}

// uploadCover uploads a PNG as the client and returns its id and URL.
func uploadCover(t *testing.T, c *apptest.Client, w, h int) (int64, string) {
	t.Helper()
	r := c.DoRaw("POST", "/api/v1/bank/images", pngOf(w, h), "application/octet-stream")
	apptest.Expect(t, r, 201, "upload cover")
	var img struct {
		ID  int64
		URL string
	}
	r.JSON(t, &img)
	if img.ID == 0 || img.URL != fmt.Sprintf("/api/v1/bank/images/%d", img.ID) {
		t.Fatalf("upload cover: got id %d url %q", img.ID, img.URL)
	}
	return img.ID, img.URL
}

// managedBody is the campaign's editable fields as the organizer's form
// sends them back, with the cover replaced by cover (nil: none).
func managedBody(t *testing.T, c *apptest.Client, id int64, cover any) map[string]any {
	t.Helper()
	r := c.Do("GET", fmt.Sprintf("/api/v1/manage/campaigns/%d", id), nil)
	apptest.Expect(t, r, 200, "get managed campaign")
	var all map[string]any
	r.JSON(t, &all)
	body := map[string]any{"cover_image_id": cover}
	for _, k := range []string{"title", "description", "region_id", "starts_at", "ends_at", "audience", "rules"} {
		body[k] = all[k]
	}
	return body
}

// errorOf is an error response's code, field and message.
func errorOf(t *testing.T, r apptest.Response) (code, field, message string) {
	t.Helper()
	var e struct {
		Error struct{ Code, Field, Message string }
	}
	r.JSON(t, &e)
	return e.Error.Code, e.Error.Field, e.Error.Message
}

func mustContain(t *testing.T, what, body string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Errorf("%s lacks %q", what, w)
		}
	}
}

func mustLack(t *testing.T, what, body string, bads ...string) {
	t.Helper()
	for _, b := range bads {
		if strings.Contains(body, b) {
			t.Errorf("%s contains %q", what, b)
		}
	}
}

// An organizer uploads an image and sets it as a campaign's cover; the
// public API, list and campaign page show it; a missing image is refused
// with a localized 400; clearing works; citizens and organizers outside the
// region cannot set it; deleting the image only drops the cover.
func TestCampaignCover(t *testing.T) {
	t.Parallel()
	f := newCampaign(t, nil)
	anon := f.inst.Client()
	path := fmt.Sprintf("/api/v1/manage/campaigns/%d", f.id)
	coverID, coverURL := uploadCover(t, f.org, 64, 36)

	// No cover yet: null in the API, nothing on the pages.
	var got coverCampaign
	anon.Do("GET", fmt.Sprintf("/api/v1/campaigns/%d", f.id), nil).JSON(t, &got)
	if got.CoverImageID != nil || got.CoverURL != nil {
		t.Errorf("campaign without a cover: got cover_image_id %v cover_url %v, want null", got.CoverImageID, got.CoverURL)
	}
	raw := string(anon.Do("GET", fmt.Sprintf("/api/v1/campaigns/%d", f.id), nil).Body)
	mustContain(t, "public JSON without a cover", raw, `"cover_image_id":null`, `"cover_url":null`)
	mustLack(t, "list without a cover", string(anon.Do("GET", "/campaigns", nil).Body), "camp-cover", "has-cover")
	mustLack(t, "campaign page without a cover", string(anon.Do("GET", fmt.Sprintf("/campaigns/%d", f.id), nil).Body), "camp-cover")

	// Rules change only while paused: pause, set the cover, publish again.
	apptest.Expect(t, f.org.Do("POST", path+"/pause", nil), 200, "pause")
	r := f.org.Do("PUT", path, managedBody(t, f.org, f.id, coverID))
	apptest.Expect(t, r, 200, "set the cover")
	r.JSON(t, &got)
	if got.CoverImageID == nil || *got.CoverImageID != coverID || got.CoverURL == nil || *got.CoverURL != coverURL {
		t.Fatalf("set the cover: got %s, want cover_image_id %d cover_url %s", r.Body, coverID, coverURL)
	}
	apptest.Expect(t, f.org.Do("POST", path+"/publish", nil), 200, "publish again")

	// The public API: the list and the campaign carry both fields.
	var list struct{ Campaigns []coverCampaign }
	anon.Do("GET", "/api/v1/campaigns", nil).JSON(t, &list)
	if len(list.Campaigns) != 1 || list.Campaigns[0].CoverURL == nil || *list.Campaigns[0].CoverURL != coverURL {
		t.Errorf("public list: got %+v, want one campaign with cover_url %s", list.Campaigns, coverURL)
	}
	got = coverCampaign{}
	anon.Do("GET", fmt.Sprintf("/api/v1/campaigns/%d", f.id), nil).JSON(t, &got)
	if got.CoverImageID == nil || *got.CoverImageID != coverID || got.CoverURL == nil || *got.CoverURL != coverURL {
		t.Errorf("public campaign: got cover_image_id %v cover_url %v, want %d %s", got.CoverImageID, got.CoverURL, coverID, coverURL)
	}
	var managed struct{ Campaigns []coverCampaign }
	f.org.Do("GET", "/api/v1/manage/campaigns", nil).JSON(t, &managed)
	if len(managed.Campaigns) != 1 || managed.Campaigns[0].CoverURL == nil {
		t.Errorf("managed list: got %+v, want the cover", managed.Campaigns)
	}

	// The pages: the list's card and the campaign page show the image,
	// lazily, with the title as its text; anyone can fetch it.
	img := fmt.Sprintf(`src="%s" alt="健康科普周"`, coverURL)
	mustContain(t, "campaign list", string(anon.Do("GET", "/campaigns", nil).Body),
		img, `loading="lazy"`, fmt.Sprintf(`data-testid="cover-%d"`, f.id), "camp-card has-cover")
	mustContain(t, "campaign page", string(anon.Do("GET", fmt.Sprintf("/campaigns/%d", f.id), nil).Body),
		img, `loading="lazy"`, `data-testid="camp-cover"`)
	r = anon.Do("GET", coverURL, nil)
	if r.Status != 200 || r.Header.Get("Content-Type") != "image/png" {
		t.Errorf("GET %s: got %d %s, want 200 image/png", coverURL, r.Status, r.Header.Get("Content-Type"))
	}
	// The organizer's form shows the saved cover with its remove button.
	form := string(f.org.Do("GET", fmt.Sprintf("/manage/campaigns/%d", f.id), nil).Body)
	mustContain(t, "organizer form", form, `id="cover"`, `type="file"`, fmt.Sprintf(`src="%s"`, coverURL), `id="cover-remove" data-testid`)
	mustContain(t, "new campaign form", string(f.org.Do("GET", "/manage/campaigns/new", nil).Body),
		`id="cover"`, `id="cover-preview" class="camp-cover" alt="封面预览" width="640" height="360" hidden`, `id="cover-remove" hidden`)

	// A title is escaped in the cover's alt text.
	evil := `封面"><script>alert(1)</script>`
	body := map[string]any{"title": evil, "starts_at": f.clock.Now().Add(-time.Minute), "ends_at": f.clock.Now().Add(time.Hour),
		"rules": map[string]any{"questions": 3}, "cover_image_id": coverID}
	evilID := f.create(t, body)
	apptest.Expect(t, f.org.Do("POST", fmt.Sprintf("/api/v1/manage/campaigns/%d/publish", evilID), nil), 200, "publish the second campaign")
	page := string(anon.Do("GET", "/campaigns", nil).Body)
	mustContain(t, "list with an escaped title", page, `alt="封面&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"`)
	mustLack(t, "list with an escaped title", page, "<script>alert(1)")
	mustLack(t, "campaign page with an escaped title", string(anon.Do("GET", fmt.Sprintf("/campaigns/%d", evilID), nil).Body), "<script>alert(1)")

	// An image that does not exist: 400 on the field, in the user's language.
	apptest.Expect(t, f.org.Do("POST", path+"/pause", nil), 200, "pause")
	for _, tt := range []struct {
		name   string
		method string
		path   string
		body   map[string]any
	}{
		{"update, missing image", "PUT", path, managedBody(t, f.org, f.id, coverID+100000)},
		{"update, negative id", "PUT", path, managedBody(t, f.org, f.id, -1)},
		{"create, missing image", "POST", "/api/v1/manage/campaigns", map[string]any{"title": "无图", "starts_at": f.clock.Now(),
			"ends_at": f.clock.Now().Add(time.Hour), "cover_image_id": coverID + 100000}},
	} {
		r := f.org.Do(tt.method, tt.path, tt.body)
		code, field, msg := errorOf(t, r)
		if r.Status != 400 || code != "invalid_input" || field != "cover_image_id" || msg != "封面图片不存在，请重新上传。" {
			t.Errorf("%s: got %d %s %s %q, want 400 invalid_input on cover_image_id in Chinese", tt.name, r.Status, code, field, msg)
		}
	}
	f.org.Do("GET", "/lang/en?next=/", nil)
	r = f.org.Do("PUT", path, managedBody(t, f.org, f.id, coverID+100000))
	if _, _, msg := errorOf(t, r); r.Status != 400 || msg != "The cover image does not exist; please upload it again." {
		t.Errorf("missing image in English: got %d %q", r.Status, msg)
	}
	f.org.Do("GET", "/lang/zh-CN?next=/", nil)
	got = coverCampaign{}
	f.org.Do("GET", path, nil).JSON(t, &got)
	if got.CoverImageID == nil || *got.CoverImageID != coverID {
		t.Errorf("a refused update changed the cover: got %v, want %d", got.CoverImageID, coverID)
	}

	// Citizens cannot set a cover (nor upload), nor can an organizer
	// outside the campaign's region.
	c := f.citizen(t, "coverkid")
	if r := c.Do("PUT", path, managedBody(t, f.org, f.id, coverID)); r.Status != 403 {
		t.Errorf("citizen sets the cover: got %d, want 403", r.Status)
	}
	if r := c.DoRaw("POST", "/api/v1/bank/images", pngOf(32, 32), "application/octet-stream"); r.Status != 403 {
		t.Errorf("citizen uploads an image: got %d, want 403", r.Status)
	}
	if r := f.districtOrganizer(t, "org-cover").Do("PUT", path, managedBody(t, f.org, f.id, coverID)); r.Status != 403 {
		t.Errorf("organizer outside the region sets the cover: got %d, want 403", r.Status)
	}

	// Clearing: null and 0 both remove the cover; the pages show none.
	for _, clear := range []any{nil, 0} {
		apptest.Expect(t, f.org.Do("PUT", path, managedBody(t, f.org, f.id, coverID)), 200, "set the cover again")
		r := f.org.Do("PUT", path, managedBody(t, f.org, f.id, clear))
		apptest.Expect(t, r, 200, fmt.Sprintf("clear the cover with %v", clear))
		got = coverCampaign{}
		r.JSON(t, &got)
		if got.CoverImageID != nil || got.CoverURL != nil {
			t.Errorf("clear the cover with %v: got %s", clear, r.Body)
		}
	}
	apptest.Expect(t, f.org.Do("POST", path+"/publish", nil), 200, "publish without a cover")
	mustLack(t, "campaign page after clearing", string(anon.Do("GET", fmt.Sprintf("/campaigns/%d", f.id), nil).Body), "camp-cover")
	mustLack(t, "list after clearing", string(anon.Do("GET", "/campaigns", nil).Body), fmt.Sprintf(`data-testid="cover-%d"`, f.id))
	mustContain(t, "list after clearing", string(anon.Do("GET", "/campaigns", nil).Body), fmt.Sprintf(`data-testid="cover-%d"`, evilID))

	// Deleting an image drops the cover and keeps the campaign.
	if _, err := f.inst.DB.Pool.Exec(context.Background(), `DELETE FROM images WHERE id = $1`, coverID); err != nil {
		t.Fatalf("delete the image: %v", err)
	}
	r = anon.Do("GET", fmt.Sprintf("/api/v1/campaigns/%d", evilID), nil)
	got = coverCampaign{}
	r.JSON(t, &got)
	if r.Status != 200 || got.CoverImageID != nil || got.CoverURL != nil {
		t.Errorf("campaign after its image was deleted: got %d %s, want 200 without a cover", r.Status, r.Body)
	}
	mustLack(t, "list after the image was deleted", string(anon.Do("GET", "/campaigns", nil).Body), "camp-cover")
}
