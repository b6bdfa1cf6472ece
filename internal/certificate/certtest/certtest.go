// Package certtest helps tests read certificate images. Only tests import
// it, so its QR decoder (gozxing) stays out of the binary.
package certtest

import (
	"fmt"
	"image"
	"testing"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
)

// QRText decodes the QR code in img, failing the test when there is none.
func QRText(t testing.TB, img image.Image) string {
	t.Helper()
	text, err := DecodeQR(img)
	if err != nil {
		t.Fatal(err)
	}
	return text
}

// DecodeQR decodes the QR code in img.
func DecodeQR(img image.Image) (string, error) {
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		return "", err
	}
	res, err := qrcode.NewQRCodeReader().Decode(bmp, nil)
	if err != nil {
		return "", fmt.Errorf("no QR code found: %w", err)
	}
	return res.GetText(), nil
}
