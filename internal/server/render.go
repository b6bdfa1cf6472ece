package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/kepu/kepu/internal/account"
	"github.com/kepu/kepu/internal/i18n"
	"github.com/kepu/kepu/internal/kepu"
	"github.com/kepu/kepu/web"
)

// pages holds one parsed template set per page: the layout plus the page.
type pages struct {
	sets map[string]*template.Template
}

var templateFuncs = template.FuncMap{
	"asset": asset,
	"json": func(v any) (template.JS, error) {
		b, err := json.Marshal(v)
		return template.JS(b), err
	},
	"contains": func(list []string, s string) bool { return kepu.Contains(list, s) },
	// bjtime, bjsecond and isotime format a time in Beijing time (kepu.FormatTime).
	"bjtime":   func(t time.Time) string { return kepu.FormatTime(t, kepu.LayoutMinute) },
	"bjsecond": func(t time.Time) string { return kepu.FormatTime(t, kepu.LayoutSecond) },
	"isotime":  kepu.ISOTime,
}

// loadPages returns the parsed page templates. They are the same for every
// server of the process (embedded files, fixed functions) and a parsed
// html/template set is safe for concurrent use, so they are parsed once.
var loadPages = sync.OnceValues(parsePages)

// parsePages parses the layout and the partials once, then each page into
// its own clone of them.
func parsePages() (*pages, error) {
	layout, err := fs.ReadFile(web.Templates, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("server: layout: %w", err)
	}
	files, err := fs.Glob(web.Templates, "templates/*.html")
	if err != nil {
		return nil, err
	}
	partials, err := fs.Glob(web.Templates, "templates/partials/*.html")
	if err != nil {
		return nil, err
	}
	base, err := template.New("layout").Funcs(templateFuncs).Parse(string(layout))
	if err != nil {
		return nil, fmt.Errorf("server: parse layout: %w", err)
	}
	for _, pf := range partials {
		pb, err := fs.ReadFile(web.Templates, pf)
		if err != nil {
			return nil, err
		}
		if _, err := base.New(path.Base(pf)).Parse(string(pb)); err != nil {
			return nil, fmt.Errorf("server: parse %s: %w", pf, err)
		}
	}
	p := &pages{sets: map[string]*template.Template{}}
	for _, f := range files {
		name := strings.TrimSuffix(path.Base(f), ".html")
		if name == "layout" {
			continue
		}
		body, err := fs.ReadFile(web.Templates, f)
		if err != nil {
			return nil, err
		}
		t, err := base.Clone()
		if err != nil {
			return nil, fmt.Errorf("server: clone layout for %s: %w", f, err)
		}
		if _, err := t.New(name).Parse(string(body)); err != nil {
			return nil, fmt.Errorf("server: parse %s: %w", f, err)
		}
		p.sets[name] = t
	}
	return p, nil
}

// Page is what every template sees.
type Page struct {
	Lang      string
	OtherLang string
	TitleKey  string
	User      *account.User
	CSRF      string
	Path      string
	Next      string
	Data      any
	Scripts   []string // static js files (module scripts) this page loads
	bundle    *i18n.Bundle
}

// T translates key; kv are alternating parameter names and values.
func (p Page) T(key string, kv ...any) string {
	var params map[string]any
	if len(kv) > 1 {
		params = map[string]any{}
		for i := 0; i+1 < len(kv); i += 2 {
			params[fmt.Sprint(kv[i])] = kv[i+1]
		}
	}
	return p.bundle.T(p.Lang, key, params)
}

// Label is message key followed by the colon of the page's language, for
// "label: value" text: "用户名：" in Chinese, "Username: " in English.
func (p Page) Label(key string, kv ...any) string {
	if p.Lang == "en" {
		return p.T(key, kv...) + ": "
	}
	return p.T(key, kv...) + "："
}

// Messages returns the messages with prefix as JSON for page scripts.
func (p Page) Messages(prefixes ...string) map[string]string {
	out := map[string]string{}
	for _, pre := range prefixes {
		for k, v := range p.bundle.Messages(p.Lang, pre) {
			out[k] = v
		}
	}
	return out
}

// Role reports whether the user has one of the named roles.
func (p Page) Role(roles ...string) bool {
	if p.User == nil {
		return false
	}
	for _, r := range roles {
		if string(p.User.Role) == r {
			return true
		}
	}
	return false
}

// render writes the named page with status 200.
func (s *Server) render(c *fiber.Ctx, name, titleKey string, data any, scripts ...string) error {
	return s.renderStatus(c, fiber.StatusOK, name, titleKey, data, scripts...)
}

func (s *Server) renderStatus(c *fiber.Ctx, status int, name, titleKey string, data any, scripts ...string) error {
	t, ok := s.pages.sets[name]
	if !ok {
		return fmt.Errorf("server: no page %q", name)
	}
	lang := langOf(c)
	other := "en"
	if lang == "en" {
		other = "zh-CN"
	}
	next := "/" // where the login link and the language switch return to: this page, if it can be fetched again
	if c.Method() == fiber.MethodGet {
		next = safeNext(c.OriginalURL())
	}
	p := Page{
		Lang: lang, OtherLang: other, TitleKey: titleKey, User: currentUser(c), CSRF: s.csrfToken(c),
		Path: c.Path(), Next: next, Data: data, Scripts: scripts, bundle: s.i18n,
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", p); err != nil {
		return fmt.Errorf("server: render %s: %w", name, err)
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Type("html", "utf-8")
	return c.Status(status).Send(buf.Bytes())
}

func (s *Server) renderError(c *fiber.Ctx, status int, msg string) error {
	if err := s.renderStatus(c, status, "error", "error.title", msg); err != nil {
		c.Type("txt", "utf-8")
		return c.Status(status).SendString(msg)
	}
	return nil
}
