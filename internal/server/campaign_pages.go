package server

import (
	"fmt"
	"net/url"
	"slices"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/kepu/kepu/internal/bank"
	"github.com/kepu/kepu/internal/campaign"
	"github.com/kepu/kepu/internal/kepu"
	"github.com/kepu/kepu/internal/org"
)

// campaignPageRoutes registers the citizen, organizer and certificate
// pages of campaigns. Pages read through the same services as the API.
func (s *Server) campaignPageRoutes() {
	a := s.App
	orgOnly := requireRole(kepu.RoleOrganizer, kepu.RoleAdmin)
	a.Get("/campaigns", s.campaignsPage)
	a.Get("/campaigns/:id", s.campaignPage)
	a.Get("/campaigns/:id/leaderboard", s.leaderboardPage)
	a.Get("/attempts/:id", s.requireLogin, s.attemptPage)
	a.Get("/attempts/:id/result", s.requireLogin, s.attemptResultPage)
	a.Get("/attempts/:id/review", s.requireLogin, s.attemptReviewPage)
	a.Get("/attempts/:id/certificate", s.requireLogin, s.certificatePage)
	a.Get("/me/history", s.requireLogin, s.historyPage)
	a.Get("/certificates/:code", s.verifyPage)
	a.Get("/certificates/:code/qr.png", s.certificateQR)
	a.Get("/manage/campaigns", s.requireLogin, orgOnly, s.manageCampaignsPage)
	a.Get("/manage/campaigns/new", s.requireLogin, orgOnly, s.manageCampaignPage)
	a.Get("/manage/campaigns/:id", s.requireLogin, orgOnly, s.manageCampaignPage)
}

// shTime formats t as Asia/Shanghai wall time for pages.
func shTime(t time.Time) string { return kepu.FormatTime(t, kepu.LayoutMinute) }

// shDate formats t as an Asia/Shanghai date.
func shDate(t time.Time) string { return kepu.FormatTime(t, kepu.LayoutDate) }

// secondsText is milliseconds as seconds with one decimal.
func secondsText(ms int64) string { return fmt.Sprintf("%.1f", float64(ms)/1000) }

// campaignView is a campaign with what pages show about it.
type campaignView struct {
	campaign.Campaign
	Phase  string
	Starts string
	Ends   string
	For    string // whom it is for, where a page names it (audienceTexts)
}

func (s *Server) campaignView(c campaign.Campaign) campaignView {
	return campaignView{Campaign: c, Phase: c.Phase(s.campaigns.Now()), Starts: shTime(c.StartsAt), Ends: shTime(c.EndsAt)}
}

func (s *Server) campaignsPage(c *fiber.Ctx) error {
	list, err := s.campaigns.ListPublic(c.UserContext())
	if err != nil {
		return err
	}
	groups := map[string][]campaignView{}
	for _, x := range list {
		v := s.campaignView(x)
		groups[v.Phase] = append(groups[v.Phase], v)
	}
	type group struct {
		Phase string
		List  []campaignView
	}
	var out []group
	for _, p := range []string{"open", "upcoming", "ended"} {
		if len(groups[p]) > 0 {
			out = append(out, group{p, groups[p]})
		}
	}
	return s.render(c, "campaigns", "campaign.list_title", out)
}

func (s *Server) campaignPage(c *fiber.Ctx) error {
	camp, err := s.publicCampaign(c)
	if err != nil {
		return err
	}
	data := fiber.Map{"C": s.campaignView(camp), "Playable": camp.Open(s.campaigns.Now())}
	aud, err := s.audienceTexts(c.UserContext(), langOf(c), []campaign.Campaign{camp})
	if err != nil {
		return err
	}
	data["Audience"] = aud[0]
	if data["Reach"], err = s.campaignReach(c, camp); err != nil {
		return err
	}
	u := currentUser(c)
	switch {
	case u != nil && u.IsGuest() && !camp.Rules.Guests:
		data["GuestRefused"] = true
	case u != nil:
		a, err := actor(c)
		if err != nil {
			return err
		}
		mine, err := s.campaigns.MineOf(c.UserContext(), a, camp)
		if err != nil {
			return err
		}
		data["Mine"] = mine
		data["StaffPractice"] = campaign.StaffPractice(a, camp)
		pl, err := s.campaigns.PlacementOf(c.UserContext(), a, camp)
		if err != nil {
			return err
		}
		data["Placement"] = pl
		if d, ok := camp.Rules.DivisionOf(pl.Key); ok {
			data["DivisionName"] = d.Name(langOf(c))
		}
	case camp.Rules.Guests:
		ds, err := s.campaigns.GuestDistricts(c.UserContext(), camp)
		if err != nil {
			return err
		}
		data["GuestDistricts"], data["GuestDistrictRequired"] = ds, len(camp.Audience) > 0
	}
	if data["Prizes"], err = s.campaignPrizes(c, camp); err != nil { // prize.go
		return err
	}
	return s.render(c, "campaign", "campaign.list_title", data, "campaign.js")
}

func (s *Server) attemptPage(c *fiber.Ctx) error {
	a, id, err := actorAndParam(c, "id")
	if err != nil {
		return err
	}
	att, err := s.campaigns.Attempt(c.UserContext(), a, id)
	if err != nil {
		return err
	}
	if att.Finished() {
		return c.Redirect(fmt.Sprintf("/attempts/%d/result", id), fiber.StatusSeeOther)
	}
	camp, err := s.campaigns.Get(c.UserContext(), att.CampaignID)
	if err != nil {
		return err
	}
	data := fiber.Map{"Attempt": att, "C": s.campaignView(camp)}
	if d, ok := camp.Rules.DivisionOf(att.Division); ok {
		data["Division"] = d.Name(langOf(c))
	}
	return s.render(c, "attempt", "campaign.list_title", data, "attempt.js")
}

func (s *Server) attemptResultPage(c *fiber.Ctx) error {
	v, err := s.resultView(c)
	if kepu.ErrorCode(err) == kepu.ECONFLICT {
		id, _ := paramID(c, "id") // resultView parsed it: a conflict comes after a valid id
		return c.Redirect(fmt.Sprintf("/attempts/%d", id), fiber.StatusSeeOther)
	}
	if err != nil {
		return err
	}
	return s.render(c, "attempt_result", "campaign.result_title", fiber.Map{
		"V": v, "TimeUsed": secondsText(v.Tally.UsedMS), "Assessment": v.Campaign.Kind == "assessment",
		"Finished": shTime(*v.Attempt.FinishedAt), "Passed": v.Attempt.Passed != nil && *v.Attempt.Passed,
		"Now": s.campaigns.Now()}, "campaign.js")
}

func (s *Server) attemptReviewPage(c *fiber.Ctx) error {
	a, id, err := actorAndParam(c, "id")
	if err != nil {
		return err
	}
	items, err := s.campaigns.Review(c.UserContext(), a, id)
	if kepu.ErrorCode(err) == kepu.ECONFLICT {
		return c.Redirect(fmt.Sprintf("/attempts/%d", id), fiber.StatusSeeOther)
	}
	if err != nil {
		return err
	}
	type option struct {
		Text          string
		Chosen, Right bool
		Letter        string
	}
	type item struct {
		campaign.ReviewItem
		Opts    []option
		Seconds string
	}
	out := make([]item, 0, len(items))
	for _, it := range items {
		x := item{ReviewItem: it, Seconds: secondsText(it.ElapsedMS)}
		for i, o := range it.Options {
			x.Opts = append(x.Opts, option{Text: o, Letter: string(rune('A' + i)),
				Chosen: slices.Contains(it.Choice, i), Right: slices.Contains(it.CorrectChoice, i)})
		}
		out = append(out, x)
	}
	return s.render(c, "attempt_review", "campaign.review_title", fiber.Map{"Items": out, "ID": id})
}

func (s *Server) historyPage(c *fiber.Ctx) error {
	a, err := actor(c)
	if err != nil {
		return err
	}
	h, err := s.campaigns.History(c.UserContext(), a)
	if err != nil {
		return err
	}
	type row struct {
		campaign.HistoryItem
		Started string
	}
	rows := make([]row, 0, len(h))
	for _, x := range h {
		rows = append(rows, row{HistoryItem: x, Started: shTime(x.StartedAt)})
	}
	return s.render(c, "history", "campaign.history_title", fiber.Map{"Rows": rows})
}

func (s *Server) leaderboardPage(c *fiber.Ctx) error {
	camp, err := s.publicCampaign(c)
	if err != nil {
		return err
	}
	data := fiber.Map{"C": s.campaignView(camp)}
	if u := currentUser(c); u != nil {
		d, sc, cl, err := s.boards.Groups(c.UserContext(), u.ID)
		if err != nil {
			return err
		}
		data["District"], data["School"], data["Class"] = d > 0, sc > 0, cl > 0
	}
	if data["Division"], err = s.boardDivision(c, camp); err != nil {
		return err
	}
	return s.render(c, "leaderboard", "lb.title", data, "leaderboard.js")
}

// verifyURL is the public verification page of a certificate code.
func (s *Server) verifyURL(code string) string {
	return s.cfg.BaseURL + "/certificates/" + url.PathEscape(code)
}

func (s *Server) certificatePage(c *fiber.Ctx) error {
	a, id, err := actorAndParam(c, "id")
	if err != nil {
		return err
	}
	att, err := s.campaigns.Attempt(c.UserContext(), a, id)
	if err != nil {
		return err
	}
	if att.StaffPractice {
		return campaign.ErrStaffCertificate
	}
	if att.CertCode == "" {
		return kepu.NotFound("error.campaign_cert_not_found")
	}
	cert, err := s.campaigns.CertificateByCode(c.UserContext(), att.CertCode)
	if err != nil {
		return err
	}
	issuer, is, err := s.issuerFor(c)
	if err != nil {
		return err
	}
	return s.render(c, "certificate", "campaign.cert_image_title", fiber.Map{
		"Cert": cert, "Date": shDate(cert.FinishedAt), "VerifyURL": s.verifyURL(cert.Code), "AttemptID": id,
		"Issuer": issuer, "Seal": is}, "campaign.js")
}

func (s *Server) verifyPage(c *fiber.Ctx) error {
	cert, err := s.campaigns.CertificateByCode(c.UserContext(), c.Params("code"))
	if err != nil {
		return err
	}
	issuer, _, err := s.issuerFor(c)
	if err != nil {
		return err
	}
	return s.render(c, "certificate_verify", "campaign.verify_title", fiber.Map{"Cert": publicCertificate(cert), "Date": shDate(cert.FinishedAt),
		"Issuer": issuer})
}

// certificateQR is a PNG QR code of a valid certificate's verification URL.
func (s *Server) certificateQR(c *fiber.Ctx) error {
	cert, err := s.campaigns.CertificateByCode(c.UserContext(), c.Params("code"))
	if err != nil {
		return err
	}
	return sendQR(c, s.verifyURL(cert.Code), 256)
}

func (s *Server) manageCampaignsPage(c *fiber.Ctx) error {
	list, err := s.managedCampaigns(c)
	if err != nil {
		return err
	}
	aud, err := s.audienceTexts(c.UserContext(), langOf(c), list)
	if err != nil {
		return err
	}
	views := make([]campaignView, 0, len(list))
	for i, x := range list {
		v := s.campaignView(x)
		v.For = aud[i]
		views = append(views, v)
	}
	return s.render(c, "manage_campaigns", "campaign.manage_title", fiber.Map{"List": views}, "manage_campaigns.js")
}

// manageForm is what the campaign form offers and holds.
type manageForm struct {
	Campaign  *campaign.Campaign
	Districts []org.Region
	// The audience picker (campaign_form.go): schools to choose from, and
	// the schools and classes chosen.
	Schools       []audSchool
	PickedSchools []audPick
	PickedClasses []audPick
	Audience      string // whom the saved campaign is for, in words
}

// CoverURL is the saved campaign's cover, "" when it has none.
func (f manageForm) CoverURL() string {
	if f.Campaign == nil || f.Campaign.CoverURL == nil {
		return ""
	}
	return *f.Campaign.CoverURL
}

// Categories, Dimensions and Types are the quota filters.
func (manageForm) Categories() []string { return bank.Categories }
func (manageForm) Dimensions() []string { return bank.Dimensions }
func (manageForm) Types() []string      { return bank.Types }

// AgeBands and Occupations are the divisions' membership rules.
func (manageForm) AgeBands() []string    { return kepu.AgeBands }
func (manageForm) Occupations() []string { return kepu.Occupations }

func (s *Server) manageCampaignPage(c *fiber.Ctx) error {
	a, err := actor(c)
	if err != nil {
		return err
	}
	f := manageForm{}
	title := "campaign.new_title"
	if c.Params("id") != "" {
		id, err := paramID(c, "id")
		if err != nil {
			return err
		}
		camp, err := s.campaigns.Manage(c.UserContext(), a, id)
		if err != nil {
			return err
		}
		f.Campaign, title = &camp, "campaign.edit_title"
		aud, err := s.audienceTexts(c.UserContext(), langOf(c), []campaign.Campaign{camp})
		if err != nil {
			return err
		}
		f.Audience = aud[0]
	}
	if err := s.audiencePicker(c.UserContext(), a, &f, f.Campaign); err != nil {
		return err
	}
	return s.render(c, "manage_campaign", title, f, "manage_campaign.js")
}
