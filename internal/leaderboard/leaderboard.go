// Package leaderboard keeps campaign leaderboards in Redis sorted sets:
// per campaign, overall and per district, school and class, all-time and
// for the current Asia/Shanghai day. Members are user ids; scores are
// packed standings (scoring.Standing: score desc, time used asc, who
// reached it first). Postgres is the source of truth: a board is rebuilt
// from campaign_attempts on first use after a Redis flush (a marker key),
// or by `kepu leaderboard rebuild`, one rebuild per campaign at a time
// (rebuild.go). Layout and limits: docs/leaderboards.md.
package leaderboard

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/kepu/kepu/internal/kepu"
	"github.com/kepu/kepu/internal/rdb"
	"github.com/kepu/kepu/internal/scoring"
)

// Board kinds.
const (
	All      = "all"
	District = "district"
	School   = "school"
	Class    = "class"
)

// Board names one leaderboard of a campaign.
type Board struct {
	Kind  string // All, District, School or Class
	ID    int64  // the district, school or class (0 for All)
	Today bool   // only attempts finished on the current Asia/Shanghai day
	// Division is the campaign division's key (campaign.Division): in a
	// campaign with divisions every board is a division's, and an attempt
	// counts only on its own division's boards. "" without divisions.
	Division string
}

// name is the board's part of its key: "all", "d12", "s3", "c7", and for a
// division "v.<key>." before it ("v.primary.all").
func (b Board) name() string {
	base := "all"
	switch b.Kind {
	case District:
		base = "d" + strconv.FormatInt(b.ID, 10)
	case School:
		base = "s" + strconv.FormatInt(b.ID, 10)
	case Class:
		base = "c" + strconv.FormatInt(b.ID, 10)
	}
	if b.Division != "" {
		return "v." + b.Division + "." + base
	}
	return base
}

// Valid reports whether the board names something.
func (b Board) Valid() bool {
	return validDivision(b.Division) && (b.Kind == All || ((b.Kind == District || b.Kind == School || b.Kind == Class) && b.ID > 0))
}

// validDivision reports whether key may name a division in a key: ""
// or 1–32 of a-z, 0-9, _ and - (campaign.Division.Key).
func validDivision(key string) bool {
	if len(key) > 32 {
		return false
	}
	for _, r := range key {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '_' && r != '-' {
			return false
		}
	}
	return true
}

// Public reports whether anyone may read the board: the overall and
// district boards. Class and school boards are for their members, their
// teachers and the organizers in charge (the server checks), and only
// public boards mask the names of under-14s.
func (b Board) Public() bool { return b.Kind == All || b.Kind == District }

// Service reads and writes the boards.
type Service struct {
	DB    *pgxpool.Pool
	Redis redis.UniversalClient
	Keys  rdb.Keys
	Now   func() time.Time
	// TagKey keys the tags of entries (Tag); the app passes its secret
	// key, so tags cannot be computed from user ids outside the server.
	TagKey []byte

	// RebuildWait is how long a reader waits for a running rebuild of the
	// boards before it is answered from the last known top or with
	// ErrRebuilding (0: DefaultRebuildWait).
	RebuildWait time.Duration
	// Log receives rebuild failures (nil: slog.Default()).
	Log *slog.Logger

	state State[int64] // this instance's read caches and running rebuilds (read.go, rebuild.go)
}

// set is the machinery of the campaign boards: a Set whose families are
// campaigns, made of sqlStandings (Lines).
func (s *Service) set() Set[int64] {
	return Set[int64]{Redis: s.Redis, DB: s.DB, Source: campaignBoards{s}, TagKey: s.TagKey,
		RebuildWait: s.RebuildWait, Name: "campaign", Log: s.Log, State: &s.state}
}

// campaignBoards is the Source of the campaign boards.
type campaignBoards struct{ s *Service }

func (c campaignBoards) Keys(campaignID int64) rdb.BoardFamily {
	return c.s.Keys.CampaignBoards(campaignID)
}

// Lines are the campaign's standings (user userID's, 0: everyone's) on its
// all-time and today boards, under its rule of which attempt counts (best:
// GT).
func (c campaignBoards) Lines(ctx context.Context, campaignID, userID int64) (Lines, error) {
	s := c.s
	counts, err := s.counts(ctx, campaignID)
	if err != nil {
		return Lines{}, err
	}
	all, err := s.standings(ctx, campaignID, userID, nil)
	if err != nil {
		return Lines{}, err
	}
	day, err := s.standings(ctx, campaignID, userID, s.todayDate())
	if err != nil {
		return Lines{}, err
	}
	ls := Lines{GT: counts == "best", Lines: make([]Line, 0, len(all)+len(day))}
	for _, part := range []struct {
		xs    []standing
		today bool
		ttl   time.Duration
	}{{all, false, 0}, {day, true, dayTTL}} {
		for _, x := range part.xs {
			ls.Lines = append(ls.Lines, Line{Key: s.Key(campaignID, x.board(part.today)), User: x.userID,
				Score: x.z().Score, TTL: part.ttl})
		}
	}
	return ls, nil
}

// Tag is a user's 4-hex-digit tag on boards: the start of an HMAC-SHA256
// of the id under TagKey. Stable, and the same on every instance; it tells
// an impostor with a copied nickname apart from the original (one in
// 65,536 accounts shares a given tag).
func (s *Service) Tag(userID int64) string { return tag(s.TagKey, userID) }

// Rebuilds returns how many rebuilds this instance ran (took the lock and
// read Postgres): the metric kepu_leaderboard_rebuilds_total.
func (s *Service) Rebuilds() int64 { return s.set().Rebuilds() }

// Ensure returns nil when the campaign's boards are built. Otherwise it
// starts (or joins) the rebuild and waits for it at most RebuildWait:
// ErrRebuilding when it is still running then.
func (s *Service) Ensure(ctx context.Context, campaignID int64) error {
	return s.set().Ensure(ctx, campaignID)
}

// Rebuild replaces every board of the campaign with standings computed
// from Postgres (`kepu leaderboard rebuild`), waiting first for a rebuild
// that runs (bounded by ctx; a dead holder's lock expires within lockTTL).
// kepu.ENOTFOUND for an unknown campaign.
func (s *Service) Rebuild(ctx context.Context, campaignID int64) error {
	if _, err := s.counts(ctx, campaignID); err != nil {
		return err
	}
	return s.set().Rebuild(ctx, campaignID)
}

func (s *Service) today() string {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	return now().In(kepu.Shanghai).Format("20060102")
}

// Key is the sorted set of a board: {p}:{lb:C}:{board}:{period} (rdb.Keys.Board),
// period "all" or the day as YYYYMMDD.
func (s *Service) Key(campaignID int64, b Board) string {
	period := "all"
	if b.Today {
		period = s.today()
	}
	return s.Keys.Board(campaignID, b.name(), period)
}

// Channel is the pub/sub channel announcing changes of a campaign's boards.
func (s *Service) Channel(campaignID int64) string {
	return s.Keys.BoardChannel(campaignID)
}

// ChannelPattern matches every campaign's channel.
func (s *Service) ChannelPattern() string { return s.Keys.BoardChannelPattern() }

// standing is one user's position on one board (all-time or today by the
// caller).
type standing struct {
	userID                   int64
	kind                     string // All, District, School or Class
	group                    int64  // the district, school or class (0 for All)
	division                 string // the attempts' division ("" without divisions)
	score, timeMS, reachedMS int64
}

// board is the board the standing is on.
func (x standing) board(today bool) Board {
	return Board{Kind: x.kind, ID: x.group, Today: today, Division: x.division}
}

// sqlStandings computes standings of campaign $1 (user $2, 0 for all;
// finished on Asia/Shanghai day $3, NULL for all time) by the campaign's
// rule of which attempt counts, one row per user and board. An attempt
// counts on the boards of the district, school and class it was started
// in (campaign_attempts.region_id, school_id, class_id: the snapshot taken
// at start), never on those of the user's current profile; the rule picks
// among the attempts of that board only (best of the attempts made in the
// district, and so on), and the overall board among all of them. Live
// updates (Record, one user) and rebuilds (every user) use this one query.
// Each division of a campaign has its own boards: an attempt counts only
// on those of the division it was played in (campaign_attempts.division).
// Staff-practice and practice-round attempts never count, nor do attempts
// given up with no points (abandoned: the question given up on counts only
// the time it was open, so the attempt would rank above finished ones of 0
// points).
const sqlStandings = `WITH c AS (SELECT starts_at, coalesce(settings->>'counts', 'best') AS counts FROM campaigns WHERE id = $1),
dist AS (
	SELECT DISTINCT ON (r.id) r.id AS region_id, d.id AS district FROM regions r JOIN regions d ON d.kind = 'district' AND r.path LIKE d.path || '%'
	ORDER BY r.id, d.id
), f AS (
	SELECT t.user_id, t.division, t.score, t.time_ms, t.finished_at, t.region_id, t.school_id, t.class_id FROM campaign_attempts t
	WHERE t.campaign_id = $1 AND t.finished_at IS NOT NULL AND NOT t.staff_practice AND NOT t.practice
	AND NOT (t.abandoned AND t.score = 0)
	AND ($2 = 0 OR t.user_id = $2)
	AND ($3::date IS NULL OR (t.finished_at AT TIME ZONE 'Asia/Shanghai')::date = $3)
), g AS (
	SELECT 'all' AS kind, 0::bigint AS grp, f.division, f.user_id, f.score, f.time_ms, f.finished_at FROM f
	UNION ALL SELECT 'district', dist.district, f.division, f.user_id, f.score, f.time_ms, f.finished_at FROM f JOIN dist ON dist.region_id = f.region_id
	UNION ALL SELECT 'school', f.school_id, f.division, f.user_id, f.score, f.time_ms, f.finished_at FROM f WHERE f.school_id IS NOT NULL
	UNION ALL SELECT 'class', f.class_id, f.division, f.user_id, f.score, f.time_ms, f.finished_at FROM f WHERE f.class_id IS NOT NULL
), best AS (
	SELECT DISTINCT ON (kind, grp, division, user_id) kind, grp, division, user_id, score::bigint, time_ms, finished_at FROM g
	ORDER BY kind, grp, division, user_id, score DESC, time_ms, finished_at
), latest AS (
	SELECT DISTINCT ON (kind, grp, division, user_id) kind, grp, division, user_id, score::bigint, time_ms, finished_at FROM g
	ORDER BY kind, grp, division, user_id, finished_at DESC
), total AS (
	SELECT kind, grp, division, user_id, sum(score)::bigint, sum(time_ms)::bigint, max(finished_at) FROM g
	GROUP BY kind, grp, division, user_id
), pick AS (
	SELECT * FROM best WHERE (SELECT counts FROM c) NOT IN ('latest', 'sum')
	UNION ALL SELECT * FROM latest WHERE (SELECT counts FROM c) = 'latest'
	UNION ALL SELECT * FROM total WHERE (SELECT counts FROM c) = 'sum'
)
SELECT p.user_id, p.kind, p.grp, p.division,
	p.score, p.time_ms, (extract(epoch FROM p.finished_at - (SELECT starts_at FROM c)) * 1000)::bigint
FROM pick p JOIN users u ON u.id = p.user_id WHERE u.deleted_at IS NULL`

func (s *Service) standings(ctx context.Context, campaignID, userID int64, day *time.Time) ([]standing, error) {
	rows, err := s.DB.Query(ctx, sqlStandings, campaignID, userID, day)
	if err != nil {
		return nil, fmt.Errorf("leaderboard: standings: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (standing, error) {
		var x standing
		err := r.Scan(&x.userID, &x.kind, &x.group, &x.division, &x.score, &x.timeMS, &x.reachedMS)
		return x, err
	})
	if err != nil {
		return nil, fmt.Errorf("leaderboard: standings: %w", err)
	}
	return out, nil
}

func (s *Service) counts(ctx context.Context, campaignID int64) (string, error) {
	var counts string
	err := s.DB.QueryRow(ctx, `SELECT coalesce(settings->>'counts', 'best') FROM campaigns WHERE id = $1`, campaignID).Scan(&counts)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", kepu.NotFound("error.campaign_not_found")
	}
	if err != nil {
		return "", fmt.Errorf("leaderboard: campaign: %w", err)
	}
	return counts, nil
}

const dayTTL = 49 * time.Hour

// z is the standing as a sorted-set member and its packed score.
func (x standing) z() redis.Z {
	return redis.Z{Score: scoring.Standing{Score: x.score, TimeMS: x.timeMS, ReachedMS: x.reachedMS}.Encode(),
		Member: strconv.FormatInt(x.userID, 10)}
}

func (s *Service) todayDate() *time.Time {
	d, _ := time.Parse("20060102", s.today())
	return &d
}

// Record puts the user's current standing on every board of the campaign
// they count in and announces the change, in one step (Set.Write). Call
// it after an attempt's finish is committed. It never waits for a rebuild:
// written while one runs, the standing is written again after its swap;
// when Redis lost the boards it starts one in the background.
func (s *Service) Record(ctx context.Context, campaignID, userID int64) error {
	return s.set().Write(ctx, campaignID, userID)
}

// RebuildAll rebuilds the boards of every campaign that is not a draft; it
// returns how many campaigns it rebuilt.
func (s *Service) RebuildAll(ctx context.Context) (int, error) {
	rows, _ := s.DB.Query(ctx, `SELECT id FROM campaigns WHERE status <> 'draft' ORDER BY id`)
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return 0, fmt.Errorf("leaderboard: campaigns: %w", err)
	}
	for _, id := range ids {
		if err := s.Rebuild(ctx, id); err != nil {
			return 0, err
		}
	}
	return len(ids), nil
}

// Top returns the first n entries of a board (me marks the caller's line).
func (s *Service) Top(ctx context.Context, campaignID int64, b Board, n int, me int64) ([]Entry, error) {
	return s.set().Top(ctx, campaignID, s.Key(campaignID, b), n, me, b.Public())
}

// Rank returns the user's 1-based rank on a board, 0 when not on it.
func (s *Service) Rank(ctx context.Context, campaignID int64, b Board, userID int64) (int64, error) {
	return s.set().Rank(ctx, campaignID, s.Key(campaignID, b), userID)
}

// Around returns the user's rank and the entries from k above to k below
// it (none when the user is not on the board).
func (s *Service) Around(ctx context.Context, campaignID int64, b Board, userID int64, k int) (int64, []Entry, error) {
	return s.set().Around(ctx, campaignID, s.Key(campaignID, b), userID, k, b.Public())
}

// Groups returns the district, school and class of the user's current
// profile: the boards a page offers as "mine" (an attempt counts on the
// boards of its own snapshot: AttemptGroups).
func (s *Service) Groups(ctx context.Context, userID int64) (district, school, class int64, err error) {
	err = s.DB.QueryRow(ctx, `SELECT coalesce((SELECT d.id FROM regions r JOIN regions d ON d.kind = 'district' AND r.path LIKE d.path || '%'
		WHERE r.id = u.region_id ORDER BY d.id LIMIT 1), 0), coalesce(u.school_id, 0), coalesce(u.class_id, 0) FROM users u WHERE u.id = $1`, userID).
		Scan(&district, &school, &class)
	if err != nil {
		err = fmt.Errorf("leaderboard: groups: %w", err)
	}
	return
}

// AttemptGroups returns the district, school and class an attempt counts
// in: the participant's when it started (its snapshot).
func (s *Service) AttemptGroups(ctx context.Context, attemptID int64) (district, school, class int64, err error) {
	district, school, class, _, err = s.attemptBoards(ctx, attemptID)
	return
}

// attemptBoards is AttemptGroups with the attempt's division.
func (s *Service) attemptBoards(ctx context.Context, attemptID int64) (district, school, class int64, division string, err error) {
	err = s.DB.QueryRow(ctx, `SELECT coalesce((SELECT d.id FROM regions r JOIN regions d ON d.kind = 'district' AND r.path LIKE d.path || '%'
		WHERE r.id = t.region_id ORDER BY d.id LIMIT 1), 0), coalesce(t.school_id, 0), coalesce(t.class_id, 0), t.division
		FROM campaign_attempts t WHERE t.id = $1`, attemptID).Scan(&district, &school, &class, &division)
	if err != nil {
		err = fmt.Errorf("leaderboard: attempt groups: %w", err)
	}
	return
}

// Ranks are a user's all-time ranks (0: not ranked).
type Ranks struct {
	Overall  int64 `json:"overall"`
	District int64 `json:"district"`
	School   int64 `json:"school"`
	Class    int64 `json:"class"`
}

// RanksOf returns the user's all-time ranks on the campaign's boards that
// the attempt counts on (its district, school and class at start, in its
// division).
func (s *Service) RanksOf(ctx context.Context, campaignID, userID, attemptID int64) (Ranks, error) {
	var r Ranks
	d, sc, cl, v, err := s.attemptBoards(ctx, attemptID)
	if err != nil {
		return r, err
	}
	for _, x := range []struct {
		b   Board
		dst *int64
	}{{Board{Kind: All, Division: v}, &r.Overall}, {Board{Kind: District, ID: d, Division: v}, &r.District},
		{Board{Kind: School, ID: sc, Division: v}, &r.School}, {Board{Kind: Class, ID: cl, Division: v}, &r.Class}} {
		if !x.b.Valid() {
			continue
		}
		if *x.dst, err = s.Rank(ctx, campaignID, x.b, userID); err != nil {
			return r, err
		}
	}
	return r, nil
}
