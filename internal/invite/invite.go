// Package invite provides campaign invitations and their reach, and the
// online-to-live final (final.go).
//
// An invitation is a code: personal (one per participant per campaign) or
// a school's (one per school per campaign). Opening /i/<code> counts an
// open (once a day per visitor, bounded per code and day) and leaves the
// code in an attribution cookie; the account registered with it, or a
// logged-in account that opens it, is credited to the code's inviter and
// school once per campaign (never to the inviter themself), and the
// invitee's first finished formal attempt credits a participation. With
// the campaign's Rules.InviteReward an inviter who has brought a
// participant gets one attempt a day more (ExtraToday); never points.
//
// The package writes only its own tables (migrations 00250, 00320).
package invite

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kepu/kepu/internal/campaign"
	"github.com/kepu/kepu/internal/contest"
	"github.com/kepu/kepu/internal/dashboard"
	"github.com/kepu/kepu/internal/kepu"
	"github.com/kepu/kepu/internal/org"
)

// MaxOpensPerDay is the most opens counted per code and Beijing-time day.
const MaxOpensPerDay = 5000

// Service runs invitations and finals.
type Service struct {
	DB        *pgxpool.Pool
	Campaigns *campaign.Service
	Contests  *contest.Service
	Org       *org.Service
	// Now is the clock (tests move it); nil: time.Now.
	Now func() time.Time
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// Code is an invitation code and what it credits.
type Code struct {
	Code       string `json:"code"`
	CampaignID int64  `json:"campaign_id"`
	InviterID  int64  `json:"-"`
	SchoolID   int64  `json:"school_id,omitempty"`
	DistrictID int64  `json:"district_id,omitempty"`
}

// codeRE is what a code looks like (newCode); anything else is not looked up.
var codeRE = regexp.MustCompile(`^[a-z2-7]{16}$`)

// ValidCode reports whether s has the shape of a code.
func ValidCode(s string) bool { return codeRE.MatchString(s) }

// newCode returns 80 random bits as 16 lowercase base32 characters.
func newCode() string {
	b := make([]byte, 10)
	rand.Read(b)
	return strings.ToLower(base32.StdEncoding.EncodeToString(b))
}

var errNoCode = kepu.NotFound("reach.error.no_code")

// Personal returns the actor's invitation code for a public campaign,
// creating it on first use. Guests have none (kepu.EFORBIDDEN).
func (s *Service) Personal(ctx context.Context, a kepu.Actor, campaignID int64) (Code, error) {
	if a.UserID == 0 {
		return Code{}, kepu.Errorf(kepu.EUNAUTHORIZED, "error.campaign_login")
	}
	if a.Role == kepu.RoleGuest {
		return Code{}, kepu.Forbidden
	}
	c, err := s.Campaigns.Public(ctx, campaignID)
	if err != nil {
		return Code{}, err
	}
	return s.ensure(ctx, c.ID, `INSERT INTO invite_codes (code, campaign_id, inviter_id, school_id, district_id)
		SELECT $1, $2, u.id, u.school_id, `+districtOf("coalesce((SELECT region_id FROM schools WHERE id = u.school_id), u.region_id)")+`
		FROM users u WHERE u.id = $3
		ON CONFLICT (campaign_id, inviter_id) WHERE inviter_id IS NOT NULL DO NOTHING`,
		`SELECT code FROM invite_codes WHERE campaign_id = $1 AND inviter_id = $2`, a.UserID)
}

// School returns a school's invitation code for a campaign the actor
// manages, creating it on first use; the school must be in the actor's
// scope (kepu.EFORBIDDEN) and exist (kepu.NotFound).
func (s *Service) School(ctx context.Context, a kepu.Actor, campaignID, schoolID int64) (Code, error) {
	c, err := s.Campaigns.Manage(ctx, a, campaignID)
	if err != nil {
		return Code{}, err
	}
	sc, err := s.Org.School(ctx, schoolID)
	if err != nil {
		return Code{}, err
	}
	if err := s.Org.CheckRegion(ctx, a, sc.RegionID); err != nil {
		return Code{}, err
	}
	return s.ensure(ctx, c.ID, `INSERT INTO invite_codes (code, campaign_id, school_id, district_id)
		SELECT $1, $2, sc.id, `+districtOf("sc.region_id")+` FROM schools sc WHERE sc.id = $3
		ON CONFLICT (campaign_id, school_id) WHERE inviter_id IS NULL DO NOTHING`,
		`SELECT code FROM invite_codes WHERE campaign_id = $1 AND school_id = $2 AND inviter_id IS NULL`, schoolID)
}

// districtOf is the SQL of the district holding region expression r (the
// region itself when it is no township).
func districtOf(r string) string {
	return `coalesce((SELECT d.id FROM regions x JOIN regions d ON x.path LIKE d.path || '%' AND d.kind = 'district'
		WHERE x.id = ` + r + ` LIMIT 1), ` + r + `)`
}

// ensure inserts a code with insert ($1 code, $2 campaign, $3 owner) unless
// one exists, then reads it with get ($1 campaign, $2 owner).
func (s *Service) ensure(ctx context.Context, campaignID int64, insert, get string, owner int64) (Code, error) {
	if _, err := s.DB.Exec(ctx, insert, newCode(), campaignID, owner); err != nil {
		return Code{}, fmt.Errorf("invite: new code: %w", err)
	}
	var code string
	if err := s.DB.QueryRow(ctx, get, campaignID, owner).Scan(&code); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return Code{}, errNoCode
		}
		return Code{}, fmt.Errorf("invite: read code: %w", err)
	}
	return s.Lookup(ctx, code)
}

// Lookup returns a code; kepu.NotFound for an unknown one or one of a
// campaign no longer public.
func (s *Service) Lookup(ctx context.Context, code string) (Code, error) {
	if !ValidCode(code) {
		return Code{}, errNoCode
	}
	var c Code
	err := s.DB.QueryRow(ctx, `SELECT i.code, i.campaign_id, coalesce(i.inviter_id, 0), coalesce(i.school_id, 0),
		coalesce(i.district_id, 0) FROM invite_codes i JOIN campaigns c ON c.id = i.campaign_id
		WHERE i.code = $1 AND c.status IN ('published', 'paused', 'closed')`, code).
		Scan(&c.Code, &c.CampaignID, &c.InviterID, &c.SchoolID, &c.DistrictID)
	if errors.Is(err, pgx.ErrNoRows) {
		return c, errNoCode
	}
	if err != nil {
		return c, fmt.Errorf("invite: lookup: %w", err)
	}
	return c, nil
}

// Open counts an open of code by visitor (a hash of their device cookie)
// today, once a day per visitor and at most MaxOpensPerDay per code and
// day. It returns the code.
func (s *Service) Open(ctx context.Context, code, visitor string) (Code, error) {
	c, err := s.Lookup(ctx, code)
	if err != nil {
		return c, err
	}
	if visitor == "" || len(visitor) > 128 {
		return c, nil
	}
	_, err = s.DB.Exec(ctx, `INSERT INTO invite_opens (code, day, visitor)
		SELECT $1, $2, $3 WHERE (SELECT count(*) FROM invite_opens WHERE code = $1 AND day = $2) < $4
		ON CONFLICT DO NOTHING`, c.Code, day(s.now()), visitor, MaxOpensPerDay)
	if err != nil {
		return c, fmt.Errorf("invite: open: %w", err)
	}
	return c, nil
}

// day is the Beijing-time calendar day of t.
func day(t time.Time) time.Time {
	y, m, d := t.In(kepu.Shanghai).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// Attribute credits account userID to the inviter of code: once per
// invitee and campaign (the first invitation wins), never to the inviter
// themself, and not someone who had already finished a formal attempt of
// the campaign. registered tells an account created through the
// invitation. credited reports whether this call made the credit.
func (s *Service) Attribute(ctx context.Context, code string, userID int64, registered bool) (credited bool, err error) {
	c, err := s.Lookup(ctx, code)
	if err != nil || userID == 0 || c.InviterID == userID {
		return false, err
	}
	tag, err := s.DB.Exec(ctx, `INSERT INTO invite_credits (campaign_id, user_id, code, attributed_at, registered)
		SELECT $1, $2, $3, $4, $5
		WHERE NOT EXISTS (SELECT 1 FROM campaign_attempts WHERE campaign_id = $1 AND user_id = $2
			AND finished_at IS NOT NULL AND NOT practice AND NOT staff_practice)
		ON CONFLICT DO NOTHING`, c.CampaignID, userID, c.Code, s.now(), registered)
	if err != nil {
		return false, fmt.Errorf("invite: attribute: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

// Finished is a campaign.Finished hook: the invitee's first finished
// formal attempt (not practice, not staff practice, not given up) credits
// their inviter's participation, once.
func (s *Service) Finished(ctx context.Context, att campaign.Attempt) error {
	if att.StaffPractice || att.FinishedAt == nil {
		return nil
	}
	_, err := s.DB.Exec(ctx, `UPDATE invite_credits ic SET participated_at = a.finished_at
		FROM campaign_attempts a
		WHERE a.id = $1 AND ic.campaign_id = a.campaign_id AND ic.user_id = a.user_id AND ic.participated_at IS NULL
			AND NOT a.practice AND NOT a.staff_practice AND NOT a.abandoned AND a.finished_at >= ic.attributed_at`, att.ID)
	if err != nil {
		return fmt.Errorf("invite: participation: %w", err)
	}
	return nil
}

// ExtraToday implements campaign.ExtraAttempts: one attempt a day more for
// an inviter whose personal invitation has brought at least one
// participant to the campaign; none otherwise. The campaign checks
// Rules.InviteReward before asking.
func (s *Service) ExtraToday(ctx context.Context, tx pgx.Tx, campaignID, userID int64) (int, error) {
	var brought bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM invite_credits ic JOIN invite_codes i ON i.code = ic.code
		WHERE ic.campaign_id = $1 AND i.inviter_id = $2 AND ic.participated_at IS NOT NULL)`, campaignID, userID).Scan(&brought); err != nil {
		return 0, fmt.Errorf("invite: extra attempts: %w", err)
	}
	if brought {
		return 1, nil
	}
	return 0, nil
}

// Mine is what a participant sees of their own invitation.
type Mine struct {
	Code         string `json:"code"`
	Opens        int    `json:"opens"`
	Registered   int    `json:"registered"`
	Participated int    `json:"participated"`
	Reward       bool   `json:"reward"` // the campaign gives the extra attempt and it is earned
}

// MineOf returns the actor's personal code of a campaign with what it
// brought.
func (s *Service) MineOf(ctx context.Context, a kepu.Actor, campaignID int64) (Mine, error) {
	code, err := s.Personal(ctx, a, campaignID)
	if err != nil {
		return Mine{}, err
	}
	m := Mine{Code: code.Code}
	err = s.DB.QueryRow(ctx, `SELECT (SELECT count(*) FROM invite_opens WHERE code = $1),
		count(*) FILTER (WHERE registered), count(*) FILTER (WHERE participated_at IS NOT NULL)
		FROM invite_credits WHERE code = $1`, code.Code).Scan(&m.Opens, &m.Registered, &m.Participated)
	if err != nil {
		return m, fmt.Errorf("invite: mine: %w", err)
	}
	c, err := s.Campaigns.Public(ctx, campaignID)
	if err != nil {
		return m, err
	}
	m.Reward = c.Rules.InviteReward && c.Rules.PerDay > 0 && m.Participated > 0
	return m, nil
}

// Row is one line of the reach report: a district (SchoolID 0) or a
// school. Registered and Participated are nil (suppressed) when fewer than
// dashboard.MinGroup people were brought.
type Row struct {
	DistrictID   int64  `json:"district_id"`
	District     string `json:"district"`
	SchoolID     int64  `json:"school_id,omitempty"`
	School       string `json:"school,omitempty"`
	Opens        int    `json:"opens"`
	Registered   *int   `json:"registered"`
	Participated *int   `json:"participated"`
}

// Reach is a campaign's invitation report.
type Reach struct {
	CampaignID   int64 `json:"campaign_id"`
	Codes        int   `json:"codes"`
	Opens        int   `json:"opens"`
	Registered   int   `json:"registered"`
	Participated int   `json:"participated"`
	Districts    []Row `json:"districts"`
	Schools      []Row `json:"schools"`
	MinGroup     int   `json:"min_group"`
}

// Reach returns the invitation report of a campaign the actor manages:
// totals, then by the inviters' district and school, in the official
// district order.
func (s *Service) Reach(ctx context.Context, a kepu.Actor, campaignID int64) (Reach, error) {
	c, err := s.Campaigns.Manage(ctx, a, campaignID)
	if err != nil {
		return Reach{}, err
	}
	r := Reach{CampaignID: c.ID, MinGroup: dashboard.MinGroup, Districts: []Row{}, Schools: []Row{}}
	rows, err := s.DB.Query(ctx, `WITH per AS (
			SELECT i.code, i.district_id, i.school_id,
				(SELECT count(*) FROM invite_opens o WHERE o.code = i.code) AS opens,
				(SELECT count(*) FROM invite_credits ic WHERE ic.code = i.code) AS people,
				(SELECT count(*) FROM invite_credits ic WHERE ic.code = i.code AND ic.registered) AS reg,
				(SELECT count(*) FROM invite_credits ic WHERE ic.code = i.code AND ic.participated_at IS NOT NULL) AS part
			FROM invite_codes i WHERE i.campaign_id = $1)
		SELECT coalesce(p.district_id, 0), coalesce(d.name, ''), coalesce(p.school_id, 0), coalesce(sc.name, ''),
			grouping(p.school_id, sc.name), count(p.code), coalesce(sum(p.opens), 0)::int, coalesce(sum(p.people), 0)::int,
			coalesce(sum(p.reg), 0)::int, coalesce(sum(p.part), 0)::int
		FROM per p LEFT JOIN regions d ON d.id = p.district_id LEFT JOIN schools sc ON sc.id = p.school_id
		GROUP BY GROUPING SETS ((p.district_id, d.name, d.path), (p.district_id, d.name, d.path, p.school_id, sc.name), ())
		ORDER BY grouping(p.district_id) DESC, region_order(d.path), d.name, grouping(p.school_id, sc.name) DESC, sc.name`, c.ID)
	if err != nil {
		return r, fmt.Errorf("invite: reach: %w", err)
	}
	defer rows.Close()
	first := true
	for rows.Next() {
		var row Row
		var grouped, codes, people, reg, part int
		if err := rows.Scan(&row.DistrictID, &row.District, &row.SchoolID, &row.School, &grouped, &codes, &row.Opens,
			&people, &reg, &part); err != nil {
			return r, fmt.Errorf("invite: reach: %w", err)
		}
		if first { // the grand total comes first
			first = false
			r.Codes, r.Opens, r.Registered, r.Participated = codes, row.Opens, reg, part
			continue
		}
		if people >= dashboard.MinGroup || people == 0 { // nobody brought: nothing to hide
			row.Registered, row.Participated = &reg, &part
		}
		if grouped != 0 {
			r.Districts = append(r.Districts, row)
		} else {
			r.Schools = append(r.Schools, row)
		}
	}
	if err := rows.Err(); err != nil {
		return r, fmt.Errorf("invite: reach: %w", err)
	}
	return r, nil
}
