package leaderboard

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/kepu/kepu/internal/kepu"
)

// MoveUser moves a user's place on every board of a campaign to another
// user, after their attempts changed owner in Postgres (a guest who
// registered: account.MergeGuest). The old user's entries leave the boards
// of every group the new owner's attempts count in, all-time, today and
// yesterday (the day boards that still live, dayTTL); then Record writes
// the new owner's standing, which the campaign's rule (best, sum or
// latest) computes over all their attempts, the moved ones included. A
// rebuild running meanwhile may have read Postgres before the move: then
// the boards are rebuilt once more after it.
func (s *Service) MoveUser(ctx context.Context, campaignID, from, to int64) error {
	xs, err := s.standings(ctx, campaignID, to, nil)
	if err != nil {
		return err
	}
	member := strconv.FormatInt(from, 10)
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	days := []string{"all", now().In(kepu.Shanghai).Format("20060102"), now().In(kepu.Shanghai).AddDate(0, 0, -1).Format("20060102")}
	pipe := s.Redis.TxPipeline() // every key carries the campaign's hash tag: one slot
	for _, x := range xs {
		for _, d := range days {
			pipe.ZRem(ctx, s.Keys.Board(campaignID, x.board(false).name(), d), member)
		}
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("leaderboard: move user: %w", err)
	}
	if err := s.Record(ctx, campaignID, to); err != nil {
		return err
	}
	rebuilding, err := s.Redis.Exists(ctx, s.Keys.BoardRebuild(campaignID, "lock")).Result()
	if err != nil {
		return fmt.Errorf("leaderboard: move user: %w", err)
	}
	if rebuilding > 0 {
		return s.Rebuild(ctx, campaignID)
	}
	return nil
}
