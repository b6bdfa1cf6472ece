package server

import (
	"bytes"
	"fmt"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/kepu/kepu/internal/campaign"
	"github.com/kepu/kepu/internal/certificate"
	"github.com/kepu/kepu/internal/ratelimit"
)

// certImageRule limits certificate images per user: each takes tens of
// milliseconds of CPU to draw.
var certImageRule = ratelimit.Rule{Name: "cert_image", Burst: 30, Period: time.Minute}

// certificatePNG is GET /attempts/:id/certificate.png: a passing attempt's
// certificate as a PNG file, in the viewer's language, for the attempt's
// owner and for organizers who manage the campaign; 404 for anyone else,
// as the certificate page answers.
func (s *Server) certificatePNG(c *fiber.Ctx) error {
	return s.certImage(c, "attachment", "kepu-certificate-", func(buf *bytes.Buffer, cert campaign.Certificate) error {
		d, err := s.certificateData(c, cert)
		if err != nil {
			return err
		}
		return certificate.PNG(buf, d)
	})
}

// certImage answers an image drawn (draw) from a passing attempt's
// certificate: for the attempt's owner and organizers who manage the
// campaign (404 for anyone else), certImageRule per user, sent as a PNG
// file named prefix + code (disposition "attachment" or "inline").
func (s *Server) certImage(c *fiber.Ctx, disposition, prefix string, draw func(*bytes.Buffer, campaign.Certificate) error) error {
	a, id, err := actorAndParam(c, "id")
	if err != nil {
		return err
	}
	cert, err := s.campaigns.AttemptCertificate(c.UserContext(), a, id)
	if err != nil {
		return err
	}
	if err := s.limiter.Allow(c.UserContext(), certImageRule, strconv.FormatInt(a.UserID, 10)); err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := draw(&buf, cert); err != nil {
		return fmt.Errorf("server: %s%d: %w", prefix, id, err)
	}
	c.Set(fiber.HeaderContentType, "image/png")
	c.Set(fiber.HeaderCacheControl, "private, no-cache")
	c.Set(fiber.HeaderContentDisposition, disposition+`; filename="`+prefix+cert.Code+`.png"`)
	return c.Send(buf.Bytes())
}

// certificateData is what the certificate image shows, in the viewer's
// language, with the issuer's name and seal.
func (s *Server) certificateData(c *fiber.Ctx, cert campaign.Certificate) (certificate.Data, error) {
	t := Page{Lang: langOf(c), bundle: s.i18n}.T
	issuer, is, err := s.issuerFor(c)
	if err != nil {
		return certificate.Data{}, err
	}
	d := certificate.Data{
		Title:     t("campaign.cert_image_title"),
		Lead:      t("campaign.cert_image_lead"),
		Nickname:  cert.Nickname,
		Body:      t("campaign.cert_image_body", "campaign", cert.Campaign, "score", cert.Score, "max", cert.MaxScore),
		Date:      t("campaign.cert_date", "date", shDate(cert.FinishedAt)),
		Code:      t("campaign.cert_code", "code", cert.Code),
		Issuer:    issuer,
		ScanHint:  t("campaign.cert_image_scan"),
		VerifyURL: s.verifyURL(cert.Code),
	}
	if cert.Tier != "" {
		d.Tier = t("campaign.cert_image_tier", "tier", t("campaign.tier_"+cert.Tier))
	}
	if cert.Division != "" {
		d.Division = t("divisions.cert_division", "name", cert.DivisionName(langOf(c)))
	}
	if is.HasSeal {
		if d.Seal, err = s.issuers.SealImage(c.UserContext()); err != nil {
			return d, err
		}
	}
	return d, nil
}
