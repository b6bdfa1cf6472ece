package server

// Fairness signals for organizers: the attempts of a campaign with answers
// faster than reading time or page-visibility changes (docs/fairness.md).
// Signals never fail an attempt; this report is where organizers look.

import (
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/kepu/kepu/internal/campaign"
	"github.com/kepu/kepu/internal/kepu"
)

func (s *Server) campaignSignalRoutes(api fiber.Router) {
	org := requireRole(kepu.RoleOrganizer, kepu.RoleAdmin)
	api.Get("/manage/campaigns/:id/signals", org, s.getSignals)
	s.App.Get("/manage/campaigns/:id/signals", s.requireLogin, org, s.signalsPage)
}

func (s *Server) campaignSignals(c *fiber.Ctx) (campaign.Campaign, campaign.SignalReport, error) {
	a, id, err := actorAndParam(c, "id")
	if err != nil {
		return campaign.Campaign{}, campaign.SignalReport{}, err
	}
	camp, err := s.campaigns.Manage(c.UserContext(), a, id)
	if err != nil {
		return camp, campaign.SignalReport{}, err
	}
	rep, err := s.campaigns.Signals(c.UserContext(), a, id)
	return camp, rep, err
}

func (s *Server) getSignals(c *fiber.Ctx) error {
	_, rep, err := s.campaignSignals(c)
	if err != nil {
		return err
	}
	return c.JSON(rep)
}

// signalRowView is one report row as the page shows it.
type signalRowView struct {
	campaign.SignalRow
	Started string
	Where   string // district · school
	Seqs    string // the fast questions, "3, 5, 7"
}

func (s *Server) signalsPage(c *fiber.Ctx) error {
	camp, rep, err := s.campaignSignals(c)
	if err != nil {
		return err
	}
	rows := make([]signalRowView, 0, len(rep.Rows))
	for _, r := range rep.Rows {
		seqs := make([]string, len(r.FastSeqs))
		for i, q := range r.FastSeqs {
			seqs[i] = strconv.Itoa(q)
		}
		where := r.District
		if r.School != "" {
			where = strings.TrimPrefix(where+" · "+r.School, " · ")
		}
		rows = append(rows, signalRowView{SignalRow: r, Started: shTime(r.StartedAt), Where: where, Seqs: strings.Join(seqs, ", ")})
	}
	return s.render(c, "manage_campaign_signals", "signals.title", fiber.Map{
		"Campaign": camp, "Report": rep, "Rows": rows, "Max": campaign.MaxSignalRows,
	})
}
