package server_test

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"strings"
	"testing"
	"time"

	"github.com/kepu/kepu/internal/apptest"
	"github.com/kepu/kepu/internal/certificate"
	"github.com/kepu/kepu/internal/certificate/certtest"
)

// sealPNG is a red ring of side n on a transparent background.
func sealPNG(t *testing.T, n int) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, n, n))
	r := float64(n) / 2
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			dx, dy := float64(x)-r, float64(y)-r
			if d := dx*dx + dy*dy; d < r*r && d > r*r*0.7 {
				img.Set(x, y, color.NRGBA{0xD0, 0x10, 0x10, 0xFF})
			}
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestCertificateIssuer: an admin names the issuing organization and
// uploads its seal (checked: PNG or JPEG by content, size, sides; only
// admins); the certificate page, the verification page and the images
// name it, the seal is served from Postgres, and every change is audited.
// The share card is a phone-sized PNG whose QR code leads to the campaign,
// for the certificate's owner only, with a minor's nickname masked.
func TestCertificateIssuer(t *testing.T) {
	t.Parallel()
	f := newCampaign(t, map[string]any{"questions": 1, "scoring": "flat"})
	_, pw := f.inst.CreateUser("root-admin", "admin")
	admin := f.inst.Login("root-admin", pw)
	const org = "常德市科学技术协会"

	apptest.Expect(t, f.org.Do("PUT", "/api/v1/admin/certificate-issuer", map[string]string{"name": org}), 403, "an organizer names the issuer")
	apptest.Expect(t, admin.Do("PUT", "/api/v1/admin/certificate-issuer", map[string]string{"name": strings.Repeat("协", 41)}), 400, "a name too long")
	apptest.Expect(t, admin.Do("PUT", "/api/v1/admin/certificate-issuer", map[string]string{"name": org}), 200, "the admin names the issuer")
	apptest.Expect(t, f.inst.Client().Do("GET", "/issuer/seal.png", nil), 404, "no seal yet")
	for _, tt := range []struct {
		what   string
		body   []byte
		ct     string
		status int
	}{
		{"text named PNG", []byte("not an image at all"), "image/png", 400},
		{"a 20-pixel image", sealPNG(t, 20), "image/png", 400},
		{"a GIF type", sealPNG(t, 100), "image/gif", 415},
		{"a file too large", append(sealPNG(t, 100), make([]byte, certificate.MaxSealBytes)...), "image/png", 413},
	} {
		apptest.Expect(t, admin.DoRaw("PUT", "/api/v1/admin/certificate-issuer/seal", tt.body, tt.ct), tt.status, tt.what)
	}
	seal := sealPNG(t, 200)
	apptest.Expect(t, f.org.DoRaw("PUT", "/api/v1/admin/certificate-issuer/seal", seal, "image/png"), 403, "an organizer uploads a seal")
	apptest.Expect(t, admin.DoRaw("PUT", "/api/v1/admin/certificate-issuer/seal", seal, "application/octet-stream"), 200, "the admin uploads a seal")
	res := f.inst.Client().Do("GET", "/issuer/seal.png", nil)
	if res.Status != 200 || !bytes.Equal(res.Body, seal) || res.Header.Get("Content-Type") != "image/png" {
		t.Errorf("seal: got %d %s, want the uploaded PNG", res.Status, res.Header.Get("Content-Type"))
	}
	if page := string(admin.Do("GET", "/admin/certificate", nil).Body); !strings.Contains(page, `value="`+org+`"`) || !strings.Contains(page, `src="/issuer/seal.png?v=`) {
		t.Error("admin page: the name or the seal is missing")
	}
	var audits int
	f.inst.DB.Pool.QueryRow(t.Context(), `SELECT count(*) FROM audit_log WHERE target = 'certificate:issuer'`).Scan(&audits)
	if audits != 2 {
		t.Errorf("audit entries: got %d, want 2 (name, seal)", audits)
	}

	// A pupil (under 14) passes.
	kid := f.citizen(t, "kidwinner")
	if _, err := f.inst.DB.Pool.Exec(t.Context(), `UPDATE users SET age_band = 'u14', nickname = '张小明' WHERE username = 'kidwinner'`); err != nil {
		t.Fatal(err)
	}
	id := f.start(t, kid)
	current(t, kid, id)
	f.clock.Add(3 * time.Second)
	answer(t, kid, id, 1, f.rightChoice(t, id, 1), 200)
	st, _ := current(t, kid, id)
	page := string(kid.Do("GET", fmt.Sprintf("/attempts/%d/certificate", id), nil).Body)
	for _, want := range []string{"科学素质答题证书", "发证单位：" + org, `src="/issuer/seal.png?v=`, fmt.Sprintf(`/api/v1/attempts/%d/share.png`, id), "生成分享图"} {
		if !strings.Contains(page, want) {
			t.Errorf("certificate page lacks %q", want)
		}
	}
	verify := string(f.inst.Client().Do("GET", "/certificates/"+st.Attempt.CertCode, nil).Body)
	for _, want := range []string{"科学素质答题证书", org, "张**"} {
		if !strings.Contains(verify, want) {
			t.Errorf("verification page lacks %q", want)
		}
	}

	share := fmt.Sprintf("/api/v1/attempts/%d/share.png", id)
	apptest.Expect(t, f.citizen(t, "stranger").Do("GET", share, nil), 404, "a stranger's share card")
	for _, lang := range []string{"zh-CN", "en"} {
		kid.Do("GET", "/lang/"+lang+"?next=/", nil)
		res := kid.Do("GET", share, nil)
		if res.Status != 200 || res.Header.Get("Content-Type") != "image/png" {
			t.Fatalf("share card (%s): got %d %.200s", lang, res.Status, res.Body)
		}
		img, err := png.Decode(bytes.NewReader(res.Body))
		if err != nil {
			t.Fatal(err)
		}
		if b := img.Bounds(); b.Dx() != certificate.ShareWidth || b.Dy() != certificate.ShareHeight {
			t.Errorf("share card size: got %v", b)
		}
		if got, want := certtest.QRText(t, img), fmt.Sprintf("%s/campaigns/%d", f.inst.URL, f.id); got != want {
			t.Errorf("share card QR (%s): got %q, want %q", lang, got, want)
		}
	}
	apptest.Expect(t, kid.Do("GET", fmt.Sprintf("/api/v1/attempts/%d/certificate.png", id), nil), 200, "the certificate image with a seal")
}
