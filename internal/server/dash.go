package server

import (
	"bufio"
	"bytes"
	"fmt"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/kepu/kepu/internal/dashboard"
	"github.com/kepu/kepu/internal/kepu"
	"github.com/kepu/kepu/internal/ratelimit"
	"github.com/kepu/kepu/internal/realtime"
)

// Websocket limits of the live dashboard (dash_ws.go): the client only
// answers pings.
const (
	dashQueue     = 4
	dashPingEvery = 15 * time.Second
	dashPongWait  = 40 * time.Second
	dashReadLimit = 512
	dashWriteWait = 5 * time.Second
)

var dashWSRule = ratelimit.Rule{Name: "dash_ws_ip", Burst: 60, Period: time.Minute}

// dashRoutes are the dashboard API: JSON views, exports, retiring a
// flagged question, and the live headline websocket (dash_ws.go). Every handler checks
// the actor's scope in internal/dashboard.
func (s *Server) dashRoutes(api fiber.Router) {
	staff := requireRole(kepu.RoleTeacher, kepu.RoleOrganizer, kepu.RoleAdmin)
	api.Get("/dash/overview", staff, s.dashOverview)
	api.Get("/dash/campaigns/:id", staff, s.dashSummary)
	api.Get("/dash/campaigns/:id/views/:view", staff, s.dashView)
	api.Get("/dash/campaigns/:id/export/:view", staff, s.dashExport)
	api.Get("/dash/campaigns/:id/items", staff, s.dashItems)
	api.Post("/dash/campaigns/:id/items/:qid/retire", requireRole(kepu.RoleOrganizer, kepu.RoleAdmin), s.dashRetire)
	api.Get("/dash/contests/:id/views/:view", staff, s.dashContestView)
	api.Get("/dash/contests/:id/export/:view", staff, s.dashContestExport)
	s.App.Get("/ws/dash/:id", staff, func(c *fiber.Ctx) error {
		if !realtime.IsUpgrade(c) {
			return fiber.ErrUpgradeRequired
		}
		if !s.originAllowed(c.Get(fiber.HeaderOrigin)) {
			return kepu.Errorf(kepu.EFORBIDDEN, "error.origin")
		}
		if err := s.limiter.Allow(c.UserContext(), dashWSRule, c.IP()); err != nil {
			return err
		}
		a, id, err := actorAndParam(c, "id")
		if err != nil {
			return err
		}
		camp, sc, err := s.dash.Campaign(c.UserContext(), a, id)
		if err != nil {
			return err
		}
		return realtime.Upgrade(c, dashReadLimit, func(ws *realtime.WebSocket) { s.dashLive(ws, camp, sc) })
	})
	s.dashPageRoutes(staff)
}

// dashCampaign returns the campaign of :id and the actor's scope on it.
func (s *Server) dashCampaign(c *fiber.Ctx) (kepu.Actor, dashboard.Campaign, dashboard.Scope, error) {
	a, id, err := actorAndParam(c, "id")
	if err != nil {
		return a, dashboard.Campaign{}, dashboard.Scope{}, err
	}
	camp, sc, err := s.dash.Campaign(c.UserContext(), a, id)
	return a, camp, sc, err
}

func (s *Server) dashOverview(c *fiber.Ctx) error {
	a, err := actor(c)
	if err != nil {
		return err
	}
	list, err := s.dash.Overview(c.UserContext(), a)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"campaigns": list})
}

func (s *Server) dashSummary(c *fiber.Ctx) error {
	_, camp, sc, err := s.dashCampaign(c)
	if err != nil {
		return err
	}
	h, err := s.dash.Headline(c.UserContext(), camp, sc)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"campaign": camp, "headline": h, "full": sc.Full})
}

// localize translates a table's column names and key cells into the
// request's language.
func (s *Server) localize(c *fiber.Ctx, t dashboard.Table) dashboard.Table {
	lang := langOf(c)
	return t.Localize(func(key string) (string, bool) {
		return s.i18n.T(lang, key, nil), s.i18n.Has(lang, key)
	})
}

func (s *Server) campaignTable(c *fiber.Ctx) (dashboard.Table, error) {
	_, camp, sc, err := s.dashCampaign(c)
	if err != nil {
		return dashboard.Table{}, err
	}
	t, err := s.dash.View(c.UserContext(), camp, sc, c.Params("view"))
	if err != nil {
		return t, err
	}
	return s.localize(c, t), nil
}

func (s *Server) dashView(c *fiber.Ctx) error {
	t, err := s.campaignTable(c)
	if err != nil {
		return err
	}
	return c.JSON(t)
}

func (s *Server) dashExport(c *fiber.Ctx) error {
	t, err := s.campaignTable(c)
	if err != nil {
		return err
	}
	return s.sendTable(c, fmt.Sprintf("campaign-%s-%s", c.Params("id"), t.Name), t)
}

func (s *Server) dashItems(c *fiber.Ctx) error {
	_, camp, sc, err := s.dashCampaign(c)
	if err != nil {
		return err
	}
	items, err := s.dash.Items(c.UserContext(), camp, sc)
	if err != nil {
		return err
	}
	if items == nil {
		items = []dashboard.Item{}
	}
	return c.JSON(fiber.Map{"items": items})
}

func (s *Server) dashRetire(c *fiber.Ctx) error {
	a, camp, sc, err := s.dashCampaign(c)
	if err != nil {
		return err
	}
	qid, err := paramID(c, "qid")
	if err != nil {
		return err
	}
	if err := s.dash.Retire(c.UserContext(), a, camp, sc, qid); err != nil {
		return err
	}
	return c.JSON(fiber.Map{"question_id": qid, "status": "retired"})
}

func (s *Server) contestTable(c *fiber.Ctx) (dashboard.Table, error) {
	a, id, err := actorAndParam(c, "id")
	if err != nil {
		return dashboard.Table{}, err
	}
	info, err := s.dash.Contest(c.UserContext(), a, id)
	if err != nil {
		return dashboard.Table{}, err
	}
	t, err := s.dash.ContestView(c.UserContext(), info, c.Params("view"))
	if err != nil {
		return t, err
	}
	return s.localize(c, t), nil
}

func (s *Server) dashContestView(c *fiber.Ctx) error {
	t, err := s.contestTable(c)
	if err != nil {
		return err
	}
	return c.JSON(t)
}

func (s *Server) dashContestExport(c *fiber.Ctx) error {
	t, err := s.contestTable(c)
	if err != nil {
		return err
	}
	return s.sendTable(c, fmt.Sprintf("contest-%s-%s", c.Params("id"), t.Name), t)
}

// sendTable streams t as CSV (?format=csv, the default) or XLSX.
func (s *Server) sendTable(c *fiber.Ctx, name string, t dashboard.Table) error {
	c.Set(fiber.HeaderCacheControl, "no-store")
	switch c.Query("format", "csv") {
	case "csv":
		c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
		c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+name+`.csv"`)
		c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
			if err := dashboard.WriteCSV(w, t); err != nil {
				s.log.Warn("dashboard csv export", "err", err)
			}
		})
		return nil
	case "xlsx":
		var b bytes.Buffer
		if err := dashboard.WriteXLSX(&b, t); err != nil {
			return err
		}
		c.Set(fiber.HeaderContentType, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
		c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+name+`.xlsx"`)
		return c.Send(b.Bytes())
	}
	return kepu.Invalid("format", "error.dash_format")
}
