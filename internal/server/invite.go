package server

import (
	"context"
	"fmt"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/kepu/kepu/internal/campaign"
	"github.com/kepu/kepu/internal/invite"
	"github.com/kepu/kepu/internal/kepu"
	"github.com/kepu/kepu/internal/qr"
	"github.com/kepu/kepu/internal/ratelimit"
)

// inviteCookie carries the invitation a visitor opened until they register
// or log in (30 days, same-site); the open is counted per device mark.
const (
	inviteCookie = "kepu_invite"
	inviteMaxAge = 30 * 24 * time.Hour
)

// ruleInviteOpen bounds the opens one address may have counted: beyond
// it the link still works, the open is not counted.
var ruleInviteOpen = ratelimit.Rule{Name: "invite-open", Burst: 120, Period: 10 * time.Minute}

// inviteRoutes registers the invitation and final API and pages (s.invites
// nil: none).
func (s *Server) inviteRoutes(api fiber.Router) {
	if s.invites == nil {
		return
	}
	orgOnly := requireRole(kepu.RoleOrganizer, kepu.RoleAdmin)
	api.Post("/campaigns/:id/invite", s.requireLogin, byID(s.myInvite))
	api.Post("/campaigns/:id/invite/schools/:school", s.requireLogin, orgOnly, s.schoolInvite)
	api.Get("/campaigns/:id/reach", s.requireLogin, orgOnly, byID(s.invites.Reach))
	api.Post("/campaigns/:id/final", s.requireLogin, orgOnly, s.createFinal)
	api.Get("/finals/:id/roster", s.requireLogin, orgOnly, s.finalRoster)
	api.Post("/finals/:id/checkin", s.requireLogin, orgOnly, s.finalCheckIn)
	api.Get("/me/finals", s.requireLogin, s.myFinals)
	api.Get("/finals/:id", s.requireLogin, orgOnly, byID(s.invites.ManageFinal))
}

func (s *Server) invitePageRoutes() {
	if s.invites == nil {
		return
	}
	a := s.App
	orgOnly := requireRole(kepu.RoleOrganizer, kepu.RoleAdmin)
	a.Get("/i/:code", s.openInvite)
	a.Get("/i/:code/qr.png", s.inviteQR)
	a.Get("/campaigns/:id/invite", s.requireLogin, s.invitePage)
	a.Get("/campaigns/:id/reach", s.requireLogin, orgOnly, s.reachPage)
	a.Get("/campaigns/:id/live-final", s.requireLogin, orgOnly, s.finalPage)
	a.Get("/finals/:id/join", s.requireLogin, s.joinFinal)
}

// inviteURL is the public link of an invitation code.
func (s *Server) inviteURL(code string) string { return s.cfg.BaseURL + "/i/" + code }

type inviteLink struct {
	invite.Code
	URL   string `json:"url"`
	QRURL string `json:"qr_url"`
}

func (s *Server) link(code invite.Code) inviteLink {
	return inviteLink{Code: code, URL: s.inviteURL(code.Code), QRURL: "/i/" + code.Code + "/qr.png"}
}

// openInvite counts the open, keeps the code in the attribution cookie
// (or credits a logged-in account at once) and sends the visitor to the
// campaign: to its page, or to its leaderboard with ?to=leaderboard — no
// other place, so the link is no open redirect.
func (s *Server) openInvite(c *fiber.Ctx) error {
	ctx := c.UserContext()
	code, err := s.invites.Lookup(ctx, c.Params("code"))
	if err != nil {
		return err
	}
	if s.limiter.Allow(ctx, ruleInviteOpen, c.IP()) == nil {
		if _, err := s.invites.Open(ctx, code.Code, s.deviceMark(c)); err != nil {
			return err
		}
	}
	if u := currentUser(c); u != nil {
		if _, err := s.invites.Attribute(ctx, code.Code, u.ID, false); err != nil {
			return err
		}
	} else {
		s.setCookie(c, inviteCookie, code.Code, inviteMaxAge, true)
	}
	to := fmt.Sprintf("/campaigns/%d", code.CampaignID)
	if c.Query("to") == "leaderboard" {
		to += "/leaderboard"
	}
	return c.Redirect(to, fiber.StatusSeeOther)
}

// creditInvite credits account userID to the invitation in the visitor's
// cookie, if any, and forgets the cookie. A failure is logged: the
// registration or login it follows stands.
func (s *Server) creditInvite(c *fiber.Ctx, userID int64, registered bool) {
	code := c.Cookies(inviteCookie)
	if s.invites == nil || code == "" {
		return
	}
	s.clearCookie(c, inviteCookie)
	if _, err := s.invites.Attribute(c.UserContext(), code, userID, registered); err != nil && kepu.ErrorCode(err) != kepu.ENOTFOUND {
		s.log.Warn("invite: attribute", "request_id", requestID(c), "err", err)
	}
}

func (s *Server) inviteQR(c *fiber.Ctx) error {
	code, err := s.invites.Lookup(c.UserContext(), c.Params("code"))
	if err != nil {
		return err
	}
	return sendQR(c, s.inviteURL(code.Code), 320)
}

// sendQR answers with a PNG QR code of payload, cacheable for a day.
func sendQR(c *fiber.Ctx, payload string, size int) error {
	png, err := qr.PNG(payload, size)
	if err != nil {
		return fmt.Errorf("server: qr: %w", err)
	}
	c.Set(fiber.HeaderContentType, "image/png")
	c.Set(fiber.HeaderCacheControl, "public, max-age=86400")
	return c.Send(png)
}

// byID answers with what fn returns for the actor and the route's :id.
func byID[T any](fn func(context.Context, kepu.Actor, int64) (T, error)) fiber.Handler {
	return func(c *fiber.Ctx) error {
		a, id, err := actorAndParam(c, "id")
		if err != nil {
			return err
		}
		v, err := fn(c.UserContext(), a, id)
		if err != nil {
			return err
		}
		return c.JSON(v)
	}
}

func (s *Server) myInvite(ctx context.Context, a kepu.Actor, id int64) (inviteLink, error) {
	code, err := s.invites.Personal(ctx, a, id)
	return s.link(code), err
}

func (s *Server) schoolInvite(c *fiber.Ctx) error {
	a, id, err := actorAndParam(c, "id")
	if err != nil {
		return err
	}
	school, err := paramID(c, "school")
	if err != nil {
		return err
	}
	code, err := s.invites.School(c.UserContext(), a, id, school)
	if err != nil {
		return err
	}
	return c.JSON(s.link(code))
}

func (s *Server) createFinal(c *fiber.Ctx) error {
	a, id, err := actorAndParam(c, "id")
	if err != nil {
		return err
	}
	var in invite.FinalInput
	if err := decodeJSON(c, &in, smallBody); err != nil {
		return err
	}
	f, err := s.invites.CreateFinal(c.UserContext(), a, id, in)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(f)
}

func (s *Server) finalRoster(c *fiber.Ctx) error {
	a, id, err := actorAndParam(c, "id")
	if err != nil {
		return err
	}
	f, err := s.invites.ManageFinal(c.UserContext(), a, id)
	if err != nil {
		return err
	}
	r, err := s.invites.Roster(c.UserContext(), a, id)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"final": f, "roster": r})
}

func (s *Server) finalCheckIn(c *fiber.Ctx) error {
	a, id, err := actorAndParam(c, "id")
	if err != nil {
		return err
	}
	var in struct {
		UserID  int64 `json:"user_id"`
		Arrived bool  `json:"arrived"`
	}
	if err := decodeJSON(c, &in, 1<<10); err != nil {
		return err
	}
	if err := s.invites.CheckIn(c.UserContext(), a, id, in.UserID, in.Arrived); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (s *Server) myFinals(c *fiber.Ctx) error {
	a, err := actor(c)
	if err != nil {
		return err
	}
	list, err := s.invites.Invitations(c.UserContext(), a.UserID)
	if err != nil {
		return err
	}
	if list == nil {
		list = []invite.Invitation{}
	}
	return c.JSON(list)
}

// joinFinal sends an invited account to the final's live room, or shows
// when it begins while the host has not opened it.
func (s *Server) joinFinal(c *fiber.Ctx) error {
	a, id, err := actorAndParam(c, "id")
	if err != nil {
		return err
	}
	f, pin, err := s.invites.JoinPIN(c.UserContext(), a.UserID, id)
	if err != nil {
		return err
	}
	if pin != "" {
		return c.Redirect("/play?pin="+pin, fiber.StatusSeeOther)
	}
	return s.render(c, "reach_final_wait", "reach.final_title", f)
}

func (s *Server) invitePage(c *fiber.Ctx) error {
	a, id, err := actorAndParam(c, "id")
	if err != nil {
		return err
	}
	camp, err := s.campaigns.Public(c.UserContext(), id)
	if err != nil {
		return err
	}
	mine, err := s.invites.MineOf(c.UserContext(), a, id)
	if err != nil {
		return err
	}
	return s.render(c, "reach_invite", "reach.invite_title", fiber.Map{"C": s.campaignView(camp), "Mine": mine,
		"Link": s.inviteURL(mine.Code)})
}

func (s *Server) reachPage(c *fiber.Ctx) error {
	a, id, err := actorAndParam(c, "id")
	if err != nil {
		return err
	}
	camp, err := s.campaigns.Manage(c.UserContext(), a, id)
	if err != nil {
		return err
	}
	r, err := s.invites.Reach(c.UserContext(), a, id)
	if err != nil {
		return err
	}
	schools, err := s.org.Schools(c.UserContext(), a, 0) // every school in the organizer's scope
	if err != nil {
		return err
	}
	return s.render(c, "reach", "reach.reach_title", fiber.Map{"C": s.campaignView(camp), "R": r, "Schools": schools}, "reach.js")
}

func (s *Server) finalPage(c *fiber.Ctx) error {
	a, id, err := actorAndParam(c, "id")
	if err != nil {
		return err
	}
	camp, err := s.campaigns.Manage(c.UserContext(), a, id)
	if err != nil {
		return err
	}
	data := fiber.Map{"C": s.campaignView(camp)}
	f, err := s.invites.FinalOf(c.UserContext(), a, id)
	switch {
	case kepu.ErrorCode(err) == kepu.ENOTFOUND:
		data["Closed"] = camp.Status == campaign.StatusClosed || camp.Status == campaign.StatusArchived
	case err != nil:
		return err
	default:
		roster, err := s.invites.Roster(c.UserContext(), a, f.ID)
		if err != nil {
			return err
		}
		data["F"], data["Roster"] = f, roster
	}
	return s.render(c, "reach_final", "reach.final_title", data, "reach.js")
}

// campaignReach is what the campaign page shows of invitations and the
// final: the podium once the final has ended.
func (s *Server) campaignReach(c *fiber.Ctx, camp campaign.Campaign) (any, error) {
	if s.invites == nil {
		return nil, nil
	}
	podium, err := s.invites.Podium(c.UserContext(), camp.ID)
	if err != nil {
		return nil, err
	}
	return fiber.Map{"Podium": podium}, nil
}

// finalInvitations are the final invitations the profile page shows.
func (s *Server) finalInvitations(c *fiber.Ctx) ([]invite.Invitation, error) {
	u := currentUser(c)
	if s.invites == nil || u == nil {
		return nil, nil
	}
	return s.invites.Invitations(c.UserContext(), u.ID)
}
