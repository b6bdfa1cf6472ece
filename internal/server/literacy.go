package server

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/kepu/kepu/internal/dashboard"
	"github.com/kepu/kepu/internal/kepu"
	"github.com/kepu/kepu/internal/literacy"
	"github.com/kepu/kepu/internal/survey"
)

// literacyRoutes are the literacy share (per assessment campaign), the
// population margins it is weighted to, and the five-year report: JSON,
// pages, the margins upload and the report's PDF. Organizers and admins
// only; internal/literacy checks the scope.
func (s *Server) literacyRoutes(api fiber.Router) {
	managers := requireRole(kepu.RoleOrganizer, kepu.RoleAdmin)
	api.Get("/literacy/campaigns", managers, s.literacyCampaigns)
	api.Get("/literacy/campaigns/:id/share", managers, s.literacyShare)
	api.Get("/literacy/margins", managers, s.literacyMargins)
	api.Post("/literacy/margins", managers, s.literacyUpload)
	api.Get("/literacy/margins/template", managers, s.literacyTemplate)
	api.Get("/literacy/report", managers, s.literacyReport)
	api.Get("/literacy/report/export.pdf", managers, s.literacyReportPDF)

	a := s.App
	a.Get("/dash/literacy", s.requireLogin, managers, s.literacySharePage)
	a.Get("/dash/literacy/margins", s.requireLogin, managers, s.literacyMarginsPage)
	a.Get("/dash/literacy/report", s.requireLogin, managers, s.literacyReportPage)
}

func (s *Server) literacyCampaigns(c *fiber.Ctx) error {
	a, err := actor(c)
	if err != nil {
		return err
	}
	list, err := s.literacy.Assessments(c.UserContext(), a)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"campaigns": list})
}

func (s *Server) literacyShare(c *fiber.Ctx) error {
	a, id, err := actorAndParam(c, "id")
	if err != nil {
		return err
	}
	camp, sh, err := s.literacy.CampaignShare(c.UserContext(), a, id)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"campaign": camp, "share": sh, "min_group": dashboard.MinGroup})
}

func (s *Server) literacyScope(c *fiber.Ctx) (kepu.Actor, []int64, error) {
	a, err := actor(c)
	if err != nil {
		return a, nil, err
	}
	sc, err := s.dash.ScopeOf(c.UserContext(), a)
	return a, sc.Regions, err
}

func (s *Server) literacyMargins(c *fiber.Ctx) error {
	_, scope, err := s.literacyScope(c)
	if err != nil {
		return err
	}
	rows, uploads, err := s.literacy.Margins(c.UserContext(), scope)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"margins": rows, "uploads": uploads})
}

type marginProblem struct {
	Row     int    `json:"row"`
	Message string `json:"message"`
}

// literacyUpload takes a margins CSV as the request body:
// ?source=…&dry_run=1. A file with problems saves nothing and answers 400
// with every problem (row and message); dry_run checks without saving.
func (s *Server) literacyUpload(c *fiber.Ctx) error {
	a, err := actor(c)
	if err != nil {
		return err
	}
	if len(c.Body()) > literacy.MaxMarginBytes {
		return kepu.Errorf(kepu.ETOOLARGE, "error.literacy_margins_size").With("max", "1 MiB").OnField("file")
	}
	districts, err := s.literacy.Districts(c.UserContext(), a)
	if err != nil {
		return err
	}
	rows, problems, err := literacy.ParseMargins(c.Body(), districts)
	if err != nil {
		return err
	}
	lang := langOf(c)
	if len(problems) > 0 {
		out := make([]marginProblem, len(problems))
		for i, p := range problems {
			out[i] = marginProblem{Row: p.Row, Message: s.i18n.T(lang, p.Key, p.Params)}
		}
		return c.Status(fiber.StatusBadRequest).JSON(fiber.Map{
			"error":    errorDetail{Code: kepu.EINVALID, Message: s.i18n.T(lang, "error.literacy_margins_problems", map[string]any{"n": len(problems)}), Field: "file"},
			"problems": out,
		})
	}
	if c.QueryBool("dry_run") {
		return c.JSON(fiber.Map{"saved": false, "rows": len(rows)})
	}
	up, err := s.literacy.SaveMargins(c.UserContext(), a, c.Query("source"), rows)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"saved": true, "rows": len(rows), "upload": up})
}

// literacyTemplate is a margins CSV to fill in: every district in scope
// with every adult age band and an empty population.
func (s *Server) literacyTemplate(c *fiber.Ctx) error {
	a, err := actor(c)
	if err != nil {
		return err
	}
	districts, err := s.literacy.Districts(c.UserContext(), a)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	buf.WriteString("\xef\xbb\xbf") // so that Excel reads UTF-8
	w := csv.NewWriter(&buf)
	_ = w.Write([]string{"district", "age_band", "occupation", "population"})
	for _, d := range districts {
		for _, band := range kepu.AgeBands {
			if band != "u14" && band != "14_17" {
				_ = w.Write([]string{d.Code, band, "", ""})
			}
		}
	}
	w.Flush()
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="margins-template.csv"`)
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Send(buf.Bytes())
}

// fiveYear is the actor's five-year report.
func (s *Server) fiveYear(c *fiber.Ctx) (literacy.Report, error) {
	a, err := actor(c)
	if err != nil {
		return literacy.Report{}, err
	}
	return s.literacy.FiveYear(c.UserContext(), a)
}

func (s *Server) literacyReport(c *fiber.Ctx) error {
	r, err := s.fiveYear(c)
	if err != nil {
		return err
	}
	return c.JSON(r)
}

// litRow is one row of a share table as the pages show it.
type litRow struct {
	Name       string
	Total      bool // the scope's total (the last row of a table)
	N          int
	Suppressed bool
	Weighted   bool
	Share      string // "43.2%"
	Interval   string // "40.1–46.3%"
	Deff, ESS  string
	Pct        float64 // the share in percent, for bars
	LoPct      float64
	HiPct      float64
}

func pct1(f float64) string { return strconv.FormatFloat(100*f, 'f', 1, 64) }

func litRowOf(name string, r literacy.Row) litRow {
	out := litRow{Name: name, N: r.N, Suppressed: r.Suppressed, Weighted: r.Weighted}
	if r.Suppressed || r.Estimate == nil {
		out.Suppressed = true
		return out
	}
	e := r.Estimate
	out.Share = pct1(e.Share) + "%"
	out.Interval = pct1(e.Lo) + "–" + pct1(e.Hi) + "%"
	out.Deff = strconv.FormatFloat(e.Deff, 'f', 2, 64)
	out.ESS = strconv.FormatFloat(math.Round(e.ESS), 'f', 0, 64)
	out.Pct, out.LoPct, out.HiPct = math.Round(1000*e.Share)/10, math.Round(1000*e.Lo)/10, math.Round(1000*e.Hi)/10
	return out
}

// litShareView is a Share as the pages show it.
type litShareView struct {
	Weighted    bool
	Total       litRow
	Unweighted  litRow
	Districts   []litRow
	People      int
	InWeighting int
	Excluded    int
	Trim        *survey.TrimResult
	MaxRatio    string
	Dropped     string
	AnySmall    bool
	Head        litHead  // the table's words, translated (partials/literacy_table.html)
	Rows        []litRow // the districts, then the total
}

// litHead are the column names and marks of a share table.
type litHead struct {
	District, N, Share, Interval, Deff, ESS, Weighted, Small, Yes, No, Caption string
}

func (s *Server) shareView(c *fiber.Ctx, sh literacy.Share) litShareView {
	lang := langOf(c)
	total := s.i18n.T(lang, "literacy.total", nil)
	v := litShareView{Weighted: sh.Weighted, Total: litRowOf(total, sh.Total),
		Unweighted: litRowOf(s.i18n.T(lang, "literacy.unweighted_total", nil), sh.Unweighted),
		People:     sh.People, InWeighting: sh.InWeighting, Trim: sh.Trim, Dropped: strings.Join(sh.Dropped, "、")}
	t := func(k string) string { return s.i18n.T(lang, k, nil) }
	v.Head = litHead{District: t("literacy.col.district"), N: t("literacy.col.n"), Share: t("literacy.col.share"),
		Interval: t("literacy.col.interval"), Deff: t("literacy.col.deff"), ESS: t("literacy.col.ess"),
		Weighted: t("literacy.col.weighted"), Small: s.i18n.T(lang, "literacy.small", map[string]any{"min": dashboard.MinGroup}),
		Yes: t("literacy.yes"), No: t("literacy.no"), Caption: t("literacy.table_caption")}
	if sh.Weighted {
		v.Excluded = sh.People - sh.InWeighting
	}
	if sh.Trim != nil {
		v.MaxRatio = strconv.FormatFloat(sh.Trim.MaxRatio, 'f', 1, 64)
	}
	for _, d := range sh.Districts {
		r := litRowOf(d.Name, d)
		v.AnySmall = v.AnySmall || r.Suppressed
		v.Districts = append(v.Districts, r)
	}
	v.AnySmall = v.AnySmall || v.Total.Suppressed
	v.Total.Total = true
	v.Rows = append(append([]litRow(nil), v.Districts...), v.Total)
	return v
}

func (s *Server) literacySharePage(c *fiber.Ctx) error {
	a, err := actor(c)
	if err != nil {
		return err
	}
	camps, err := s.literacy.Assessments(c.UserContext(), a)
	if err != nil {
		return err
	}
	data := fiber.Map{"Campaigns": camps, "MinGroup": dashboard.MinGroup, "TrimFactor": survey.TrimFactor}
	id := int64(c.QueryInt("campaign"))
	if id == 0 && len(camps) > 0 {
		id = camps[0].ID
	}
	if id > 0 {
		camp, sh, err := s.literacy.CampaignShare(c.UserContext(), a, id)
		if err != nil {
			return err
		}
		data["Campaign"], data["Share"] = camp, s.shareView(c, sh)
	}
	return s.render(c, "literacy", "literacy.title", data)
}

// litMarginsView: the current margins as a district × age band table.
type litMarginsRow struct {
	Name  string
	Ages  []string
	Occs  int
	Total string
}

func (s *Server) literacyMarginsPage(c *fiber.Ctx) error {
	a, scope, err := s.literacyScope(c)
	if err != nil {
		return err
	}
	rows, uploads, err := s.literacy.Margins(c.UserContext(), scope)
	if err != nil {
		return err
	}
	districts, err := s.literacy.Districts(c.UserContext(), a)
	if err != nil {
		return err
	}
	var table []litMarginsRow
	for _, d := range districts {
		r := litMarginsRow{Name: d.Name}
		byAge := map[string]int64{}
		var total int64
		for _, m := range rows {
			if m.DistrictID != d.ID {
				continue
			}
			if m.AgeBand != "" {
				byAge[m.AgeBand] = m.Population
				total += m.Population
			} else {
				r.Occs++
			}
		}
		if total == 0 {
			continue
		}
		for _, band := range kepu.AgeBands {
			v := ""
			if n, ok := byAge[band]; ok {
				v = strconv.FormatInt(n, 10)
			}
			r.Ages = append(r.Ages, v)
		}
		r.Total = strconv.FormatInt(total, 10)
		table = append(table, r)
	}
	return s.render(c, "literacy_margins", "literacy.margins_title", fiber.Map{"Rows": table, "Uploads": uploads,
		"AgeBands": kepu.AgeBands, "Occupations": kepu.Occupations, "Districts": districts,
		"MaxRows": literacy.MaxMarginRows}, "literacy_margins.js")
}

// litReportView is the five-year report as the page shows it.
type litReportView struct {
	literacy.Report
	Years     []litYearView
	Latest    *litYearView
	Trend     []litRow // the total per year
	YearOnYr  []litChange
	Improving []litChange
	Missed    []litMissed
	Charts    litCharts
	Matrix    []litMatrixRow // district × year
	PDF       bool
}

// litMatrixRow is a district's share in each year of the report ("" when
// no estimate: no assessment, or too few people).
type litMatrixRow struct {
	Name  string
	Cells []litRow
}

type litYearView struct {
	Year  int
	Share litShareView
}

type litChange struct {
	Name, Years, Delta, Interval, From, To string
	Significant                            bool
}

type litMissed struct {
	literacy.Missed
	Rate string
}

// litCharts is what literacy_report.js draws.
type litCharts struct {
	Years        []int     `json:"years"`
	Attempts     []int64   `json:"attempts"`
	Participants []int64   `json:"participants"`
	TrendLabel   string    `json:"trend_label"`
	Trend        []*litBar `json:"trend"`
	LatestYear   int       `json:"latest_year"`
	Districts    []litBar  `json:"districts"`
	Labels       fiber.Map `json:"labels"`
}

type litBar struct {
	Name string  `json:"name"`
	Pct  float64 `json:"pct"`
	Lo   float64 `json:"lo"`
	Hi   float64 `json:"hi"`
}

func pp(f float64) string {
	s := strconv.FormatFloat(100*f, 'f', 1, 64)
	if f > 0 {
		s = "+" + s
	}
	return s
}

func (s *Server) reportView(c *fiber.Ctx, r literacy.Report) litReportView {
	lang := langOf(c)
	t := func(k string) string { return s.i18n.T(lang, k, nil) }
	v := litReportView{Report: r, PDF: chromiumPath() != ""}
	v.Charts = litCharts{Years: r.Years, Labels: fiber.Map{
		"attempts": t("literacy.col.attempts"), "participants": t("literacy.col.participants"),
		"share": t("literacy.col.share"), "interval": t("literacy.col.interval")}}
	for _, p := range r.Participation {
		v.Charts.Attempts = append(v.Charts.Attempts, p.Attempts)
		v.Charts.Participants = append(v.Charts.Participants, p.Participants)
	}
	byYear := map[int]literacy.YearShare{}
	for _, ys := range r.Literacy {
		byYear[ys.Year] = ys
		yv := litYearView{Year: ys.Year, Share: s.shareView(c, ys.Share)}
		v.Years = append(v.Years, yv)
	}
	if len(v.Years) > 0 {
		v.Latest = &v.Years[len(v.Years)-1]
		v.Charts.LatestYear = v.Latest.Year
		for _, d := range v.Latest.Share.Districts {
			if !d.Suppressed {
				v.Charts.Districts = append(v.Charts.Districts, litBar{d.Name, d.Pct, d.LoPct, d.HiPct})
			}
		}
	}
	for i, d := range districtNames(r) {
		row := litMatrixRow{Name: d}
		for _, y := range v.Years {
			cell := litRow{Suppressed: true}
			if i < len(y.Share.Districts) {
				cell = y.Share.Districts[i]
			}
			row.Cells = append(row.Cells, cell)
		}
		v.Matrix = append(v.Matrix, row)
	}
	v.Charts.TrendLabel = t("literacy.total")
	for _, y := range r.Years {
		ys, ok := byYear[y]
		var bar *litBar
		row := litRow{Name: strconv.Itoa(y), Suppressed: true}
		if ok {
			row = litRowOf(strconv.Itoa(y), ys.Share.Total)
			if !row.Suppressed {
				bar = &litBar{row.Name, row.Pct, row.LoPct, row.HiPct}
			}
		}
		v.Trend = append(v.Trend, row)
		v.Charts.Trend = append(v.Charts.Trend, bar)
	}
	conv := func(ch literacy.Change) litChange {
		return litChange{Name: ch.Name, Years: fmt.Sprintf("%d → %d", ch.From, ch.To), Delta: pp(ch.Delta),
			Interval: pp(ch.Lo) + " – " + pp(ch.Hi), From: pct1(ch.FromShare) + "%", To: pct1(ch.ToShare) + "%",
			Significant: ch.Lo > 0 || ch.Hi < 0}
	}
	for _, ch := range r.YearOnYear {
		v.YearOnYr = append(v.YearOnYr, conv(ch))
	}
	for _, ch := range r.Improving {
		v.Improving = append(v.Improving, conv(ch))
	}
	for _, m := range r.Missed {
		v.Missed = append(v.Missed, litMissed{Missed: m, Rate: pct1(m.MissRate) + "%"})
	}
	return v
}

func (s *Server) literacyReportPage(c *fiber.Ctx) error {
	r, err := s.fiveYear(c)
	if err != nil {
		return err
	}
	return s.render(c, "literacy_report", "literacy.report_title", s.reportData(c, r), "literacy_report.js")
}

func (s *Server) reportData(c *fiber.Ctx, r literacy.Report) fiber.Map {
	return fiber.Map{"Report": s.reportView(c, r), "MinGroup": dashboard.MinGroup}
}

// districtNames are the districts of the report's literacy tables (every
// year lists the same districts, in the same order).
func districtNames(r literacy.Report) []string {
	var out []string
	if len(r.Literacy) > 0 {
		for _, d := range r.Literacy[0].Share.Districts {
			out = append(out, d.Name)
		}
	}
	return out
}
