package server

import (
	"strconv"

	"github.com/gofiber/fiber/v2"
)

// practiceRoutes are the daily practice, the points account with the
// weekly boards, and the wrong-answer notebook (docs/learning.md): JSON
// and the /practice, /points and /notebook pages. Signed-in people only
// (the services refuse guests); each sees only their own.
func (s *Server) practiceRoutes(api fiber.Router) {
	api.Get("/practice/today", s.requireLogin, s.practiceToday)
	api.Post("/practice/answers", s.requireLogin, s.practiceAnswer)
	api.Get("/points", s.requireLogin, s.pointsAccount)
	api.Get("/practice/boards", s.requireLogin, s.practiceBoards)
	api.Get("/notebook", s.requireLogin, s.notebookList)
	api.Post("/notebook/:id/retry", s.requireLogin, s.notebookRetry)
	api.Post("/notebook/:id/answer", s.requireLogin, s.notebookAnswer)

	a := s.App
	a.Get("/practice", s.requireLogin, s.practicePage)
	a.Get("/notebook", s.requireLogin, s.notebookPage)
	a.Get("/points", s.requireLogin, s.pointsPage)
}

func (s *Server) practiceToday(c *fiber.Ctx) error {
	a, err := actor(c)
	if err != nil {
		return err
	}
	st, err := s.practice.Today(c.UserContext(), a)
	if err != nil {
		return err
	}
	return c.JSON(st)
}

// practiceAnswerInput is the body of POST /practice/answers.
type practiceAnswerInput struct {
	Day    string `json:"day"` // YYYY-MM-DD, the day being played
	Seq    int    `json:"seq"`
	Choice []int  `json:"choice"` // shown positions
}

func (s *Server) practiceAnswer(c *fiber.Ctx) error {
	a, err := actor(c)
	if err != nil {
		return err
	}
	if err := s.limiter.Allow(c.UserContext(), answerRule, strconv.FormatInt(a.UserID, 10)); err != nil {
		return err
	}
	var in practiceAnswerInput
	if err := decodeJSON(c, &in, 1<<10); err != nil {
		return err
	}
	res, err := s.practice.Answer(c.UserContext(), a, in.Day, in.Seq, in.Choice)
	if err != nil {
		return err
	}
	return c.JSON(res)
}

func (s *Server) pointsAccount(c *fiber.Ctx) error {
	a, err := actor(c)
	if err != nil {
		return err
	}
	acc, err := s.practice.Points(c.UserContext(), a.UserID, 100)
	if err != nil {
		return err
	}
	return c.JSON(acc)
}

func (s *Server) practiceBoards(c *fiber.Ctx) error {
	a, err := actor(c)
	if err != nil {
		return err
	}
	d, err := s.practice.WeeklyOf(c.UserContext(), a.UserID)
	if err != nil {
		return err
	}
	return c.JSON(d)
}

func (s *Server) notebookList(c *fiber.Ctx) error {
	a, err := actor(c)
	if err != nil {
		return err
	}
	nb, err := s.notebook.List(c.UserContext(), a.UserID)
	if err != nil {
		return err
	}
	return c.JSON(nb)
}

func (s *Server) notebookRetry(c *fiber.Ctx) error {
	a, id, err := actorAndParam(c, "id")
	if err != nil {
		return err
	}
	r, err := s.notebook.StartRetry(c.UserContext(), a.UserID, id)
	if err != nil {
		return err
	}
	return c.JSON(r)
}

// notebookAnswerInput is the body of POST /notebook/:id/answer.
type notebookAnswerInput struct {
	Choice []int `json:"choice"` // shown positions
}

func (s *Server) notebookAnswer(c *fiber.Ctx) error {
	a, id, err := actorAndParam(c, "id")
	if err != nil {
		return err
	}
	var in notebookAnswerInput
	if err := decodeJSON(c, &in, 1<<10); err != nil {
		return err
	}
	r, err := s.notebook.AnswerRetry(c.UserContext(), a.UserID, id, in.Choice)
	if err != nil {
		return err
	}
	return c.JSON(r)
}

func (s *Server) practicePage(c *fiber.Ctx) error {
	return s.render(c, "practice", "daily.practice.title", nil, "practice.js")
}

func (s *Server) notebookPage(c *fiber.Ctx) error {
	return s.render(c, "notebook", "daily.notebook.title", nil, "notebook.js")
}

func (s *Server) pointsPage(c *fiber.Ctx) error {
	a, err := actor(c)
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	acc, err := s.practice.Points(ctx, a.UserID, 100)
	if err != nil {
		return err
	}
	streak, err := s.practice.Streak(ctx, a.UserID)
	if err != nil {
		return err
	}
	w, err := s.practice.WeeklyOf(ctx, a.UserID)
	if err != nil {
		return err
	}
	return s.render(c, "points", "daily.points.title", fiber.Map{"Account": acc, "Streak": streak, "Weekly": w})
}
