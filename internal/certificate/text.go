package certificate

import (
	_ "embed"
	"fmt"
	"image"
	"image/color"
	"strings"
	"sync"
	"unicode"

	"golang.org/x/image/font"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
	"golang.org/x/text/unicode/norm"
)

// The fonts are subsets of Noto Serif CJK SC made by
// scripts/certificate-fonts.sh (SIL OFL 1.1, fonts/OFL.txt).
var (
	//go:embed fonts/NotoSerifSC-Regular.subset.otf
	bodyOTF []byte
	//go:embed fonts/NotoSerifSC-Bold.title.otf
	titleOTF []byte
)

// Missing is drawn in place of a character that the embedded font lacks
// (a rare hanzi or an emoji in a nickname): the white square that Chinese
// typesetting uses for a missing character.
const Missing = '□'

type fontSet struct{ body, title *sfnt.Font }

// loadFonts parses the embedded fonts once. A parsed sfnt.Font is safe for
// concurrent use; faces and buffers are made per drawing.
var loadFonts = sync.OnceValues(func() (fontSet, error) {
	body, err := opentype.Parse(bodyOTF)
	if err != nil {
		return fontSet{}, fmt.Errorf("certificate: body font: %w", err)
	}
	title, err := opentype.Parse(titleOTF)
	if err != nil {
		return fontSet{}, fmt.Errorf("certificate: title font: %w", err)
	}
	return fontSet{body: body, title: title}, nil
})

// style is how a piece of text is drawn: size in pixels, colour, the title
// face first (falling back to the body face per character), and extra
// space after each character in pixels.
type style struct {
	size     float64
	color    color.Color
	title    bool
	tracking float64
}

// glyph is one character with the face that has it.
type glyph struct {
	r    rune
	face font.Face
	adv  fixed.Int26_6
}

// pen draws text on one image; it is not safe for concurrent use.
type pen struct {
	img   *image.RGBA
	fonts fontSet
	buf   sfnt.Buffer
	faces map[faceKey]font.Face
}

type faceKey struct {
	f    *sfnt.Font
	size float64
}

func newPen(img *image.RGBA) (*pen, error) {
	fs, err := loadFonts()
	if err != nil {
		return nil, err
	}
	return &pen{img: img, fonts: fs, faces: map[faceKey]font.Face{}}, nil
}

func (p *pen) face(f *sfnt.Font, size float64) (font.Face, error) {
	k := faceKey{f, size}
	if fc, ok := p.faces[k]; ok {
		return fc, nil
	}
	fc, err := opentype.NewFace(f, &opentype.FaceOptions{Size: size, DPI: 72, Hinting: font.HintingNone})
	if err != nil {
		return nil, fmt.Errorf("certificate: face: %w", err)
	}
	p.faces[k] = fc
	return fc, nil
}

// has reports whether f has a glyph for r.
func (p *pen) has(f *sfnt.Font, r rune) bool {
	x, err := f.GlyphIndex(&p.buf, r)
	return err == nil && x != 0
}

// clean prepares outside text (nicknames, campaign titles) for drawing:
// NFC, line breaks and tabs as spaces, and no control, format or
// combining characters left over (they have nothing to draw on their own).
func clean(s string) string {
	s = norm.NFC.String(s)
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\r' || r == '\t':
			return ' '
		case unicode.IsControl(r) || unicode.In(r, unicode.Cf, unicode.Mn, unicode.Me):
			return -1
		}
		return r
	}, s)
}

// glyphs maps s to glyphs: each character in the first face of the style
// that has it, else Missing in the body face.
func (p *pen) glyphs(s string, st style) ([]glyph, error) {
	chain := []*sfnt.Font{p.fonts.body}
	if st.title {
		chain = []*sfnt.Font{p.fonts.title, p.fonts.body}
	}
	var out []glyph
	for _, r := range clean(s) {
		f := p.fonts.body
		found := false
		for _, c := range chain {
			if p.has(c, r) {
				f, found = c, true
				break
			}
		}
		if !found {
			r = Missing
		}
		fc, err := p.face(f, st.size)
		if err != nil {
			return nil, err
		}
		adv, _ := fc.GlyphAdvance(r)
		out = append(out, glyph{r: r, face: fc, adv: adv})
	}
	return out, nil
}

// width is the advance of gs in pixels.
func width(gs []glyph, st style) float64 {
	var w fixed.Int26_6
	for _, g := range gs {
		w += g.adv
	}
	return float64(w)/64 + st.tracking*float64(max(len(gs)-1, 0))
}

// measure is the width of s in pixels.
func (p *pen) measure(s string, st style) (float64, error) {
	gs, err := p.glyphs(s, st)
	if err != nil {
		return 0, err
	}
	return width(gs, st), nil
}

// fit returns st with its size reduced (not below min) until s is at most
// maxW pixels wide.
func (p *pen) fit(s string, st style, maxW, min float64) (style, error) {
	for {
		w, err := p.measure(s, st)
		if err != nil || w <= maxW || st.size <= min {
			return st, err
		}
		st.size = max(min, st.size*maxW/w-1)
	}
}

// draw writes s with its baseline at y, starting at x; it returns the width.
func (p *pen) draw(s string, st style, x, y float64) (float64, error) {
	gs, err := p.glyphs(s, st)
	if err != nil {
		return 0, err
	}
	d := font.Drawer{Dst: p.img, Src: image.NewUniform(st.color)}
	dot := fixed.Point26_6{X: fixed.Int26_6(x * 64), Y: fixed.Int26_6(y * 64)}
	for _, g := range gs {
		d.Face, d.Dot = g.face, dot
		d.DrawString(string(g.r))
		dot.X += g.adv + fixed.Int26_6(st.tracking*64)
	}
	return width(gs, st), nil
}

// center draws s centred on cx with its baseline at y.
func (p *pen) center(s string, st style, cx, y float64) (float64, error) {
	w, err := p.measure(s, st)
	if err != nil {
		return 0, err
	}
	return p.draw(s, st, cx-w/2, y)
}

// wrap breaks s into as few lines at most maxW pixels wide as it can, of
// about equal width: between words of Latin text, between any two CJK
// characters, never before closing or after opening punctuation, nor
// inside a score such as "18 / 20".
func (p *pen) wrap(s string, st style, maxW float64) ([]string, error) {
	s = strings.ReplaceAll(clean(s), " / ", "\u00a0/\u00a0")
	lines, err := p.wrapAt(s, st, maxW)
	if err != nil || len(lines) < 2 {
		return lines, err
	}
	// Balance: the narrowest width that needs no more lines.
	lo, hi := maxW/float64(len(lines)), maxW
	for hi-lo > 4 {
		mid := (lo + hi) / 2
		l, err := p.wrapAt(s, st, mid)
		if err != nil {
			return nil, err
		}
		if len(l) > len(lines) {
			lo = mid
		} else {
			hi, lines = mid, l
		}
	}
	return lines, nil
}

// wrapAt is wrap's greedy pass: each line takes what fits in maxW.
func (p *pen) wrapAt(s string, st style, maxW float64) ([]string, error) {
	var lines []string
	line, lineW := "", 0.0
	for _, tok := range tokens(s) {
		w, err := p.measure(tok, st)
		if err != nil {
			return nil, err
		}
		if line != "" && lineW+w > maxW {
			lines = append(lines, strings.TrimRight(line, " "))
			line, lineW = "", 0
		}
		if line == "" {
			tok = strings.TrimLeft(tok, " ")
			if w, err = p.measure(tok, st); err != nil {
				return nil, err
			}
		}
		line += tok
		lineW += w + st.tracking
	}
	if strings.TrimSpace(line) != "" {
		lines = append(lines, strings.TrimRight(line, " "))
	}
	return lines, nil
}

// tokens splits s into the pieces that wrap keeps together: a Latin word
// with the spaces before it, or one CJK character, each with any closing
// punctuation that follows and opening punctuation that precedes it.
func tokens(s string) []string {
	var out []string
	cur, open := "", "" // the token being built; opening punctuation waiting for what follows
	flush := func() {
		if cur != "" {
			out = append(out, cur)
			cur = ""
		}
	}
	for _, r := range s {
		if strings.ContainsRune(opening, r) {
			if cur != "" && !strings.HasSuffix(cur, " ") {
				flush()
			}
			open += string(r)
			continue
		}
		switch {
		case strings.ContainsRune(closing, r):
			if cur == "" && open == "" && len(out) > 0 {
				out[len(out)-1] += string(r)
			} else {
				cur += open + string(r)
			}
			open = ""
			if wide(r) {
				flush()
			}
			continue
		case r == ' ':
			cur += open
			open = ""
			flush()
			cur = " "
			continue
		case wide(r):
			if strings.TrimSpace(cur) != "" {
				flush()
			}
		}
		cur += open + string(r)
		open = ""
		if wide(r) {
			flush()
		}
	}
	cur += open
	flush()
	return out
}

const (
	closing = "，。、；：？！）」』》〉】”’,.;:?!)%"
	opening = "（「『《〈【“‘("
)

// wide reports whether r is CJK: a line may break before and after it.
func wide(r rune) bool {
	return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul) ||
		(r >= 0x3000 && r <= 0x303F) || (r >= 0xFF00 && r <= 0xFFEF) || r == Missing
}

func lastRune(s string) rune {
	var last rune
	for _, r := range s {
		last = r
	}
	return last
}
