package server

import (
	"bytes"
	"context"
	"fmt"
	"html/template"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/kepu/kepu/internal/kepu"
	"github.com/kepu/kepu/internal/literacy"
	"github.com/kepu/kepu/web"
)

// The five-year report's PDF is the report page printed by headless
// Chromium (--print-to-pdf), when the server has a Chromium: the same
// page, print CSS and ECharts charts as on screen, fonts included. The
// page is rendered to a self-contained file first (styles and scripts
// inlined, the report's data embedded), so Chromium needs no session and
// no network. Without Chromium the download answers 503 and the page
// hides its button; the browser's own Print → Save as PDF gives the same
// document from the same print CSS (docs/measurement.md says why there
// is no pure-Go fallback).

// chromiumNames are the executables tried, in order, on the PATH.
var chromiumNames = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless_shell"}

// chromiumPath is the Chromium the server prints with ("" when none).
var chromiumPath = sync.OnceValue(func() string {
	for _, n := range chromiumNames {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	return ""
})

// pdfSlot lets one instance print one PDF at a time (Chromium takes a few
// hundred MB and a core for a second or two).
var pdfSlot = make(chan struct{}, 1)

// pdfTimeout bounds one Chromium run.
const pdfTimeout = 60 * time.Second

func (s *Server) literacyReportPDF(c *fiber.Ctx) error {
	bin := chromiumPath()
	if bin == "" {
		return kepu.Errorf(kepu.EUNAVAILABLE, "error.literacy_pdf_unavailable")
	}
	r, err := s.fiveYear(c)
	if err != nil {
		return err
	}
	doc, err := s.standaloneReport(c, r)
	if err != nil {
		return err
	}
	select {
	case pdfSlot <- struct{}{}:
		defer func() { <-pdfSlot }()
	case <-c.UserContext().Done():
		return kepu.Errorf(kepu.EUNAVAILABLE, "error.busy").With("seconds", 5)
	}
	pdf, err := printPDF(c.UserContext(), bin, doc)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "application/pdf")
	c.Set(fiber.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="kepu-report-%d-%d.pdf"`, r.From, r.To))
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Send(pdf)
}

// standaloneReport renders the report page's content into one HTML file
// with its styles and scripts inlined.
func (s *Server) standaloneReport(c *fiber.Ctx, r literacy.Report) ([]byte, error) {
	t, ok := s.pages.sets["literacy_report"]
	if !ok {
		return nil, fmt.Errorf("server: no page literacy_report")
	}
	lang := langOf(c)
	data := s.reportData(c, r)
	p := Page{Lang: lang, TitleKey: "literacy.report_title", User: currentUser(c), Data: data, bundle: s.i18n}
	var content bytes.Buffer
	if err := t.ExecuteTemplate(&content, "content", p); err != nil {
		return nil, fmt.Errorf("server: render report: %w", err)
	}
	read := func(name string) (string, error) {
		b, err := fs.ReadFile(web.Static, "static/"+name)
		return string(b), err
	}
	var css strings.Builder
	for _, f := range []string{"css/kepu.css", "css/dash.css", "css/literacy.css"} {
		b, err := read(f)
		if err != nil {
			return nil, fmt.Errorf("server: report pdf: %w", err)
		}
		css.WriteString(b)
	}
	echarts, err := read("vendor/echarts/echarts.min.js")
	if err != nil {
		return nil, err
	}
	script, err := read("js/literacy_report.js")
	if err != nil {
		return nil, err
	}
	// The page script imports ECharts as a module; here it is inlined before.
	script = strings.Replace(script, "import '../vendor/echarts/echarts.min.js';", "", 1)
	var doc bytes.Buffer
	fmt.Fprintf(&doc, "<!doctype html>\n<html lang=\"%s\"><head><meta charset=\"utf-8\"><title>%s</title><style>%s</style></head>\n<body class=\"pdf\"><main>",
		template.HTMLEscapeString(lang), template.HTMLEscapeString(p.T("literacy.report_title")), css.String())
	doc.Write(content.Bytes())
	fmt.Fprintf(&doc, "</main><script>%s</script><script type=\"module\">%s</script></body></html>", echarts, script)
	return doc.Bytes(), nil
}

// printPDF prints an HTML document with headless Chromium.
func printPDF(ctx context.Context, bin string, doc []byte) ([]byte, error) {
	dir, err := os.MkdirTemp("", "kepu-pdf-")
	if err != nil {
		return nil, fmt.Errorf("server: pdf: %w", err)
	}
	defer os.RemoveAll(dir)
	in, out := filepath.Join(dir, "report.html"), filepath.Join(dir, "report.pdf")
	if err := os.WriteFile(in, doc, 0o600); err != nil {
		return nil, fmt.Errorf("server: pdf: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, pdfTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
		"--no-first-run", "--no-default-browser-check", "--disable-extensions", "--user-data-dir="+filepath.Join(dir, "profile"),
		"--no-pdf-header-footer", "--run-all-compositor-stages-before-draw", "--virtual-time-budget=10000",
		"--print-to-pdf="+out, "file://"+in)
	if msg, err := cmd.CombinedOutput(); err != nil {
		if ctx.Err() != nil {
			return nil, kepu.Errorf(kepu.EUNAVAILABLE, "error.busy").With("seconds", 30)
		}
		return nil, fmt.Errorf("server: chromium print: %w: %s", err, lastLine(msg))
	}
	pdf, err := os.ReadFile(out)
	if err != nil || !bytes.HasPrefix(pdf, []byte("%PDF")) {
		return nil, fmt.Errorf("server: chromium printed no pdf: %v", err)
	}
	return pdf, nil
}

func lastLine(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return lines[len(lines)-1]
}
