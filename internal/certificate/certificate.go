// Package certificate draws a campaign certificate as a PNG image for
// download and print: title, nickname, campaign and score, tier, date,
// verification code and a QR code of the public verification page.
//
// The text comes localized from the caller; the package only lays it out.
// Its fonts (subsets of Noto Serif CJK SC, made by
// scripts/certificate-fonts.sh) are embedded, so nothing is read at run
// time. A character the fonts lack is drawn as Missing (□).
package certificate

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"strings"
)

// Width and Height are the image size in pixels: A4 landscape
// (297 × 210 mm) at about 137 dpi, enough for a sharp print and a phone.
const (
	Width  = 1600
	Height = 1131
)

// Data is what a certificate shows, each line already localized.
type Data struct {
	Title     string // 科学素质答题证书
	Lead      string // 兹证明
	Nickname  string
	Body      string      // 参加「…」，成绩 18 / 20 分，特发此证。
	Tier      string      // 等级：…; empty for campaigns without tiers
	Division  string      // 组别：…; empty for campaigns without divisions
	Date      string      // 日期：2026-05-01 (the caller picks the time zone)
	Code      string      // 验证编号：…
	Issuer    string      // the issuing organization (常德市科学技术协会), under the emblem or seal
	Seal      image.Image // the issuer's seal, drawn instead of the emblem; nil: the emblem
	ScanHint  string      // 扫码验证, under the QR code
	VerifyURL string      // the QR code's payload, printed small as well
}

var (
	paper = color.RGBA{0xFF, 0xFD, 0xF7, 0xFF}
	gold  = color.RGBA{0xB0, 0x8A, 0x2E, 0xFF}
	brown = color.RGBA{0x8A, 0x5A, 0x00, 0xFF}
	mark  = color.RGBA{0xF7, 0xF0, 0xE0, 0xFF} // the watermark: a faint tint of gold
	ink   = color.RGBA{0x1A, 0x1A, 0x1A, 0xFF}
	text  = color.RGBA{0x2B, 0x2B, 0x2B, 0xFF}
	muted = color.RGBA{0x6B, 0x6B, 0x6B, 0xFF}
)

// PNG draws d and writes it to w as a PNG image of Width × Height.
func PNG(w io.Writer, d Data) error {
	img, err := Draw(d)
	if err != nil {
		return err
	}
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(w, img); err != nil {
		return fmt.Errorf("certificate: encode: %w", err)
	}
	return nil
}

// Draw draws d on a new image of Width × Height. It fails only when the
// QR code cannot hold VerifyURL (longer than about 2,000 bytes).
func Draw(d Data) (*image.RGBA, error) {
	img := image.NewRGBA(image.Rect(0, 0, Width, Height))
	rect(img, img.Bounds(), paper)
	p, err := newPen(img)
	if err != nil {
		return nil, err
	}
	const cx = Width / 2

	// Watermark, border and corners.
	atom(img, mark, cx, 560, 330)
	frame(img, image.Rect(34, 34, Width-34, Height-34), 12, gold)
	frame(img, image.Rect(58, 58, Width-58, Height-58), 3, gold)
	for _, c := range [][2]int{{76, 76}, {Width - 76, 76}, {76, Height - 76}, {Width - 76, Height - 76}} {
		dx, dy := 1, 1
		if c[0] > cx {
			dx = -1
		}
		if c[1] > Height/2 {
			dy = -1
		}
		corner(img, c[0], c[1], dx, dy)
	}

	// Title and divider.
	title := style{size: 84, color: brown, title: true}
	if allWide(d.Title) {
		title.tracking = 0.2 * title.size
	}
	if title, err = p.fit(d.Title, title, 1200, 40); err != nil {
		return nil, err
	}
	if _, err := p.center(d.Title, title, cx, 214); err != nil {
		return nil, err
	}
	rect(img, image.Rect(cx-280, 265, cx-26, 267), gold)
	rect(img, image.Rect(cx+26, 265, cx+280, 267), gold)
	diamond(img, gold, cx, 266, 10)

	// Who, what and how well.
	if _, err := p.center(d.Lead, style{size: 36, color: muted}, cx, 352); err != nil {
		return nil, err
	}
	name, err := p.fit(d.Nickname, style{size: 80, color: ink}, 1100, 36)
	if err != nil {
		return nil, err
	}
	nameW, err := p.center(d.Nickname, name, cx, 462)
	if err != nil {
		return nil, err
	}
	half := max(nameW+120, 480) / 2
	rect(img, image.Rect(int(cx-half), 492, int(cx+half), 494), gold)

	body := style{size: 40, color: text}
	var lines []string
	for {
		if lines, err = p.wrap(d.Body, body, 1160); err != nil {
			return nil, err
		}
		if len(lines) <= 3 || body.size <= 26 {
			break
		}
		body.size -= 2
	}
	lead := body.size * 1.6
	if len(lines) > 3 { // only for a campaign title of a few hundred characters
		lines[2] = strings.TrimRight(lines[2], " ") + "…"
		lines = lines[:3]
	}
	// The lines (and the tier) sit in the middle of the band between the
	// nickname and the bottom row; 0.7 of a line's height is above its baseline.
	const bandTop, bandBottom = 520.0, 800.0
	block := lead * float64(len(lines))
	var extra []string // the division and the tier, each a line of its own under the body
	for _, e := range []string{d.Division, d.Tier} {
		if e != "" {
			extra = append(extra, e)
			block += lead + 12
		}
	}
	y := bandTop + (bandBottom-bandTop-block)/2 + 0.7*lead
	for _, l := range lines {
		if _, err := p.center(l, body, cx, y); err != nil {
			return nil, err
		}
		y += lead
	}
	for _, e := range extra {
		if _, err := p.center(e, style{size: 42, color: brown}, cx, y+12); err != nil {
			return nil, err
		}
		y += lead + 12
	}

	// Bottom row: emblem and issuer, date and code, QR code.
	if d.Seal != nil {
		seal(img, d.Seal, 290, 880, 200)
	} else {
		atom(img, gold, 290, 880, 88)
	}
	issuer, err := p.fit(d.Issuer, style{size: 28, color: brown, tracking: 4}, 420, 16)
	if err != nil {
		return nil, err
	}
	if _, err := p.center(d.Issuer, issuer, 290, 1012); err != nil {
		return nil, err
	}
	small := style{size: 30, color: text}
	if _, err := p.center(d.Date, small, cx, 880); err != nil {
		return nil, err
	}
	if _, err := p.center(d.Code, small, cx, 932); err != nil {
		return nil, err
	}
	url, err := p.fit(d.VerifyURL, style{size: 20, color: muted}, 640, 12)
	if err != nil {
		return nil, err
	}
	if _, err := p.center(d.VerifyURL, url, cx, 980); err != nil {
		return nil, err
	}
	if _, err := qr(img, d.VerifyURL, 1310, 862, 240); err != nil {
		return nil, err
	}
	if _, err := p.center(d.ScanHint, style{size: 26, color: muted}, 1310, 1012); err != nil {
		return nil, err
	}
	return img, nil
}

// corner draws an ornament in a corner at (x, y): two lines running
// inwards (dx, dy give the directions) and a diamond.
func corner(img *image.RGBA, x, y, dx, dy int) {
	const n, w = 90, 4
	h := image.Rect(x, y, x+dx*n, y+dy*w).Canon()
	v := image.Rect(x, y, x+dx*w, y+dy*n).Canon()
	rect(img, h, gold)
	rect(img, v, gold)
	diamond(img, gold, float64(x+dx*22), float64(y+dy*22), 8)
}

// allWide reports whether s is all CJK (then its letters are spaced out).
func allWide(s string) bool {
	for _, r := range s {
		if !wide(r) {
			return false
		}
	}
	return s != ""
}
