package campaign

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/kepu/kepu/internal/bank"
	"github.com/kepu/kepu/internal/kepu"
)

// Limits of divisions and the practice round (docs/campaigns.md).
const (
	MaxDivisions      = 10
	MaxDivisionName   = 20  // runes
	MaxPracticePerDay = 100 // practice attempts per user and Asia/Shanghai day
)

// Division is one division (组别) of a campaign: its own board, pass mark
// and certificate, and optionally its own number of questions and quotas.
// A participant belongs to the first division, in the order listed, whose
// membership rule their profile meets: any of the age bands, a class
// grade in GradeMin..GradeMax, or any of the occupation groups; a division
// that sets none of them takes everyone (a catch-all, best listed last).
// Where the campaign allows the choice (Rules.DivisionChoice) the
// participant picks any division instead. The division is fixed on each
// attempt (campaign_attempts.division) and, from the first formal attempt
// on, for the participant in that campaign.
type Division struct {
	Key         string   `json:"key"` // a-z, 0-9, _ and -, at most 32
	NameZh      string   `json:"name_zh"`
	NameEn      string   `json:"name_en"`
	AgeBands    []string `json:"age_bands,omitempty"`   // kepu.AgeBands
	GradeMin    int      `json:"grade_min,omitempty"`   // 1–12; 0: no grade rule
	GradeMax    int      `json:"grade_max,omitempty"`   // 1–12, at least GradeMin
	Occupations []string `json:"occupations,omitempty"` // kepu.Occupations
	Questions   int      `json:"questions,omitempty"`   // 0: the campaign's
	Quotas      []Quota  `json:"quotas,omitempty"`      // nil: the campaign's (with the campaign's questions)
	PassMark    int      `json:"pass_mark,omitempty"`   // percent; 0: the campaign's
}

// Name is the division's name in lang ("en" or Chinese), falling back to
// the other language when one is empty.
func (d Division) Name(lang string) string {
	if lang == "en" && d.NameEn != "" {
		return d.NameEn
	}
	if d.NameZh != "" {
		return d.NameZh
	}
	return d.NameEn
}

// catchAll reports whether the division sets no membership rule.
func (d Division) catchAll() bool {
	return len(d.AgeBands) == 0 && d.GradeMin == 0 && len(d.Occupations) == 0
}

// Profile is what decides a participant's division.
type Profile struct {
	AgeBand    string
	Occupation string
	Grade      int // the class's grade, 0: none
}

// matches reports whether p meets the division's membership rule.
func (d Division) matches(p Profile) bool {
	if d.catchAll() {
		return true
	}
	if p.AgeBand != "" && kepu.Contains(d.AgeBands, p.AgeBand) {
		return true
	}
	if p.Occupation != "" && kepu.Contains(d.Occupations, p.Occupation) {
		return true
	}
	return d.GradeMin > 0 && p.Grade >= d.GradeMin && p.Grade <= d.GradeMax
}

// Practice are a campaign's practice round (练习) options: unlimited
// attempts (at most MaxPracticePerDay a day) with the right answer and the
// explanation after each question, never ranked, never certified, left out
// of the dashboards' campaign figures.
type Practice struct {
	Enabled   bool `json:"enabled"`
	Questions int  `json:"questions,omitempty"` // per practice attempt; 0: as the formal attempt
	// Required: the formal attempt starts only after one finished practice attempt.
	Required bool `json:"required,omitempty"`
}

// DivisionOf returns the campaign's division with key, ok false when there
// is none.
func (r Rules) DivisionOf(key string) (Division, bool) {
	for _, d := range r.Divisions {
		if d.Key == key {
			return d, true
		}
	}
	return Division{}, false
}

// For returns the rules an attempt in division key plays by (its
// questions, quotas and pass mark where it sets them) and, for a practice
// attempt, the practice round's number of questions (quotas scaled down
// when they no longer fit).
func (r Rules) For(key string, practice bool) Rules {
	out := r
	if d, ok := r.DivisionOf(key); ok {
		if d.Questions > 0 {
			out.Questions = d.Questions
			if d.Quotas == nil {
				out.Quotas = fitQuotas(r.Quotas, d.Questions)
			}
		}
		if d.Quotas != nil {
			out.Quotas = d.Quotas
		}
		if d.PassMark > 0 {
			out.PassMark = d.PassMark
		}
	}
	if practice && r.Practice.Questions > 0 {
		out.Quotas = fitQuotas(out.Quotas, r.Practice.Questions)
		out.Questions = r.Practice.Questions
		out.ParallelForms = false
	}
	return out
}

// fitQuotas returns quotas whose counts add up to at most n: the first
// quotas keep their counts while they fit, the next one takes what is
// left, the rest are dropped.
func fitQuotas(qs []Quota, n int) []Quota {
	var out []Quota
	for _, q := range qs {
		if n <= 0 {
			break
		}
		q.Count = min(q.Count, n)
		n -= q.Count
		out = append(out, q)
	}
	return out
}

var divisionKey = regexp.MustCompile(`^[a-z0-9_-]{1,32}$`)

// divisionField is the input field of the i-th division (from 0).
func divisionField(i int, name string) string {
	return "rules.divisions." + strconv.Itoa(i) + "." + name
}

// validateDivisions checks the divisions and the practice options of r
// (defaults applied); the error names the field at fault.
func (r *Rules) validateDivisions() error {
	if len(r.Divisions) > MaxDivisions {
		return kepu.Invalid("rules.divisions", "divisions.error.too_many").With("max", MaxDivisions)
	}
	if r.DivisionChoice && len(r.Divisions) == 0 {
		return kepu.Invalid("rules.division_choice", "divisions.error.choice_without")
	}
	seen := map[string]bool{}
	for i := range r.Divisions {
		d := &r.Divisions[i]
		d.Key = strings.TrimSpace(d.Key)
		d.NameZh, d.NameEn = strings.TrimSpace(d.NameZh), strings.TrimSpace(d.NameEn)
		n := i + 1
		switch {
		case !divisionKey.MatchString(d.Key):
			return kepu.Invalid(divisionField(i, "key"), "divisions.error.key").With("n", n)
		case seen[d.Key]:
			return kepu.Invalid(divisionField(i, "key"), "divisions.error.key_twice").With("n", n)
		case d.NameZh == "" || utf8.RuneCountInString(d.NameZh) > MaxDivisionName || utf8.RuneCountInString(d.NameEn) > MaxDivisionName:
			return kepu.Invalid(divisionField(i, "name_zh"), "divisions.error.name").With("n", n).With("max", MaxDivisionName)
		case len(d.AgeBands) > len(kepu.AgeBands) || len(d.Occupations) > len(kepu.Occupations):
			return kepu.Invalid(divisionField(i, "age_bands"), "divisions.error.rule").With("n", n)
		case d.GradeMin < 0 || d.GradeMin > 12 || d.GradeMax < 0 || d.GradeMax > 12 || (d.GradeMin == 0) != (d.GradeMax == 0) ||
			d.GradeMax < d.GradeMin:
			return kepu.Invalid(divisionField(i, "grade_min"), "divisions.error.grades").With("n", n)
		case d.Questions < 0 || d.Questions > MaxQuestions:
			return kepu.Invalid(divisionField(i, "questions"), "error.campaign_questions").With("max", MaxQuestions)
		case d.PassMark < 0 || d.PassMark > 100:
			return kepu.Invalid(divisionField(i, "pass_mark"), "error.campaign_pass_mark")
		case len(d.Quotas) > MaxQuotas:
			return kepu.Invalid(divisionField(i, "quotas"), "error.campaign_quotas")
		}
		seen[d.Key] = true
		for _, b := range d.AgeBands {
			if !kepu.Contains(kepu.AgeBands, b) {
				return kepu.Invalid(divisionField(i, "age_bands"), "divisions.error.rule").With("n", n)
			}
		}
		for _, o := range d.Occupations {
			if !kepu.Contains(kepu.Occupations, o) {
				return kepu.Invalid(divisionField(i, "occupations"), "divisions.error.rule").With("n", n)
			}
		}
		questions := d.Questions
		if questions == 0 {
			questions = r.Questions
		}
		sum := 0
		for j, q := range d.Quotas {
			q.Category, q.Dimension, q.Type = strings.TrimSpace(q.Category), strings.TrimSpace(q.Dimension), strings.TrimSpace(q.Type)
			d.Quotas[j] = q
			if err := q.check(); err != nil {
				return kepu.Invalid(divisionField(i, "quotas"), "error.campaign_quota").With("n", j+1)
			}
			sum += q.Count
		}
		if sum > questions {
			return kepu.Invalid(divisionField(i, "quotas"), "error.campaign_quota_sum").With("sum", sum).With("questions", questions)
		}
	}
	p := r.Practice
	switch {
	case p.Questions < 0 || p.Questions > MaxQuestions:
		return kepu.Invalid("rules.practice.questions", "error.campaign_questions").With("max", MaxQuestions)
	case (p.Required || p.Questions > 0) && !p.Enabled:
		return kepu.Invalid("rules.practice.enabled", "divisions.error.practice_off")
	}
	return nil
}

// check reports whether the quota names known labels and a count of at least 1.
func (q Quota) check() error {
	if q.Count < 1 || (q.Category != "" && !kepu.Contains(bank.Categories, q.Category)) ||
		(q.Dimension != "" && !kepu.Contains(bank.Dimensions, q.Dimension)) || (q.Type != "" && !kepu.Contains(bank.Types, q.Type)) {
		return errors.New("bad quota")
	}
	return nil
}

// Errors of starting an attempt in a campaign with divisions or a practice round.
var (
	ErrNoDivision       = kepu.Errorf(kepu.EFORBIDDEN, "divisions.error.none")
	ErrPracticeOff      = kepu.Errorf(kepu.ECONFLICT, "divisions.error.practice_disabled")
	ErrPracticeRequired = kepu.Errorf(kepu.ECONFLICT, "divisions.error.practice_required")
	ErrFormalInProgress = kepu.Errorf(kepu.ECONFLICT, "divisions.error.formal_in_progress")
)

// profileOf reads what decides the user's division.
func profileOf(ctx context.Context, q pgx.Tx, userID int64) (Profile, error) {
	var p Profile
	err := q.QueryRow(ctx, `SELECT coalesce(u.age_band, ''), coalesce(u.occupation, ''), coalesce(cl.grade, 0)
		FROM users u LEFT JOIN classes cl ON cl.id = u.class_id WHERE u.id = $1`, userID).Scan(&p.AgeBand, &p.Occupation, &p.Grade)
	if err != nil {
		return p, fmt.Errorf("campaign: profile: %w", err)
	}
	return p, nil
}

// fixedDivision is the division of the user's first formal attempt in the
// campaign ("" when there is none): it stays theirs.
func fixedDivision(ctx context.Context, q pgx.Tx, campaignID, userID int64) (string, error) {
	var key string
	err := q.QueryRow(ctx, `SELECT division FROM campaign_attempts WHERE campaign_id = $1 AND user_id = $2 AND NOT practice
		ORDER BY id LIMIT 1`, campaignID, userID).Scan(&key)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("campaign: division: %w", err)
	}
	return key, nil
}

// Placement is the participant's division in a campaign as the campaign
// page shows it.
type Placement struct {
	Key    string `json:"key"`    // "" when no division takes them (or the campaign has none)
	Fixed  bool   `json:"fixed"`  // set by an earlier formal attempt
	Choice bool   `json:"choice"` // they may still choose (Rules.DivisionChoice, not fixed)
	// PracticeDone: they finished a practice attempt (Practice.Required).
	PracticeDone bool `json:"practice_done"`
}

// PlacementOf returns the actor's division in c: the one fixed by their
// first formal attempt, else the first whose rule their profile meets.
func (s *Service) PlacementOf(ctx context.Context, a kepu.Actor, c Campaign) (Placement, error) {
	var pl Placement
	err := pgx.BeginFunc(ctx, s.DB, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM campaign_attempts WHERE campaign_id = $1 AND user_id = $2
			AND practice AND finished_at IS NOT NULL AND NOT abandoned)`, c.ID, a.UserID).Scan(&pl.PracticeDone); err != nil {
			return fmt.Errorf("campaign: placement: %w", err)
		}
		if len(c.Rules.Divisions) == 0 {
			return nil
		}
		key, err := fixedDivision(ctx, tx, c.ID, a.UserID)
		if err != nil {
			return err
		}
		if _, ok := c.Rules.DivisionOf(key); ok {
			pl.Key, pl.Fixed = key, true
			return nil
		}
		p, err := profileOf(ctx, tx, a.UserID)
		if err != nil {
			return err
		}
		pl.Key, pl.Choice = c.Rules.placeBy(p), c.Rules.DivisionChoice
		return nil
	})
	return pl, err
}

// placeBy is the key of the first division whose rule p meets, "" when none.
func (r Rules) placeBy(p Profile) string {
	for _, d := range r.Divisions {
		if d.matches(p) {
			return d.Key
		}
	}
	return ""
}

// divisionFor decides the division of a new attempt of userID at c: the
// fixed one, else the chosen one where the campaign allows a choice, else
// the profile's. ErrNoDivision when none takes them; an unknown choice is
// kepu.EINVALID.
func divisionFor(ctx context.Context, tx pgx.Tx, c Campaign, userID int64, chosen string) (string, error) {
	if len(c.Rules.Divisions) == 0 {
		return "", nil
	}
	key, err := fixedDivision(ctx, tx, c.ID, userID)
	if err != nil {
		return "", err
	}
	if _, ok := c.Rules.DivisionOf(key); ok {
		return key, nil
	}
	if chosen != "" && c.Rules.DivisionChoice {
		if _, ok := c.Rules.DivisionOf(chosen); !ok {
			return "", kepu.Invalid("division", "divisions.error.unknown")
		}
		return chosen, nil
	}
	p, err := profileOf(ctx, tx, userID)
	if err != nil {
		return "", err
	}
	if key := c.Rules.placeBy(p); key != "" {
		return key, nil
	}
	return "", ErrNoDivision
}
