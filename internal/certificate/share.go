package certificate

import (
	"fmt"
	"image"
	"image/png"
	"io"
	"strings"
)

// ShareWidth and ShareHeight are the share card's size: a phone screen of
// 390 × 693 CSS pixels at twice the density, what WeChat shows full width.
const (
	ShareWidth  = 780
	ShareHeight = 1386
)

// Share is what a share card shows, each line already localized.
type Share struct {
	Site     string // 科普答题
	Title    string // the certificate title (campaign.cert_image_title)
	Nickname string // masked by the caller for under-14s
	Campaign string
	Score    string // 18 / 20
	ScoreTag string // 成绩
	Tier     string // 等级：…; "" for none
	Date     string // 2026-05-01（北京时间）
	Issuer   string
	Seal     image.Image // nil: none
	ScanHint string      // 扫码一起来答题
	URL      string      // the campaign page: the QR code's payload
}

// SharePNG draws the share card of d and writes it to w as a PNG image of
// ShareWidth × ShareHeight.
func SharePNG(w io.Writer, d Share) error {
	img, err := DrawShare(d)
	if err != nil {
		return err
	}
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(w, img); err != nil {
		return fmt.Errorf("certificate: encode share card: %w", err)
	}
	return nil
}

// DrawShare draws the share card: the site, the certificate title, who,
// which campaign, the score large, the tier and date, the issuer with its
// seal, and a QR code of the campaign page. It fails only when the QR code
// cannot hold URL.
func DrawShare(d Share) (*image.RGBA, error) {
	img := image.NewRGBA(image.Rect(0, 0, ShareWidth, ShareHeight))
	rect(img, img.Bounds(), paper)
	p, err := newPen(img)
	if err != nil {
		return nil, err
	}
	const cx = ShareWidth / 2
	atom(img, mark, cx, 620, 250)
	frame(img, image.Rect(24, 24, ShareWidth-24, ShareHeight-24), 8, gold)
	frame(img, image.Rect(42, 42, ShareWidth-42, ShareHeight-42), 2, gold)

	if _, err := p.center(d.Site, style{size: 30, color: brown, tracking: 6}, cx, 130); err != nil {
		return nil, err
	}
	title := style{size: 60, color: brown, title: true}
	if allWide(d.Title) {
		title.tracking = 0.12 * title.size
	}
	if title, err = p.fit(d.Title, title, 640, 28); err != nil {
		return nil, err
	}
	if _, err := p.center(d.Title, title, cx, 226); err != nil {
		return nil, err
	}
	rect(img, image.Rect(cx-200, 262, cx-20, 264), gold)
	rect(img, image.Rect(cx+20, 262, cx+200, 264), gold)
	diamond(img, gold, cx, 263, 8)

	name, err := p.fit(d.Nickname, style{size: 56, color: ink}, 640, 28)
	if err != nil {
		return nil, err
	}
	if _, err := p.center(d.Nickname, name, cx, 360); err != nil {
		return nil, err
	}
	body := style{size: 34, color: text}
	lines, err := p.wrap(d.Campaign, body, 640)
	if err != nil {
		return nil, err
	}
	if len(lines) > 2 {
		lines[1] = strings.TrimRight(lines[1], " ") + "…"
		lines = lines[:2]
	}
	y := 432.0
	for _, l := range lines {
		if _, err := p.center(l, body, cx, y); err != nil {
			return nil, err
		}
		y += 50
	}
	if _, err := p.center(d.ScoreTag, style{size: 28, color: muted}, cx, 556); err != nil {
		return nil, err
	}
	score, err := p.fit(d.Score, style{size: 120, color: brown}, 640, 40)
	if err != nil {
		return nil, err
	}
	if _, err := p.center(d.Score, score, cx, 680); err != nil {
		return nil, err
	}
	y = 760
	if d.Tier != "" {
		if _, err := p.center(d.Tier, style{size: 38, color: brown}, cx, y); err != nil {
			return nil, err
		}
		y += 56
	}
	if _, err := p.center(d.Date, style{size: 28, color: muted}, cx, y); err != nil {
		return nil, err
	}

	// The QR code of the campaign and its hint; the issuer with its seal.
	if _, err := qr(img, d.URL, cx, 1020, 280); err != nil {
		return nil, err
	}
	if _, err := p.center(d.ScanHint, style{size: 28, color: text}, cx, 1196); err != nil {
		return nil, err
	}
	issuer, err := p.fit(d.Issuer, style{size: 28, color: brown, tracking: 3}, 520, 16)
	if err != nil {
		return nil, err
	}
	if _, err := p.center(d.Issuer, issuer, cx, 1290); err != nil {
		return nil, err
	}
	if d.Seal != nil {
		seal(img, d.Seal, ShareWidth-150, 1240, 150)
	}
	return img, nil
}
