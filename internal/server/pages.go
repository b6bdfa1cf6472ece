package server

import (
	"github.com/gofiber/fiber/v2"

	"github.com/kepu/kepu/internal/account"
	"github.com/kepu/kepu/internal/invite"
	"github.com/kepu/kepu/internal/kepu"
	"github.com/kepu/kepu/internal/org"
)

func (s *Server) pageRoutes() {
	a := s.App
	a.Get("/", s.homePage)
	a.Post("/lang", s.csrfMiddleware, s.switchLang)
	a.Get("/lang/:lang", s.langCookieOnly)
	a.Get("/login", func(c *fiber.Ctx) error {
		if u := currentUser(c); u != nil && !u.IsGuest() { // a guest may log in to an account
			return redirectNext(c, c.Query("next"))
		}
		return s.render(c, "login", "login.title", fiber.Map{"Next": safeNext(c.Query("next"))}, "app.js")
	})
	a.Get(cardPath, s.cardPage)
	a.Get("/register", func(c *fiber.Ctx) error {
		regions, err := s.districts(c)
		if err != nil {
			return err
		}
		return s.render(c, "register", "register.title", profileForm{Regions: regions}, "app.js", "recovery.js")
	})
	a.Get("/forgot", func(c *fiber.Ctx) error {
		return s.render(c, "forgot", "accounts.forgot_title", nil, "app.js", "recovery.js")
	})
	a.Get("/profile", s.requireLogin, func(c *fiber.Ctx) error {
		regions, err := s.districts(c)
		if err != nil {
			return err
		}
		form := profileForm{Regions: regions}
		if u := currentUser(c); !u.IsGuest() {
			st, err := s.accounts.RecoveryStatus(c.UserContext(), u.ID)
			if err != nil {
				return err
			}
			form.Recovery = &st
		}
		finals, err := s.finalInvitations(c)
		if err != nil {
			return err
		}
		form.Finals = finals
		return s.render(c, "profile", "profile.title", form, "app.js", "recovery.js")
	})
	s.adminPageRoutes()
	s.invitePageRoutes()
}

// profileForm is what the register and profile pages show.
type profileForm struct {
	Regions  []org.Region
	Recovery *account.RecoveryStatus // the user's recovery codes (nil for a guest)
	Finals   []invite.Invitation     // the finals the user is invited to (internal/invite)
}

// AgeBands and Occupations are the choices of the profile form.
func (profileForm) AgeBands() []string    { return kepu.AgeBands }
func (profileForm) Occupations() []string { return kepu.Occupations }

func (s *Server) districts(c *fiber.Ctx) ([]org.Region, error) {
	all, err := s.org.Regions(c.UserContext())
	if err != nil {
		return nil, err
	}
	var out []org.Region
	for _, r := range all {
		if r.Kind == "district" {
			out = append(out, r)
		}
	}
	return out, nil
}
