package certificate

import (
	"bytes"
	"encoding/json"
	"image"
	"image/png"
	"io/fs"
	"os"
	"strings"
	"testing"
	"unicode"

	"github.com/kepu/kepu/internal/certificate/certtest"
	"github.com/kepu/kepu/web"
)

func sample() Data {
	return Data{
		Title: "科学素质答题证书", Lead: "兹证明", Nickname: "小明同学",
		Body:      "参加「2026年常德市公民科学素质网络答题（演示）」，成绩 18 / 20 分，特发此证。",
		Tier:      "等级：具备科学素质",
		Date:      "日期：2026-05-01",
		Code:      "验证编号：ABCD2345EFGH",
		Issuer:    "科普答题",
		ScanHint:  "扫码验证",
		VerifyURL: "https://kepu.example.cn/certificates/ABCD2345EFGH",
	}
}

// The PNG decodes to Width × Height; CERT_PREVIEW=file.png keeps a copy to
// look at.
func TestPNG(t *testing.T) {
	var buf bytes.Buffer
	if err := PNG(&buf, sample()); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	if got := img.Bounds().Size(); got != image.Pt(Width, Height) {
		t.Errorf("size: got %v, want %dx%d", got, Width, Height)
	}
	if out := os.Getenv("CERT_PREVIEW"); out != "" {
		if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// A campaign's division is a line of its own in the band under the body
// (brown, like the tier): the body moves up to make room, and the band
// has more brown ink than without it.
func TestDivisionLine(t *testing.T) {
	draw := func(d Data) image.Image {
		var buf bytes.Buffer
		if err := PNG(&buf, d); err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(&buf)
		if err != nil {
			t.Fatal(err)
		}
		return img
	}
	brownInk := func(img image.Image) (n int) {
		for y := 520; y < 800; y++ {
			for x := 0; x < Width; x++ {
				r, g, b, _ := img.At(x, y).RGBA()
				if r>>8 > 0x70 && r>>8 < 0xA0 && g>>8 > 0x40 && g>>8 < 0x70 && b>>8 < 0x30 {
					n++
				}
			}
		}
		return n
	}
	d := sample()
	without := brownInk(draw(d))
	d.Division = "组别：中学组"
	with := brownInk(draw(d))
	if with <= without*3/2 {
		t.Errorf("brown ink in the band: %d with the division line, %d without; want clearly more", with, without)
	}
}

// The QR code in the image decodes to the verification URL.
func TestQRCodeIsVerifyURL(t *testing.T) {
	for _, url := range []string{"https://kepu.example.cn/certificates/ABCD2345EFGH", "http://127.0.0.1:8080/certificates/X"} {
		d := sample()
		d.VerifyURL = url
		img, err := Draw(d)
		if err != nil {
			t.Fatal(err)
		}
		if got := certtest.QRText(t, img); got != url {
			t.Errorf("QR code: got %q, want %q", got, url)
		}
	}
}

// A nickname with characters outside the font subset (a rare hanzi, an
// emoji) is drawn with Missing in their place, never left blank.
func TestMissingCharacters(t *testing.T) {
	p, err := newPen(image.NewRGBA(image.Rect(0, 0, 10, 10)))
	if err != nil {
		t.Fatal(err)
	}
	gs, err := p.glyphs("王𠀾喆😀龍", style{size: 40})
	if err != nil {
		t.Fatal(err)
	}
	var got []rune
	for _, g := range gs {
		got = append(got, g.r)
		if g.adv <= 0 {
			t.Errorf("%q has no advance", g.r)
		}
	}
	if want := []rune("王□喆□□"); string(got) != string(want) {
		t.Errorf("glyphs: got %q, want %q", string(got), string(want))
	}

	// The rare characters leave ink where the nickname goes.
	blank, rare := sample(), sample()
	blank.Nickname, rare.Nickname = "", "𠀾😀"
	a, err := Draw(blank)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Draw(rare)
	if err != nil {
		t.Fatal(err)
	}
	nick := image.Rect(Width/2-200, 380, Width/2+200, 480)
	if differing(a, b, nick) < 500 {
		t.Errorf("a nickname of missing characters drew (almost) nothing: %d pixels differ", differing(a, b, nick))
	}
}

func differing(a, b *image.RGBA, r image.Rectangle) int {
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if a.RGBAAt(x, y) != b.RGBAAt(x, y) {
				n++
			}
		}
	}
	return n
}

// Outside text loses what cannot be drawn and is composed.
func TestClean(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"小明", "小明"},
		{"Jose\u0301", "José"},
		{"a\tb\nc", "a b c"},
		{"x\u200by\u0000z\u202e", "xyz"},
		{"👍🏽\ufe0f", "👍🏽"},
	} {
		if got := clean(tc.in); got != tc.want {
			t.Errorf("clean(%q): got %q, want %q", tc.in, got, tc.want)
		}
	}
}

// Wrapped lines keep the text, break nowhere they should not, and are of
// about equal width.
func TestWrap(t *testing.T) {
	p, err := newPen(image.NewRGBA(image.Rect(0, 0, 10, 10)))
	if err != nil {
		t.Fatal(err)
	}
	st := style{size: 40}
	for _, tc := range []struct {
		name, text string
		maxW       float64
		lines      int
	}{
		{"zh one line", "参加「健康科普周」，成绩 20 / 20 分，特发此证。", 1160, 1},
		{"zh two lines", "参加「2026年常德市公民科学素质网络答题（演示）」，成绩 18 / 20 分，特发此证。", 1160, 2},
		{"en two lines", `took part in "2026 Changde Citizens' Science Literacy Online Quiz (Demo)" and scored 18 / 20.`, 1160, 2},
		{"narrow", "参加「健康科普周」，成绩 18 / 20 分，特发此证。", 200, 0},
		{"a long word", "Pneumonoultramicroscopicsilicovolcanoconiosis", 300, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lines, err := p.wrap(tc.text, st, tc.maxW)
			if err != nil {
				t.Fatal(err)
			}
			if tc.lines > 0 && len(lines) != tc.lines {
				t.Errorf("got %d lines %q, want %d", len(lines), lines, tc.lines)
			}
			joined := strings.ReplaceAll(strings.Join(lines, ""), "\u00a0", " ")
			if strings.ReplaceAll(joined, " ", "") != strings.ReplaceAll(tc.text, " ", "") {
				t.Errorf("lines %q lose text of %q", lines, tc.text)
			}
			for i, l := range lines {
				l = strings.ReplaceAll(l, "\u00a0", " ")
				if r := []rune(l)[0]; i > 0 && strings.ContainsRune(closing, r) {
					t.Errorf("line %d starts with closing punctuation: %q", i, l)
				}
				if r := lastRune(l); i < len(lines)-1 && strings.ContainsRune(opening, r) {
					t.Errorf("line %d ends with opening punctuation: %q", i, l)
				}
				if strings.Contains(l, "18") != strings.Contains(l, "/ 20") && strings.Contains(tc.text, "18 / 20") {
					t.Errorf("the score is split: %q", lines)
				}
			}
			if len(lines) == 2 {
				a, _ := p.measure(lines[0], st)
				b, _ := p.measure(lines[1], st)
				if b < a*0.6 {
					t.Errorf("unbalanced lines %q: %.0f and %.0f px", lines, a, b)
				}
			}
		})
	}
}

// FuzzWrap: any text wraps without loss or panic.
func FuzzWrap(f *testing.F) {
	for _, s := range []string{"参加「健康科普周」，成绩 20 / 20 分。", "a “b” (c) d", "", "  ", "「」，。", "𠀾😀\u0301"} {
		f.Add(s)
	}
	p, err := newPen(image.NewRGBA(image.Rect(0, 0, 10, 10)))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		lines, err := p.wrap(s, style{size: 30}, 300)
		if err != nil {
			t.Fatal(err)
		}
		strip := func(x string) string { // spaces may go at line ends
			return strings.Map(func(r rune) rune {
				if unicode.IsSpace(r) {
					return -1
				}
				return r
			}, x)
		}
		if got, want := strip(strings.Join(lines, "")), strip(clean(s)); got != want {
			t.Errorf("wrap(%q): lines %q, want the text %q", s, lines, want)
		}
	})
}

// Every character of the certificate title in every locale is in the bold
// title font: after changing campaign.cert_image_title, run
// scripts/certificate-fonts.sh.
func TestTitleFontCoversTitles(t *testing.T) {
	files, err := fs.Glob(web.Locales, "locales/*/campaign.json")
	if err != nil || len(files) < 2 {
		t.Fatalf("locale files: %v %v", files, err)
	}
	fonts, err := loadFonts()
	if err != nil {
		t.Fatal(err)
	}
	p := &pen{fonts: fonts}
	for _, f := range files {
		b, err := fs.ReadFile(web.Locales, f)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]string
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		title := m["campaign.cert_image_title"]
		if title == "" {
			t.Errorf("%s: no campaign.cert_image_title", f)
		}
		for _, r := range title {
			if !p.has(fonts.title, r) {
				t.Errorf("%s: title character %q is not in fonts/NotoSerifSC-Bold.title.otf; run scripts/certificate-fonts.sh", f, r)
			}
		}
	}
}
