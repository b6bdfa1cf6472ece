package server_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"
)

// A citizen's pages follow one attempt from the list to the certificate;
// the public verification page and its QR code show the nickname only.
func TestCampaignPagesCitizenFlow(t *testing.T) {
	t.Parallel()
	f := newCampaign(t, map[string]any{"questions": 2, "scoring": "flat"})
	c := f.citizen(t, "pagegirl")
	page := func(path string, want int, wants ...string) string {
		t.Helper()
		res := c.Do("GET", path, nil)
		if res.Status != want {
			t.Fatalf("GET %s: got %d, want %d: %.300s", path, res.Status, want, res.Body)
		}
		for _, w := range wants {
			if !strings.Contains(string(res.Body), w) {
				t.Errorf("GET %s: page lacks %q", path, w)
			}
		}
		return string(res.Body)
	}
	page("/campaigns", 200, "健康科普周", "进行中", fmt.Sprintf(`href="/campaigns/%d"`, f.id))
	page(fmt.Sprintf("/campaigns/%d", f.id), 200, "<title>健康科普周 · 科普答题</title>", "开始答题", "每题限时 20 秒", "答题次数不限", `data-start=`)
	id := f.start(t, c)
	page(fmt.Sprintf("/campaigns/%d", f.id), 200, "继续答题", fmt.Sprintf(`href="/attempts/%d"`, id))
	body := page(fmt.Sprintf("/attempts/%d", id), 200, "<title>健康科普周 · 科普答题</title>", "attempt.js", `id="q-timer"`)
	keyFree(t, body)
	// The result page of an unfinished attempt sends the player back to it.
	if res := c.Do("GET", fmt.Sprintf("/attempts/%d/result", id), nil); res.Status != 303 {
		t.Errorf("result before finish: got %d, want 303", res.Status)
	}
	for seq := 1; seq <= 2; seq++ {
		current(t, c, id)
		f.clock.Add(3 * time.Second)
		answer(t, c, id, seq, f.rightChoice(t, id, seq), 200)
	}
	if res := c.Do("GET", fmt.Sprintf("/attempts/%d", id), nil); res.Status != 303 || !strings.HasSuffix(res.Header.Get("Location"), "/result") {
		t.Errorf("play page of a finished attempt: got %d %s, want 303 to the result", res.Status, res.Header.Get("Location"))
	}
	page(fmt.Sprintf("/attempts/%d/result", id), 200, "答题成绩", "20 / 20", "合格", `data-testid="rank-overall">1<`, `data-testid="rank-district">1<`, "查看证书")
	page(fmt.Sprintf("/attempts/%d/review", id), 200, "秘密解释", "回答正确！")
	page("/me/history", 200, "健康科普周", "20 / 20")
	page(fmt.Sprintf("/campaigns/%d/leaderboard", f.id), 200, "leaderboard.js", `data-board="district"`)

	st, _ := current(t, c, id)
	code := st.Attempt.CertCode
	if code == "" {
		t.Fatal("passing attempt has no certificate code")
	}
	page(fmt.Sprintf("/attempts/%d/certificate", id), 200, "pagegirl", code, "/certificates/"+code+"/qr.png", "/certificates/"+code)

	// Someone else cannot open the attempt's pages.
	other := f.citizen(t, "nosy")
	for _, p := range []string{"", "/result", "/review", "/certificate"} {
		if res := other.Do("GET", fmt.Sprintf("/attempts/%d%s", id, p), nil); res.Status != 404 {
			t.Errorf("another user's /attempts/%d%s: got %d, want 404", id, p, res.Status)
		}
	}

	// Verification is public and shows the nickname, not the account.
	guest := f.inst.Client()
	res := guest.Do("GET", "/certificates/"+code, nil)
	if res.Status != 200 || !strings.Contains(string(res.Body), "此证书真实有效") || !strings.Contains(string(res.Body), "pagegirl") {
		t.Errorf("verify page: got %d %.300s", res.Status, res.Body)
	}
	if res := guest.Do("GET", "/certificates/NOPE2345ABCD", nil); res.Status != 404 {
		t.Errorf("verify unknown code: got %d, want 404", res.Status)
	}
	res = guest.Do("GET", "/certificates/"+code+"/qr.png", nil)
	if res.Status != 200 || res.Header.Get("Content-Type") != "image/png" || !bytes.HasPrefix(res.Body, []byte("\x89PNG")) {
		t.Errorf("qr: got %d %s %q", res.Status, res.Header.Get("Content-Type"), res.Body[:min(8, len(res.Body))])
	}
	if res := guest.Do("GET", "/certificates/NOPE2345ABCD/qr.png", nil); res.Status != 404 {
		t.Errorf("qr of unknown code: got %d, want 404", res.Status)
	}
	// Guests see the campaign but are asked to log in to play.
	res = guest.Do("GET", fmt.Sprintf("/campaigns/%d", f.id), nil)
	if res.Status != 200 || !strings.Contains(string(res.Body), "登录后答题") {
		t.Errorf("guest campaign page: got %d", res.Status)
	}
	// English is the second language of every page.
	guest.Lang = "en"
	if res := guest.Do("GET", "/certificates/"+code, nil); !strings.Contains(string(res.Body), "This certificate is genuine.") {
		t.Errorf("verify page in English: got %d %.200s", res.Status, res.Body)
	}
	c.Do("GET", "/lang/en?next=/", nil) // the language switch (a logged-in client holds a language cookie)
	page(fmt.Sprintf("/attempts/%d/result", id), 200, "Result", "20 / 20")
	if res := guest.Do("GET", "/me/history", nil); res.Status != 303 {
		t.Errorf("guest history: got %d, want 303 to login", res.Status)
	}
}

// Organizer pages: the list and form for organizers in scope only.
func TestCampaignPagesManage(t *testing.T) {
	t.Parallel()
	f := newCampaign(t, nil)
	res := f.org.Do("GET", "/manage/campaigns", nil)
	if res.Status != 200 || !strings.Contains(string(res.Body), "健康科普周") || !strings.Contains(string(res.Body), `data-action="pause"`) {
		t.Errorf("manage list: got %d", res.Status)
	}
	for _, p := range []string{"/manage/campaigns/new", fmt.Sprintf("/manage/campaigns/%d", f.id)} {
		if res := f.org.Do("GET", p, nil); res.Status != 200 || !strings.Contains(string(res.Body), `id="camp-form"`) {
			t.Errorf("GET %s: got %d", p, res.Status)
		}
	}
	c := f.citizen(t, "plain")
	if res := c.Do("GET", "/manage/campaigns", nil); res.Status != 403 {
		t.Errorf("citizen on manage list: got %d, want 403", res.Status)
	}
	o2 := f.districtOrganizer(t, "org-district")
	if res := o2.Do("GET", fmt.Sprintf("/manage/campaigns/%d", f.id), nil); res.Status != 403 {
		t.Errorf("organizer outside the campaign's region: got %d, want 403", res.Status)
	}
}
