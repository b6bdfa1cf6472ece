package certificate

import (
	"io"
	"testing"
)

// BenchmarkCertificatePNG draws one certificate and encodes it as PNG, as
// GET /api/v1/attempts/:id/certificate.png does.
func BenchmarkCertificatePNG(b *testing.B) {
	d := sample()
	b.ReportAllocs()
	for b.Loop() {
		if err := PNG(io.Discard, d); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCertificateDraw is the drawing alone, without PNG encoding.
func BenchmarkCertificateDraw(b *testing.B) {
	d := sample()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Draw(d); err != nil {
			b.Fatal(err)
		}
	}
}
