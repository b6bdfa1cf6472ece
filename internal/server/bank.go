package server

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/kepu/kepu/internal/bank"
	"github.com/kepu/kepu/internal/kepu"
)

// bankRoutes are the question bank API and pages. Organizers and admins
// edit (in scope), teachers read published questions, participants get
// 403; only question images are public.
func (s *Server) bankRoutes(api fiber.Router) {
	readers := requireRole(kepu.RoleTeacher, kepu.RoleOrganizer, kepu.RoleAdmin)
	editors := requireRole(kepu.RoleOrganizer, kepu.RoleAdmin)
	api.Get("/bank/questions", readers, s.listQuestions)
	api.Post("/bank/questions", editors, s.createQuestion)
	api.Post("/bank/questions/status", editors, s.setQuestionStatus)
	api.Get("/bank/questions/:id", readers, s.getQuestion)
	api.Put("/bank/questions/:id", editors, s.updateQuestion)
	api.Get("/bank/questions/:id/versions", readers, s.questionVersions)
	api.Post("/bank/images", editors, s.uploadImage)
	api.Get("/bank/images/:id", s.questionImage)
	api.Post("/bank/import", editors, s.importQuestions)
	api.Get("/bank/export", editors, s.exportQuestions)
	api.Get("/bank/template", editors, s.importTemplate)
	s.bankPageRoutes(readers, editors)
}

// bankFilter reads the list filters of the query string.
func bankFilter(c *fiber.Ctx) (bank.Filter, error) {
	f := bank.Filter{Category: c.Query("category"), Dimension: c.Query("dimension"), Type: c.Query("type"),
		Status: c.Query("status"), Lang: c.Query("lang"), Text: c.Query("q")}
	for _, n := range []struct {
		name string
		dst  *int
	}{{"difficulty", &f.Difficulty}, {"limit", &f.Limit}, {"offset", &f.Offset}} {
		v, err := queryInt(c, n.name, 0)
		if err != nil || v > 1_000_000 {
			return f, kepu.Invalid(n.name, "error.bank_filter")
		}
		*n.dst = int(v)
	}
	return f, nil
}

func (s *Server) listQuestions(c *fiber.Ctx) error {
	a, err := actor(c)
	if err != nil {
		return err
	}
	f, err := bankFilter(c)
	if err != nil {
		return err
	}
	qs, total, err := s.bank.List(c.UserContext(), a, f)
	if err != nil {
		return err
	}
	if qs == nil {
		qs = []bank.Question{}
	}
	return c.JSON(fiber.Map{"questions": qs, "total": total})
}

func (s *Server) getQuestion(c *fiber.Ctx) error {
	a, id, err := actorAndParam(c, "id")
	if err != nil {
		return err
	}
	q, err := s.bank.Get(c.UserContext(), a, id)
	if err != nil {
		return err
	}
	return c.JSON(q)
}

// maxQuestionBody bounds a question's JSON (stem, six options, explanation …).
const maxQuestionBody = 32 << 10

func (s *Server) createQuestion(c *fiber.Ctx) error {
	a, err := actor(c)
	if err != nil {
		return err
	}
	var in bank.Input
	if err := decodeJSON(c, &in, maxQuestionBody); err != nil {
		return err
	}
	q, err := s.bank.Create(c.UserContext(), a, in)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(q)
}

func (s *Server) updateQuestion(c *fiber.Ctx) error {
	a, id, err := actorAndParam(c, "id")
	if err != nil {
		return err
	}
	var in bank.Input
	if err := decodeJSON(c, &in, maxQuestionBody); err != nil {
		return err
	}
	q, err := s.bank.Update(c.UserContext(), a, id, in)
	if err != nil {
		return err
	}
	return c.JSON(q)
}

func (s *Server) setQuestionStatus(c *fiber.Ctx) error {
	a, err := actor(c)
	if err != nil {
		return err
	}
	var in struct {
		IDs    []int64 `json:"ids"`
		Status string  `json:"status"`
	}
	if err := decodeJSON(c, &in, 16<<10); err != nil {
		return err
	}
	n, err := s.bank.SetStatus(c.UserContext(), a, in.IDs, in.Status)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"changed": n})
}

func (s *Server) questionVersions(c *fiber.Ctx) error {
	a, id, err := actorAndParam(c, "id")
	if err != nil {
		return err
	}
	vs, err := s.bank.History(c.UserContext(), a, id)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"versions": vs})
}

// uploadImage takes the image bytes as the request body.
func (s *Server) uploadImage(c *fiber.Ctx) error {
	a, err := actor(c)
	if err != nil {
		return err
	}
	img, err := s.bank.SaveImage(c.UserContext(), a, c.Body())
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(fiber.Map{"id": img.ID, "mime": img.Mime, "width": img.Width,
		"height": img.Height, "url": imageURL(img.ID)})
}

func imageURL(id int64) string { return bank.ImageURL(id) }

// questionImage serves a stored image. An image never changes under its
// id, so clients may cache it for a year; the ETag is its SHA-256.
func (s *Server) questionImage(c *fiber.Ctx) error {
	id, err := paramID(c, "id")
	if err != nil {
		return err
	}
	private, err := s.canSeeImage(c, id)
	if err != nil {
		return err
	}
	img, err := s.bank.LoadImage(c.UserContext(), id)
	if err != nil {
		return err
	}
	etag := `"` + hex.EncodeToString(img.SHA256) + `"`
	if private {
		c.Set(fiber.HeaderCacheControl, "private, no-store")
	} else {
		c.Set(fiber.HeaderCacheControl, "public, max-age=31536000, immutable")
	}
	c.Set(fiber.HeaderETag, etag)
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	if strings.Contains(c.Get(fiber.HeaderIfNoneMatch), etag) {
		return c.SendStatus(fiber.StatusNotModified)
	}
	c.Set(fiber.HeaderContentType, img.Mime)
	return c.Send(img.Data)
}

// canSeeImage decides whether the caller may fetch image id and reports
// whether it is private (used only by private questions): then only
// admins, organizers whose scope holds one of its banks and participants
// who were shown a question with it may (404 for anyone else, as for a
// missing image: its existence is not revealed).
func (s *Server) canSeeImage(c *fiber.Ctx, id int64) (bool, error) {
	ctx := c.UserContext()
	private, owners, err := s.bank.ImagePrivacy(ctx, id)
	if err != nil || !private {
		return false, err
	}
	missing := kepu.NotFound("error.bank_image_missing")
	u := currentUser(c)
	if u == nil {
		return true, missing
	}
	a := u.Actor()
	if a.Is(kepu.RoleAdmin, kepu.RoleOrganizer) {
		for _, r := range owners {
			if err := s.org.CheckRegion(ctx, a, r); err == nil {
				return true, nil
			} else if !errors.Is(err, kepu.Forbidden) {
				return true, err
			}
		}
	}
	shown, err := s.campaigns.ShownImage(ctx, a.UserID, id)
	if err != nil {
		return true, err
	}
	if !shown {
		return true, missing
	}
	return true, nil
}

// importFormat is the format query parameter, or the file name's ending.
func importFormat(c *fiber.Ctx) (string, error) {
	f := strings.ToLower(c.Query("format"))
	if f == "" {
		name := strings.ToLower(c.Query("name"))
		f = name[strings.LastIndex(name, ".")+1:]
	}
	for _, ok := range bank.Formats {
		if f == ok {
			return f, nil
		}
	}
	return "", kepu.Invalid("format", "error.bank_format")
}

// problemOut is a report problem or warning in the user's language (row 0:
// the whole file).
type problemOut struct {
	Row     int    `json:"row"`
	Column  string `json:"column"`
	Message string `json:"message"`
}

// importQuestions takes the file as the request body:
// ?format=csv|xlsx|json&mode=good|all&dry_run=1.
func (s *Server) importQuestions(c *fiber.Ctx) error {
	a, err := actor(c)
	if err != nil {
		return err
	}
	format, err := importFormat(c)
	if err != nil {
		return err
	}
	if len(c.Body()) > bank.MaxImportBytes {
		return kepu.Errorf(kepu.ETOOLARGE, "error.bank_import_file_size").With("max", "5 MiB").OnField("file")
	}
	rows, err := bank.Parse(format, c.Body())
	if err != nil {
		return err
	}
	opt := bank.ImportOptions{Mode: c.Query("mode", bank.ImportGood), DryRun: c.QueryBool("dry_run")}
	rep, err := s.bank.Import(c.UserContext(), a, rows, opt)
	if err != nil {
		return err
	}
	lang := langOf(c)
	out := func(ps []bank.Problem) []problemOut {
		o := make([]problemOut, len(ps))
		for i, p := range ps {
			o[i] = problemOut{Row: p.Row, Column: p.Column, Message: s.i18n.T(lang, p.Key, p.Params)}
		}
		return o
	}
	return c.JSON(fiber.Map{"total": rep.Total, "valid": rep.Valid, "imported": rep.Imported,
		"dry_run": rep.DryRun, "mode": rep.Mode, "problems": out(rep.Problems), "warnings": out(rep.Warnings)})
}

var fileTypes = map[string]string{
	"csv":  "text/csv; charset=utf-8",
	"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
	"json": "application/json; charset=utf-8",
}

func sendRecords(c *fiber.Ctx, format, name string, recs []bank.Record) error {
	var buf bytes.Buffer
	if err := bank.Write(format, &buf, recs); err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, fileTypes[format])
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+name+`.`+format+`"`)
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Send(buf.Bytes())
}

func (s *Server) exportQuestions(c *fiber.Ctx) error {
	a, err := actor(c)
	if err != nil {
		return err
	}
	format, err := importFormat(c)
	if err != nil {
		return err
	}
	f, err := bankFilter(c)
	if err != nil {
		return err
	}
	recs, err := s.bank.Export(c.UserContext(), a, f)
	if err != nil {
		return err
	}
	return sendRecords(c, format, "kepu-questions", recs)
}

func (s *Server) importTemplate(c *fiber.Ctx) error {
	format, err := importFormat(c)
	if err != nil {
		return err
	}
	return sendRecords(c, format, "kepu-question-template", bank.TemplateRecords())
}
