package server

import (
	"bytes"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/kepu/kepu/internal/campaign"
	"github.com/kepu/kepu/internal/certificate"
	"github.com/kepu/kepu/internal/kepu"
	"github.com/kepu/kepu/internal/leaderboard"
)

// certIssuerRoutes: the issuing organization of certificates (admins set
// its name and seal), the seal image for every page, the share card.
func (s *Server) certIssuerRoutes(api fiber.Router) {
	admin := requireRole(kepu.RoleAdmin)
	api.Get("/admin/certificate-issuer", s.requireLogin, admin, s.getIssuer)
	api.Put("/admin/certificate-issuer", s.requireLogin, admin, s.putIssuer)
	api.Put("/admin/certificate-issuer/seal", s.requireLogin, admin, s.putSeal)
	api.Delete("/admin/certificate-issuer/seal", s.requireLogin, admin, s.deleteSeal)
	api.Get("/attempts/:id/share.png", s.requireLogin, s.sharePNG)
	s.App.Get("/issuer/seal.png", s.sealImage)
	s.App.Get("/admin/certificate", s.requireLogin, admin, s.issuerPage)
}

func (s *Server) getIssuer(c *fiber.Ctx) error {
	is, err := s.issuers.Get(c.UserContext())
	if err != nil {
		return err
	}
	return c.JSON(is)
}

type issuerInput struct {
	Name string `json:"name"`
}

func (s *Server) putIssuer(c *fiber.Ctx) error {
	var in issuerInput
	if err := decodeJSON(c, &in, smallBody); err != nil {
		return err
	}
	a, err := actor(c)
	if err != nil {
		return err
	}
	is, err := s.issuers.SetName(c.UserContext(), a, in.Name)
	if err != nil {
		return err
	}
	return c.JSON(is)
}

// putSeal (PUT /api/v1/admin/certificate-issuer/seal) takes the image file
// as the body (image/png, image/jpeg or application/octet-stream);
// certificate.CheckSeal decides by the content.
func (s *Server) putSeal(c *fiber.Ctx) error {
	if ct := c.Get(fiber.HeaderContentType); ct != "image/png" && ct != "image/jpeg" && ct != "application/octet-stream" {
		return kepu.Errorf(kepu.EUNSUPPORTED, "error.accounts_seal_type")
	}
	body := c.Body()
	if len(body) > certificate.MaxSealBytes {
		return kepu.Errorf(kepu.ETOOLARGE, "error.accounts_seal_size").With("kb", certificate.MaxSealBytes>>10).OnField("seal")
	}
	a, err := actor(c)
	if err != nil {
		return err
	}
	is, err := s.issuers.SetSeal(c.UserContext(), a, bytes.Clone(body))
	if err != nil {
		return err
	}
	return c.JSON(is)
}

func (s *Server) deleteSeal(c *fiber.Ctx) error {
	a, err := actor(c)
	if err != nil {
		return err
	}
	is, err := s.issuers.DeleteSeal(c.UserContext(), a)
	if err != nil {
		return err
	}
	return c.JSON(is)
}

// sealImage (GET /issuer/seal.png) serves the seal from Postgres to anyone
// (it is printed on every certificate); pages link it with ?v=version, so
// a cached copy is never stale for long.
func (s *Server) sealImage(c *fiber.Ctx) error {
	data, typ, err := s.issuers.Seal(c.UserContext())
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, typ)
	c.Set(fiber.HeaderCacheControl, "public, max-age=300")
	return c.Send(data)
}

func (s *Server) issuerPage(c *fiber.Ctx) error {
	is, err := s.issuers.Get(c.UserContext())
	if err != nil {
		return err
	}
	return s.render(c, "admin_certificate", "accounts.issuer_title", fiber.Map{"Issuer": is,
		"MaxKB": certificate.MaxSealBytes >> 10, "Min": certificate.MinSealSide, "Max": certificate.MaxSealSide}, "app.js", "cert_issuer.js")
}

// issuerName is the issuing organization as certificates name it: the
// name an admin set, else the site's name.
func (s *Server) issuerName(is certificate.Issuer, lang string) string {
	if is.Name != "" {
		return is.Name
	}
	return s.i18n.T(lang, "app.name", nil)
}

// issuerFor returns the issuer's name for lang and its seal (nil: none).
func (s *Server) issuerFor(c *fiber.Ctx) (string, certificate.Issuer, error) {
	is, err := s.issuers.Get(c.UserContext())
	if err != nil {
		return "", is, err
	}
	return s.issuerName(is, langOf(c)), is, nil
}

// sharePNG is GET /api/v1/attempts/:id/share.png: a phone-sized image of a
// passing result for WeChat and the like — score, campaign, date in
// Beijing time, the nickname (masked for under-14s, as on public boards),
// the issuer and a QR code of the campaign page. Who may fetch it and the
// rate limit are the certificate image's.
func (s *Server) sharePNG(c *fiber.Ctx) error {
	return s.certImage(c, "inline", "kepu-share-", func(buf *bytes.Buffer, cert campaign.Certificate) error {
		d, err := s.shareData(c, cert)
		if err != nil {
			return err
		}
		return certificate.SharePNG(buf, d)
	})
}

// shareData is what the share card shows, in the viewer's language.
func (s *Server) shareData(c *fiber.Ctx, cert campaign.Certificate) (certificate.Share, error) {
	lang := langOf(c)
	t := Page{Lang: lang, bundle: s.i18n}.T
	name, is, err := s.issuerFor(c)
	if err != nil {
		return certificate.Share{}, err
	}
	nick := cert.Nickname
	if cert.Minor {
		nick = leaderboard.MaskNickname(nick)
	}
	d := certificate.Share{
		Site: t("app.name"), Title: t("campaign.cert_image_title"), Nickname: nick, Campaign: cert.Campaign,
		Score: t("accounts.share_score", "score", cert.Score, "max", cert.MaxScore), ScoreTag: t("campaign.score"),
		Date:   t("accounts.share_date", "date", shDate(cert.FinishedAt)),
		Issuer: name, ScanHint: t("accounts.share_scan"),
		URL: s.cfg.BaseURL + "/campaigns/" + strconv.FormatInt(cert.CampaignID, 10),
	}
	if cert.Tier != "" {
		d.Tier = t("campaign.cert_image_tier", "tier", t("campaign.tier_"+cert.Tier))
	}
	if is.HasSeal {
		if d.Seal, err = s.issuers.SealImage(c.UserContext()); err != nil {
			return d, err
		}
	}
	return d, nil
}
