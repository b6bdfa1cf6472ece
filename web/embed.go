// Package web embeds Kepu's pages, static assets and locale files in the
// binary: nothing is loaded from outside it or from a CDN.
package web

import "embed"

// Templates holds templates/*.html (html/template, escaped by default).
//
//go:embed templates
var Templates embed.FS

// Static holds static/ (css, js, vendored libraries with their licenses).
//
//go:embed static
var Static embed.FS

// Locales holds locales/<lang>/*.json: flat maps from message key to text.
//
//go:embed locales
var Locales embed.FS
