package server

import (
	"errors"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/kepu/kepu/internal/campaign"
	"github.com/kepu/kepu/internal/kepu"
	"github.com/kepu/kepu/internal/leaderboard"
	"github.com/kepu/kepu/internal/ratelimit"
)

// answerRule bounds answer submissions per user (a 50-question attempt
// needs 50; retries of a lost response are idempotent but still count).
var answerRule = ratelimit.Rule{Name: "campaign_answer", Burst: 600, Period: time.Minute}

// seenRule bounds question acknowledgments per user (one per question).
var seenRule = ratelimit.Rule{Name: "campaign_seen", Burst: 600, Period: time.Minute}

func (s *Server) campaignRoutes(api fiber.Router) {
	org := requireRole(kepu.RoleOrganizer, kepu.RoleAdmin)
	api.Get("/campaigns", s.listCampaigns)
	api.Get("/campaigns/:id", s.getCampaign)
	api.Post("/campaigns/:id/attempts", s.requireLogin, s.startAttempt)
	api.Post("/campaigns/:id/guest", s.joinAsGuest)
	api.Get("/campaigns/:id/leaderboard", s.getLeaderboard)
	api.Get("/attempts/:id", s.requireLogin, s.currentAttempt)
	api.Post("/attempts/:id/answers", s.requireLogin, s.answerAttempt)
	api.Get("/attempts/:id/answers/:seq", s.requireLogin, s.lockedAnswer)
	api.Post("/attempts/:id/finish", s.requireLogin, s.finishAttempt)
	api.Post("/attempts/:id/signals", s.requireLogin, s.signalAttempt)
	api.Post("/attempts/:id/seen", s.requireLogin, s.seenAttempt)
	api.Get("/attempts/:id/result", s.requireLogin, s.attemptResult)
	api.Get("/attempts/:id/review", s.requireLogin, s.attemptReview)
	api.Get("/attempts/:id/certificate.png", s.requireLogin, s.certificatePNG)
	api.Get("/me/attempts", s.requireLogin, s.myAttempts)
	api.Get("/certificates/:code", s.getCertificate)
	api.Get("/manage/campaigns", org, s.listManaged)
	api.Post("/manage/campaigns", org, s.createCampaign)
	api.Get("/manage/campaigns/:id", org, s.getManaged)
	api.Put("/manage/campaigns/:id", org, s.updateCampaign)
	for _, action := range []string{"publish", "pause", "close", "archive"} {
		api.Post("/manage/campaigns/:id/"+action, org, s.transitionCampaign(action))
	}
	s.leaderboardWSRoutes()
	s.campaignPageRoutes()
}

// campaignCard is a campaign as citizens see it in lists.
type campaignCard struct {
	campaign.Campaign
	Phase string `json:"phase"` // upcoming, open or ended
}

func (s *Server) cards(list []campaign.Campaign) []campaignCard {
	now := s.campaigns.Now()
	out := make([]campaignCard, 0, len(list))
	for _, c := range list {
		out = append(out, campaignCard{Campaign: c, Phase: c.Phase(now)})
	}
	return out
}

func (s *Server) listCampaigns(c *fiber.Ctx) error {
	list, err := s.campaigns.ListPublic(c.UserContext())
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"campaigns": s.cards(list)})
}

// publicCampaign is the campaign of the :id parameter as citizens see it.
func (s *Server) publicCampaign(c *fiber.Ctx) (campaign.Campaign, error) {
	id, err := paramID(c, "id")
	if err != nil {
		return campaign.Campaign{}, err
	}
	return s.campaigns.Public(c.UserContext(), id)
}

func (s *Server) getCampaign(c *fiber.Ctx) error {
	camp, err := s.publicCampaign(c)
	if err != nil {
		return err
	}
	return c.JSON(s.cards([]campaign.Campaign{camp})[0])
}

func (s *Server) startAttempt(c *fiber.Ctx) error {
	a, id, err := actorAndParam(c, "id")
	if err != nil {
		return err
	}
	var opt campaign.StartOptions
	if len(c.Body()) > 0 {
		if err := decodeJSON(c, &opt, 1<<10); err != nil {
			return err
		}
	}
	att, resumed, err := s.campaigns.StartWith(c.UserContext(), a, id, opt)
	if err != nil {
		return err
	}
	if !resumed {
		// For the shared device/address signals; a failure here only loses
		// a signal, never the attempt.
		if err := s.campaigns.MarkClient(c.UserContext(), a, att.ID, s.deviceMark(c), s.addrMark(c)); err != nil {
			s.log.Warn("mark attempt client", "attempt", att.ID, "err", err)
		}
	}
	status := fiber.StatusCreated
	if resumed {
		status = fiber.StatusOK
	}
	return c.Status(status).JSON(fiber.Map{"attempt": att, "resumed": resumed})
}

func (s *Server) currentAttempt(c *fiber.Ctx) error {
	a, id, err := actorAndParam(c, "id")
	if err != nil {
		return err
	}
	st, err := s.campaigns.Current(c.UserContext(), a, id)
	if err != nil {
		return err
	}
	return c.JSON(st)
}

// answerInput is the body of POST /attempts/:id/answers.
type answerInput struct {
	Seq    int   `json:"seq"`
	Choice []int `json:"choice"`
	RTTMS  int   `json:"rtt_ms"` // round trip of the request that served the question
}

func (s *Server) answerAttempt(c *fiber.Ctx) error {
	arrived := s.campaigns.Now() // the time that is judged (AnswerAt)
	a, id, err := actorAndParam(c, "id")
	if err != nil {
		return err
	}
	if err := s.limiter.Allow(c.UserContext(), answerRule, strconv.FormatInt(a.UserID, 10)); err != nil {
		return err
	}
	var in answerInput
	if err := decodeJSON(c, &in, 1<<10); err != nil {
		return err
	}
	res, err := s.campaigns.AnswerAt(c.UserContext(), a, id, in.Seq, in.Choice, in.RTTMS, arrived)
	if err != nil {
		return err
	}
	return c.JSON(res)
}

// lockedAnswer is GET /attempts/:id/answers/:seq: the result of a locked
// question (answered or timed out) with the right answer and the
// explanation; 409 while the question is still open.
func (s *Server) lockedAnswer(c *fiber.Ctx) error {
	a, id, err := actorAndParam(c, "id")
	if err != nil {
		return err
	}
	seq, err := paramID(c, "seq")
	if err != nil {
		return err
	}
	res, err := s.campaigns.Locked(c.UserContext(), a, id, int(seq))
	if err != nil {
		return err
	}
	return c.JSON(res)
}

func (s *Server) finishAttempt(c *fiber.Ctx) error {
	a, id, err := actorAndParam(c, "id")
	if err != nil {
		return err
	}
	if _, err := s.campaigns.Finish(c.UserContext(), a, id); err != nil {
		return err
	}
	return s.attemptResult(c)
}

// seenAttempt records the page's acknowledgment of a served question: the
// server's own round trip for the latency credit (docs/fairness.md).
func (s *Server) seenAttempt(c *fiber.Ctx) error {
	a, id, err := actorAndParam(c, "id")
	if err != nil {
		return err
	}
	if err := s.limiter.Allow(c.UserContext(), seenRule, strconv.FormatInt(a.UserID, 10)); err != nil {
		return err
	}
	var in struct {
		Seq int `json:"seq"`
	}
	if err := decodeJSON(c, &in, 1<<10); err != nil {
		return err
	}
	if err := s.campaigns.Seen(c.UserContext(), a, id, in.Seq); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (s *Server) signalAttempt(c *fiber.Ctx) error {
	a, id, err := actorAndParam(c, "id")
	if err != nil {
		return err
	}
	var in struct {
		Kind string `json:"kind"`
		Seq  int    `json:"seq"`
	}
	if err := decodeJSON(c, &in, 1<<10); err != nil {
		return err
	}
	if err := s.campaigns.Signal(c.UserContext(), a, id, in.Kind, in.Seq); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// attemptResultView is a finished attempt with its campaign and ranks,
// how many questions were answered right, the score that passes and what
// the player may do next.
type attemptResultView struct {
	Attempt   campaign.Attempt  `json:"attempt"`
	Campaign  campaign.Campaign `json:"campaign"`
	Ranks     leaderboard.Ranks `json:"ranks"`
	Tally     campaign.Tally    `json:"tally"`      // right answers of Attempt.Questions, time really used
	PassScore int               `json:"pass_score"` // the least score that passes (PassMark of MaxScore)
	PassMark  int               `json:"pass_mark"`  // percent: the attempt's division's (Rules.For)
	// Division is the name of the attempt's division in the reader's
	// language ("" without divisions).
	Division string `json:"division,omitempty"`
	// Again: "now" (another attempt may start now; Left of them, -1
	// unlimited), "tomorrow" (today's are used: more from NextAt, 00:00
	// Beijing time) or "none" (all used, or the campaign is over by then).
	Again  string     `json:"again"`
	Left   int        `json:"left"`
	NextAt *time.Time `json:"next_at,omitempty"`
}

// againOf fills v.Again, v.Left and v.NextAt from the actor's attempts.
func (s *Server) againOf(c *fiber.Ctx, a kepu.Actor, v *attemptResultView) error {
	m, err := s.campaigns.MineOf(c.UserContext(), a, v.Campaign)
	if err != nil {
		return err
	}
	now := s.campaigns.Now()
	v.Left, v.Again = m.Left(), "none"
	switch next := campaign.NextDay(now); {
	case v.Campaign.Open(now) && v.Left != 0:
		v.Again = "now"
	case m.LeftToday == 0 && m.LeftTotal != 0 && v.Campaign.Open(next):
		v.Again, v.NextAt = "tomorrow", &next
	}
	return nil
}

func (s *Server) resultView(c *fiber.Ctx) (attemptResultView, error) {
	var v attemptResultView
	a, id, err := actorAndParam(c, "id")
	if err != nil {
		return v, err
	}
	if v.Attempt, err = s.campaigns.Attempt(c.UserContext(), a, id); err != nil {
		return v, err
	}
	if !v.Attempt.Finished() {
		return v, kepu.Errorf(kepu.ECONFLICT, "error.campaign_not_finished")
	}
	if v.Campaign, err = s.campaigns.Get(c.UserContext(), v.Attempt.CampaignID); err != nil {
		return v, err
	}
	if v.Tally, err = s.campaigns.TallyOf(c.UserContext(), v.Attempt.ID); err != nil {
		return v, err
	}
	v.PassMark = v.Campaign.Rules.For(v.Attempt.Division, false).PassMark
	v.PassScore = (v.Attempt.MaxScore*v.PassMark + 99) / 100
	if d, ok := v.Campaign.Rules.DivisionOf(v.Attempt.Division); ok {
		v.Division = d.Name(langOf(c))
	}
	if err := s.againOf(c, a, &v); err != nil {
		return v, err
	}
	if v.Attempt.StaffPractice || v.Attempt.Practice { // never ranked: no ranks to show
		return v, nil
	}
	if v.Ranks, err = s.boards.RanksOf(c.UserContext(), v.Attempt.CampaignID, a.UserID, v.Attempt.ID); err != nil {
		return v, err
	}
	return v, nil
}

func (s *Server) attemptResult(c *fiber.Ctx) error {
	v, err := s.resultView(c)
	if err != nil {
		return err
	}
	return c.JSON(v)
}

func (s *Server) attemptReview(c *fiber.Ctx) error {
	a, id, err := actorAndParam(c, "id")
	if err != nil {
		return err
	}
	items, err := s.campaigns.Review(c.UserContext(), a, id)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"items": items})
}

func (s *Server) myAttempts(c *fiber.Ctx) error {
	a, err := actor(c)
	if err != nil {
		return err
	}
	h, err := s.campaigns.History(c.UserContext(), a)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"attempts": h})
}

func (s *Server) getCertificate(c *fiber.Ctx) error {
	cert, err := s.campaigns.CertificateByCode(c.UserContext(), c.Params("code"))
	if err != nil {
		return err
	}
	return c.JSON(publicCertificate(cert))
}

// publicCertificate is a certificate as anyone verifying its code sees
// it: an under-14's nickname masked as on public boards.
func publicCertificate(cert campaign.Certificate) campaign.Certificate {
	if cert.Minor {
		cert.Nickname = leaderboard.MaskNickname(cert.Nickname)
	}
	return cert
}

// boardQuery reads ?board=all|district|school|class&id=&period=all|today
// and, in a campaign with divisions, &division=key (the viewer's own
// division when absent, else the first one).
// A user's own district/school/class is used when id is 0.
func (s *Server) boardQuery(c *fiber.Ctx, camp campaign.Campaign) (leaderboard.Board, error) {
	b := leaderboard.Board{Kind: c.Query("board", leaderboard.All), Today: c.Query("period") == "today"}
	division, err := s.boardDivision(c, camp)
	if err != nil {
		return b, err
	}
	b.Division = division
	if p := c.Query("period", "all"); p != "all" && p != "today" {
		return b, kepu.Invalid("period", "error.campaign_board")
	}
	id, err := queryInt(c, "id", 0)
	if err != nil {
		return b, kepu.Invalid("id", "error.campaign_board")
	}
	b.ID = id
	if b.Kind != leaderboard.All && b.ID == 0 {
		if u := currentUser(c); u != nil {
			d, sc, cl, err := s.boards.Groups(c.UserContext(), u.ID)
			if err != nil {
				return b, err
			}
			b.ID = map[string]int64{leaderboard.District: d, leaderboard.School: sc, leaderboard.Class: cl}[b.Kind]
		}
	}
	if !b.Valid() {
		return b, kepu.Invalid("board", "error.campaign_board")
	}
	return b, nil
}

// boardDivision is the division of ?division= for camp: "" without
// divisions, else the named one (kepu.EINVALID for an unknown key), the
// viewer's own or the first.
func (s *Server) boardDivision(c *fiber.Ctx, camp campaign.Campaign) (string, error) {
	if len(camp.Rules.Divisions) == 0 {
		return "", nil
	}
	if key := c.Query("division"); key != "" {
		if _, ok := camp.Rules.DivisionOf(key); !ok {
			return "", kepu.Invalid("division", "divisions.error.unknown")
		}
		return key, nil
	}
	if u := currentUser(c); u != nil {
		pl, err := s.campaigns.PlacementOf(c.UserContext(), u.Actor(), camp)
		if err != nil {
			return "", err
		}
		if pl.Key != "" {
			return pl.Key, nil
		}
	}
	return camp.Rules.Divisions[0].Key, nil
}

// errBoardPrivate refuses a class or school board to an outsider.
var errBoardPrivate = kepu.Errorf(kepu.EFORBIDDEN, "error.lb_board_private")

// checkBoard lets anyone read the public boards (overall, district) and a
// class or school board only to its members, their teachers, organizers in
// scope and admins (pupils' names: docs/leaderboards.md "Who sees which
// board"); errBoardPrivate for anyone else, logged in or not.
func (s *Server) checkBoard(c *fiber.Ctx, b leaderboard.Board) error {
	if b.Public() {
		return nil
	}
	u := currentUser(c)
	if u == nil {
		return errBoardPrivate
	}
	var err error
	if b.Kind == leaderboard.Class {
		err = s.org.CheckClassViewer(c.UserContext(), u.Actor(), b.ID)
	} else {
		err = s.org.CheckSchoolViewer(c.UserContext(), u.Actor(), b.ID)
	}
	if errors.Is(err, kepu.Forbidden) {
		return errBoardPrivate
	}
	return err
}

func (s *Server) getLeaderboard(c *fiber.Ctx) error {
	id, err := paramID(c, "id")
	if err != nil {
		return err
	}
	camp, err := s.campaigns.Listed(c.UserContext(), id)
	if err != nil {
		return err
	}
	b, err := s.boardQuery(c, camp)
	if err != nil {
		return err
	}
	if err := s.checkBoard(c, b); err != nil {
		return err
	}
	n, err := queryInt(c, "n", 20)
	if err != nil || n < 1 || n > 100 {
		return kepu.Invalid("n", "error.campaign_board")
	}
	var me int64
	if u := currentUser(c); u != nil {
		me = u.ID
	}
	body, err := s.boards.Page(c.UserContext(), id, b, int(n), me)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	return c.Send(body)
}

// managedCampaigns lists the campaigns the caller manages.
func (s *Server) managedCampaigns(c *fiber.Ctx) ([]campaign.Campaign, error) {
	a, err := actor(c)
	if err != nil {
		return nil, err
	}
	return s.campaigns.ListManaged(c.UserContext(), a)
}

func (s *Server) listManaged(c *fiber.Ctx) error {
	list, err := s.managedCampaigns(c)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"campaigns": list})
}

func (s *Server) createCampaign(c *fiber.Ctx) error {
	a, err := actor(c)
	if err != nil {
		return err
	}
	var in campaign.Input
	if err := decodeJSON(c, &in, 32<<10); err != nil {
		return err
	}
	out, err := s.campaigns.Create(c.UserContext(), a, in)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(out)
}

func (s *Server) getManaged(c *fiber.Ctx) error {
	a, id, err := actorAndParam(c, "id")
	if err != nil {
		return err
	}
	out, err := s.campaigns.Manage(c.UserContext(), a, id)
	if err != nil {
		return err
	}
	return c.JSON(out)
}

func (s *Server) updateCampaign(c *fiber.Ctx) error {
	a, id, err := actorAndParam(c, "id")
	if err != nil {
		return err
	}
	var in campaign.Input
	if err := decodeJSON(c, &in, 32<<10); err != nil {
		return err
	}
	out, err := s.campaigns.Update(c.UserContext(), a, id, in)
	if err != nil {
		return err
	}
	return c.JSON(out)
}

func (s *Server) transitionCampaign(action string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		a, id, err := actorAndParam(c, "id")
		if err != nil {
			return err
		}
		out, err := s.campaigns.Transition(c.UserContext(), a, id, action)
		if err != nil {
			return err
		}
		s.afterTransition(c.UserContext(), a, out, action) // prize.go
		return c.JSON(out)
	}
}
