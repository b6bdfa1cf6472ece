package server

import (
	"github.com/gofiber/fiber/v2"

	"github.com/kepu/kepu/internal/account"
	"github.com/kepu/kepu/internal/qr"
)

// Join cards with a QR login (internal/account/cards.go, docs/security.md
// "Join cards with a QR login"). Staff print cards for a class on the
// roster page; the QR code opens /card#<token>. The token travels in the
// URL fragment, which browsers never send, so it reaches no access log or
// Referer; the /card page posts it to /api/v1/auth/card (CSRF-checked like
// every API call) and forgets it from the address bar and history.

// cardPath is the page a card's QR code opens; the token follows '#'.
const cardPath = "/card"

// cardQR is a card's QR code as one SVG path in a Side×Side viewBox.
type cardQR struct {
	Side int    `json:"side"`
	Path string `json:"path"`
}

// printedCard is one card as the roster page prints it.
type printedCard struct {
	account.Card
	URL string `json:"url"`
	QR  cardQR `json:"qr"`
}

type cardsInput struct {
	UserIDs []int64 `json:"user_ids"`
}

// issueCards prints new cards for the named pupils of the class (all of
// them when none is named); their earlier cards stop working.
func (s *Server) issueCards(c *fiber.Ctx) error {
	a, id, err := actorAndParam(c, "id")
	if err != nil {
		return err
	}
	var in cardsInput
	if err := decodeJSON(c, &in, smallBody); err != nil {
		return err
	}
	cards, err := s.accounts.IssueCards(c.UserContext(), a, id, in.UserIDs)
	if err != nil {
		return err
	}
	out := make([]printedCard, len(cards))
	for i, card := range cards {
		u := s.cfg.BaseURL + cardPath + "#" + card.Token
		side, path, err := qr.SVGPath(u)
		if err != nil {
			return err
		}
		out[i] = printedCard{Card: card, URL: u, QR: cardQR{Side: side, Path: path}}
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Status(fiber.StatusCreated).JSON(fiber.Map{"cards": out})
}

// revokeCards withdraws the cards of the whole class (DELETE
// /classes/:id/cards) or of one pupil (DELETE /classes/:id/pupils/:uid/card).
func (s *Server) revokeCards(c *fiber.Ctx) error {
	a, id, err := actorAndParam(c, "id")
	if err != nil {
		return err
	}
	var ids []int64
	if c.Params("uid") != "" {
		uid, err := paramID(c, "uid")
		if err != nil {
			return err
		}
		ids = []int64{uid}
	}
	n, err := s.accounts.RevokeCards(c.UserContext(), a, id, ids)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"revoked": n})
}

type cardLoginInput struct {
	Token string `json:"token"`
}

// cardLogin signs a pupil in with the token of their join card, under the
// card login limits (login_guard.go): no password hash, the same session
// and device cookie as a password login.
func (s *Server) cardLogin(c *fiber.Ctx) error {
	var in cardLoginInput
	if err := decodeJSON(c, &in, smallBody); err != nil {
		return err
	}
	ctx := c.UserContext()
	at, err := s.beginCardLogin(c)
	if err != nil {
		return err
	}
	u, err := s.accounts.CardLogin(ctx, in.Token)
	if err == account.ErrCardInvalid || err == account.ErrCardRevoked {
		if ferr := at.failed(ctx); ferr != nil {
			return ferr
		}
		return err
	}
	if err != nil {
		return err
	}
	at.acct = normalizeLogin(u.Username)
	if err := at.succeeded(ctx); err != nil {
		return err
	}
	if err := s.startSessionWith(c, &u, in.Token); err != nil {
		return err
	}
	return c.JSON(u)
}

// cardPage is what a card's QR code opens: a page whose script posts the
// token from the fragment and goes on to the pupil's start page.
func (s *Server) cardPage(c *fiber.Ctx) error {
	return s.render(c, "card_login", "card.title", fiber.Map{"Next": safeNext(c.Query("next"))}, "card.js")
}
