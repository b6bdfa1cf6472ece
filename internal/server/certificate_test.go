package server_test

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"strings"
	"testing"
	"time"

	"github.com/kepu/kepu/internal/apptest"
	"github.com/kepu/kepu/internal/certificate"
	"github.com/kepu/kepu/internal/certificate/certtest"
)

// The certificate image of a passing attempt: a PNG of the right size whose
// QR code leads to the public verification page, for the owner and the
// organizers of the campaign only, never for a failing or unfinished attempt.
func TestCertificatePNG(t *testing.T) {
	t.Parallel()
	f := newCampaign(t, map[string]any{"questions": 1, "scoring": "assessment"})
	c := f.citizen(t, "pngwinner")
	id := f.start(t, c)
	current(t, c, id)
	f.clock.Add(3 * time.Second)
	answer(t, c, id, 1, f.rightChoice(t, id, 1), 200)
	st, _ := current(t, c, id)
	code := st.Attempt.CertCode
	if code == "" {
		t.Fatalf("passing attempt has no certificate code: %+v", st.Attempt)
	}
	path := fmt.Sprintf("/api/v1/attempts/%d/certificate.png", id)

	// The certificate page offers the download.
	res := c.Do("GET", fmt.Sprintf("/attempts/%d/certificate", id), nil)
	if res.Status != 200 || !strings.Contains(string(res.Body), `href="`+path+`"`) || !strings.Contains(string(res.Body), "下载证书图片 (PNG)") {
		t.Errorf("certificate page: got %d, want a link to %s", res.Status, path)
	}

	// The owner gets the file, in either language.
	var zh []byte
	for _, lang := range []string{"zh-CN", "en"} {
		if lang == "en" {
			c.Do("GET", "/lang/en?next=/", nil) // a logged-in client holds a language cookie
		}
		res := c.Do("GET", path, nil)
		if res.Status != 200 {
			t.Fatalf("%s owner: got %d %.200s, want 200", lang, res.Status, res.Body)
		}
		for h, want := range map[string]string{
			"Content-Type":        "image/png",
			"Content-Disposition": `attachment; filename="kepu-certificate-` + code + `.png"`,
			"Cache-Control":       "private, no-cache",
		} {
			if got := res.Header.Get(h); got != want {
				t.Errorf("%s %s: got %q, want %q", lang, h, got, want)
			}
		}
		img, err := png.Decode(bytes.NewReader(res.Body))
		if err != nil {
			t.Fatalf("%s: decode: %v", lang, err)
		}
		if got := img.Bounds().Size(); got != image.Pt(certificate.Width, certificate.Height) {
			t.Errorf("%s size: got %v, want %dx%d", lang, got, certificate.Width, certificate.Height)
		}
		if lang == "zh-CN" {
			zh = res.Body
		} else if bytes.Equal(res.Body, zh) {
			t.Errorf("the English certificate is the Chinese one")
		}
		want := f.inst.App.Config.BaseURL + "/certificates/" + code
		if got := certtest.QRText(t, img); got != want {
			t.Errorf("%s QR code: got %q, want %q", lang, got, want)
		}
	}

	// An organizer of the campaign may download it; anyone else is told
	// there is no such attempt, as on the certificate page.
	if res := f.org.Do("GET", path, nil); res.Status != 200 || !bytes.HasPrefix(res.Body, []byte("\x89PNG")) {
		t.Errorf("campaign organizer: got %d, want 200 and a PNG", res.Status)
	}
	for name, other := range map[string]*apptest.Client{
		"another citizen":            f.citizen(t, "pngnosy"),
		"an organizer out of region": f.districtOrganizer(t, "pngorg-district"),
	} {
		if res := other.Do("GET", path, nil); res.Status != 404 {
			t.Errorf("%s: got %d, want 404", name, res.Status)
		}
		if res := other.Do("GET", fmt.Sprintf("/attempts/%d/certificate", id), nil); res.Status != 404 {
			t.Errorf("%s on the certificate page: got %d, want 404", name, res.Status)
		}
	}
	if res := f.inst.Client().Do("GET", path, nil); res.Status != 401 {
		t.Errorf("guest: got %d, want 401", res.Status)
	}
	if res := c.Do("GET", "/api/v1/attempts/999999999/certificate.png", nil); res.Status != 404 {
		t.Errorf("unknown attempt: got %d, want 404", res.Status)
	}

	// No certificate for an unfinished attempt, nor for a failing one.
	loser := f.citizen(t, "pngloser")
	lid := f.start(t, loser)
	current(t, loser, lid)
	lpath := fmt.Sprintf("/api/v1/attempts/%d/certificate.png", lid)
	if res := loser.Do("GET", lpath, nil); res.Status != 404 || res.ErrorCode() != "not_found" {
		t.Errorf("unfinished attempt: got %d %s, want 404", res.Status, res.Body)
	}
	answer(t, loser, lid, 1, wrongChoice(f.rightChoice(t, lid, 1)), 200)
	for name, cl := range map[string]*apptest.Client{"owner": loser, "organizer": f.org} {
		if res := cl.Do("GET", lpath, nil); res.Status != 404 {
			t.Errorf("failing attempt, %s: got %d, want 404", name, res.Status)
		}
	}
}
