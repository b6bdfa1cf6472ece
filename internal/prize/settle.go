package prize

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kepu/kepu/internal/audit"
	"github.com/kepu/kepu/internal/campaign"
	"github.com/kepu/kepu/internal/kepu"
	"github.com/kepu/kepu/internal/leaderboard"
	"github.com/kepu/kepu/internal/lottery"
	"github.com/kepu/kepu/internal/postgres"
)

// sqlFinal computes the final standings of campaign $1 per division by the
// campaign's rule of which attempt counts (best, latest or sum), with the
// live boards' tie rule: score, then time used, then who reached it first
// (then the user id, so the order is total). Practice, staff practice and
// attempts given up with no points never count (as on the live boards).
// The district and school are those of the counted attempt's start (of
// the latest attempt for "sum").
const sqlFinal = `WITH c AS (SELECT coalesce(settings->>'counts', 'best') AS counts FROM campaigns WHERE id = $1),
f AS (
	SELECT t.id, t.user_id, t.division, t.score::bigint AS score, t.time_ms, t.finished_at, t.region_id, t.school_id
	FROM campaign_attempts t
	WHERE t.campaign_id = $1 AND t.finished_at IS NOT NULL AND NOT t.staff_practice AND NOT t.practice
	AND NOT (t.abandoned AND t.score = 0)
), best AS (
	SELECT DISTINCT ON (division, user_id) id, user_id, division, score, time_ms, finished_at, region_id, school_id FROM f
	ORDER BY division, user_id, score DESC, time_ms, finished_at
), latest AS (
	SELECT DISTINCT ON (division, user_id) id, user_id, division, score, time_ms, finished_at, region_id, school_id FROM f
	ORDER BY division, user_id, finished_at DESC
), total AS (
	SELECT NULL::bigint, user_id, division, sum(score)::bigint, sum(time_ms)::bigint, max(finished_at),
		(array_agg(region_id ORDER BY finished_at DESC))[1], (array_agg(school_id ORDER BY finished_at DESC))[1]
	FROM f GROUP BY division, user_id
), pick AS (
	SELECT * FROM best WHERE (SELECT counts FROM c) NOT IN ('latest', 'sum')
	UNION ALL SELECT * FROM latest WHERE (SELECT counts FROM c) = 'latest'
	UNION ALL SELECT * FROM total WHERE (SELECT counts FROM c) = 'sum'
)
SELECT p.division, p.user_id, p.id, u.nickname, coalesce(u.age_band, '') = 'u14',
	(SELECT d.id FROM regions r JOIN regions d ON d.kind = 'district' AND r.path LIKE d.path || '%'
		WHERE r.id = p.region_id ORDER BY d.id LIMIT 1),
	p.school_id, p.score, p.time_ms, p.finished_at
FROM pick p JOIN users u ON u.id = p.user_id WHERE u.deleted_at IS NULL
ORDER BY p.division, p.score DESC, p.time_ms, p.finished_at, p.user_id`

// Settle closes the prizes of an ended campaign, once: it freezes the
// final board (campaign_boards_frozen, campaign_final_board), awards the
// rank prizes from it, draws the lottery and reveals its seed, all in one
// transaction under the campaign's advisory lock, each step audited
// (prize.freeze, prize.award, prize.draw, prize.reveal). It reports
// whether it settled now: false when the campaign is not over, was never
// published, or was settled before (a draw is never run again). The actor
// is the organizer who closed it, or the zero actor for the job.
func (s *Service) Settle(ctx context.Context, a kepu.Actor, campaignID int64) (bool, error) {
	c, err := s.Campaigns.Get(ctx, campaignID)
	if err != nil {
		return false, err
	}
	if !s.Ended(c) || c.Status == campaign.StatusDraft {
		return false, nil
	}
	var d Definition
	settled := false
	err = postgres.Tx(ctx, s.DB, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, $2)`, lockSpace, int32(c.ID)); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `INSERT INTO campaign_boards_frozen (campaign_id, frozen_at) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
			c.ID, s.now())
		if err != nil || tag.RowsAffected() == 0 {
			return err // settled before
		}
		if c.Status == campaign.StatusArchived { // archived from a draft: nothing was played
			var played bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM campaign_attempts WHERE campaign_id = $1)`, c.ID).Scan(&played); err != nil || !played {
				return err
			}
		}
		settled = true
		// Read under the lock: Save takes the same lock and refuses once frozen.
		if d, err = s.Definition(ctx, c); err != nil {
			return err
		}
		n, err := s.freeze(ctx, tx, c)
		if err != nil {
			return err
		}
		if err := audit.Record(ctx, tx, a.UserID, "prize.freeze", campaign.Target(c.ID), map[string]any{"title": c.Title, "count": n}, a.IP); err != nil {
			return err
		}
		if err := s.awardRanks(ctx, tx, a, c, d); err != nil {
			return err
		}
		if d.HasLottery() {
			return s.draw(ctx, tx, a, c, d)
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("prize: settle %d: %w", campaignID, err)
	}
	if settled {
		s.log().Info("campaign prizes settled", "campaign", c.ID)
	}
	return settled, nil
}

// freeze writes the final board of every division; it returns its entries.
func (s *Service) freeze(ctx context.Context, tx pgx.Tx, c campaign.Campaign) (int, error) {
	rows, err := tx.Query(ctx, sqlFinal, c.ID)
	if err != nil {
		return 0, fmt.Errorf("prize: final board: %w", err)
	}
	var out [][]any
	rank, div := 0, "\x00"
	for rows.Next() {
		var (
			division, nick string
			userID         int64
			attemptID      *int64
			minor          bool
			districtID     *int64
			schoolID       *int64
			score, timeMS  int64
			reached        time.Time
		)
		if err := rows.Scan(&division, &userID, &attemptID, &nick, &minor, &districtID, &schoolID, &score, &timeMS, &reached); err != nil {
			rows.Close()
			return 0, fmt.Errorf("prize: final board: %w", err)
		}
		if division != div {
			rank, div = 0, division
		}
		rank++
		name := nick
		if minor {
			name = leaderboard.MaskNickname(nick)
		}
		out = append(out, []any{c.ID, division, rank, userID, attemptID, name, districtID, schoolID, score, timeMS, reached})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("prize: final board: %w", err)
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"campaign_final_board"}, []string{"campaign_id", "division", "rank", "user_id",
		"attempt_id", "display_name", "district_id", "school_id", "score", "time_ms", "reached_at"}, pgx.CopyFromRows(out)); err != nil {
		return 0, fmt.Errorf("prize: final board: %w", err)
	}
	if _, err := tx.Exec(ctx, `UPDATE campaign_boards_frozen SET entries = $2 WHERE campaign_id = $1`, c.ID, len(out)); err != nil {
		return 0, fmt.Errorf("prize: final board: %w", err)
	}
	return len(out), nil
}

// awardRanks gives each rank prize its ranks of the division's final board:
// the division's rank prizes in order take consecutive ranks from 1.
func (s *Service) awardRanks(ctx context.Context, tx pgx.Tx, a kepu.Actor, c campaign.Campaign, d Definition) error {
	next := map[string]int{}
	total := 0
	for _, p := range d.Prizes {
		if p.Kind != KindRank {
			continue
		}
		from := next[p.Division] + 1
		next[p.Division] += p.Count
		tag, err := tx.Exec(ctx, `INSERT INTO prize_awards (prize_id, campaign_id, user_id, rank)
			SELECT $1, $2, user_id, rank FROM campaign_final_board WHERE campaign_id = $2 AND division = $3 AND rank BETWEEN $4 AND $5`,
			p.ID, c.ID, p.Division, from, from+p.Count-1)
		if err != nil {
			return fmt.Errorf("prize: award ranks: %w", err)
		}
		total += int(tag.RowsAffected())
	}
	if total == 0 {
		return nil
	}
	return audit.Record(ctx, tx, a.UserID, "prize.award", campaign.Target(c.ID), map[string]any{"title": c.Title, "count": total}, a.IP)
}

// draw runs the lottery once: entries, the committed seed, the winners;
// writes the published document and the awards and reveals the seed.
func (s *Service) draw(ctx context.Context, tx pgx.Tx, a kepu.Actor, c campaign.Campaign, d Definition) error {
	var seed []byte
	var commitment string
	var committed time.Time
	err := tx.QueryRow(ctx, `SELECT seed, commitment, committed_at FROM prize_lottery WHERE campaign_id = $1 AND drawn_at IS NULL FOR UPDATE`, c.ID).
		Scan(&seed, &commitment, &committed)
	if errors.Is(err, pgx.ErrNoRows) {
		// Never committed (prizes written around Save): a draw now could not be verified; none is made.
		s.log().Warn("lottery without a commitment: not drawn", "campaign", c.ID)
		return nil
	}
	if err != nil {
		return fmt.Errorf("prize: draw: the commitment: %w", err)
	}
	entries, users, err := s.entries(ctx, tx, c.ID, d)
	if err != nil {
		return err
	}
	prizes := lotteryPrizes(d)
	winners, err := lottery.Draw(seed, entries, prizes)
	if err != nil {
		return fmt.Errorf("prize: draw: %w", err)
	}
	eh, err := lottery.EntriesHash(entries)
	if err != nil {
		return fmt.Errorf("prize: draw: %w", err)
	}
	now := s.now().UTC().Truncate(time.Second)
	doc := lottery.Published{Algorithm: lottery.AlgorithmV1, CampaignID: c.ID, Title: c.Title, Commitment: commitment,
		CommittedAt: committed.UTC().Format(time.RFC3339), Seed: hex.EncodeToString(seed), DrawnAt: now.Format(time.RFC3339),
		EntriesHash: hex.EncodeToString(eh), Prizes: prizes, Entries: entries, Winners: winners}
	raw, err := json.Marshal(doc)
	if err != nil {
		return fmt.Errorf("prize: draw: %w", err)
	}
	if _, err := tx.Exec(ctx, `UPDATE prize_lottery SET drawn_at = $2, published = $3 WHERE campaign_id = $1`, c.ID, now, raw); err != nil {
		return fmt.Errorf("prize: draw: %w", err)
	}
	var ids []int64 // the lottery prizes' ids in order
	for _, p := range d.Prizes {
		if p.Kind == KindLottery {
			ids = append(ids, p.ID)
		}
	}
	for _, w := range winners {
		if _, err := tx.Exec(ctx, `INSERT INTO prize_awards (prize_id, campaign_id, user_id, entry) VALUES ($1, $2, $3, $4)`,
			ids[w.Prize], c.ID, users[w.Entry], w.Entry); err != nil {
			return fmt.Errorf("prize: draw: award: %w", err)
		}
	}
	if err := audit.Record(ctx, tx, a.UserID, "prize.draw", campaign.Target(c.ID), map[string]any{"title": c.Title,
		"count": len(winners), "entries": len(entries), "entries_hash": doc.EntriesHash}, a.IP); err != nil {
		return err
	}
	return audit.Record(ctx, tx, a.UserID, "prize.reveal", campaign.Target(c.ID), map[string]any{"title": c.Title,
		"seed": doc.Seed, "commitment": commitment}, a.IP)
}

// SettleDue settles every campaign that has ended and is not settled yet
// (the job's tick); it returns how many it settled.
func (s *Service) SettleDue(ctx context.Context) (int, error) {
	rows, _ := s.DB.Query(ctx, `SELECT id FROM campaigns c WHERE status IN ('published', 'paused', 'closed')
		AND (status = 'closed' OR ends_at <= $1)
		AND NOT EXISTS (SELECT 1 FROM campaign_boards_frozen f WHERE f.campaign_id = c.id) ORDER BY ends_at LIMIT 100`, s.now())
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return 0, fmt.Errorf("prize: due: %w", err)
	}
	n := 0
	for _, id := range ids {
		ok, err := s.Settle(ctx, kepu.Actor{}, id)
		if err != nil {
			return n, err
		}
		if ok {
			n++
		}
	}
	return n, nil
}

// Job settles ended campaigns and purges the delivery details of deleted
// accounts every Every until ctx ends (every instance runs it; the
// advisory lock and the frozen board's key make one settle win).
type Job struct {
	Service *Service
	Every   time.Duration
}

// Run ticks until ctx ends.
func (j *Job) Run(ctx context.Context) {
	every := j.Every
	if every <= 0 {
		every = time.Minute
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := j.Service.SettleDue(ctx); err != nil && ctx.Err() == nil {
			j.Service.log().Warn("settle campaign prizes", "err", err)
		}
		if _, err := j.Service.PurgeDeleted(ctx); err != nil && ctx.Err() == nil {
			j.Service.log().Warn("purge delivery details of deleted accounts", "err", err)
		}
	}
}

// PurgeDeleted deletes the delivery details of accounts deleted since
// (their owner asked for their data to go); it returns how many.
func (s *Service) PurgeDeleted(ctx context.Context) (int64, error) {
	tag, err := s.DB.Exec(ctx, `DELETE FROM prize_deliveries d USING prize_awards w, users u
		WHERE d.award_id = w.id AND u.id = w.user_id AND u.deleted_at IS NOT NULL`)
	if err != nil {
		return 0, fmt.Errorf("prize: purge deleted: %w", err)
	}
	return tag.RowsAffected(), nil
}
