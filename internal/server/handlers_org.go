package server

import (
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/kepu/kepu/internal/account"
	"github.com/kepu/kepu/internal/kepu"
	"github.com/kepu/kepu/internal/org"
	"github.com/kepu/kepu/internal/ratelimit"
)

// ruleRosterBatch bounds how many pupil batches (of at most 60 accounts)
// one user may create per hour, across instances.
var ruleRosterBatch = ratelimit.Rule{Name: "roster-batch", Burst: 20, Period: time.Hour}

// orgRoutes are the organization API: regions (public), schools and
// classes (scoped by internal/org), teachers (for assigning classes) and
// class rosters (internal/account, scoped by the class).
func (s *Server) orgRoutes(api fiber.Router) {
	api.Get("/regions", func(c *fiber.Ctx) error {
		rs, err := s.org.Regions(c.UserContext())
		if err != nil {
			return err
		}
		return c.JSON(fiber.Map{"regions": rs})
	})
	staff := requireRole(kepu.RoleTeacher, kepu.RoleOrganizer, kepu.RoleAdmin)
	managers := requireRole(kepu.RoleOrganizer, kepu.RoleAdmin)
	api.Get("/schools", s.requireLogin, s.listSchools)
	api.Post("/schools", managers, s.createSchool)
	api.Get("/schools/:id/networks", managers, s.getSchoolNetworks)
	api.Put("/schools/:id/networks", managers, s.putSchoolNetworks)
	api.Get("/teachers", managers, s.listTeachers)
	api.Get("/classes", staff, s.listClasses)
	api.Post("/classes", staff, s.createClass)
	api.Get("/classes/:id", staff, s.getClass)
	api.Put("/classes/:id/teacher", managers, s.setTeacher)
	api.Get("/classes/:id/pupils", staff, s.listPupils)
	api.Post("/classes/:id/pupils", staff, s.createPupils)
	api.Post("/classes/:id/pupils/:uid/password", staff, s.resetPupilPassword)
	api.Post("/classes/:id/cards", staff, s.issueCards)
	api.Delete("/classes/:id/cards", staff, s.revokeCards)
	api.Delete("/classes/:id/pupils/:uid/card", staff, s.revokeCards)
}

func (s *Server) listSchools(c *fiber.Ctx) error {
	a, err := actor(c)
	if err != nil {
		return err
	}
	region, err := queryInt(c, "region_id", 0)
	if err != nil {
		return err
	}
	schools, err := s.org.Schools(c.UserContext(), a, region)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"schools": append([]org.School{}, schools...)})
}

type schoolInput struct {
	RegionID int64  `json:"region_id"`
	Name     string `json:"name"`
}

func (s *Server) createSchool(c *fiber.Ctx) error {
	a, err := actor(c)
	if err != nil {
		return err
	}
	var in schoolInput
	if err := decodeJSON(c, &in, smallBody); err != nil {
		return err
	}
	sc, err := s.org.CreateSchool(c.UserContext(), a, in.RegionID, in.Name)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(sc)
}

// teacherInfo is what organizers see of a teacher: no profile details.
type teacherInfo struct {
	ID       int64  `json:"id"`
	Username string `json:"username"`
	Nickname string `json:"nickname"`
}

func (s *Server) teachers(c *fiber.Ctx) ([]teacherInfo, error) {
	a, err := actor(c)
	if err != nil {
		return nil, err
	}
	us, err := s.accounts.Teachers(c.UserContext(), a)
	if err != nil {
		return nil, err
	}
	out := []teacherInfo{}
	for _, u := range us {
		out = append(out, teacherInfo{ID: u.ID, Username: u.Username, Nickname: u.Nickname})
	}
	return out, nil
}

func (s *Server) listTeachers(c *fiber.Ctx) error {
	ts, err := s.teachers(c)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"teachers": ts})
}

func (s *Server) listClasses(c *fiber.Ctx) error {
	a, err := actor(c)
	if err != nil {
		return err
	}
	school, err := queryInt(c, "school_id", 0)
	if err != nil {
		return err
	}
	classes, err := s.org.Classes(c.UserContext(), a, school)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"classes": append([]org.Class{}, classes...)})
}

func (s *Server) createClass(c *fiber.Ctx) error {
	a, err := actor(c)
	if err != nil {
		return err
	}
	var in org.ClassInput
	if err := decodeJSON(c, &in, smallBody); err != nil {
		return err
	}
	cl, err := s.org.CreateClass(c.UserContext(), a, in)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(cl)
}

// classParam returns the actor and the class named by :id, if the actor may
// manage it.
func (s *Server) classParam(c *fiber.Ctx) (kepu.Actor, org.Class, error) {
	a, id, err := actorAndParam(c, "id")
	if err != nil {
		return a, org.Class{}, err
	}
	cl, err := s.org.Class(c.UserContext(), a, id)
	return a, cl, err
}

func (s *Server) getClass(c *fiber.Ctx) error {
	_, cl, err := s.classParam(c)
	if err != nil {
		return err
	}
	return c.JSON(cl)
}

type teacherInput struct {
	TeacherID int64 `json:"teacher_id"`
}

func (s *Server) setTeacher(c *fiber.Ctx) error {
	a, id, err := actorAndParam(c, "id")
	if err != nil {
		return err
	}
	var in teacherInput
	if err := decodeJSON(c, &in, smallBody); err != nil {
		return err
	}
	cl, err := s.org.SetTeacher(c.UserContext(), a, id, in.TeacherID)
	if err != nil {
		return err
	}
	return c.JSON(cl)
}

func (s *Server) listPupils(c *fiber.Ctx) error {
	a, id, err := actorAndParam(c, "id")
	if err != nil {
		return err
	}
	ps, err := s.accounts.Roster(c.UserContext(), a, id)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"pupils": append([]account.Pupil{}, ps...)})
}

type pupilsInput struct {
	Names []string `json:"names"`
}

// createPupils answers with the class (for the join cards) and the new
// pupils with their passwords, shown this once.
func (s *Server) createPupils(c *fiber.Ctx) error {
	a, cl, err := s.classParam(c)
	if err != nil {
		return err
	}
	var in pupilsInput
	if err := decodeJSON(c, &in, smallBody); err != nil {
		return err
	}
	if err := s.limiter.Allow(c.UserContext(), ruleRosterBatch, strconv.FormatInt(a.UserID, 10)); err != nil {
		return err
	}
	ps, err := s.accounts.CreatePupils(c.UserContext(), a, cl.ID, in.Names)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Status(fiber.StatusCreated).JSON(fiber.Map{"class": cl, "login_url": s.cfg.BaseURL + "/login", "pupils": ps})
}

func (s *Server) resetPupilPassword(c *fiber.Ctx) error {
	a, id, err := actorAndParam(c, "id")
	if err != nil {
		return err
	}
	uid, err := paramID(c, "uid")
	if err != nil {
		return err
	}
	pw, err := s.accounts.ResetPupilPassword(c.UserContext(), a, id, uid)
	if err != nil {
		return err
	}
	// The pupil gets in at once with the new password, even if someone
	// has been guessing at the username (login_guard.go).
	if u, err := s.accounts.Get(c.UserContext(), uid); err == nil {
		if err := s.limiter.ResetBackoff(c.UserContext(), backoffLogin, normalizeLogin(u.Username)); err != nil {
			return err
		}
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(passwordReply{UserID: uid, Password: pw})
}
