package server

import (
	"bytes"
	"context"
	"fmt"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/kepu/kepu/internal/campaign"
	"github.com/kepu/kepu/internal/kepu"
	"github.com/kepu/kepu/internal/prize"
)

// Prizes of campaigns (internal/prize): the public lottery and final
// board, the organizer's definitions, winners, export and fulfilment, and
// the winner's "my prizes" with the delivery form.

// maxPrizeBody bounds a prize definition or delivery request.
const maxPrizeBody = 64 << 10

// finalBoardLimit is how many ranks of each division the final board
// shows.
const finalBoardLimit = 200

func (s *Server) prizeRoutes(api fiber.Router) {
	org := requireRole(kepu.RoleOrganizer, kepu.RoleAdmin)
	api.Get("/campaigns/:id/prizes", s.getPrizes)
	api.Get("/campaigns/:id/lottery", s.getLottery)
	api.Get("/campaigns/:id/final-board", s.getFinalBoard)
	api.Get("/manage/campaigns/:id/prizes", org, s.getManagedPrizes)
	api.Put("/manage/campaigns/:id/prizes", org, s.putPrizes)
	api.Post("/manage/campaigns/:id/settle", org, s.settlePrizes)
	api.Get("/manage/campaigns/:id/winners", org, s.getWinners)
	api.Get("/manage/campaigns/:id/winners.csv", org, s.exportWinners)
	api.Post("/manage/campaigns/:id/winners/:award/fulfil", org, s.fulfilAward)
	api.Get("/me/prizes", s.requireLogin, s.myPrizes)
	api.Put("/me/prizes/:id/delivery", s.requireLogin, s.putDelivery)

	a := s.App
	a.Get("/campaigns/:id/lottery", s.lotteryPage)
	a.Get("/campaigns/:id/final", s.finalBoardPage)
	a.Get("/me/prizes", s.requireLogin, s.myPrizesPage)
	a.Get("/manage/campaigns/:id/prizes", s.requireLogin, org, s.managePrizesPage)
}

// settledCampaign is the public campaign of the :id parameter, its prizes
// settled if it has ended and the job has not settled it yet (idempotent),
// so that the lottery and the final board appear at once.
func (s *Server) settledCampaign(c *fiber.Ctx) (campaign.Campaign, error) {
	camp, err := s.publicCampaign(c)
	if err != nil || !s.prizes.Ended(camp) {
		return camp, err
	}
	_, err = s.prizes.Settle(c.UserContext(), kepu.Actor{}, camp.ID)
	return camp, err
}

func (s *Server) getPrizes(c *fiber.Ctx) error {
	camp, err := s.publicCampaign(c)
	if err != nil {
		return err
	}
	d, err := s.prizes.Definition(c.UserContext(), camp)
	if err != nil {
		return err
	}
	return c.JSON(d)
}

func (s *Server) getLottery(c *fiber.Ctx) error {
	camp, err := s.settledCampaign(c)
	if err != nil {
		return err
	}
	l, err := s.prizes.Lottery(c.UserContext(), camp)
	if err != nil {
		return err
	}
	if c.Query("download") == "1" {
		c.Set(fiber.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="lottery-%d.json"`, camp.ID))
	}
	return c.JSON(l)
}

func (s *Server) getFinalBoard(c *fiber.Ctx) error {
	camp, err := s.settledCampaign(c)
	if err != nil {
		return err
	}
	b, err := s.prizes.FinalBoard(c.UserContext(), camp.ID, finalBoardLimit)
	if err != nil {
		return err
	}
	return c.JSON(b)
}

func (s *Server) getManagedPrizes(c *fiber.Ctx) error {
	a, id, err := actorAndParam(c, "id")
	if err != nil {
		return err
	}
	camp, err := s.campaigns.Manage(c.UserContext(), a, id)
	if err != nil {
		return err
	}
	d, err := s.prizes.Definition(c.UserContext(), camp)
	if err != nil {
		return err
	}
	return c.JSON(d)
}

func (s *Server) putPrizes(c *fiber.Ctx) error {
	a, id, err := actorAndParam(c, "id")
	if err != nil {
		return err
	}
	var d prize.Definition
	if err := decodeJSON(c, &d, maxPrizeBody); err != nil {
		return err
	}
	out, err := s.prizes.Save(c.UserContext(), a, id, d)
	if err != nil {
		return err
	}
	return c.JSON(out)
}

func (s *Server) settlePrizes(c *fiber.Ctx) error {
	a, id, err := actorAndParam(c, "id")
	if err != nil {
		return err
	}
	camp, err := s.campaigns.Manage(c.UserContext(), a, id)
	if err != nil {
		return err
	}
	if !s.prizes.Ended(camp) {
		return kepu.Errorf(kepu.ECONFLICT, "prizes.error.not_ended")
	}
	done, err := s.prizes.Settle(c.UserContext(), a, id)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"settled": done})
}

func (s *Server) getWinners(c *fiber.Ctx) error {
	a, id, err := actorAndParam(c, "id")
	if err != nil {
		return err
	}
	list, err := s.prizes.Winners(c.UserContext(), a, id)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"winners": list})
}

func (s *Server) exportWinners(c *fiber.Ctx) error {
	a, id, err := actorAndParam(c, "id")
	if err != nil {
		return err
	}
	lang := langOf(c)
	var header []string
	for _, k := range []string{"id", "prize", "division", "place", "nickname", "username", "name", "phone", "address", "fulfilled"} {
		header = append(header, s.i18n.T(lang, "prizes.col."+k, nil))
	}
	var b bytes.Buffer
	if err := s.prizes.ExportCSV(c.UserContext(), a, id, &b, header); err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="winners-%d.csv"`, id))
	return c.Send(b.Bytes())
}

func (s *Server) fulfilAward(c *fiber.Ctx) error {
	a, id, err := actorAndParam(c, "id")
	if err != nil {
		return err
	}
	award, err := paramID(c, "award")
	if err != nil {
		return err
	}
	if err := s.prizes.Fulfil(c.UserContext(), a, id, award); err != nil {
		return err
	}
	return c.JSON(fiber.Map{"fulfilled": true})
}

func (s *Server) myPrizes(c *fiber.Ctx) error {
	a, err := actor(c)
	if err != nil {
		return err
	}
	list, err := s.prizes.Mine(c.UserContext(), a)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"prizes": list})
}

func (s *Server) putDelivery(c *fiber.Ctx) error {
	a, id, err := actorAndParam(c, "id")
	if err != nil {
		return err
	}
	var d prize.Delivery
	if err := decodeJSON(c, &d, maxPrizeBody); err != nil {
		return err
	}
	if err := s.prizes.SetDelivery(c.UserContext(), a, id, d); err != nil {
		return err
	}
	return c.JSON(fiber.Map{"saved": true})
}

// prizeBox is what the campaign page shows of its prizes.
type prizeBox struct {
	Def        prize.Definition
	Lines      []prizeLine // the prizes with their divisions' names
	Commitment string      // the lottery's commitment, "" without a lottery
	Ended      bool
}

// prizeLine is a prize with the name of its division in the page's language.
type prizeLine struct {
	prize.Prize
	DivisionName string
}

// campaignPrizes is the campaign page's prize box (nil: no prizes).
func (s *Server) campaignPrizes(c *fiber.Ctx, camp campaign.Campaign) (*prizeBox, error) {
	d, err := s.prizes.Definition(c.UserContext(), camp)
	if err != nil || len(d.Prizes) == 0 {
		return nil, err
	}
	box := &prizeBox{Def: d, Ended: s.prizes.Ended(camp)}
	for _, p := range d.Prizes {
		l := prizeLine{Prize: p, DivisionName: p.Division}
		if div, ok := camp.Rules.DivisionOf(p.Division); ok && p.Division != "" {
			l.DivisionName = div.Name(langOf(c))
		}
		box.Lines = append(box.Lines, l)
	}
	if d.HasLottery() {
		l, err := s.prizes.Lottery(c.UserContext(), camp)
		if err != nil && kepu.ErrorCode(err) != kepu.ENOTFOUND {
			return nil, err
		}
		box.Commitment = l.Commitment
	}
	return box, nil
}

func (s *Server) lotteryPage(c *fiber.Ctx) error {
	camp, err := s.settledCampaign(c)
	if err != nil {
		return err
	}
	l, err := s.prizes.Lottery(c.UserContext(), camp)
	if err != nil {
		return err
	}
	data := fiber.Map{"C": s.campaignView(camp), "L": l, "APIURL": fmt.Sprintf("%s/api/v1/campaigns/%d/lottery", s.cfg.BaseURL, camp.ID)}
	if u := currentUser(c); u != nil && l.Drawn {
		a, err := actor(c)
		if err != nil {
			return err
		}
		mine, err := s.prizes.MyEntries(c.UserContext(), a, camp.ID)
		if err != nil {
			return err
		}
		data["Mine"] = mine
	}
	return s.render(c, "lottery", "prizes.lottery_title", data, "lottery_verify.js")
}

func (s *Server) finalBoardPage(c *fiber.Ctx) error {
	camp, err := s.settledCampaign(c)
	if err != nil {
		return err
	}
	b, err := s.prizes.FinalBoard(c.UserContext(), camp.ID, finalBoardLimit)
	if err != nil {
		return err
	}
	type line struct {
		prize.BoardEntry
		Time string
	}
	type division struct {
		Key, Name string // Name: in the reader's language (the key when the rules no longer name it)
		Lines     []line
	}
	var divs []division
	for _, e := range b.Lines {
		if len(divs) == 0 || divs[len(divs)-1].Key != e.Division {
			name := e.Division
			if d, ok := camp.Rules.DivisionOf(e.Division); ok {
				name = d.Name(langOf(c))
			}
			divs = append(divs, division{Key: e.Division, Name: name})
		}
		divs[len(divs)-1].Lines = append(divs[len(divs)-1].Lines, line{e, secondsText(e.TimeMS)})
	}
	return s.render(c, "final_board", "prizes.final_title", fiber.Map{"C": s.campaignView(camp), "B": b,
		"FrozenAt": shTime(b.FrozenAt), "Divisions": divs})
}

func (s *Server) myPrizesPage(c *fiber.Ctx) error {
	a, err := actor(c)
	if err != nil {
		return err
	}
	list, err := s.prizes.Mine(c.UserContext(), a)
	if err != nil {
		return err
	}
	return s.render(c, "my_prizes", "prizes.mine_title", fiber.Map{"Awards": awardViews(list), "Max": fiber.Map{
		"Name": prize.MaxDeliveryName, "Phone": prize.MaxDeliveryPhone, "Address": prize.MaxDeliveryAddress}}, "prizes.js")
}

func (s *Server) managePrizesPage(c *fiber.Ctx) error {
	a, id, err := actorAndParam(c, "id")
	if err != nil {
		return err
	}
	camp, err := s.campaigns.Manage(c.UserContext(), a, id)
	if err != nil {
		return err
	}
	d, err := s.prizes.Definition(c.UserContext(), camp)
	if err != nil {
		return err
	}
	winners, err := s.prizes.Winners(c.UserContext(), a, id)
	if err != nil {
		return err
	}
	return s.render(c, "manage_prizes", "prizes.manage_title", fiber.Map{"C": s.campaignView(camp), "Def": d,
		"Winners": awardViews(winners), "Ended": s.prizes.Ended(camp), "Limits": fiber.Map{"Prizes": prize.MaxPrizes,
			"Name": prize.MaxPrizeName, "Count": prize.MaxPrizeCount}, "ID": strconv.FormatInt(id, 10)}, "prizes.js")
}

// afterTransition makes the lottery's commitment when a campaign is
// published and settles its prizes when it is closed. A failure is logged:
// the transition stands; saving prizes makes the commitment too, and the
// settle job retries every minute.
func (s *Server) afterTransition(ctx context.Context, a kepu.Actor, camp campaign.Campaign, action string) {
	var err error
	switch action {
	case "publish":
		err = s.prizes.Commit(ctx, a, camp.ID)
	case "close":
		_, err = s.prizes.Settle(ctx, a, camp.ID)
	}
	if err != nil {
		s.log.Warn("campaign prizes after "+action, "campaign", camp.ID, "err", err)
	}
}

// awardView is an award as pages show it.
type awardView struct {
	prize.Award
	RankN     int    // the rank of a rank prize, 0 for a lottery prize
	EntryID   string // the winning entry of a lottery prize
	Fulfilled string // when it was fulfilled (Beijing time), "" before
}

func awardViews(list []prize.Award) []awardView {
	out := make([]awardView, 0, len(list))
	for _, w := range list {
		v := awardView{Award: w}
		if w.Rank != nil {
			v.RankN = *w.Rank
		}
		if w.Entry != nil {
			v.EntryID = *w.Entry
		}
		if w.FulfilledAt != nil {
			v.Fulfilled = shTime(*w.FulfilledAt)
		}
		out = append(out, v)
	}
	return out
}
