// Package prize gives a campaign's prizes: the definitions an organizer
// makes before the close (rank prizes per division, lottery prizes per
// division and who may enter the lottery), the frozen final board written
// once when the campaign closes (campaign_final_board), the awards made
// from it and from the verifiable draw (internal/lottery), the winners'
// delivery details (kept until the prize is fulfilled, then deleted) and
// the organizer's export for fulfilment. Every step is in the audit log.
// Rules and the algorithm: docs/campaigns.md "抽奖 / Lottery" and
// "排名奖与最终榜 / Rank prizes and the frozen board".
package prize

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kepu/kepu/internal/audit"
	"github.com/kepu/kepu/internal/campaign"
	"github.com/kepu/kepu/internal/kepu"
	"github.com/kepu/kepu/internal/postgres"
)

// Kinds of prize.
const (
	KindRank    = "rank"
	KindLottery = "lottery"
)

// Eligibility bases and entry rules of a lottery.
const (
	BasisRight    = "right" // right answers in one attempt
	BasisScore    = "score" // score of one attempt
	PerPerson     = "person"
	PerAttempt    = "attempt"
	MaxPrizes     = 50
	MaxPrizeName  = 60 // runes
	MaxPrizeCount = 10000
	MaxDivision   = 32 // bytes, as campaign_attempts.division
)

// Prize is one prize definition.
type Prize struct {
	ID       int64  `json:"id,omitempty"`
	Kind     string `json:"kind"`     // KindRank or KindLottery
	Division string `json:"division"` // the division key, "" without divisions
	Name     string `json:"name"`
	Count    int    `json:"count"`
}

// Eligibility says who enters a division's lottery ("" : every division
// without its own rule).
type Eligibility struct {
	Division string `json:"division"`
	Basis    string `json:"basis"` // BasisRight or BasisScore
	Min      int    `json:"min"`
	Per      string `json:"per"` // PerPerson or PerAttempt
}

// Definition is a campaign's prizes in order and its lottery rules.
type Definition struct {
	Prizes      []Prize       `json:"prizes"`
	Eligibility []Eligibility `json:"eligibility"`
	// Locked: the campaign has closed; nothing changes any more.
	Locked bool `json:"locked"`
	// Divisions are the campaign's division keys (empty without divisions).
	Divisions []string `json:"divisions"`
}

// HasLottery reports whether a lottery prize is defined.
func (d Definition) HasLottery() bool {
	for _, p := range d.Prizes {
		if p.Kind == KindLottery {
			return true
		}
	}
	return false
}

// RuleFor is the eligibility of a division: its own rule, else the rule of
// division "", else anyone with a finished attempt, once.
func (d Definition) RuleFor(division string) Eligibility {
	def := Eligibility{Division: division, Basis: BasisRight, Min: 0, Per: PerPerson}
	for _, e := range d.Eligibility {
		if e.Division == division {
			return e
		}
		if e.Division == "" {
			def = e
		}
	}
	return def
}

// Service keeps prizes.
type Service struct {
	DB        *pgxpool.Pool
	Campaigns *campaign.Service
	// Key keys the lottery's person pseudonyms (the app's secret key), so
	// they cannot be linked to user ids outside the server.
	Key []byte
	// Now decides whether a campaign has ended (the campaigns' clock).
	Now func() time.Time
	Log *slog.Logger
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Service) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

// Ended reports whether the campaign is over: closed or archived, or
// past its end.
func (s *Service) Ended(c campaign.Campaign) bool {
	return c.Status == campaign.StatusClosed || c.Status == campaign.StatusArchived || !s.now().Before(c.EndsAt)
}

// querier is a pool or a transaction.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// divisions returns the campaign's division keys (rules.divisions[].key).
func divisions(ctx context.Context, db querier, campaignID int64) ([]string, error) {
	var keys []string
	err := db.QueryRow(ctx, `SELECT coalesce(array_agg(d->>'key'), '{}') FROM campaigns c,
		jsonb_array_elements(CASE WHEN jsonb_typeof(c.settings->'divisions') = 'array' THEN c.settings->'divisions' ELSE '[]' END) d
		WHERE c.id = $1`, campaignID).Scan(&keys)
	if err != nil {
		return nil, fmt.Errorf("prize: divisions: %w", err)
	}
	return keys, nil
}

// Definition returns the campaign's prizes (anyone may read them once the
// campaign is public; callers check).
func (s *Service) Definition(ctx context.Context, c campaign.Campaign) (Definition, error) {
	d := Definition{Prizes: []Prize{}, Eligibility: []Eligibility{}, Locked: s.Ended(c)}
	rows, _ := s.DB.Query(ctx, `SELECT id, kind, division, name, count FROM prizes WHERE campaign_id = $1 ORDER BY position`, c.ID)
	ps, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Prize, error) {
		var p Prize
		return p, r.Scan(&p.ID, &p.Kind, &p.Division, &p.Name, &p.Count)
	})
	if err != nil {
		return d, fmt.Errorf("prize: definition: %w", err)
	}
	rows, _ = s.DB.Query(ctx, `SELECT division, basis, min_value, per FROM prize_eligibility WHERE campaign_id = $1 ORDER BY division`, c.ID)
	es, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Eligibility, error) {
		var e Eligibility
		return e, r.Scan(&e.Division, &e.Basis, &e.Min, &e.Per)
	})
	if err != nil {
		return d, fmt.Errorf("prize: eligibility: %w", err)
	}
	if d.Divisions, err = divisions(ctx, s.DB, c.ID); err != nil {
		return d, err
	}
	d.Prizes, d.Eligibility = append(d.Prizes, ps...), append(d.Eligibility, es...)
	return d, nil
}

// validate checks a definition against the campaign's divisions; the
// error names the field at fault.
func validate(d *Definition, divs []string) error {
	if len(d.Prizes) > MaxPrizes {
		return kepu.Invalid("prizes", "prizes.error.too_many").With("max", MaxPrizes)
	}
	if len(d.Eligibility) > MaxPrizes {
		return kepu.Invalid("eligibility", "prizes.error.too_many").With("max", MaxPrizes)
	}
	okDiv := func(div string) bool {
		if len(divs) == 0 {
			return div == ""
		}
		return kepu.Contains(divs, div)
	}
	for i := range d.Prizes {
		p := &d.Prizes[i]
		p.Name, p.Division = strings.TrimSpace(p.Name), strings.TrimSpace(p.Division)
		field := fmt.Sprintf("prizes.%d", i)
		switch {
		case p.Kind != KindRank && p.Kind != KindLottery:
			return kepu.Invalid(field+".kind", "prizes.error.kind")
		case utf8.RuneCountInString(p.Name) < 1 || utf8.RuneCountInString(p.Name) > MaxPrizeName || strings.ContainsAny(p.Name, "\t\r\n"):
			return kepu.Invalid(field+".name", "prizes.error.name").With("max", MaxPrizeName)
		case p.Count < 1 || p.Count > MaxPrizeCount:
			return kepu.Invalid(field+".count", "prizes.error.count").With("max", MaxPrizeCount)
		case len(p.Division) > MaxDivision || !okDiv(p.Division):
			return kepu.Invalid(field+".division", "prizes.error.division")
		}
	}
	seen := map[string]bool{}
	for i := range d.Eligibility {
		e := &d.Eligibility[i]
		e.Division = strings.TrimSpace(e.Division)
		field := fmt.Sprintf("eligibility.%d", i)
		switch {
		case e.Basis != BasisRight && e.Basis != BasisScore:
			return kepu.Invalid(field+".basis", "prizes.error.basis")
		case e.Per != PerPerson && e.Per != PerAttempt:
			return kepu.Invalid(field+".per", "prizes.error.per")
		case e.Min < 0 || e.Min > 1000000:
			return kepu.Invalid(field+".min", "prizes.error.min")
		case seen[e.Division] || len(e.Division) > MaxDivision || (e.Division != "" && !okDiv(e.Division)):
			return kepu.Invalid(field+".division", "prizes.error.division")
		}
		seen[e.Division] = true
	}
	return nil
}

// errLocked refuses a change after the close.
var errLocked = kepu.Errorf(kepu.ECONFLICT, "prizes.error.locked")

// Save replaces the campaign's prizes and lottery rules (organizers of the
// campaign, before it ends: kepu.ECONFLICT after). Saving a lottery prize
// makes the lottery's commitment if the campaign has none yet.
func (s *Service) Save(ctx context.Context, a kepu.Actor, campaignID int64, d Definition) (Definition, error) {
	c, err := s.Campaigns.Manage(ctx, a, campaignID)
	if err != nil {
		return d, err
	}
	if s.Ended(c) {
		return d, errLocked
	}
	divs, err := divisions(ctx, s.DB, c.ID)
	if err != nil {
		return d, err
	}
	if err := validate(&d, divs); err != nil {
		return d, err
	}
	err = postgres.Tx(ctx, s.DB, func(tx pgx.Tx) error {
		// The board freezes under this lock too (settle): no definition changes under a draw.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, $2)`, lockSpace, int32(c.ID)); err != nil {
			return err
		}
		var frozen bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM campaign_boards_frozen WHERE campaign_id = $1)`, c.ID).Scan(&frozen); err != nil {
			return err
		}
		if frozen {
			return errLocked
		}
		if _, err := tx.Exec(ctx, `DELETE FROM prizes WHERE campaign_id = $1`, c.ID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM prize_eligibility WHERE campaign_id = $1`, c.ID); err != nil {
			return err
		}
		for i, p := range d.Prizes {
			if _, err := tx.Exec(ctx, `INSERT INTO prizes (campaign_id, position, kind, division, name, count) VALUES ($1, $2, $3, $4, $5, $6)`,
				c.ID, i, p.Kind, p.Division, p.Name, p.Count); err != nil {
				return err
			}
		}
		for _, e := range d.Eligibility {
			if _, err := tx.Exec(ctx, `INSERT INTO prize_eligibility (campaign_id, division, basis, min_value, per) VALUES ($1, $2, $3, $4, $5)`,
				c.ID, e.Division, e.Basis, e.Min, e.Per); err != nil {
				return err
			}
		}
		if d.HasLottery() {
			if err := commit(ctx, tx, a, c); err != nil {
				return err
			}
		}
		return audit.Record(ctx, tx, a.UserID, "prize.define", campaign.Target(c.ID),
			map[string]any{"count": len(d.Prizes), "title": c.Title}, a.IP)
	})
	if errors.Is(err, errLocked) {
		return d, errLocked
	}
	if err != nil {
		return d, fmt.Errorf("prize: save %d: %w", campaignID, err)
	}
	return s.Definition(ctx, c)
}

// lockSpace is the first key of the campaigns' advisory locks taken while
// prizes change or a campaign settles ("priz" in ASCII).
const lockSpace = 0x7072697a
