package certificate

import (
	"fmt"
	xdraw "golang.org/x/image/draw"
	"image"
	"image/color"
	"image/draw"
	"math"

	"golang.org/x/image/vector"

	qrcode "github.com/kepu/kepu/internal/qr"
)

// rect fills r with c.
func rect(img *image.RGBA, r image.Rectangle, c color.Color) {
	draw.Draw(img, r, image.NewUniform(c), image.Point{}, draw.Over)
}

// frame draws a rectangle outline of width w inside r.
func frame(img *image.RGBA, r image.Rectangle, w int, c color.Color) {
	rect(img, image.Rect(r.Min.X, r.Min.Y, r.Max.X, r.Min.Y+w), c)
	rect(img, image.Rect(r.Min.X, r.Max.Y-w, r.Max.X, r.Max.Y), c)
	rect(img, image.Rect(r.Min.X, r.Min.Y+w, r.Min.X+w, r.Max.Y-w), c)
	rect(img, image.Rect(r.Max.X-w, r.Min.Y+w, r.Max.X, r.Max.Y-w), c)
}

type pt struct{ x, y float64 }

// fill fills the closed polygons with c, anti-aliased. Overlapping polygons
// of opposite winding cancel, so a ring is an outer polygon and a reversed
// inner one.
func fill(img *image.RGBA, c color.Color, polys ...[]pt) {
	minX, minY, maxX, maxY := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, poly := range polys {
		for _, q := range poly {
			minX, minY = min(minX, q.x), min(minY, q.y)
			maxX, maxY = max(maxX, q.x), max(maxY, q.y)
		}
	}
	b := image.Rect(int(math.Floor(minX)), int(math.Floor(minY)), int(math.Ceil(maxX))+1, int(math.Ceil(maxY))+1).
		Intersect(img.Bounds())
	if b.Empty() {
		return
	}
	z := vector.NewRasterizer(b.Dx(), b.Dy())
	for _, poly := range polys {
		for i, q := range poly {
			x, y := float32(q.x-float64(b.Min.X)), float32(q.y-float64(b.Min.Y))
			if i == 0 {
				z.MoveTo(x, y)
			} else {
				z.LineTo(x, y)
			}
		}
		z.ClosePath()
	}
	z.Draw(img, b, image.NewUniform(c), image.Point{})
}

// ellipse is a polygon around (cx, cy) with semi-axes a and b, turned by
// angle radians; reverse runs it the other way round.
func ellipse(cx, cy, a, b, angle float64, reverse bool) []pt {
	const n = 96
	out := make([]pt, n)
	sin, cos := math.Sincos(angle)
	for i := range n {
		t := 2 * math.Pi * float64(i) / n
		if reverse {
			t = -t
		}
		x, y := a*math.Cos(t), b*math.Sin(t)
		out[i] = pt{cx + x*cos - y*sin, cy + x*sin + y*cos}
	}
	return out
}

// ring strokes an ellipse with a line of width w.
func ring(img *image.RGBA, c color.Color, cx, cy, a, b, angle, w float64) {
	fill(img, c, ellipse(cx, cy, a+w/2, b+w/2, angle, false), ellipse(cx, cy, a-w/2, b-w/2, angle, true))
}

// atom draws the emblem of science: three electron orbits and a nucleus
// inside a double circle of radius r.
func atom(img *image.RGBA, c color.Color, cx, cy, r float64) {
	ring(img, c, cx, cy, r, r, 0, r*0.05)
	ring(img, c, cx, cy, r*0.88, r*0.88, 0, r*0.015)
	for i := range 3 {
		ring(img, c, cx, cy, r*0.66, r*0.24, float64(i)*math.Pi/3, r*0.035)
	}
	fill(img, c, ellipse(cx, cy, r*0.09, r*0.09, 0, false))
}

// diamond fills a square turned 45° with half-diagonal h.
func diamond(img *image.RGBA, c color.Color, cx, cy, h float64) {
	fill(img, c, []pt{{cx, cy - h}, {cx + h, cy}, {cx, cy + h}, {cx - h, cy}})
}

// qr draws the QR code of payload (medium error correction, with its quiet
// zone on white) in a square of at most size pixels centred on (cx, cy),
// whole pixels per module so that it stays sharp; it returns the side drawn.
func qr(img *image.RGBA, payload string, cx, cy, size int) (int, error) {
	bm, err := qrcode.Modules(payload)
	if err != nil {
		return 0, fmt.Errorf("certificate: qr: %w", err)
	}
	mod := size / len(bm)
	if mod < 1 {
		return 0, fmt.Errorf("certificate: qr: %d modules do not fit in %d pixels", len(bm), size)
	}
	side := mod * len(bm)
	x0, y0 := cx-side/2, cy-side/2
	rect(img, image.Rect(x0, y0, x0+side, y0+side), color.White)
	for y, row := range bm {
		for x, on := range row {
			if on {
				rect(img, image.Rect(x0+x*mod, y0+y*mod, x0+(x+1)*mod, y0+(y+1)*mod), color.Black)
			}
		}
	}
	return side, nil
}

// seal draws img scaled to fit a square of size pixels centred on (cx, cy),
// keeping its proportions, over what is there (a PNG seal's transparency
// shows the paper).
func seal(dst *image.RGBA, img image.Image, cx, cy, size int) {
	b := img.Bounds()
	w, h := size, size
	if b.Dx() > b.Dy() {
		h = size * b.Dy() / b.Dx()
	} else {
		w = size * b.Dx() / b.Dy()
	}
	r := image.Rect(cx-w/2, cy-h/2, cx-w/2+w, cy-h/2+h)
	xdraw.CatmullRom.Scale(dst, r, img, b, xdraw.Over, nil)
}
