package server

import (
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/kepu/kepu/internal/account"
	"github.com/kepu/kepu/internal/audit"
	"github.com/kepu/kepu/internal/kepu"
)

// adminRoutes are the account administration API: admins only. The service
// checks the role again, so a route added without the middleware still
// answers 403.
func (s *Server) adminRoutes(api fiber.Router) {
	g := api.Group("/admin", requireRole(kepu.RoleAdmin))
	g.Get("/users", s.adminListUsers)
	g.Get("/users/:id", s.adminGetUser)
	g.Put("/users/:id/role", s.adminSetRole)
	g.Post("/users/:id/disable", s.adminSetDisabled(true))
	g.Post("/users/:id/enable", s.adminSetDisabled(false))
	g.Post("/users/:id/password", s.adminResetPassword)
	g.Get("/audit", s.adminAudit)
}

// userQuery reads the user-list filters from the query string.
func userQuery(c *fiber.Ctx) (account.UserQuery, error) {
	page, err := queryInt(c, "page", 1)
	if err != nil {
		return account.UserQuery{}, kepu.Invalid("page", "error.page")
	}
	per, err := queryInt(c, "per_page", 25)
	if err != nil {
		return account.UserQuery{}, kepu.Invalid("per_page", "error.page")
	}
	return account.UserQuery{Q: c.Query("q"), Role: kepu.Role(c.Query("role")), Page: int(page), PerPage: int(per)}, nil
}

// listUsers answers the user-list query of the request (API and page).
func (s *Server) listUsers(c *fiber.Ctx) (account.UserQuery, account.UserPage, error) {
	a, err := actor(c)
	if err != nil {
		return account.UserQuery{}, account.UserPage{}, err
	}
	q, err := userQuery(c)
	if err != nil {
		return q, account.UserPage{}, err
	}
	page, err := s.accounts.ListUsers(c.UserContext(), a, q)
	return q, page, err
}

func (s *Server) adminListUsers(c *fiber.Ctx) error {
	_, page, err := s.listUsers(c)
	if err != nil {
		return err
	}
	return c.JSON(page)
}

func (s *Server) adminGetUser(c *fiber.Ctx) error {
	a, id, err := actorAndParam(c, "id")
	if err != nil {
		return err
	}
	if !a.IsAdmin() {
		return kepu.Forbidden
	}
	u, err := s.accounts.Get(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(u)
}

func (s *Server) adminSetRole(c *fiber.Ctx) error {
	a, id, err := actorAndParam(c, "id")
	if err != nil {
		return err
	}
	var in account.RoleChange
	if err := decodeJSON(c, &in, smallBody); err != nil {
		return err
	}
	u, err := s.accounts.SetRole(c.UserContext(), a, id, in)
	if err != nil {
		return err
	}
	return c.JSON(u)
}

func (s *Server) adminSetDisabled(disabled bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		a, id, err := actorAndParam(c, "id")
		if err != nil {
			return err
		}
		u, err := s.accounts.SetDisabled(c.UserContext(), a, id, disabled)
		if err != nil {
			return err
		}
		return c.JSON(u)
	}
}

// passwordReply is the answer to a password reset: the new password, shown once.
type passwordReply struct {
	UserID   int64  `json:"user_id"`
	Password string `json:"password"`
}

func (s *Server) adminResetPassword(c *fiber.Ctx) error {
	a, id, err := actorAndParam(c, "id")
	if err != nil {
		return err
	}
	pw, err := s.accounts.ResetPassword(c.UserContext(), a, id)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(passwordReply{UserID: id, Password: pw})
}

// auditPage is one page of the audit log, newest first; Next is the
// "before" cursor of the following page (0: no more).
type auditPage struct {
	Entries []audit.Entry `json:"entries"`
	Next    int64         `json:"next,omitempty"`
}

// auditFilter reads the audit log's filters from the query string: actor
// (part of a username or nickname), action (one of audit.Actions), from and
// to (Beijing dates, YYYY-MM-DD) and the before cursor.
func auditFilter(c *fiber.Ctx) (audit.Filter, error) {
	before, err := queryInt(c, "before", 0)
	if err != nil {
		return audit.Filter{}, err
	}
	f := audit.Filter{Actor: strings.TrimSpace(c.Query("actor")), Action: c.Query("action"), Before: before}
	for _, d := range []struct {
		name string
		to   *time.Time
	}{{"from", &f.From}, {"to", &f.To}} {
		v := c.Query(d.name)
		if v == "" {
			continue
		}
		t, err := time.ParseInLocation(kepu.LayoutDate, v, kepu.Shanghai)
		if err != nil || t.Year() < 2000 || t.Year() > 9999 {
			return f, kepu.Invalid(d.name, "error.organize_audit_date")
		}
		*d.to = t
	}
	return f, f.Check()
}

func (s *Server) auditEntries(c *fiber.Ctx) (audit.Filter, auditPage, error) {
	a, err := actor(c)
	if err != nil {
		return audit.Filter{}, auditPage{}, err
	}
	if !a.IsAdmin() {
		return audit.Filter{}, auditPage{}, kepu.Forbidden
	}
	f, err := auditFilter(c)
	if err != nil {
		return f, auditPage{}, err
	}
	f.Limit = 50
	entries, err := audit.List(c.UserContext(), s.db, f)
	if err != nil {
		return f, auditPage{}, err
	}
	out := auditPage{Entries: append([]audit.Entry{}, entries...)}
	if len(entries) == f.Limit {
		out.Next = entries[len(entries)-1].ID
	}
	return f, out, nil
}

func (s *Server) adminAudit(c *fiber.Ctx) error {
	_, p, err := s.auditEntries(c)
	if err != nil {
		return err
	}
	return c.JSON(p)
}
