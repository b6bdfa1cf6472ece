package prize

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kepu/kepu/internal/audit"
	"github.com/kepu/kepu/internal/campaign"
	"github.com/kepu/kepu/internal/kepu"
	"github.com/kepu/kepu/internal/leaderboard"
	"github.com/kepu/kepu/internal/lottery"
	"github.com/kepu/kepu/internal/postgres"
)

// commit makes the campaign's lottery seed and commitment inside tx unless
// it has them; a new commitment is audited (prize.commit).
func commit(ctx context.Context, tx pgx.Tx, a kepu.Actor, c campaign.Campaign) error {
	seed := make([]byte, lottery.SeedSize)
	if _, err := rand.Read(seed); err != nil {
		return fmt.Errorf("prize: seed: %w", err)
	}
	commitment := lottery.Commitment(seed)
	tag, err := tx.Exec(ctx, `INSERT INTO prize_lottery (campaign_id, seed, commitment) VALUES ($1, $2, $3)
		ON CONFLICT (campaign_id) DO NOTHING`, c.ID, seed, commitment)
	if err != nil || tag.RowsAffected() == 0 {
		return err
	}
	return audit.Record(ctx, tx, a.UserID, "prize.commit", campaign.Target(c.ID),
		map[string]any{"title": c.Title, "commitment": commitment}, a.IP)
}

// Commit makes the lottery's commitment of a campaign being published (the
// server calls it after every publish), so that it is on the campaign page
// from the publication on. Idempotent: an existing commitment is kept.
func (s *Service) Commit(ctx context.Context, a kepu.Actor, campaignID int64) error {
	c, err := s.Campaigns.Get(ctx, campaignID)
	if err != nil {
		return err
	}
	if err := postgres.Tx(ctx, s.DB, func(tx pgx.Tx) error { return commit(ctx, tx, a, c) }); err != nil {
		return fmt.Errorf("prize: commit %d: %w", campaignID, err)
	}
	return nil
}

// Lottery is what the public sees of a campaign's lottery: always the
// commitment (when there is one) and the prizes; once drawn, the whole
// published document (lottery.Published) from which anyone recomputes
// the winners.
type Lottery struct {
	lottery.Published
	// Rules are the lottery's entry rules per division, as defined.
	Rules []Eligibility `json:"rules"`
	// Drawn: the seed is revealed and the winners are final.
	Drawn bool `json:"drawn"`
}

// ErrNoLottery: the campaign has no lottery prize (404).
var ErrNoLottery = kepu.NotFound("prizes.error.no_lottery")

// Lottery returns the published lottery of a public campaign. Before the
// draw the seed, the entries and the winners are empty; a campaign without
// lottery prizes (or without a commitment) is ErrNoLottery.
func (s *Service) Lottery(ctx context.Context, c campaign.Campaign) (Lottery, error) {
	var l Lottery
	var committed time.Time
	var doc []byte
	err := s.DB.QueryRow(ctx, `SELECT commitment, committed_at, published FROM prize_lottery WHERE campaign_id = $1`, c.ID).
		Scan(&l.Commitment, &committed, &doc)
	if errors.Is(err, pgx.ErrNoRows) {
		return l, ErrNoLottery
	}
	if err != nil {
		return l, fmt.Errorf("prize: lottery %d: %w", c.ID, err)
	}
	d, err := s.Definition(ctx, c)
	if err != nil {
		return l, err
	}
	if !d.HasLottery() && doc == nil {
		return l, ErrNoLottery
	}
	for _, div := range append([]string{""}, d.Divisions...) {
		if div == "" && len(d.Divisions) > 0 {
			continue
		}
		l.Rules = append(l.Rules, d.RuleFor(div))
	}
	if doc != nil {
		if err := json.Unmarshal(doc, &l.Published); err != nil {
			return l, fmt.Errorf("prize: lottery %d: %w", c.ID, err)
		}
		l.Drawn = true
		return l, nil
	}
	l.Algorithm, l.CampaignID, l.Title = lottery.AlgorithmV1, c.ID, c.Title
	l.CommittedAt = committed.UTC().Format(time.RFC3339)
	l.Entries, l.Winners = []lottery.Entry{}, []lottery.Winner{}
	l.Prizes = lotteryPrizes(d)
	return l, nil
}

// lotteryPrizes are the definition's lottery prizes in order.
func lotteryPrizes(d Definition) []lottery.Prize {
	out := []lottery.Prize{}
	for _, p := range d.Prizes {
		if p.Kind == KindLottery {
			out = append(out, lottery.Prize{Name: p.Name, Division: p.Division, Count: p.Count})
		}
	}
	return out
}

// person is the pseudonym of a user in one campaign's lottery: 12 hex
// digits of an HMAC under the server's key.
func (s *Service) person(campaignID, userID int64) string {
	m := hmac.New(sha256.New, append([]byte("kepu:lottery:person:"), s.Key...))
	m.Write([]byte(strconv.FormatInt(campaignID, 10) + ":" + strconv.FormatInt(userID, 10)))
	return hex.EncodeToString(m.Sum(nil)[:6])
}

// candidate is a finished attempt that may enter the lottery.
type candidate struct {
	attemptID, userID int64
	division, nick    string
	right, score      int
}

// sqlCandidates are the campaign's finished attempts that count for a
// prize (never practice or staff practice, never a deleted account), in
// attempt order, with their right answers.
const sqlCandidates = `SELECT t.id, t.user_id, t.division, u.nickname, t.score,
	(SELECT count(*) FROM campaign_answers a WHERE a.attempt_id = t.id AND a.correct)::int
	FROM campaign_attempts t JOIN users u ON u.id = t.user_id
	WHERE t.campaign_id = $1 AND t.finished_at IS NOT NULL AND NOT t.practice AND NOT t.staff_practice AND u.deleted_at IS NULL
	ORDER BY t.id`

// entries computes the eligible entries of the campaign in the published
// order (by attempt id) with the user behind each entry id.
func (s *Service) entries(ctx context.Context, tx pgx.Tx, campaignID int64, d Definition) ([]lottery.Entry, map[string]int64, error) {
	rows, _ := tx.Query(ctx, sqlCandidates, campaignID)
	cs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (candidate, error) {
		var c candidate
		return c, r.Scan(&c.attemptID, &c.userID, &c.division, &c.nick, &c.score, &c.right)
	})
	if err != nil {
		return nil, nil, fmt.Errorf("prize: entries: %w", err)
	}
	out := []lottery.Entry{}
	users := map[string]int64{}
	entered := map[[2]any]bool{} // (division, user) with an entry, for one entry per person
	for _, c := range cs {
		rule := d.RuleFor(c.division)
		v := c.right
		if rule.Basis == BasisScore {
			v = c.score
		}
		key := [2]any{c.division, c.userID}
		if v < rule.Min || (rule.Per == PerPerson && entered[key]) {
			continue
		}
		entered[key] = true
		id := "A" + strconv.FormatInt(c.attemptID, 10)
		nick := strings.Map(func(r rune) rune {
			if r == '\t' || r == '\n' || r == '\r' {
				return ' '
			}
			return r
		}, leaderboard.MaskNickname(c.nick))
		out = append(out, lottery.Entry{ID: id, Person: s.person(campaignID, c.userID), Division: c.division, Nickname: nick})
		users[id] = c.userID
	}
	return out, users, nil
}
