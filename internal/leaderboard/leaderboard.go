// Package leaderboard keeps campaign leaderboards in Redis sorted sets:
// per campaign, overall and per district, school and class, all-time and
// for the current Asia/Shanghai day. Members are user ids; scores are
// packed standings (scoring.Standing: score desc, time used asc, who
// reached it first). Postgres is the source of truth: a board is rebuilt
// from campaign_attempts on first use after a Redis flush (a marker key),
// or by `kepu leaderboard rebuild`. Layout and limits: docs/leaderboards.md.
package leaderboard

import (
	"context"
	"errors"
	"fmt"
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
}

func (b Board) name() string {
	switch b.Kind {
	case District:
		return "d" + strconv.FormatInt(b.ID, 10)
	case School:
		return "s" + strconv.FormatInt(b.ID, 10)
	case Class:
		return "c" + strconv.FormatInt(b.ID, 10)
	}
	return "all"
}

// Valid reports whether the board names something.
func (b Board) Valid() bool {
	return b.Kind == All || ((b.Kind == District || b.Kind == School || b.Kind == Class) && b.ID > 0)
}

// Entry is one line of a board: nickname (masked for under-14s on public
// boards, see Public), a short stable tag and the district name that tell
// two equal nicknames apart, rank, score and time. No other personal data.
type Entry struct {
	Rank     int64  `json:"rank"`
	Nickname string `json:"nickname"`
	Tag      string `json:"tag"`                // 4 hex digits derived from the user id (Service.Tag)
	District string `json:"district,omitempty"` // the user's district now, "" when none
	Score    int64  `json:"score"`
	TimeS    int64  `json:"time_s"` // time used, whole seconds
	Me       bool   `json:"me,omitempty"`
	userID   int64
}

// Public reports whether anyone may read the board: the overall and
// district boards. Class and school boards are for their members, their
// teachers and the organizers in charge (the server checks), and only
// public boards mask the names of under-14s.
func (b Board) Public() bool { return b.Kind == All || b.Kind == District }

// MaskNickname is how an under-14's nickname shows where the public can
// read it: its first character and two asterisks ("张小明" → "张**").
// Pupils' nicknames are often the names their teachers typed; with the
// tag the masked line stays distinguishable and the pupil still finds
// their own (highlighted) line.
func MaskNickname(nick string) string {
	for _, r := range nick {
		return string(r) + "**"
	}
	return "**"
}

// Service reads and writes the boards.
type Service struct {
	DB    *pgxpool.Pool
	Redis *redis.Client
	Keys  rdb.Keys
	Now   func() time.Time
	// TagKey keys the tags of entries (Tag); the app passes its secret
	// key, so tags cannot be computed from user ids outside the server.
	TagKey []byte

	reads readCache // the HTTP read path's caches (read.go)
}

func (s *Service) today() string {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	return now().In(kepu.Shanghai).Format("20060102")
}

// Key is the sorted set of a board: {p}:lb:{campaign}:{board}:{period},
// period "all" or the day as YYYYMMDD.
func (s *Service) Key(campaignID int64, b Board) string {
	period := "all"
	if b.Today {
		period = s.today()
	}
	return s.Keys.Board(campaignID, b.name(), period)
}

func (s *Service) marker(campaignID int64) string {
	return s.Keys.BoardsBuilt(campaignID)
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
	score, timeMS, reachedMS int64
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
// Staff-practice attempts never count.
const sqlStandings = `WITH c AS (SELECT starts_at, coalesce(settings->>'counts', 'best') AS counts FROM campaigns WHERE id = $1),
dist AS (
	SELECT DISTINCT ON (r.id) r.id AS region_id, d.id AS district FROM regions r JOIN regions d ON d.kind = 'district' AND r.path LIKE d.path || '%'
	ORDER BY r.id, d.id
), f AS (
	SELECT t.user_id, t.score, t.time_ms, t.finished_at, t.region_id, t.school_id, t.class_id FROM campaign_attempts t
	WHERE t.campaign_id = $1 AND t.finished_at IS NOT NULL AND NOT t.staff_practice AND ($2 = 0 OR t.user_id = $2)
	AND ($3::date IS NULL OR (t.finished_at AT TIME ZONE 'Asia/Shanghai')::date = $3)
), g AS (
	SELECT 'all' AS kind, 0::bigint AS grp, f.user_id, f.score, f.time_ms, f.finished_at FROM f
	UNION ALL SELECT 'district', dist.district, f.user_id, f.score, f.time_ms, f.finished_at FROM f JOIN dist ON dist.region_id = f.region_id
	UNION ALL SELECT 'school', f.school_id, f.user_id, f.score, f.time_ms, f.finished_at FROM f WHERE f.school_id IS NOT NULL
	UNION ALL SELECT 'class', f.class_id, f.user_id, f.score, f.time_ms, f.finished_at FROM f WHERE f.class_id IS NOT NULL
), best AS (
	SELECT DISTINCT ON (kind, grp, user_id) kind, grp, user_id, score::bigint, time_ms, finished_at FROM g
	ORDER BY kind, grp, user_id, score DESC, time_ms, finished_at
), latest AS (
	SELECT DISTINCT ON (kind, grp, user_id) kind, grp, user_id, score::bigint, time_ms, finished_at FROM g
	ORDER BY kind, grp, user_id, finished_at DESC
), total AS (
	SELECT kind, grp, user_id, sum(score)::bigint, sum(time_ms)::bigint, max(finished_at) FROM g GROUP BY kind, grp, user_id
), pick AS (
	SELECT * FROM best WHERE (SELECT counts FROM c) NOT IN ('latest', 'sum')
	UNION ALL SELECT * FROM latest WHERE (SELECT counts FROM c) = 'latest'
	UNION ALL SELECT * FROM total WHERE (SELECT counts FROM c) = 'sum'
)
SELECT p.user_id, p.kind, p.grp,
	p.score, p.time_ms, (extract(epoch FROM p.finished_at - (SELECT starts_at FROM c)) * 1000)::bigint
FROM pick p JOIN users u ON u.id = p.user_id WHERE u.deleted_at IS NULL`

func (s *Service) standings(ctx context.Context, campaignID, userID int64, day *time.Time) ([]standing, error) {
	rows, err := s.DB.Query(ctx, sqlStandings, campaignID, userID, day)
	if err != nil {
		return nil, fmt.Errorf("leaderboard: standings: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (standing, error) {
		var x standing
		err := r.Scan(&x.userID, &x.kind, &x.group, &x.score, &x.timeMS, &x.reachedMS)
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

// add queues the standings' ZADDs: best boards with GT (never lower a
// standing), sum and latest boards as they are. key names each board's
// sorted set (s.Key, or a rebuild's scratch key).
func (s *Service) add(pipe redis.Pipeliner, ctx context.Context, key func(Board) string, counts string, xs []standing, today bool) {
	for _, x := range xs {
		z := redis.Z{Score: scoring.Standing{Score: x.score, TimeMS: x.timeMS, ReachedMS: x.reachedMS}.Encode(),
			Member: strconv.FormatInt(x.userID, 10)}
		k := key(Board{Kind: x.kind, ID: x.group, Today: today})
		if counts == "best" {
			pipe.ZAddGT(ctx, k, z)
		} else {
			pipe.ZAdd(ctx, k, z)
		}
		if today {
			pipe.Expire(ctx, k, dayTTL)
		}
	}
}

func (s *Service) todayDate() *time.Time {
	d, _ := time.Parse("20060102", s.today())
	return &d
}

// Record puts the user's current standing on every board of the campaign
// they count in and announces the change. Call it after an attempt's
// finish is committed.
func (s *Service) Record(ctx context.Context, campaignID, userID int64) error {
	if err := s.Ensure(ctx, campaignID); err != nil {
		return err
	}
	counts, err := s.counts(ctx, campaignID)
	if err != nil {
		return err
	}
	all, err := s.standings(ctx, campaignID, userID, nil)
	if err != nil {
		return err
	}
	day, err := s.standings(ctx, campaignID, userID, s.todayDate())
	if err != nil {
		return err
	}
	pipe := s.Redis.TxPipeline()
	key := func(b Board) string { return s.Key(campaignID, b) }
	s.add(pipe, ctx, key, counts, all, false)
	s.add(pipe, ctx, key, counts, day, true)
	pipe.Publish(ctx, s.Channel(campaignID), "changed")
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("leaderboard: record: %w", err)
	}
	return nil
}

// Ensure rebuilds the campaign's boards from Postgres unless its marker
// key says they are built (after a Redis flush the marker is gone).
func (s *Service) Ensure(ctx context.Context, campaignID int64) error {
	n, err := s.Redis.Exists(ctx, s.marker(campaignID)).Result()
	if err != nil {
		return fmt.Errorf("leaderboard: marker: %w", err)
	}
	if n == 1 {
		return nil
	}
	return s.Rebuild(ctx, campaignID)
}

// rebuildChunk is how many standings a rebuild writes per pipeline.
const rebuildChunk = 5000

// Rebuild replaces every board of the campaign with standings computed
// from Postgres and sets the marker. The new boards are written first into
// scratch keys ({p}:lbtmp:{campaign}:{token}:…, an hour's TTL in case the
// rebuild dies) in pipelines of rebuildChunk standings, so Redis is never
// blocked for long even with millions of entries; then one MULTI deletes
// the old keys, renames the scratch keys into place, sets the marker and
// announces the change: readers see the old boards or the new ones, never
// a half-built board.
func (s *Service) Rebuild(ctx context.Context, campaignID int64) error {
	counts, err := s.counts(ctx, campaignID)
	if err != nil {
		return err
	}
	all, err := s.standings(ctx, campaignID, 0, nil)
	if err != nil {
		return err
	}
	day, err := s.standings(ctx, campaignID, 0, s.todayDate())
	if err != nil {
		return err
	}
	token := strconv.FormatInt(time.Now().UnixNano(), 36)
	scratch := map[string]string{} // final key → scratch key
	var dayKeys, fresh []string
	key := func(b Board) string {
		final := s.Key(campaignID, b)
		k, ok := scratch[final]
		if !ok {
			k = s.Keys.BoardScratch(campaignID, token, final)
			scratch[final] = k
			fresh = append(fresh, k)
			if b.Today {
				dayKeys = append(dayKeys, final)
			}
		}
		return k
	}
	for _, part := range []struct {
		xs    []standing
		today bool
	}{{all, false}, {day, true}} {
		for from := 0; from < len(part.xs); from += rebuildChunk {
			pipe := s.Redis.Pipeline()
			s.add(pipe, ctx, key, counts, part.xs[from:min(from+rebuildChunk, len(part.xs))], part.today)
			for _, k := range fresh {
				pipe.Expire(ctx, k, time.Hour)
			}
			fresh = fresh[:0]
			if _, err := pipe.Exec(ctx); err != nil {
				return fmt.Errorf("leaderboard: rebuild: %w", err)
			}
		}
	}
	var old []string
	iter := s.Redis.Scan(ctx, 0, s.Keys.BoardPattern(campaignID), 500).Iterator()
	for iter.Next(ctx) {
		old = append(old, iter.Val())
	}
	if err := iter.Err(); err != nil {
		return fmt.Errorf("leaderboard: rebuild: scan: %w", err)
	}
	pipe := s.Redis.TxPipeline()
	if len(old) > 0 {
		pipe.Del(ctx, old...)
	}
	for final, k := range scratch {
		pipe.Rename(ctx, k, final)
		pipe.Persist(ctx, final)
	}
	for _, final := range dayKeys {
		pipe.Expire(ctx, final, dayTTL)
	}
	pipe.Set(ctx, s.marker(campaignID), "1", 0)
	pipe.Publish(ctx, s.Channel(campaignID), "changed")
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("leaderboard: rebuild: %w", err)
	}
	return nil
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
	if err := s.Ensure(ctx, campaignID); err != nil {
		return nil, err
	}
	return s.rangeOf(ctx, campaignID, b, 0, int64(n-1), me)
}

func (s *Service) rangeOf(ctx context.Context, campaignID int64, b Board, from, to int64, me int64) ([]Entry, error) {
	zs, err := s.Redis.ZRevRangeWithScores(ctx, s.Key(campaignID, b), from, to).Result()
	if err != nil {
		return nil, fmt.Errorf("leaderboard: range: %w", err)
	}
	return s.entries(ctx, zs, from, me, b.Public())
}

// Rank returns the user's 1-based rank on a board, 0 when not on it.
// (Redis 7.0: ZREVRANK has no WITHSCORE; the score comes with Around.)
func (s *Service) Rank(ctx context.Context, campaignID int64, b Board, userID int64) (int64, error) {
	if err := s.Ensure(ctx, campaignID); err != nil {
		return 0, err
	}
	r, err := s.Redis.ZRevRank(ctx, s.Key(campaignID, b), strconv.FormatInt(userID, 10)).Result()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("leaderboard: rank: %w", err)
	}
	return r + 1, nil
}

// Around returns the user's rank and the entries from k above to k below
// it (none when the user is not on the board).
func (s *Service) Around(ctx context.Context, campaignID int64, b Board, userID int64, k int) (int64, []Entry, error) {
	rank, err := s.Rank(ctx, campaignID, b, userID)
	if err != nil || rank == 0 {
		return 0, []Entry{}, err
	}
	from := max(rank-1-int64(k), 0)
	es, err := s.rangeOf(ctx, campaignID, b, from, rank-1+int64(k), userID)
	return rank, es, err
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
	err = s.DB.QueryRow(ctx, `SELECT coalesce((SELECT d.id FROM regions r JOIN regions d ON d.kind = 'district' AND r.path LIKE d.path || '%'
		WHERE r.id = t.region_id ORDER BY d.id LIMIT 1), 0), coalesce(t.school_id, 0), coalesce(t.class_id, 0)
		FROM campaign_attempts t WHERE t.id = $1`, attemptID).Scan(&district, &school, &class)
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
// the attempt counts on (its district, school and class at start).
func (s *Service) RanksOf(ctx context.Context, campaignID, userID, attemptID int64) (Ranks, error) {
	var r Ranks
	d, sc, cl, err := s.AttemptGroups(ctx, attemptID)
	if err != nil {
		return r, err
	}
	for _, x := range []struct {
		b   Board
		dst *int64
	}{{Board{Kind: All}, &r.Overall}, {Board{Kind: District, ID: d}, &r.District},
		{Board{Kind: School, ID: sc}, &r.School}, {Board{Kind: Class, ID: cl}, &r.Class}} {
		if !x.b.Valid() {
			continue
		}
		if *x.dst, err = s.Rank(ctx, campaignID, x.b, userID); err != nil {
			return r, err
		}
	}
	return r, nil
}
