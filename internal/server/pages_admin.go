package server

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/kepu/kepu/internal/account"
	"github.com/kepu/kepu/internal/audit"
	"github.com/kepu/kepu/internal/kepu"
	"github.com/kepu/kepu/internal/org"
)

// adminPageRoutes are the administration pages: user administration and the
// audit log (admins), schools and classes (/org: admins, organizers,
// teachers) and class rosters (/classes/:id). The data come from the same
// scoped service calls as the API.
func (s *Server) adminPageRoutes() {
	a := s.App
	admin := requireRole(kepu.RoleAdmin)
	staff := requireRole(kepu.RoleTeacher, kepu.RoleOrganizer, kepu.RoleAdmin)
	a.Get("/admin/users", s.requireLogin, admin, s.adminUsersPage)
	a.Get("/admin/audit", s.requireLogin, admin, s.adminAuditPage)
	a.Get("/org", s.requireLogin, staff, s.orgPage)
	a.Get("/classes/:id", s.requireLogin, staff, s.classPage)
}

// usersPageData is what admin_users.html shows.
type usersPageData struct {
	Query   account.UserQuery
	Result  account.UserPage
	Regions []org.Region
	Roles   []kepu.Role
	Prev    string // link to the previous page, "" on the first
	NextURL string // link to the next page, "" on the last
}

func (s *Server) adminUsersPage(c *fiber.Ctx) error {
	q, res, err := s.listUsers(c)
	if err != nil {
		return err
	}
	regions, err := s.org.Regions(c.UserContext())
	if err != nil {
		return err
	}
	link := func(page int) string {
		v := url.Values{}
		if q.Q != "" {
			v.Set("q", q.Q)
		}
		if q.Role != "" {
			v.Set("role", string(q.Role))
		}
		v.Set("page", strconv.Itoa(page))
		return "/admin/users?" + v.Encode()
	}
	d := usersPageData{Query: q, Result: res, Regions: regions, Roles: kepu.Roles}
	if res.Page > 1 {
		d.Prev = link(res.Page - 1)
	}
	if res.Page < res.Pages() {
		d.NextURL = link(res.Page + 1)
	}
	return s.render(c, "admin_users", "admin.users_title", d, "admin.js")
}

// auditRow is one entry of admin_audit.html: who did it and what, as a
// sentence in the page's language (auditSentence).
type auditRow struct {
	audit.Entry
	Sentence string
}

// auditPageData is what admin_audit.html shows: the filter, its error
// (invalid input: the form says why and no entries are listed), one page of
// entries and the link to the next.
type auditPageData struct {
	Filter  audit.Filter
	From    string // the filter's dates as the form shows them
	To      string
	Actions []string
	Error   string
	Entries []auditRow
	NextURL string
}

func (s *Server) adminAuditPage(c *fiber.Ctx) error {
	f, p, err := s.auditEntries(c)
	lang := langOf(c)
	d := auditPageData{Filter: f, Actions: audit.Actions}
	if err != nil {
		var ke *kepu.Error
		if !errors.As(err, &ke) || ke.Code != kepu.EINVALID {
			return err
		}
		d.Error = s.i18n.T(lang, ke.Key, ke.Params)
		d.Filter = audit.Filter{Actor: c.Query("actor"), Action: c.Query("action")}
		d.From, d.To = c.Query("from"), c.Query("to")
		return s.renderStatus(c, fiber.StatusBadRequest, "admin_audit", "admin.audit_title", d)
	}
	if !f.From.IsZero() {
		d.From = kepu.FormatTime(f.From, kepu.LayoutDate)
	}
	if !f.To.IsZero() {
		d.To = kepu.FormatTime(f.To, kepu.LayoutDate)
	}
	for _, e := range p.Entries {
		d.Entries = append(d.Entries, auditRow{Entry: e, Sentence: s.auditSentence(lang, e)})
	}
	if p.Next != 0 {
		v := url.Values{}
		for k, x := range map[string]string{"actor": f.Actor, "action": f.Action, "from": d.From, "to": d.To} {
			if x != "" {
				v.Set(k, x)
			}
		}
		v.Set("before", strconv.FormatInt(p.Next, 10))
		d.NextURL = "/admin/audit?" + v.Encode()
	}
	return s.render(c, "admin_audit", "admin.audit_title", d)
}

// auditSentence says what entry e did in lang: the message
// "organize.audit.<action>" with the target's name and the detail's
// numbers and roles ("organize.audit.other" naming the action for an
// action without one).
func (s *Server) auditSentence(lang string, e audit.Entry) string {
	target := e.TargetName
	if target == "" {
		target = e.Target
		if _, id, ok := strings.Cut(e.Target, ":"); ok {
			target = "#" + id
		}
	}
	params := map[string]any{"target": target, "action": e.Action}
	for _, k := range []string{"count", "from", "to"} {
		if v, ok := e.Detail[k]; ok {
			params[k] = fmt.Sprint(v)
		}
	}
	if e.Action == "user.role" {
		for _, k := range []string{"from", "to"} {
			if r, ok := e.Detail[k].(string); ok && s.i18n.Has(lang, "role."+r) {
				params[k] = s.i18n.T(lang, "role."+r, nil)
			}
		}
	}
	key := "organize.audit." + e.Action
	if !s.i18n.Has(lang, key) {
		key = "organize.audit.other"
	}
	return s.i18n.T(lang, key, params)
}

// schoolClasses is one school with the classes the actor may manage.
type schoolClasses struct {
	School   org.School
	Classes  []org.Class
	Networks string // registered public addresses, one per line (managers)
	NetCount int
}

// orgPageData is what org.html shows.
type orgPageData struct {
	Schools  []schoolClasses
	Regions  []org.Region // where the actor may create schools
	Teachers []teacherInfo
	Manager  bool // organizer or admin: may create schools and assign teachers
	MaxNets  int  // org.MaxSchoolNetworks
}

func (s *Server) orgPage(c *fiber.Ctx) error {
	a, err := actor(c)
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	schools, err := s.org.Schools(ctx, a, 0)
	if err != nil {
		return err
	}
	classes, err := s.org.Classes(ctx, a, 0)
	if err != nil {
		return err
	}
	d := orgPageData{Manager: a.Is(kepu.RoleAdmin, kepu.RoleOrganizer), MaxNets: org.MaxSchoolNetworks}
	bySchool := map[int64]int{}
	for _, sc := range schools {
		bySchool[sc.ID] = len(d.Schools)
		d.Schools = append(d.Schools, schoolClasses{School: sc})
	}
	for _, cl := range classes {
		if i, ok := bySchool[cl.SchoolID]; ok {
			d.Schools[i].Classes = append(d.Schools[i].Classes, cl)
		}
	}
	if d.Manager {
		ids := make([]int64, len(schools))
		for i, sc := range schools {
			ids[i] = sc.ID
		}
		nets, err := s.org.NetworksOf(ctx, ids)
		if err != nil {
			return err
		}
		for i := range d.Schools {
			n := nets[d.Schools[i].School.ID]
			d.Schools[i].Networks, d.Schools[i].NetCount = strings.Join(n, "\n"), len(n)
		}
	}
	if d.Manager {
		if d.Teachers, err = s.teachers(c); err != nil {
			return err
		}
		all, err := s.org.Regions(ctx)
		if err != nil {
			return err
		}
		ids, err := s.org.ScopeRegionIDs(ctx, a)
		if err != nil {
			return err
		}
		in := map[int64]bool{}
		for _, id := range ids {
			in[id] = true
		}
		for _, r := range all {
			if r.Kind != "city" && (ids == nil || in[r.ID]) {
				d.Regions = append(d.Regions, r)
			}
		}
	}
	return s.render(c, "org", "org.title", d, "app.js")
}

// classPageData is what class.html shows.
type classPageData struct {
	Class  org.Class
	Pupils []account.Pupil
}

func (s *Server) classPage(c *fiber.Ctx) error {
	a, cl, err := s.classParam(c)
	if err != nil {
		return err
	}
	pupils, err := s.accounts.Roster(c.UserContext(), a, cl.ID)
	if err != nil {
		return err
	}
	return s.render(c, "class", "roster.title", classPageData{Class: cl, Pupils: pupils}, "roster.js")
}
