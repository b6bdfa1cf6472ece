package server

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/kepu/kepu/internal/qr"

	"github.com/kepu/kepu/internal/contest"
	"github.com/kepu/kepu/internal/kepu"
	"github.com/kepu/kepu/internal/ratelimit"
)

// Rate limits of the contest endpoints. A whole class may share one IP
// (school NAT), so the per-IP limits are generous; wrong PINs also count
// against the PIN typed.
var (
	joinIPRule = ratelimit.Rule{Name: "contest_join_ip", Burst: 120, Period: time.Minute}
	// joinRoomIPRule bounds anonymous joins into one room from one address:
	// a class of up to 60 behind a school's NAT joins within a minute, a
	// script cannot fill a room with hundreds of bots. Logged-in players are
	// counted per account instead (contest.MaxPerDevice), so a larger group
	// behind one address uses a roster-only contest.
	joinRoomIPRule = ratelimit.Rule{Name: "contest_join_room_ip", Burst: 60, Period: time.Minute}
	wsConnectRule  = ratelimit.Rule{Name: "contest_ws_ip", Burst: 600, Period: time.Minute}
)

// joinPINRule is the per-PIN join budget. A full room must be able to join
// within a minute, so it is twice the room size (retries included) and
// follows KEPU_CONTEST_MAX_PLAYERS; guessing PINs is limited per IP.
func (s *Server) joinPINRule() ratelimit.Rule {
	return ratelimit.Rule{Name: "contest_join_pin", Burst: 2 * s.contests.MaxPlayers, Period: time.Minute}
}

func (s *Server) contestRoutes(api fiber.Router) {
	host := requireRole(kepu.RoleTeacher, kepu.RoleOrganizer, kepu.RoleAdmin)
	api.Get("/contests", host, s.listContests)
	api.Post("/contests", host, s.createContest)
	api.Get("/contests/bank", host, s.searchContestBank)
	api.Get("/contests/:id", host, s.getContest)
	api.Put("/contests/:id", host, s.updateContest)
	api.Delete("/contests/:id", host, s.deleteContest)
	api.Post("/contests/:id/duplicate", host, s.duplicateContest)
	api.Post("/contests/:id/runs", host, s.createRun)
	api.Get("/contest-runs/:run", host, s.runInfo)
	api.Post("/contest-runs/:run/next", host, s.nextStep)
	api.Post("/contest-runs/:run/pause", host, s.hostAction(s.contests.Pause))
	api.Post("/contest-runs/:run/resume", host, s.hostAction(s.contests.Resume))
	api.Post("/contest-runs/:run/end", host, s.hostAction(s.contests.End))
	api.Post("/contest-runs/:run/lock", host, s.lockRun(true))
	api.Post("/contest-runs/:run/unlock", host, s.lockRun(false))
	api.Post("/contest-runs/:run/kick", host, s.kickPlayer)
	api.Get("/contest-runs/:run/qr.png", host, s.runQR)
	api.Get("/contest-runs/:run/results", host, s.runResults)
	api.Get("/contest-runs/:run/results.csv", host, s.runExport("csv"))
	api.Get("/contest-runs/:run/results.xlsx", host, s.runExport("xlsx"))
	api.Post("/play/join", s.joinContest)
	api.Get("/play/teams", s.contestTeams)
	s.contestWSRoutes()
	s.contestPageRoutes(host)
}

func (s *Server) listContests(c *fiber.Ctx) error {
	h, err := s.contestHistory(c)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"contests": h.Contests, "runs": h.Runs})
}

// contestHistory is the host's saved contests and played runs.
type contestHistory struct {
	Contests []contest.Contest
	Runs     []contest.Run
}

func (s *Server) contestHistory(c *fiber.Ctx) (contestHistory, error) {
	h := contestHistory{Contests: []contest.Contest{}, Runs: []contest.Run{}}
	a, err := actor(c)
	if err != nil {
		return h, err
	}
	list, err := s.contests.List(c.UserContext(), a)
	if err != nil {
		return h, err
	}
	runs, err := s.contests.Runs(c.UserContext(), a)
	if err != nil {
		return h, err
	}
	h.Contests = append(h.Contests, list...)
	h.Runs = append(h.Runs, runs...)
	return h, nil
}

func (s *Server) createContest(c *fiber.Ctx) error {
	a, err := actor(c)
	if err != nil {
		return err
	}
	var in contest.NewContest
	if err := decodeJSON(c, &in, 16<<10); err != nil {
		return err
	}
	out, err := s.contests.Create(c.UserContext(), a, in)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(out)
}

func (s *Server) searchContestBank(c *fiber.Ctx) error {
	a, err := actor(c)
	if err != nil {
		return err
	}
	diff, err := queryInt(c, "difficulty", 0)
	if err != nil || diff > 5 {
		return kepu.Invalid("difficulty", "error.contest_draw")
	}
	qs, err := s.contests.SearchBank(c.UserContext(), a, c.Query("q"), c.Query("category"), int(diff), c.Query("lang"))
	if err != nil {
		return err
	}
	if qs == nil {
		qs = []contest.BankQuestion{}
	}
	return c.JSON(fiber.Map{"questions": qs})
}

func (s *Server) getContest(c *fiber.Ctx) error {
	a, id, err := actorAndParam(c, "id")
	if err != nil {
		return err
	}
	out, err := s.contests.Get(c.UserContext(), a, id)
	if err != nil {
		return err
	}
	return c.JSON(out)
}

// updateContest saves an edit of a saved contest (title, settings, the
// questions in their new order).
func (s *Server) updateContest(c *fiber.Ctx) error {
	a, id, err := actorAndParam(c, "id")
	if err != nil {
		return err
	}
	var in contest.EditContest
	if err := decodeJSON(c, &in, 16<<10); err != nil {
		return err
	}
	out, err := s.contests.Update(c.UserContext(), a, id, in)
	if err != nil {
		return err
	}
	return c.JSON(out)
}

// duplicateContest saves a copy of a contest for the actor; without a
// title in the body it is called "copy of …" in the host's language.
func (s *Server) duplicateContest(c *fiber.Ctx) error {
	a, id, err := actorAndParam(c, "id")
	if err != nil {
		return err
	}
	var in struct {
		Title string `json:"title"`
	}
	if len(c.Body()) > 0 {
		if err := decodeJSON(c, &in, 1<<10); err != nil {
			return err
		}
	}
	if in.Title == "" {
		orig, err := s.contests.Get(c.UserContext(), a, id)
		if err != nil {
			return err
		}
		in.Title = copyTitle(s.i18n.T(langOf(c), "present.copy_of", map[string]any{"title": orig.Title}), contest.MaxTitle)
	}
	out, err := s.contests.Duplicate(c.UserContext(), a, id, in.Title)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(out)
}

// copyTitle cuts a copy's title to max characters.
func copyTitle(t string, max int) string {
	if r := []rune(t); len(r) > max {
		return string(r[:max])
	}
	return t
}

// deleteContest removes a contest from the host's list; its runs stay in
// the history ("runs": how many).
func (s *Server) deleteContest(c *fiber.Ctx) error {
	a, id, err := actorAndParam(c, "id")
	if err != nil {
		return err
	}
	d, err := s.contests.Delete(c.UserContext(), a, id)
	if err != nil {
		return err
	}
	return c.JSON(d)
}

func (s *Server) createRun(c *fiber.Ctx) error {
	a, id, err := actorAndParam(c, "id")
	if err != nil {
		return err
	}
	run, err := s.contests.CreateRun(c.UserContext(), a, id)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(fiber.Map{"run": run, "join_url": s.joinURL(run.PIN)})
}

func (s *Server) joinURL(pin string) string { return s.cfg.BaseURL + "/play?pin=" + pin }

func (s *Server) runInfo(c *fiber.Ctx) error {
	a, id, err := actorAndParam(c, "run")
	if err != nil {
		return err
	}
	info, err := s.contests.Info(c.UserContext(), a, id)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"run": info, "join_url": s.joinURL(info.PIN)})
}

func (s *Server) hostAction(fn func(ctx context.Context, a kepu.Actor, id int64) error) fiber.Handler {
	return func(c *fiber.Ctx) error {
		a, id, err := actorAndParam(c, "run")
		if err != nil {
			return err
		}
		if err := fn(c.UserContext(), a, id); err != nil {
			return err
		}
		return c.SendStatus(fiber.StatusNoContent)
	}
}

// nextStep moves the room on; an optional body {"from": phase} names the
// phase the host saw, so a double click cannot skip a step.
func (s *Server) nextStep(c *fiber.Ctx) error {
	a, id, err := actorAndParam(c, "run")
	if err != nil {
		return err
	}
	var in struct {
		From string `json:"from"`
	}
	if len(c.Body()) > 0 {
		if err := decodeJSON(c, &in, 1<<10); err != nil {
			return err
		}
	}
	if err := s.contests.Next(c.UserContext(), a, id, in.From); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (s *Server) lockRun(locked bool) fiber.Handler {
	return s.hostAction(func(ctx context.Context, a kepu.Actor, id int64) error {
		return s.contests.Lock(ctx, a, id, locked)
	})
}

func (s *Server) kickPlayer(c *fiber.Ctx) error {
	a, id, err := actorAndParam(c, "run")
	if err != nil {
		return err
	}
	var in struct {
		Player int `json:"player"`
	}
	if err := decodeJSON(c, &in, 1<<10); err != nil {
		return err
	}
	if in.Player <= 0 {
		return kepu.Invalid("player", "error.invalid_id")
	}
	if err := s.contests.Kick(c.UserContext(), a, id, in.Player); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (s *Server) runQR(c *fiber.Ctx) error {
	a, id, err := actorAndParam(c, "run")
	if err != nil {
		return err
	}
	info, err := s.contests.Info(c.UserContext(), a, id)
	if err != nil {
		return err
	}
	png, err := qr.PNG(s.joinURL(info.PIN), 512)
	if err != nil {
		return fmt.Errorf("server: qr: %w", err)
	}
	c.Set(fiber.HeaderCacheControl, "private, max-age=3600")
	c.Type("png")
	return c.Send(png)
}

func (s *Server) runResults(c *fiber.Ctx) error {
	a, id, err := actorAndParam(c, "run")
	if err != nil {
		return err
	}
	r, err := s.contests.Results(c.UserContext(), a, id)
	if err != nil {
		return err
	}
	return c.JSON(r)
}

func (s *Server) runExport(format string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		a, id, err := actorAndParam(c, "run")
		if err != nil {
			return err
		}
		r, err := s.contests.Results(c.UserContext(), a, id)
		if err != nil {
			return err
		}
		lang := langOf(c)
		t := func(k string) string { return s.i18n.T(lang, k, nil) }
		l := contest.Labels{Rank: t("contest.col_rank"), Nickname: t("contest.col_nickname"), Class: t("contest.col_class"),
			Score: t("contest.col_score"), Correct: t("contest.col_correct"), Question: t("contest.col_question"),
			Stem: t("contest.col_stem"), Answered: t("contest.col_answered"), Accuracy: t("contest.col_accuracy"),
			AvgTime: t("contest.col_avg_time"), Ranking: t("contest.sheet_ranking"), Questions: t("contest.sheet_questions")}
		var buf bytes.Buffer
		name := fmt.Sprintf("contest-%d.%s", id, format)
		if format == "csv" {
			err = r.WriteCSV(&buf, l)
			c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
		} else {
			err = r.WriteXLSX(&buf, l)
			c.Set(fiber.HeaderContentType, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
		}
		if err != nil {
			return err
		}
		c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+name+`"`)
		return c.Send(buf.Bytes())
	}
}

func (s *Server) joinContest(c *fiber.Ctx) error {
	var in contest.JoinInput
	if err := decodeJSON(c, &in, 1<<10); err != nil {
		return err
	}
	ctx := c.UserContext()
	if err := s.limiter.Allow(ctx, joinIPRule, c.IP()); err != nil {
		return err
	}
	if contest.ValidPIN(in.PIN) {
		if err := s.limiter.Allow(ctx, s.joinPINRule(), in.PIN); err != nil {
			return err
		}
	}
	u := currentUser(c)
	if u != nil {
		in.UserID, in.ClassID, in.RosterNick = u.ID, u.ClassID, u.Nickname
	} else if contest.ValidPIN(in.PIN) {
		if err := s.limiter.Allow(ctx, joinRoomIPRule, c.IP()+"|"+in.PIN); err != nil {
			return err
		}
	}
	in.Device = s.deviceMark(c)
	j, err := s.contests.Join(ctx, in)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(j)
}

func (s *Server) contestTeams(c *fiber.Ctx) error {
	if err := s.limiter.Allow(c.UserContext(), joinIPRule, c.IP()); err != nil {
		return err
	}
	id, err := s.contests.RoomOfPIN(c.UserContext(), c.Query("pin"))
	if err != nil {
		return err
	}
	teams, err := s.contests.Teams(c.UserContext(), id)
	if err != nil {
		return err
	}
	if teams == nil {
		teams = []contest.TeamStanding{}
	}
	return c.JSON(fiber.Map{"teams": teams})
}
