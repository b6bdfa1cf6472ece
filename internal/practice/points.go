package practice

import (
	"context"
	"fmt"
	"regexp"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/kepu/kepu/internal/kepu"
)

// Reasons of the points ledger written by this package. Other features
// pass their own (PK battles: "pk"); a reason is 1–32 characters of a–z,
// 0–9 and '_', starting with a letter.
const (
	ReasonPractice     = "practice"      // a right answer in the daily practice
	ReasonPracticeDone = "practice_done" // the day's practice finished
)

// Points of the daily practice.
const (
	PointsRight = 10 // each right answer
	PointsDone  = 5  // finishing the day's five questions
)

var reasonRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)

// DBTX is what AddPoints writes through: a transaction of the caller
// (pgx.Tx) or a pool.
type DBTX interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// AddPoints credits delta points (negative: a deduction) to user userID's
// points account for reason, with ref naming what they are for (e.g.
// "pk:123"; at most 64 characters). It is the one way points are written:
// the PK battles call it too.
//
// db is the caller's transaction (the points commit with the caller's
// result) or nil to write on its own. With a non-empty ref the award is
// idempotent: a second call with the same user, reason and ref adds
// nothing and returns added false. The award counts on the weekly boards
// of the user's district and school now; after a commit call
// s.BoardTouch(ctx, userID) to update the Redis boards at once (they are
// rebuilt from Postgres anyway, see board.go). Errors: kepu.EINVALID for a
// bad reason, ref or delta (|delta| ≤ 100000).
func (s *Service) AddPoints(ctx context.Context, db DBTX, userID int64, delta int, reason, ref string) (added bool, err error) {
	if !reasonRE.MatchString(reason) {
		return false, kepu.Invalid("reason", "daily.error.practice_points_reason")
	}
	if len(ref) > 64 || delta < -100000 || delta > 100000 {
		return false, kepu.Invalid("ref", "daily.error.practice_points_reason")
	}
	if db == nil {
		db = s.DB
	}
	now := s.now()
	tag, err := db.Exec(ctx, `INSERT INTO points_ledger (user_id, delta, reason, ref, at, week, region_id, school_id)
		SELECT id, $2, $3, $4, $5, $6, region_id, school_id FROM users WHERE id = $1
		ON CONFLICT (user_id, reason, ref) WHERE ref <> '' DO NOTHING`,
		userID, delta, reason, ref, now, WeekOf(now))
	if err != nil {
		return false, fmt.Errorf("practice: add points: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

// Level is user userID's practice level for matchmaking (the PK battles):
// 0 for someone with fewer than five practice answers in the last 30 days,
// else 1–10 by the share of right answers among their last 50 practice
// answers (1: under 10 %, 10: 90 % or more).
func (s *Service) Level(ctx context.Context, userID int64) (int, error) {
	var n, right int
	err := s.DB.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE correct) FROM (
		SELECT correct FROM practice_questions WHERE user_id = $1 AND answered_at > $2
		ORDER BY answered_at DESC LIMIT 50) x`, userID, s.now().Add(-30*24*time.Hour)).Scan(&n, &right)
	if err != nil {
		return 0, fmt.Errorf("practice: level: %w", err)
	}
	return levelOf(n, right), nil
}

func levelOf(n, right int) int {
	if n < 5 {
		return 0
	}
	return min(1+right*10/n, 10)
}

// Entry is one line of a points account's history.
type Entry struct {
	Delta  int       `json:"delta"`
	Reason string    `json:"reason"`
	Ref    string    `json:"ref"`
	At     time.Time `json:"at"`
}

// Account is a user's points: the balance, this week's points and the
// latest entries (newest first).
type Account struct {
	Balance int     `json:"balance"`
	Week    int     `json:"week"`
	History []Entry `json:"history"`
}

// Points returns user userID's account with its latest limit (1–200)
// entries of history.
func (s *Service) Points(ctx context.Context, userID int64, limit int) (Account, error) {
	limit = min(max(limit, 1), 200)
	var acc Account
	if err := s.DB.QueryRow(ctx, `SELECT coalesce(sum(delta), 0), coalesce(sum(delta) FILTER (WHERE week = $2), 0)
		FROM points_ledger WHERE user_id = $1`, userID, WeekOf(s.now())).Scan(&acc.Balance, &acc.Week); err != nil {
		return acc, fmt.Errorf("practice: points: %w", err)
	}
	rows, err := s.DB.Query(ctx, `SELECT delta, reason, ref, at FROM points_ledger WHERE user_id = $1
		ORDER BY at DESC, id DESC LIMIT $2`, userID, limit)
	if err != nil {
		return acc, fmt.Errorf("practice: points: %w", err)
	}
	acc.History, err = pgx.CollectRows(rows, pgx.RowToStructByPos[Entry])
	if err != nil {
		return acc, fmt.Errorf("practice: points: %w", err)
	}
	if acc.History == nil {
		acc.History = []Entry{}
	}
	return acc, nil
}

// WeekOf is the Monday (a date at UTC midnight) of the Asia/Shanghai week
// of t.
func WeekOf(t time.Time) time.Time {
	d := DayOf(t)
	wd := (int(d.Weekday()) + 6) % 7 // Monday 0
	return d.AddDate(0, 0, -wd)
}

// DayOf is the Asia/Shanghai calendar day of t (a date at UTC midnight).
func DayOf(t time.Time) time.Time {
	y, m, d := t.In(kepu.Shanghai).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}
