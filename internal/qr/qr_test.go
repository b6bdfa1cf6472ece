package qr

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"strings"
	"testing"

	"github.com/kepu/kepu/internal/certificate/certtest"
)

// The PNGs decode back to their payload, at the sizes the pages use.
func TestPNGDecodes(t *testing.T) {
	for _, tc := range []struct {
		payload string
		size    int
	}{
		{"https://kepu.example/join?pin=123456", 512},
		{"https://kepu.example/certificates/ABCD2345EFGH", 256},
		{"科普答题 " + strings.Repeat("x", 200), 300},
	} {
		b, err := PNG(tc.payload, tc.size)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if got := img.Bounds().Dx(); got != tc.size {
			t.Errorf("%q: width %d, want %d", tc.payload, got, tc.size)
		}
		if got := certtest.QRText(t, img); got != tc.payload {
			t.Errorf("got %q, want %q", got, tc.payload)
		}
	}
}

// The grid has its quiet zone: the border rows and columns are light.
func TestModulesQuietZone(t *testing.T) {
	g, err := Modules("hello")
	if err != nil {
		t.Fatal(err)
	}
	if len(g) != 21+2*QuietZone {
		t.Fatalf("got %d modules, want %d (version 1)", len(g), 21+2*QuietZone)
	}
	for i := range g {
		for k := range QuietZone {
			if g[k][i] || g[i][k] || g[len(g)-1-k][i] || g[i][len(g)-1-k] {
				t.Fatalf("dark module in the quiet zone at %d,%d", i, k)
			}
		}
	}
	if !g[QuietZone][QuietZone] {
		t.Error("finder pattern corner is light")
	}
}

// The SVG path, drawn module by module, decodes back to its payload (a
// join-card URL with its token in the fragment).
func TestSVGPathDecodes(t *testing.T) {
	payload := "https://kepu.example/card#q83vEjRWeJASNFZ4kBI0Vg"
	side, d, err := SVGPath(payload)
	if err != nil {
		t.Fatal(err)
	}
	const px = 8
	img := image.NewGray(image.Rect(0, 0, side*px, side*px))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	for _, seg := range strings.Split(strings.TrimSuffix(d, "z"), "z") {
		var x, y, run, back int
		if _, err := fmt.Sscanf(seg, "M%d %dh%dv1h-%d", &x, &y, &run, &back); err != nil || run != back {
			t.Fatalf("segment %q: %v", seg, err)
		}
		for py := y * px; py < (y+1)*px; py++ {
			for qx := x * px; qx < (x+run)*px; qx++ {
				img.SetGray(qx, py, color.Gray{})
			}
		}
	}
	if got := certtest.QRText(t, img); got != payload {
		t.Errorf("got %q, want %q", got, payload)
	}
}
