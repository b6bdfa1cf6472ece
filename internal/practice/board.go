package practice

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/kepu/kepu/internal/leaderboard"
	"github.com/kepu/kepu/internal/rdb"
)

// Boards are the weekly practice boards: per Asia/Shanghai week (Monday
// to Sunday), the points each person earned that week (points_ledger) in
// their district ("d{id}") and in their school ("s{id}"), where the points
// were earned. They are Redis sorted sets (keys: rdb.Keys.PracticeBoard)
// rebuilt from Postgres when their week's marker is missing; each
// finished week's top is kept in practice_week_boards (Snapshot).
type Boards struct {
	Redis redis.UniversalClient
	Keys  rdb.Keys
	Log   *slog.Logger
}

// Board kinds of the weekly boards.
const (
	BoardDistrict = "district"
	BoardSchool   = "school"
)

// BoardSize is how many lines a board shows and a snapshot keeps.
const BoardSize = 20

// sqlWeekPoints is the week $1 points of user $2 (0: everyone) per
// board: kind, group id, user, points.
const sqlWeekPoints = `WITH dist AS (
	SELECT DISTINCT ON (r.id) r.id AS region_id, d.id AS district FROM regions r
	JOIN regions d ON d.kind = 'district' AND r.path LIKE d.path || '%' ORDER BY r.id, d.id
), l AS (
	SELECT user_id, delta, region_id, school_id FROM points_ledger WHERE week = $1 AND ($2 = 0 OR user_id = $2)
)
SELECT 'district' AS kind, dist.district AS grp, l.user_id, sum(l.delta)::bigint AS pts FROM l JOIN dist ON dist.region_id = l.region_id
GROUP BY dist.district, l.user_id
UNION ALL
SELECT 'school', l.school_id, l.user_id, sum(l.delta)::bigint FROM l WHERE l.school_id IS NOT NULL
GROUP BY l.school_id, l.user_id`

func boardName(kind string, id int64) string {
	if kind == BoardSchool {
		return "s" + strconv.FormatInt(id, 10)
	}
	return "d" + strconv.FormatInt(id, 10)
}

func weekKey(week time.Time) string { return week.Format("20060102") }

type weekRow struct {
	kind          string
	grp, user, pt int64
}

func (s *Service) weekPoints(ctx context.Context, week time.Time, userID int64) ([]weekRow, error) {
	rows, err := s.DB.Query(ctx, sqlWeekPoints, week, userID)
	if err != nil {
		return nil, fmt.Errorf("practice: week points: %w", err)
	}
	var out []weekRow
	var r weekRow
	_, err = pgx.ForEachRow(rows, []any{&r.kind, &r.grp, &r.user, &r.pt}, func() error {
		out = append(out, r)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("practice: week points: %w", err)
	}
	return out, nil
}

// BoardTouch writes user userID's points of the current week to the
// weekly boards (after a commit that credited points). A failure is
// logged only: the boards are rebuilt from Postgres.
func (s *Service) BoardTouch(ctx context.Context, userID int64) {
	if s.Boards == nil {
		return
	}
	if err := s.boardTouch(ctx, userID); err != nil && s.Boards.Log != nil {
		s.Boards.Log.Warn("practice: weekly board", "user", userID, "err", err)
	}
}

func (s *Service) boardTouch(ctx context.Context, userID int64) error {
	week := WeekOf(s.now())
	if err := s.ensureBuilt(ctx, week); err != nil {
		return err
	}
	rows, err := s.weekPoints(ctx, week, userID)
	if err != nil {
		return err
	}
	b := s.Boards
	pipe := b.Redis.Pipeline()
	for _, r := range rows {
		key := b.Keys.PracticeBoard(weekKey(week), boardName(r.kind, r.grp))
		pipe.ZAddArgs(ctx, key, redis.ZAddArgs{GT: true, Members: []redis.Z{{Score: float64(r.pt), Member: r.user}}})
		pipe.Expire(ctx, key, 15*24*time.Hour)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("practice: weekly board: %w", err)
	}
	return nil
}

// ensureBuilt rebuilds week's boards from Postgres unless its marker is
// there.
func (s *Service) ensureBuilt(ctx context.Context, week time.Time) error {
	b := s.Boards
	n, err := b.Redis.Exists(ctx, b.Keys.PracticeBoardsBuilt(weekKey(week))).Result()
	if err != nil {
		return fmt.Errorf("practice: weekly board: %w", err)
	}
	if n == 1 {
		return nil
	}
	return s.RebuildBoards(ctx, week)
}

// RebuildBoards rebuilds the weekly boards of the week starting on Monday
// week from points_ledger, then sets the week's marker.
func (s *Service) RebuildBoards(ctx context.Context, week time.Time) error {
	b := s.Boards
	rows, err := s.weekPoints(ctx, week, 0)
	if err != nil {
		return err
	}
	wk := weekKey(week)
	var old []string
	iter := b.Redis.Scan(ctx, 0, b.Keys.PracticeBoardPattern(wk), 1000).Iterator()
	for iter.Next(ctx) {
		old = append(old, iter.Val())
	}
	if err := iter.Err(); err != nil {
		return fmt.Errorf("practice: rebuild boards: %w", err)
	}
	_, err = b.Redis.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for _, k := range old {
			p.Del(ctx, k)
		}
		for _, r := range rows {
			key := b.Keys.PracticeBoard(wk, boardName(r.kind, r.grp))
			p.ZAdd(ctx, key, redis.Z{Score: float64(r.pt), Member: r.user})
			p.Expire(ctx, key, 15*24*time.Hour)
		}
		p.Set(ctx, b.Keys.PracticeBoardsBuilt(wk), "1", 15*24*time.Hour)
		return nil
	})
	if err != nil {
		return fmt.Errorf("practice: rebuild boards: %w", err)
	}
	return nil
}

// BoardLine is one line of a weekly board; minors' nicknames are masked
// (leaderboard.MaskNickname).
type BoardLine struct {
	Rank     int    `json:"rank"`
	Nickname string `json:"nickname"`
	Points   int64  `json:"points"`
	Me       bool   `json:"me,omitempty"`
}

// Board is one weekly board.
type Board struct {
	Kind  string      `json:"kind"`
	ID    int64       `json:"id"`
	Name  string      `json:"name"`
	Week  string      `json:"week"` // its Monday, YYYY-MM-DD
	Lines []BoardLine `json:"lines"`
}

// WeekBoard returns the top BoardSize of board kind/id of the current
// week, from Redis (rebuilt first if needed), marking viewer's line.
func (s *Service) WeekBoard(ctx context.Context, kind string, id, viewer int64) (Board, error) {
	week := WeekOf(s.now())
	bd := Board{Kind: kind, ID: id, Week: week.Format(time.DateOnly), Lines: []BoardLine{}}
	if s.Boards == nil {
		return bd, nil
	}
	if err := s.ensureBuilt(ctx, week); err != nil {
		return bd, err
	}
	zs, err := s.Boards.Redis.ZRevRangeWithScores(ctx, s.Boards.Keys.PracticeBoard(weekKey(week), boardName(kind, id)), 0, BoardSize-1).Result()
	if err != nil {
		return bd, fmt.Errorf("practice: weekly board: %w", err)
	}
	ids := make([]int64, 0, len(zs))
	for _, z := range zs {
		n, _ := strconv.ParseInt(fmt.Sprint(z.Member), 10, 64)
		ids = append(ids, n)
	}
	names, err := s.names(ctx, ids)
	if err != nil {
		return bd, err
	}
	for i, z := range zs {
		bd.Lines = append(bd.Lines, BoardLine{Rank: i + 1, Nickname: names[ids[i]], Points: int64(z.Score), Me: ids[i] == viewer})
	}
	return bd, nil
}

// names are the nicknames of users ids as public boards show them.
func (s *Service) names(ctx context.Context, ids []int64) (map[int64]string, error) {
	out := map[int64]string{}
	rows, err := s.DB.Query(ctx, `SELECT id, nickname, coalesce(age_band, '') = 'u14' FROM users WHERE id = ANY($1)`, ids)
	if err != nil {
		return nil, fmt.Errorf("practice: names: %w", err)
	}
	var id int64
	var nick string
	var minor bool
	_, err = pgx.ForEachRow(rows, []any{&id, &nick, &minor}, func() error {
		if minor {
			nick = leaderboard.MaskNickname(nick)
		}
		out[id] = nick
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("practice: names: %w", err)
	}
	return out, nil
}

// Snapshot keeps the top BoardSize of every board of the week starting
// on Monday week in practice_week_boards, computed from Postgres; a week
// already kept is left as it is. It is taken for last week when this
// week's boards are first read (LastWeek).
func (s *Service) Snapshot(ctx context.Context, week time.Time) error {
	_, err := s.DB.Exec(ctx, `WITH p AS (`+sqlWeekPoints+`), r AS (
		SELECT p.*, row_number() OVER (PARTITION BY kind, grp ORDER BY pts DESC, user_id) AS rank FROM p
	) INSERT INTO practice_week_boards (week, kind, grp, rank, user_id, points, taken_at)
	SELECT $1, kind, grp, rank, user_id, pts, $3 FROM r WHERE rank <= $4
	ON CONFLICT DO NOTHING`, week, 0, s.now(), BoardSize)
	if err != nil {
		return fmt.Errorf("practice: snapshot: %w", err)
	}
	return nil
}

// LastWeek returns board kind/id of last week as its snapshot kept it
// (taking the week's snapshot first if there is none).
func (s *Service) LastWeek(ctx context.Context, kind string, id, viewer int64) (Board, error) {
	week := WeekOf(s.now()).AddDate(0, 0, -7)
	bd := Board{Kind: kind, ID: id, Week: week.Format(time.DateOnly), Lines: []BoardLine{}}
	var kept bool
	if err := s.DB.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM practice_week_boards WHERE week = $1)`, week).Scan(&kept); err != nil {
		return bd, fmt.Errorf("practice: last week: %w", err)
	}
	if !kept {
		if err := s.Snapshot(ctx, week); err != nil {
			return bd, err
		}
	}
	rows, err := s.DB.Query(ctx, `SELECT rank, user_id, points FROM practice_week_boards WHERE week = $1 AND kind = $2 AND grp = $3
		ORDER BY rank`, week, kind, id)
	if err != nil {
		return bd, fmt.Errorf("practice: last week: %w", err)
	}
	var ids []int64
	var l BoardLine
	var uid int64
	_, err = pgx.ForEachRow(rows, []any{&l.Rank, &uid, &l.Points}, func() error {
		ids = append(ids, uid)
		l.Me = uid == viewer
		bd.Lines = append(bd.Lines, l)
		return nil
	})
	if err != nil {
		return bd, fmt.Errorf("practice: last week: %w", err)
	}
	names, err := s.names(ctx, ids)
	if err != nil {
		return bd, err
	}
	for i := range bd.Lines {
		bd.Lines[i].Nickname = names[ids[i]]
	}
	return bd, nil
}

// Weekly is a person's weekly boards: their district's and their
// school's (when they have one), this week and last week.
type Weekly struct {
	Boards []Board `json:"boards"`
	Last   []Board `json:"last_week"`
}

// WeeklyOf returns user userID's weekly boards.
func (s *Service) WeeklyOf(ctx context.Context, userID int64) (Weekly, error) {
	w := Weekly{Boards: []Board{}, Last: []Board{}}
	rows, err := s.DB.Query(ctx, `SELECT 'district', d.id, d.name FROM users u JOIN regions r ON r.id = u.region_id
		JOIN regions d ON d.kind = 'district' AND r.path LIKE d.path || '%' WHERE u.id = $1
		UNION ALL SELECT 'school', sc.id, sc.name FROM users u JOIN schools sc ON sc.id = u.school_id WHERE u.id = $1`, userID)
	if err != nil {
		return w, fmt.Errorf("practice: boards of: %w", err)
	}
	var want []Board
	var b Board
	if _, err := pgx.ForEachRow(rows, []any{&b.Kind, &b.ID, &b.Name}, func() error {
		want = append(want, b)
		return nil
	}); err != nil {
		return w, fmt.Errorf("practice: boards of: %w", err)
	}
	for _, b := range want {
		cur, err := s.WeekBoard(ctx, b.Kind, b.ID, userID)
		if err != nil {
			return w, err
		}
		last, err := s.LastWeek(ctx, b.Kind, b.ID, userID)
		if err != nil {
			return w, err
		}
		cur.Name, last.Name = b.Name, b.Name
		w.Boards, w.Last = append(w.Boards, cur), append(w.Last, last)
	}
	return w, nil
}
