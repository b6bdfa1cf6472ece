package server

import (
	"github.com/gofiber/fiber/v2"

	"github.com/kepu/kepu/internal/dashboard"
	"github.com/kepu/kepu/internal/kepu"
)

// dashPageRoutes are the dashboard pages. They render the frame; the page
// scripts fetch each table from the API (same scope checks). The print
// report renders every table on the server, for the annual summary.
func (s *Server) dashPageRoutes(staff fiber.Handler) {
	a := s.App
	a.Get("/dash", s.requireLogin, staff, func(c *fiber.Ctx) error {
		act, err := actor(c)
		if err != nil {
			return err
		}
		list, err := s.dash.Overview(c.UserContext(), act)
		if err != nil {
			return err
		}
		contests, err := s.contests.List(c.UserContext(), act) // the reports of the actor's own contests
		if err != nil {
			return err
		}
		practice, err := s.practiceTables(c, act)
		if err != nil {
			return err
		}
		return s.render(c, "dash", "dash.title", fiber.Map{"Campaigns": list, "Contests": contests, "Practice": practice})
	})
	a.Get("/dash/campaigns/:id", s.requireLogin, staff, func(c *fiber.Ctx) error {
		_, camp, sc, err := s.dashCampaign(c)
		if err != nil {
			return err
		}
		return s.render(c, "dash_campaign", "dash.campaign_title", fiber.Map{"Campaign": camp, "Full": sc.Full,
			"Views": dashboard.CampaignSections(sc.Full)}, "dash_campaign.js")
	})
	a.Get("/dash/campaigns/:id/report", s.requireLogin, staff, func(c *fiber.Ctx) error {
		_, camp, sc, err := s.dashCampaign(c)
		if err != nil {
			return err
		}
		h, err := s.dash.Headline(c.UserContext(), camp, sc)
		if err != nil {
			return err
		}
		tables, err := s.dash.Report(c.UserContext(), camp, sc)
		if err != nil {
			return err
		}
		for i, t := range tables {
			tables[i] = s.localize(c, t)
		}
		return s.render(c, "dash_report", "dash.report_title", fiber.Map{"Campaign": camp, "Headline": h, "Tables": tables}, "dash_report.js")
	})
	a.Get("/dash/contests/:id", s.requireLogin, staff, func(c *fiber.Ctx) error {
		act, id, err := actorAndParam(c, "id")
		if err != nil {
			return err
		}
		info, err := s.dash.Contest(c.UserContext(), act, id)
		if err != nil {
			return err
		}
		return s.render(c, "dash_contest", "dash.contest_title", fiber.Map{"Contest": info, "Views": dashboard.ContestSections}, "dash_contest.js")
	})
}

// practiceTables are the daily-practice breakdowns of the dashboard
// overview (dashboard.Practice), localized.
func (s *Server) practiceTables(c *fiber.Ctx, act kepu.Actor) ([]dashboard.Table, error) {
	sc, err := s.dash.ScopeOf(c.UserContext(), act)
	if err != nil {
		return nil, err
	}
	var out []dashboard.Table
	for _, by := range dashboard.PracticeViews {
		t, err := s.dash.Practice(c.UserContext(), sc, by)
		if err != nil {
			return nil, err
		}
		out = append(out, s.localize(c, t))
	}
	return out, nil
}
