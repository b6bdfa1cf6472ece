package qr

import (
	"bytes"
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
