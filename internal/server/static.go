package server

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"net/http"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/filesystem"

	"github.com/kepu/kepu/web"
)

// assetVersion is a hash of every static file, appended to asset URLs so
// browsers may cache them for a year and still see each release's files.
var assetVersion = func() string {
	h := sha256.New()
	fs.WalkDir(web.Static, "static", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := fs.ReadFile(web.Static, p)
			h.Write([]byte(p))
			h.Write(b)
		}
		return nil
	})
	return hex.EncodeToString(h.Sum(nil))[:12]
}()

func (s *Server) staticRoutes() {
	sub, _ := fs.Sub(web.Static, "static")
	s.App.Use("/static", func(c *fiber.Ctx) error {
		if c.Query("v") == assetVersion {
			c.Set(fiber.HeaderCacheControl, "public, max-age=31536000, immutable")
		} else {
			c.Set(fiber.HeaderCacheControl, "public, max-age=300")
		}
		if strings.HasSuffix(c.Path(), ".js") || strings.HasSuffix(c.Path(), ".mjs") {
			c.Type("js", "utf-8")
		}
		return c.Next()
	}, filesystem.New(filesystem.Config{Root: http.FS(sub), Browse: false}))
	// Browsers ask for /favicon.ico on their own (pages name the SVG icon).
	s.App.Get("/favicon.ico", func(c *fiber.Ctx) error {
		return c.Redirect("/static/img/favicon.svg", fiber.StatusMovedPermanently)
	})
}

// asset returns the cache-busting URL of a static file.
func asset(p string) string { return "/static/" + p + "?v=" + assetVersion }
