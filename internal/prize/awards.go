package prize

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/kepu/kepu/internal/audit"
	"github.com/kepu/kepu/internal/campaign"
	"github.com/kepu/kepu/internal/dashboard"
	"github.com/kepu/kepu/internal/kepu"
	"github.com/kepu/kepu/internal/postgres"
)

// Delivery is where a winner wants the prize sent. Kept only until the
// organizer marks the prize fulfilled.
type Delivery struct {
	Name    string `json:"name"`    // 1–40 characters
	Phone   string `json:"phone"`   // 5–20 of digits, spaces, + and -
	Address string `json:"address"` // 5–200 characters
}

// Limits of a Delivery.
const (
	MaxDeliveryName    = 40
	MaxDeliveryPhone   = 20
	MaxDeliveryAddress = 200
)

// Validate trims and checks d; the error names the field at fault.
func (d *Delivery) Validate() error {
	d.Name, d.Phone, d.Address = strings.TrimSpace(d.Name), strings.TrimSpace(d.Phone), strings.TrimSpace(d.Address)
	if n := utf8.RuneCountInString(d.Name); n < 1 || n > MaxDeliveryName || strings.ContainsAny(d.Name, "\r\n\t") {
		return kepu.Invalid("name", "prizes.error.delivery_name").With("max", MaxDeliveryName)
	}
	digits := 0
	for _, r := range d.Phone {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == ' ' || r == '+' || r == '-':
		default:
			return kepu.Invalid("phone", "prizes.error.delivery_phone")
		}
	}
	if digits < 5 || len(d.Phone) > MaxDeliveryPhone {
		return kepu.Invalid("phone", "prizes.error.delivery_phone")
	}
	if n := utf8.RuneCountInString(d.Address); n < 5 || n > MaxDeliveryAddress {
		return kepu.Invalid("address", "prizes.error.delivery_address").With("max", MaxDeliveryAddress)
	}
	return nil
}

// Award is one prize won.
type Award struct {
	ID            int64      `json:"id"`
	CampaignID    int64      `json:"campaign_id"`
	CampaignTitle string     `json:"campaign_title"`
	PrizeName     string     `json:"prize_name"`
	Kind          string     `json:"kind"`
	Division      string     `json:"division"`
	Rank          *int       `json:"rank"`  // rank prizes
	Entry         *string    `json:"entry"` // lottery prizes: the winning entry id
	AwardedAt     time.Time  `json:"awarded_at"`
	FulfilledAt   *time.Time `json:"fulfilled_at"`
	// Delivery is the winner's delivery details (nil when none given or
	// after fulfilment: they are deleted then).
	Delivery *Delivery `json:"delivery"`
	// Nickname and Username name the winner (organizers' views only).
	Nickname string `json:"nickname,omitempty"`
	Username string `json:"username,omitempty"`
}

const awardCols = `w.id, w.campaign_id, c.title, p.name, p.kind, p.division, w.rank, w.entry, w.awarded_at, w.fulfilled_at,
	d.name, d.phone, d.address, u.nickname, u.username`

const awardFrom = ` FROM prize_awards w JOIN prizes p ON p.id = w.prize_id JOIN campaigns c ON c.id = w.campaign_id
	JOIN users u ON u.id = w.user_id LEFT JOIN prize_deliveries d ON d.award_id = w.id `

func scanAward(r pgx.CollectableRow) (Award, error) {
	var w Award
	var name, phone, addr *string
	err := r.Scan(&w.ID, &w.CampaignID, &w.CampaignTitle, &w.PrizeName, &w.Kind, &w.Division, &w.Rank, &w.Entry, &w.AwardedAt,
		&w.FulfilledAt, &name, &phone, &addr, &w.Nickname, &w.Username)
	if name != nil {
		w.Delivery = &Delivery{Name: *name, Phone: *phone, Address: *addr}
	}
	return w, err
}

// Mine returns the actor's prizes, newest first (without their own names).
func (s *Service) Mine(ctx context.Context, a kepu.Actor) ([]Award, error) {
	return s.ofUser(ctx, a.UserID, "DESC LIMIT 200")
}

// ofUser returns the user's awards without their names, by id (order: ASC
// or DESC, and a limit).
func (s *Service) ofUser(ctx context.Context, userID int64, order string) ([]Award, error) {
	rows, _ := s.DB.Query(ctx, `SELECT `+awardCols+awardFrom+`WHERE w.user_id = $1 ORDER BY w.id `+order, userID)
	out, err := pgx.CollectRows(rows, scanAward)
	if err != nil {
		return nil, fmt.Errorf("prize: awards of user %d: %w", userID, err)
	}
	for i := range out {
		out[i].Nickname, out[i].Username = "", ""
	}
	return out, nil
}

var (
	errAwardNotFound = kepu.NotFound("prizes.error.award_not_found")
	errFulfilled     = kepu.Errorf(kepu.ECONFLICT, "prizes.error.fulfilled")
)

// SetDelivery stores the winner's delivery details for their award
// (kepu.ENOTFOUND for someone else's, kepu.ECONFLICT once fulfilled).
func (s *Service) SetDelivery(ctx context.Context, a kepu.Actor, awardID int64, d Delivery) error {
	if err := d.Validate(); err != nil {
		return err
	}
	return postgres.Tx(ctx, s.DB, func(tx pgx.Tx) error {
		var fulfilled *time.Time
		var campaignID int64
		err := tx.QueryRow(ctx, `SELECT fulfilled_at, campaign_id FROM prize_awards WHERE id = $1 AND user_id = $2 FOR UPDATE`, awardID, a.UserID).
			Scan(&fulfilled, &campaignID)
		if errors.Is(err, pgx.ErrNoRows) {
			return errAwardNotFound
		}
		if err != nil {
			return fmt.Errorf("prize: delivery: %w", err)
		}
		if fulfilled != nil {
			return errFulfilled
		}
		if _, err := tx.Exec(ctx, `INSERT INTO prize_deliveries (award_id, name, phone, address) VALUES ($1, $2, $3, $4)
			ON CONFLICT (award_id) DO UPDATE SET name = $2, phone = $3, address = $4, updated_at = now()`, awardID, d.Name, d.Phone, d.Address); err != nil {
			return fmt.Errorf("prize: delivery: %w", err)
		}
		return audit.Record(ctx, tx, a.UserID, "prize.claim", campaign.Target(campaignID), map[string]any{"award": awardID}, a.IP)
	})
}

// Winners returns the awards of a campaign the actor manages, in prize
// order then rank or draw order.
func (s *Service) Winners(ctx context.Context, a kepu.Actor, campaignID int64) ([]Award, error) {
	if _, err := s.Campaigns.Manage(ctx, a, campaignID); err != nil {
		return nil, err
	}
	rows, _ := s.DB.Query(ctx, `SELECT `+awardCols+awardFrom+`WHERE w.campaign_id = $1 ORDER BY p.position, w.rank NULLS LAST, w.id`, campaignID)
	out, err := pgx.CollectRows(rows, scanAward)
	if err != nil {
		return nil, fmt.Errorf("prize: winners: %w", err)
	}
	return out, nil
}

// Fulfil marks an award of a campaign the actor manages as fulfilled and
// deletes its delivery details (PIPL minimization); audited.
func (s *Service) Fulfil(ctx context.Context, a kepu.Actor, campaignID, awardID int64) error {
	c, err := s.Campaigns.Manage(ctx, a, campaignID)
	if err != nil {
		return err
	}
	return postgres.Tx(ctx, s.DB, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE prize_awards SET fulfilled_at = now(), fulfilled_by = $3
			WHERE id = $1 AND campaign_id = $2 AND fulfilled_at IS NULL`, awardID, c.ID, a.UserID)
		if err != nil {
			return fmt.Errorf("prize: fulfil: %w", err)
		}
		if tag.RowsAffected() == 0 {
			var exists bool
			tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM prize_awards WHERE id = $1 AND campaign_id = $2)`, awardID, c.ID).Scan(&exists)
			if !exists {
				return errAwardNotFound
			}
			return errFulfilled
		}
		if _, err := tx.Exec(ctx, `DELETE FROM prize_deliveries WHERE award_id = $1`, awardID); err != nil {
			return fmt.Errorf("prize: fulfil: %w", err)
		}
		return audit.Record(ctx, tx, a.UserID, "prize.fulfil", campaign.Target(c.ID), map[string]any{"title": c.Title, "award": awardID}, a.IP)
	})
}

// ExportCSV writes the campaign's awards for fulfilment (UTF-8 with a BOM
// for spreadsheets; formula-like cells neutralized): the unfulfilled ones
// with their delivery details, the fulfilled ones without (deleted).
// Audited: whoever downloads the winners' addresses is on record.
func (s *Service) ExportCSV(ctx context.Context, a kepu.Actor, campaignID int64, w io.Writer, header []string) error {
	list, err := s.Winners(ctx, a, campaignID)
	if err != nil {
		return err
	}
	if err := audit.Record(ctx, s.DB, a.UserID, "prize.export", campaign.Target(campaignID), map[string]any{"count": len(list)}, a.IP); err != nil {
		return err
	}
	io.WriteString(w, "\ufeff")
	cw := csv.NewWriter(w)
	cw.Write(header)
	for _, x := range list {
		place := ""
		if x.Rank != nil {
			place = strconv.Itoa(*x.Rank)
		} else if x.Entry != nil {
			place = *x.Entry
		}
		var d Delivery
		if x.Delivery != nil {
			d = *x.Delivery
		}
		fulfilled := ""
		if x.FulfilledAt != nil {
			fulfilled = kepu.FormatTime(*x.FulfilledAt, kepu.LayoutMinute)
		}
		row := []string{strconv.FormatInt(x.ID, 10), x.PrizeName, x.Division, place, x.Nickname, x.Username, d.Name, d.Phone, d.Address, fulfilled}
		for i := range row {
			row[i] = dashboard.Neutralize(row[i])
		}
		cw.Write(row)
	}
	cw.Flush()
	return cw.Error()
}

// BoardEntry is one line of a frozen final board.
type BoardEntry struct {
	Division string    `json:"division"`
	Rank     int       `json:"rank"`
	Name     string    `json:"name"`     // as shown at freezing (masked for minors)
	District string    `json:"district"` // the district's name, "" when none
	Score    int64     `json:"score"`
	TimeMS   int64     `json:"time_ms"`
	Reached  time.Time `json:"reached_at"`
}

// Board is a campaign's frozen final board.
type Board struct {
	FrozenAt time.Time    `json:"frozen_at"`
	Entries  int          `json:"entries"`
	Lines    []BoardEntry `json:"lines"` // per division, the first Limit ranks
}

// ErrNotFrozen: the campaign's final board is not frozen yet (404).
var ErrNotFrozen = kepu.NotFound("prizes.error.not_frozen")

// FinalBoard returns the first limit ranks of each division of the frozen
// board (ErrNotFrozen before the close).
func (s *Service) FinalBoard(ctx context.Context, campaignID int64, limit int) (Board, error) {
	var b Board
	err := s.DB.QueryRow(ctx, `SELECT frozen_at, entries FROM campaign_boards_frozen WHERE campaign_id = $1`, campaignID).Scan(&b.FrozenAt, &b.Entries)
	if errors.Is(err, pgx.ErrNoRows) {
		return b, ErrNotFrozen
	}
	if err != nil {
		return b, fmt.Errorf("prize: final board: %w", err)
	}
	rows, _ := s.DB.Query(ctx, `SELECT f.division, f.rank, f.display_name, coalesce(r.name, ''), f.score, f.time_ms, f.reached_at
		FROM campaign_final_board f LEFT JOIN regions r ON r.id = f.district_id
		WHERE f.campaign_id = $1 AND f.rank <= $2 ORDER BY f.division, f.rank`, campaignID, limit)
	b.Lines, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (BoardEntry, error) {
		var e BoardEntry
		return e, r.Scan(&e.Division, &e.Rank, &e.Name, &e.District, &e.Score, &e.TimeMS, &e.Reached)
	})
	if err != nil {
		return b, fmt.Errorf("prize: final board: %w", err)
	}
	if b.Lines == nil {
		b.Lines = []BoardEntry{}
	}
	return b, nil
}

// MyEntries returns the actor's lottery entry ids in a drawn campaign, so
// a participant finds their own lines in the published list.
func (s *Service) MyEntries(ctx context.Context, a kepu.Actor, campaignID int64) ([]string, error) {
	var ids []string
	err := s.DB.QueryRow(ctx, `SELECT coalesce(array_agg('A' || t.id ORDER BY t.id), '{}') FROM campaign_attempts t, prize_lottery l
		WHERE l.campaign_id = $1 AND t.campaign_id = $1 AND t.user_id = $2 AND l.published IS NOT NULL
		AND l.published->'entries' @> jsonb_build_array(jsonb_build_object('id', 'A' || t.id))`, campaignID, a.UserID).Scan(&ids)
	if err != nil {
		return nil, fmt.Errorf("prize: my entries: %w", err)
	}
	return ids, nil
}

// ExportUser is the user's prizes for their data export (account.Exporters):
// every award with its delivery details while they are kept.
func (s *Service) ExportUser(ctx context.Context, userID int64) (string, any, error) {
	out, err := s.ofUser(ctx, userID, "ASC")
	return "prizes", out, err
}
