// Package qr draws QR codes: the module grid for pictures that place it
// themselves (certificates) and ready PNGs (certificate and join links).
// The encoder is github.com/boombuler/barcode/qr (MIT, pure Go, tagged);
// this package is the only one that imports it.
package qr

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"strings"

	"github.com/boombuler/barcode/qr"
)

// QuietZone is the white border, in modules, around every code.
const QuietZone = 4

// Modules returns the modules of payload's QR code at medium error
// correction, quiet zone included: Modules[y][x] is true for a dark module.
func Modules(payload string) ([][]bool, error) {
	code, err := qr.Encode(payload, qr.M, qr.Auto)
	if err != nil {
		return nil, fmt.Errorf("qr: encode: %w", err)
	}
	n := code.Bounds().Dx()
	side := n + 2*QuietZone
	grid := make([][]bool, side)
	for y := range grid {
		grid[y] = make([]bool, side)
	}
	for y := range n {
		for x := range n {
			r, _, _, _ := code.At(x, y).RGBA()
			grid[y+QuietZone][x+QuietZone] = r == 0
		}
	}
	return grid, nil
}

// PNG returns payload's QR code as a size×size PNG: whole pixels per module,
// centred on white. A size smaller than the grid draws one pixel per module.
func PNG(payload string, size int) ([]byte, error) {
	grid, err := Modules(payload)
	if err != nil {
		return nil, err
	}
	mod := max(size/len(grid), 1)
	size = max(size, len(grid))
	off := (size - mod*len(grid)) / 2
	img := image.NewPaletted(image.Rect(0, 0, size, size), color.Palette{color.White, color.Black})
	for y, row := range grid {
		for x, dark := range row {
			if !dark {
				continue
			}
			for py := off + y*mod; py < off+(y+1)*mod; py++ {
				for px := off + x*mod; px < off+(x+1)*mod; px++ {
					img.SetColorIndex(px, py, 1)
				}
			}
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("qr: png: %w", err)
	}
	return buf.Bytes(), nil
}

// SVGPath returns payload's QR code as the d attribute of one SVG path
// drawn in a side×side viewBox (one unit per module, quiet zone included):
// one rectangle per horizontal run of dark modules. Pages draw it with
// <svg viewBox="0 0 side side"><path d="…"/></svg>: sharp at any size,
// in print, and without an image request.
func SVGPath(payload string) (side int, d string, err error) {
	grid, err := Modules(payload)
	if err != nil {
		return 0, "", err
	}
	var b strings.Builder
	for y, row := range grid {
		for x := 0; x < len(row); {
			if !row[x] {
				x++
				continue
			}
			run := 1
			for x+run < len(row) && row[x+run] {
				run++
			}
			fmt.Fprintf(&b, "M%d %dh%dv1h-%dz", x, y, run, run)
			x += run
		}
	}
	return len(grid), b.String(), nil
}
