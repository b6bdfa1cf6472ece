package server

import (
	"github.com/gofiber/fiber/v2"

	"github.com/kepu/kepu/internal/bank"
)

// bankPageRoutes are the bank pages: the list (teachers read, organizers
// and admins also act on a selection), the editor with its live preview
// and history, and the import page.
func (s *Server) bankPageRoutes(readers, editors fiber.Handler) {
	a := s.App
	a.Get("/bank", s.requireLogin, readers, func(c *fiber.Ctx) error {
		act, err := actor(c)
		if err != nil {
			return err
		}
		return s.render(c, "bank", "bank.title", bankPage{Edit: bank.CanEdit(act)}, "bank.js")
	})
	a.Get("/bank/new", s.requireLogin, editors, func(c *fiber.Ctx) error {
		return s.render(c, "bank_edit", "bank.new_title", bankPage{Edit: true}, "bank_edit.js")
	})
	a.Get("/bank/import", s.requireLogin, editors, func(c *fiber.Ctx) error {
		return s.render(c, "bank_import", "bank.import_title", bankPage{Edit: true, Limits: importLimits}, "bank_import.js")
	})
	a.Get("/bank/:id", s.requireLogin, readers, func(c *fiber.Ctx) error {
		act, id, err := actorAndParam(c, "id")
		if err != nil {
			return err
		}
		q, err := s.bank.Get(c.UserContext(), act, id)
		if err != nil {
			return err
		}
		return s.render(c, "bank_edit", "bank.edit_title", bankPage{Edit: bank.CanEdit(act), Question: &q}, "bank_edit.js")
	})
}

// importLimits are shown on the import page.
var importLimits = map[string]any{"bytes": "5 MiB", "rows": bank.MaxImportRows, "image": "1 MiB"}

// bankPage is what the bank templates see.
type bankPage struct {
	Edit     bool // may change questions (organizers, admins)
	Question *bank.Question
	Limits   map[string]any
}

// Choices of the filters and the editor.
func (bankPage) Categories() []string { return bank.Categories }
func (bankPage) Dimensions() []string { return bank.Dimensions }
func (bankPage) Types() []string      { return bank.Types }
func (bankPage) Statuses() []string   { return bank.Statuses }
func (bankPage) Languages() []string  { return bank.Languages }
func (bankPage) Formats() []string    { return bank.Formats }
