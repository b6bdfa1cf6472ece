package server

// PK battles (internal/pk): the lobby (/pk), a match (/pk/match/{id}), an
// invitation (/pk/i/{code}), their JSON API and the /ws/pk socket
// (pk_ws.go). Logged-in people only (a guest has no practice level).

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/kepu/kepu/internal/account"
	"github.com/kepu/kepu/internal/kepu"
	"github.com/kepu/kepu/internal/pk"
	"github.com/kepu/kepu/internal/qr"
	"github.com/kepu/kepu/internal/ratelimit"
)

var (
	pkInviteRule = ratelimit.Rule{Name: "pk_invite", Burst: 20, Period: time.Minute}
	pkWSRule     = ratelimit.Rule{Name: "pk_ws", Burst: 60, Period: time.Minute}
)

// pkUser returns the logged-in (not guest) user, or the error to answer.
func pkUser(c *fiber.Ctx) (*account.User, error) {
	u := currentUser(c)
	if u == nil {
		return nil, account.ErrNoSession
	}
	if u.IsGuest() {
		return nil, kepu.Errorf(kepu.EFORBIDDEN, "pk.error.guest")
	}
	return u, nil
}

// pkMatchOf returns the user, the match of the :id parameter and the
// user's seat in it (ErrNotPlayer unless they have one).
func (s *Server) pkMatchOf(c *fiber.Ctx) (*account.User, *pk.Match, int, error) {
	u, err := pkUser(c)
	if err != nil {
		return nil, nil, -1, err
	}
	id, err := paramID(c, "id")
	if err != nil {
		return nil, nil, -1, err
	}
	m, seat, err := s.pk.State(c.UserContext(), id, u.ID)
	return u, m, seat, err
}

func pkWho(u *account.User) pk.Who {
	lang := u.Lang
	if lang != "en" {
		lang = "zh-CN"
	}
	return pk.Who{UserID: u.ID, Lang: lang}
}

// pkPage is what the lobby and match pages show.
type pkPage struct {
	Match     int64  // 0: the lobby
	Active    int64  // the lobby: a match the user is in and may rejoin
	Invite    string // the match page while waiting: the invitation link …
	InviteQR  string // … and its QR code (SVG path)
	QRSide    int
	BotAfterS int
}

func (s *Server) pkRoutes(api fiber.Router) {
	s.App.Get("/pk", s.requireLogin, func(c *fiber.Ctx) error {
		u, err := pkUser(c)
		if err != nil {
			return err
		}
		active, err := s.pk.Active(c.UserContext(), u.ID)
		if err != nil {
			return err
		}
		return s.render(c, "pk", "pk.title", pkPage{Active: active, BotAfterS: int(s.pk.BotAfter / time.Second)}, "pk.js")
	})
	s.App.Get("/pk/match/:id", s.requireLogin, func(c *fiber.Ctx) error {
		u, m, _, err := s.pkMatchOf(c)
		if err != nil {
			return err
		}
		p := pkPage{Match: m.ID}
		if m.Status == "waiting" && m.CreatedBy == u.ID && m.Invite != "" {
			p.Invite = s.cfg.BaseURL + "/pk/i/" + m.Invite
			if p.QRSide, p.InviteQR, err = qr.SVGPath(p.Invite); err != nil {
				return err
			}
		}
		return s.render(c, "pk", "pk.title", p, "pk.js")
	})
	s.App.Get("/pk/i/:code", s.requireLogin, func(c *fiber.Ctx) error {
		if _, err := pkUser(c); err != nil {
			return err
		}
		if _, err := s.pk.Invitation(c.UserContext(), c.Params("code")); err != nil {
			return err
		}
		return s.render(c, "pk_invite", "pk.invite_title", fiber.Map{"Code": c.Params("code")}, "pk.js")
	})

	api.Post("/pk/invites", func(c *fiber.Ctx) error {
		u, err := pkUser(c)
		if err != nil {
			return err
		}
		if err := s.limiter.Allow(c.UserContext(), pkInviteRule, itoa64(u.ID)); err != nil {
			return err
		}
		id, code, err := s.pk.Invite(c.UserContext(), pkWho(u))
		if err != nil {
			return err
		}
		return c.Status(fiber.StatusCreated).JSON(fiber.Map{"match": id, "code": code, "url": s.cfg.BaseURL + "/pk/i/" + code})
	})
	api.Post("/pk/invites/:code/join", func(c *fiber.Ctx) error {
		u, err := pkUser(c)
		if err != nil {
			return err
		}
		id, err := s.pk.JoinInvite(c.UserContext(), pkWho(u), c.Params("code"))
		if err != nil {
			return err
		}
		return c.JSON(fiber.Map{"match": id})
	})
	api.Get("/pk/matches/:id", func(c *fiber.Ctx) error {
		_, m, seat, err := s.pkMatchOf(c)
		if err != nil {
			return err
		}
		return c.JSON(m.ViewFor(seat, s.pk.Now().UnixMilli()))
	})
	s.pkWSRoutes()
}
