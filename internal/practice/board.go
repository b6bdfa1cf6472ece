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
	"github.com/kepu/kepu/internal/scoring"
)

// Boards are the weekly practice boards: per Asia/Shanghai week (Monday
// to Sunday), the points each person earned that week (points_ledger) in
// their district ("d{id}") and in their school ("s{id}"), where the points
// were earned. They run on the campaign leaderboards' machinery
// (leaderboard.Set): each week is a family of Redis sorted sets
// (rdb.Keys.PracticeBoards), written per user after points are credited
// (BoardTouch), rebuilt from Postgres by one instance when Redis lost them
// while readers wait at most RebuildWait, read with the same tie rule and
// with under-14s' nicknames masked. A line's score packs the week's points
// and when the person reached them (scoring.Standing): equal points rank
// who got there first higher, and the snapshot of a finished week
// (practice_week_boards, Snapshot) ranks in that same order.
type Boards struct {
	Redis redis.UniversalClient
	Keys  rdb.Keys
	Log   *slog.Logger
	// RebuildWait is how long a reader waits for a running rebuild of a
	// week's boards before reading the board from Postgres instead (0:
	// leaderboard.DefaultRebuildWait).
	RebuildWait time.Duration

	state leaderboard.State[string] // this instance's read caches and running rebuilds
}

// Board kinds of the weekly boards.
const (
	BoardDistrict = "district"
	BoardSchool   = "school"
)

// BoardSize is how many lines a board shows and a snapshot keeps.
const BoardSize = 20

// boardTTL is how long a week's boards, marker and fencing counter live
// after their last write: past the week, only its snapshot is read.
const boardTTL = 15 * 24 * time.Hour

// sqlWeekPoints is the week $1 points of user $2 (0: everyone) per board:
// kind, group id, user, points and when they were reached (ms from the
// week's start, Monday 00:00 Asia/Shanghai: the latest credit).
const sqlWeekPoints = `WITH dist AS (
	SELECT DISTINCT ON (r.id) r.id AS region_id, d.id AS district FROM regions r
	JOIN regions d ON d.kind = 'district' AND r.path LIKE d.path || '%' ORDER BY r.id, d.id
), l AS (
	SELECT user_id, delta, at, region_id, school_id FROM points_ledger WHERE week = $1::date AND ($2 = 0 OR user_id = $2)
), g AS (
	SELECT 'district' AS kind, dist.district AS grp, l.user_id, l.delta, l.at FROM l JOIN dist ON dist.region_id = l.region_id
	UNION ALL
	SELECT 'school', l.school_id, l.user_id, l.delta, l.at FROM l WHERE l.school_id IS NOT NULL
)
SELECT kind, grp, user_id, sum(delta)::bigint AS pts,
	(extract(epoch FROM max(at) - ($1::date::timestamp AT TIME ZONE 'Asia/Shanghai')) * 1000)::bigint AS reached_ms
FROM g GROUP BY kind, grp, user_id`

// sqlWeekRanks ranks sqlWeekPoints per board in the order of the Redis
// boards: the packed score (scoring.Standing.Encode: points clamped to
// 0…StandingScoreMax, then the minute they were reached, earlier first),
// then, as Redis orders equal scores, the member (user id as text) in
// reverse byte order. (2097151 is scoring.StandingScoreMax, checked by a
// test.)
const sqlWeekRanks = `WITH p AS (` + sqlWeekPoints + `), r AS (
	SELECT p.*, row_number() OVER (PARTITION BY kind, grp
		ORDER BY least(greatest(pts, 0), 2097151) DESC, greatest(reached_ms, 0) / 60000, user_id::text COLLATE "C" DESC) AS rank
	FROM p
)`

func boardName(kind string, id int64) string {
	if kind == BoardSchool {
		return "s" + strconv.FormatInt(id, 10)
	}
	return "d" + strconv.FormatInt(id, 10)
}

func weekKey(week time.Time) string { return week.Format("20060102") }

type weekRow struct {
	kind                     string
	grp, user, pt, reachedMS int64
}

func (s *Service) weekPoints(ctx context.Context, week time.Time, userID int64) ([]weekRow, error) {
	rows, err := s.DB.Query(ctx, sqlWeekPoints, week, userID)
	if err != nil {
		return nil, fmt.Errorf("practice: week points: %w", err)
	}
	var out []weekRow
	var r weekRow
	_, err = pgx.ForEachRow(rows, []any{&r.kind, &r.grp, &r.user, &r.pt, &r.reachedMS}, func() error {
		out = append(out, r)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("practice: week points: %w", err)
	}
	return out, nil
}

// set is the weekly boards' machinery: a leaderboard.Set whose families
// are weeks (their Monday as YYYYMMDD), made of sqlWeekPoints.
func (s *Service) set() leaderboard.Set[string] {
	b := s.Boards
	return leaderboard.Set[string]{Redis: b.Redis, DB: s.DB, Source: weekBoards{s}, RebuildWait: b.RebuildWait,
		TTL: boardTTL, Name: "week", Log: b.Log, State: &b.state}
}

// weekBoards is the leaderboard.Source of the weekly boards.
type weekBoards struct{ s *Service }

func (w weekBoards) Keys(week string) rdb.BoardFamily { return w.s.Boards.Keys.PracticeBoards(week) }

// Lines are week's points per board (user userID's, 0: everyone's) as
// board lines: a sum can fall (a deduction), so each write sets it.
func (w weekBoards) Lines(ctx context.Context, week string, userID int64) (leaderboard.Lines, error) {
	monday, err := time.Parse("20060102", week)
	if err != nil {
		return leaderboard.Lines{}, fmt.Errorf("practice: week %q: %w", week, err)
	}
	rows, err := w.s.weekPoints(ctx, monday, userID)
	if err != nil {
		return leaderboard.Lines{}, err
	}
	fam := w.Keys(week)
	ls := leaderboard.Lines{Lines: make([]leaderboard.Line, 0, len(rows))}
	for _, r := range rows {
		ls.Lines = append(ls.Lines, leaderboard.Line{Key: fam.Board(boardName(r.kind, r.grp)), User: r.user,
			Score: scoring.Standing{Score: r.pt, ReachedMS: r.reachedMS}.Encode(), TTL: boardTTL})
	}
	return ls, nil
}

// BoardTouch writes user userID's points of the current week to the
// weekly boards (after a commit that credited points). A failure is
// logged only: the boards are rebuilt from Postgres.
func (s *Service) BoardTouch(ctx context.Context, userID int64) {
	if s.Boards == nil {
		return
	}
	if err := s.set().Write(ctx, weekKey(WeekOf(s.now())), userID); err != nil && s.Boards.Log != nil {
		s.Boards.Log.Warn("practice: weekly board", "user", userID, "err", err)
	}
}

// RebuildBoards rebuilds the weekly boards of the week starting on Monday
// week from points_ledger (waiting for a rebuild that runs, bounded by ctx).
func (s *Service) RebuildBoards(ctx context.Context, week time.Time) error {
	return s.set().Rebuild(ctx, weekKey(week))
}

// BoardRebuilds is how many rebuilds of the weekly boards this instance ran.
func (s *Service) BoardRebuilds() int64 { return s.set().Rebuilds() }

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
// week, marking viewer's line: from Redis (the week's boards rebuilt
// first when Redis lost them), or from Postgres when Redis fails or the
// rebuild takes longer than RebuildWait.
func (s *Service) WeekBoard(ctx context.Context, kind string, id, viewer int64) (Board, error) {
	week := WeekOf(s.now())
	bd := Board{Kind: kind, ID: id, Week: week.Format(time.DateOnly), Lines: []BoardLine{}}
	if s.Boards == nil {
		return bd, nil
	}
	wk := weekKey(week)
	es, err := s.set().Top(ctx, wk, s.Boards.Keys.PracticeBoard(wk, boardName(kind, id)), BoardSize, viewer, true)
	if err != nil {
		if ctx.Err() != nil {
			return bd, err
		}
		if s.Boards.Log != nil {
			s.Boards.Log.Warn("practice: weekly board from Postgres", "err", err)
		}
		return s.weekTop(ctx, week, kind, id, viewer)
	}
	for _, e := range es {
		bd.Lines = append(bd.Lines, BoardLine{Rank: int(e.Rank), Nickname: e.Nickname, Points: e.Score, Me: e.Me})
	}
	return bd, nil
}

// weekTop is board kind/id of week computed from Postgres: the Redis
// board's lines in its order (sqlWeekRanks).
func (s *Service) weekTop(ctx context.Context, week time.Time, kind string, id, viewer int64) (Board, error) {
	bd := Board{Kind: kind, ID: id, Week: week.Format(time.DateOnly), Lines: []BoardLine{}}
	rows, err := s.DB.Query(ctx, sqlWeekRanks+` SELECT rank, user_id, pts FROM r WHERE kind = $3 AND grp = $4 AND rank <= $5
		ORDER BY rank`, week, 0, kind, id, BoardSize)
	if err != nil {
		return bd, fmt.Errorf("practice: weekly board: %w", err)
	}
	return s.lines(ctx, bd, rows, viewer)
}

// lines fills bd with rows of (rank, user, points) and the nicknames as
// public boards show them.
func (s *Service) lines(ctx context.Context, bd Board, rows pgx.Rows, viewer int64) (Board, error) {
	var ids []int64
	var l BoardLine
	var uid int64
	_, err := pgx.ForEachRow(rows, []any{&l.Rank, &uid, &l.Points}, func() error {
		ids = append(ids, uid)
		l.Me = uid == viewer
		bd.Lines = append(bd.Lines, l)
		return nil
	})
	if err != nil {
		return bd, fmt.Errorf("practice: board lines: %w", err)
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
// on Monday week in practice_week_boards, computed from Postgres in the
// Redis boards' order (sqlWeekRanks); a week already kept is left as it
// is. It is taken for last week when this week's boards are first read
// (LastWeek).
func (s *Service) Snapshot(ctx context.Context, week time.Time) error {
	_, err := s.DB.Exec(ctx, sqlWeekRanks+` INSERT INTO practice_week_boards (week, kind, grp, rank, user_id, points, taken_at)
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
	return s.lines(ctx, bd, rows, viewer)
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
