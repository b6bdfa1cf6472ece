package server

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/kepu/kepu/internal/account"
	"github.com/kepu/kepu/internal/kepu"
	"github.com/kepu/kepu/internal/ratelimit"
)

// ruleGuestIP bounds how many guests one address may become: generous,
// because a science fair or a school hall shares one address, but a script
// cannot fill the users table. Every request counts, valid or not.
var ruleGuestIP = ratelimit.Rule{Name: "guest-ip", Burst: 30, Period: 10 * time.Minute}

// joinAsGuest (POST /api/v1/campaigns/:id/guest) makes a visitor without a
// session a guest of a campaign that allows guests: a guest user with the
// nickname and district given (account.CreateGuest) and its session
// cookie. The page then starts the attempt as for anyone logged in.
func (s *Server) joinAsGuest(c *fiber.Ctx) error {
	if currentUser(c) != nil {
		return kepu.Errorf(kepu.ECONFLICT, "error.campaign_guest_logged_in")
	}
	ctx := c.UserContext()
	if err := s.limiter.Allow(ctx, ruleGuestIP, c.IP()); err != nil {
		return err
	}
	var in account.Guest
	if err := decodeJSON(c, &in, smallBody); err != nil {
		return err
	}
	camp, err := s.publicCampaign(c)
	if err != nil {
		return err
	}
	if _, err := account.CleanNickname(in.Nickname); err != nil { // the nickname's error before the district's
		return err
	}
	if err := s.campaigns.CheckGuest(ctx, camp, in.RegionID); err != nil {
		return err
	}
	u, err := s.accounts.CreateGuest(ctx, in, langOf(c))
	if err != nil {
		return err
	}
	if err := s.startSession(c, &u); err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(u)
}
