package server

import (
	"github.com/gofiber/fiber/v2"

	"github.com/kepu/kepu/internal/bank"
	"github.com/kepu/kepu/internal/contest"
	"github.com/kepu/kepu/internal/org"
)

func (s *Server) contestPageRoutes(host fiber.Handler) {
	a := s.App
	a.Get("/contests", s.requireLogin, host, func(c *fiber.Ctx) error {
		h, err := s.contestHistory(c)
		if err != nil {
			return err
		}
		return s.render(c, "contests", "contest.list_title", h, "contest.js")
	})
	a.Get("/contests/new", s.requireLogin, host, func(c *fiber.Ctx) error {
		a, err := actor(c)
		if err != nil {
			return err
		}
		classes, err := s.org.Classes(c.UserContext(), a, 0)
		if err != nil {
			return err
		}
		return s.render(c, "contest_new", "contest.new_title", contestForm{Classes: classes}, "contest_new.js")
	})
	a.Get("/contests/:id/edit", s.requireLogin, host, func(c *fiber.Ctx) error {
		a, id, err := actorAndParam(c, "id")
		if err != nil {
			return err
		}
		ct, err := s.contests.Get(c.UserContext(), a, id)
		if err != nil {
			return err
		}
		classes, err := s.org.Classes(c.UserContext(), a, 0)
		if err != nil {
			return err
		}
		return s.render(c, "contest_new", "present.edit_title", contestForm{Classes: classes, Contest: &ct}, "contest_new.js")
	})
	a.Get("/host/:id", s.requireLogin, host, func(c *fiber.Ctx) error {
		a, id, err := actorAndParam(c, "id")
		if err != nil {
			return err
		}
		info, err := s.contests.Info(c.UserContext(), a, id)
		if err != nil {
			return err
		}
		return s.render(c, "host", "contest.host_title", fiber.Map{"Run": info, "JoinURL": s.joinURL(info.PIN)}, "host.js")
	})
	a.Get("/play", func(c *fiber.Ctx) error {
		pin := c.Query("pin")
		if !contest.ValidPIN(pin) {
			pin = ""
		}
		return s.render(c, "play", "contest.play_title", fiber.Map{"PIN": pin}, "play.js")
	})
	a.Get("/play/room", func(c *fiber.Ctx) error {
		return s.render(c, "play_room", "contest.play_title", nil, "play_room.js")
	})
}

// contestForm is what the new-contest page offers.
type contestForm struct {
	Classes []org.Class      // the classes a team-mode contest may use
	Contest *contest.Contest // the contest edited (nil: a new one)
}

// Categories and Dimensions are the draw filters.
func (contestForm) Categories() []string { return bank.Categories }
func (contestForm) Dimensions() []string { return bank.Dimensions }
