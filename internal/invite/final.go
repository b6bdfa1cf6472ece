package invite

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/kepu/kepu/internal/audit"
	"github.com/kepu/kepu/internal/campaign"
	"github.com/kepu/kepu/internal/contest"
	"github.com/kepu/kepu/internal/kepu"
	"github.com/kepu/kepu/internal/postgres"
)

// Limits of a final.
const (
	MaxTopN      = 100
	MaxPlace     = 200 // runes
	MaxQuestions = contest.MaxQuestions
)

// FinalInput is what an organizer sends to call a final.
type FinalInput struct {
	TopN      int       `json:"top_n"`     // per division, 1–MaxTopN
	StartsAt  time.Time `json:"starts_at"` // when it begins
	Place     string    `json:"place"`     // where (optional)
	Questions int       `json:"questions"` // drawn from the published bank, 1–MaxQuestions (default 10)
	TimeLimit int       `json:"time_limit"`
}

// Final is a campaign's online-to-live final.
type Final struct {
	ID         int64     `json:"id"`
	CampaignID int64     `json:"campaign_id"`
	Campaign   string    `json:"campaign"`
	ContestID  int64     `json:"contest_id"`
	TopN       int       `json:"top_n"`
	StartsAt   time.Time `json:"starts_at"`
	Place      string    `json:"place"`
	Invited    int       `json:"invited"`
	// RunID and PIN name the final's live room, when one is open.
	RunID int64  `json:"run_id,omitempty"`
	PIN   string `json:"pin,omitempty"`
}

// Invitee is one invited person as the host's roster shows them.
type Invitee struct {
	UserID    int64      `json:"user_id"`
	Division  string     `json:"division"`
	Rank      int        `json:"rank"`
	Name      string     `json:"name"` // as on the frozen board (masked for minors)
	CheckedIn *time.Time `json:"checked_in_at"`
	Joined    bool       `json:"joined"` // in the final's live room
}

var (
	errNoFinal   = kepu.NotFound("reach.error.no_final")
	errNotFrozen = kepu.Errorf(kepu.ECONFLICT, "reach.error.not_frozen")
	errHasFinal  = kepu.Errorf(kepu.ECONFLICT, "reach.error.has_final")
	errNotInvite = kepu.Errorf(kepu.EFORBIDDEN, "reach.error.invited_only")
)

// Validate checks in and fills defaults.
func (in *FinalInput) Validate() error {
	in.Place = strings.TrimSpace(in.Place)
	if in.Questions == 0 {
		in.Questions = 10
	}
	if in.TimeLimit == 0 {
		in.TimeLimit = 20
	}
	switch {
	case in.TopN < 1 || in.TopN > MaxTopN:
		return kepu.Invalid("top_n", "reach.error.top_n").With("max", MaxTopN)
	case in.StartsAt.IsZero():
		return kepu.Invalid("starts_at", "reach.error.starts_at")
	case utf8.RuneCountInString(in.Place) > MaxPlace:
		return kepu.Invalid("place", "reach.error.place").With("max", MaxPlace)
	case in.Questions < 1 || in.Questions > MaxQuestions:
		return kepu.Invalid("questions", "reach.error.questions").With("max", MaxQuestions)
	case in.TimeLimit < contest.MinTimeLimit || in.TimeLimit > contest.MaxTimeLimit:
		return kepu.Invalid("time_limit", "error.contest_time_limit").With("min", contest.MinTimeLimit).With("max", contest.MaxTimeLimit)
	}
	return nil
}

// CreateFinal invites the top in.TopN of each division of a closed
// campaign's frozen board to a live final: a saved contest (questions
// drawn from the published bank, title the campaign's) that only the
// invited accounts may join, owned by the actor, who hosts it. Errors:
// kepu.ECONFLICT when the board is not frozen yet or the campaign has a
// final already. The call is in the audit log (campaign.final).
func (s *Service) CreateFinal(ctx context.Context, a kepu.Actor, campaignID int64, in FinalInput) (Final, error) {
	c, err := s.Campaigns.Manage(ctx, a, campaignID)
	if err != nil {
		return Final{}, err
	}
	if err := in.Validate(); err != nil {
		return Final{}, err
	}
	if c.Status != campaign.StatusClosed && c.Status != campaign.StatusArchived {
		return Final{}, errNotFrozen
	}
	var frozen, has bool
	if err := s.DB.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM campaign_boards_frozen WHERE campaign_id = $1),
		EXISTS (SELECT 1 FROM invite_finals WHERE campaign_id = $1)`, c.ID).Scan(&frozen, &has); err != nil {
		return Final{}, fmt.Errorf("invite: final: %w", err)
	}
	if !frozen {
		return Final{}, errNotFrozen
	}
	if has {
		return Final{}, errHasFinal
	}
	type pick struct {
		user     int64
		division string
		rank     int
		name     string
	}
	rows, err := s.DB.Query(ctx, `SELECT user_id, division, rank, display_name FROM campaign_final_board
		WHERE campaign_id = $1 AND rank <= $2 ORDER BY division, rank`, c.ID, in.TopN)
	if err != nil {
		return Final{}, fmt.Errorf("invite: final board: %w", err)
	}
	picks, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (pick, error) {
		var p pick
		return p, r.Scan(&p.user, &p.division, &p.rank, &p.name)
	})
	if err != nil {
		return Final{}, fmt.Errorf("invite: final board: %w", err)
	}
	if len(picks) == 0 {
		return Final{}, kepu.Errorf(kepu.ECONFLICT, "reach.error.board_empty")
	}
	ids := make([]int64, 0, len(picks))
	for _, p := range picks {
		ids = append(ids, p.user)
	}
	title := c.Title
	if r := []rune(title); len(r) > contest.MaxTitle {
		title = string(r[:contest.MaxTitle])
	}
	yes, tl := true, in.TimeLimit
	ct, err := s.Contests.Create(ctx, a, contest.NewContest{Title: title, Invited: ids,
		Settings: contest.SettingsInput{TimeLimit: &tl, ShowText: &yes},
		Draw:     &contest.Draw{Count: in.Questions, Lang: c.Rules.Lang}})
	if err != nil {
		return Final{}, err
	}
	var f Final
	err = postgres.Tx(ctx, s.DB, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `INSERT INTO invite_finals (campaign_id, contest_id, top_n, starts_at, place, created_by)
			VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`, c.ID, ct.ID, in.TopN, in.StartsAt.UTC(), in.Place, a.UserID).Scan(&f.ID); err != nil {
			return err
		}
		if err := audit.Record(ctx, tx, a.UserID, "campaign.final", campaign.Target(c.ID),
			map[string]any{"title": c.Title, "count": len(picks), "top_n": in.TopN}, a.IP); err != nil {
			return err
		}
		for _, p := range picks {
			if _, err := tx.Exec(ctx, `INSERT INTO invite_final_invitees (final_id, user_id, division, rank, display_name)
				VALUES ($1, $2, $3, $4, $5)`, f.ID, p.user, p.division, p.rank, p.name); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return Final{}, fmt.Errorf("invite: create final: %w", err)
	}
	return s.finalByID(ctx, f.ID)
}

const finalCols = `f.id, f.campaign_id, c.title, f.contest_id, f.top_n, f.starts_at, f.place,
	(SELECT count(*) FROM invite_final_invitees WHERE final_id = f.id),
	coalesce(r.id, 0), coalesce(r.pin, '')`

// finalFrom joins a final to its campaign and its live run, if any.
const finalFrom = ` FROM invite_finals f JOIN campaigns c ON c.id = f.campaign_id
	LEFT JOIN LATERAL (SELECT id, pin FROM contest_runs WHERE contest_id = f.contest_id AND status IN ('lobby', 'playing')
		ORDER BY id DESC LIMIT 1) r ON true `

func scanFinal(row pgx.Row) (Final, error) {
	var f Final
	err := row.Scan(&f.ID, &f.CampaignID, &f.Campaign, &f.ContestID, &f.TopN, &f.StartsAt, &f.Place, &f.Invited, &f.RunID, &f.PIN)
	if errors.Is(err, pgx.ErrNoRows) {
		return f, errNoFinal
	}
	if err != nil {
		return f, fmt.Errorf("invite: final: %w", err)
	}
	return f, nil
}

func (s *Service) finalByID(ctx context.Context, id int64) (Final, error) {
	return scanFinal(s.DB.QueryRow(ctx, `SELECT `+finalCols+finalFrom+`WHERE f.id = $1`, id))
}

// FinalOf returns the final of a campaign the actor manages (kepu.NotFound
// when it has none).
func (s *Service) FinalOf(ctx context.Context, a kepu.Actor, campaignID int64) (Final, error) {
	c, err := s.Campaigns.Manage(ctx, a, campaignID)
	if err != nil {
		return Final{}, err
	}
	return scanFinal(s.DB.QueryRow(ctx, `SELECT `+finalCols+finalFrom+`WHERE f.campaign_id = $1`, c.ID))
}

// ManageFinal returns final id if the actor manages its campaign.
func (s *Service) ManageFinal(ctx context.Context, a kepu.Actor, id int64) (Final, error) {
	f, err := s.finalByID(ctx, id)
	if err != nil {
		return f, err
	}
	if _, err := s.Campaigns.Manage(ctx, a, f.CampaignID); err != nil {
		return f, err
	}
	return f, nil
}

// Roster is the host's list of the invited: division, rank, whether they
// were checked in at the door and whether they are in the live room.
func (s *Service) Roster(ctx context.Context, a kepu.Actor, id int64) ([]Invitee, error) {
	f, err := s.ManageFinal(ctx, a, id)
	if err != nil {
		return nil, err
	}
	rows, err := s.DB.Query(ctx, `SELECT i.user_id, i.division, i.rank, i.display_name, i.checked_in_at,
		EXISTS (SELECT 1 FROM contest_players p JOIN contest_runs r ON r.id = p.run_id
			WHERE r.contest_id = $2 AND p.user_id = i.user_id AND r.status <> 'aborted')
		FROM invite_final_invitees i WHERE i.final_id = $1 ORDER BY i.division, i.rank`, f.ID, f.ContestID)
	if err != nil {
		return nil, fmt.Errorf("invite: roster: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Invitee, error) {
		var v Invitee
		return v, r.Scan(&v.UserID, &v.Division, &v.Rank, &v.Name, &v.CheckedIn, &v.Joined)
	})
	if err != nil {
		return nil, fmt.Errorf("invite: roster: %w", err)
	}
	return out, nil
}

// CheckIn marks an invited person arrived at the door (or not).
func (s *Service) CheckIn(ctx context.Context, a kepu.Actor, id, userID int64, arrived bool) error {
	f, err := s.ManageFinal(ctx, a, id)
	if err != nil {
		return err
	}
	tag, err := s.DB.Exec(ctx, `UPDATE invite_final_invitees SET checked_in_at = CASE WHEN $3 THEN coalesce(checked_in_at, $4) END
		WHERE final_id = $1 AND user_id = $2`, f.ID, userID, arrived, s.now())
	if err != nil {
		return fmt.Errorf("invite: check in: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return errNotInvite
	}
	return nil
}

// Invitation is a final invitation as the invitee's account shows it.
type Invitation struct {
	Final
	Division string `json:"division"`
	Rank     int    `json:"rank"`
	JoinURL  string `json:"join_url"`
}

// Invitations returns the finals userID is invited to, the coming ones
// first (at most 20).
func (s *Service) Invitations(ctx context.Context, userID int64) ([]Invitation, error) {
	rows, err := s.DB.Query(ctx, `SELECT `+finalCols+`, i.division, i.rank`+finalFrom+`
		JOIN invite_final_invitees i ON i.final_id = f.id WHERE i.user_id = $1 ORDER BY f.starts_at DESC LIMIT 20`, userID)
	if err != nil {
		return nil, fmt.Errorf("invite: invitations: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Invitation, error) {
		var v Invitation
		f := &v.Final
		err := r.Scan(&f.ID, &f.CampaignID, &f.Campaign, &f.ContestID, &f.TopN, &f.StartsAt, &f.Place, &f.Invited, &f.RunID, &f.PIN,
			&v.Division, &v.Rank)
		v.JoinURL = fmt.Sprintf("/finals/%d/join", f.ID)
		return v, err
	})
	if err != nil {
		return nil, fmt.Errorf("invite: invitations: %w", err)
	}
	return out, nil
}

// JoinPIN returns the PIN of final id's live room for an invited account:
// errNotInvite for anyone else; "" when the room is not open yet.
func (s *Service) JoinPIN(ctx context.Context, userID, id int64) (Final, string, error) {
	var ok bool
	if err := s.DB.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM invite_final_invitees WHERE final_id = $1 AND user_id = $2)`,
		id, userID).Scan(&ok); err != nil {
		return Final{}, "", fmt.Errorf("invite: join: %w", err)
	}
	if !ok || userID == 0 {
		return Final{}, "", errNotInvite
	}
	f, err := s.finalByID(ctx, id)
	return f, f.PIN, err
}

// PodiumPlace is one of the final's top three, named as on the frozen
// board (masked for minors).
type PodiumPlace struct {
	Rank     int    `json:"rank"`
	Name     string `json:"name"`
	Division string `json:"division"`
	Score    int    `json:"score"`
}

// Podium returns the podium of a campaign's final once its last run has
// finished (nil before, or without a final): what the campaign page shows.
func (s *Service) Podium(ctx context.Context, campaignID int64) ([]PodiumPlace, error) {
	rows, err := s.DB.Query(ctx, `SELECT p.rank, i.display_name, i.division, p.score
		FROM invite_finals f
		JOIN LATERAL (SELECT id FROM contest_runs WHERE contest_id = f.contest_id AND status = 'finished'
			ORDER BY ended_at DESC NULLS LAST, id DESC LIMIT 1) r ON true
		JOIN contest_players p ON p.run_id = r.id AND p.rank BETWEEN 1 AND 3
		JOIN invite_final_invitees i ON i.final_id = f.id AND i.user_id = p.user_id
		WHERE f.campaign_id = $1 ORDER BY p.rank, i.display_name`, campaignID)
	if err != nil {
		return nil, fmt.Errorf("invite: podium: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (PodiumPlace, error) {
		var v PodiumPlace
		return v, r.Scan(&v.Rank, &v.Name, &v.Division, &v.Score)
	})
	if err != nil {
		return nil, fmt.Errorf("invite: podium: %w", err)
	}
	return out, nil
}
