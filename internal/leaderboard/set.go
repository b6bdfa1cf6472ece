package leaderboard

// The board machinery shared by every kind of board: the campaign
// leaderboards (Service) and the weekly practice boards
// (internal/practice). A Set is a kind of boards grouped in families of
// type F (a campaign id, a week): every board of a family is a Redis
// sorted set of user ids by packed score (scoring.Standing), named by
// rdb.BoardFamily, written one user at a time (record.lua), rebuilt from
// Postgres together by one instance while the others wait boundedly
// (rebuild.go), read as top n, rank and the lines around a user with one
// tie rule, with nicknames filled in and masked for under-14s (read.go).
// What a board holds comes from the Set's Source, which owns the SQL.

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/kepu/kepu/internal/rdb"
)

// Source is what a Set's boards are made of; its owner implements it.
type Source[F comparable] interface {
	// Keys names the Redis keys of family f (built in internal/rdb).
	Keys(f F) rdb.BoardFamily
	// Lines computes family f's lines from Postgres: user userID's on
	// every board of f they are on, or every user's when userID is 0.
	// Live writes (Set.Write) and rebuilds use this one function, so the
	// two cannot disagree.
	Lines(ctx context.Context, f F, userID int64) (Lines, error)
}

// Lines are a family's lines as Source.Lines computes them.
type Lines struct {
	// GT: a line only ever rises (ZADD GT), as under a campaign's "best"
	// rule; else each write sets the line as computed.
	GT    bool
	Lines []Line
}

// Line is one user's place on one board.
type Line struct {
	Key   string        // the board's sorted set: Keys(f).Board(…)
	User  int64         // the member
	Score float64       // the packed standing (scoring.Standing.Encode): higher ranks first
	TTL   time.Duration // the board expires this long after its last write (0: never)
}

// Set runs one kind of boards. Its fields are configuration; State holds
// what one instance keeps between calls and must be shared by every copy
// of the Set (a Set is passed by value).
type Set[F comparable] struct {
	Redis  redis.UniversalClient
	DB     *pgxpool.Pool // read for the lines' nicknames
	Source Source[F]
	// TagKey keys the entries' tags (Tag).
	TagKey []byte
	// RebuildWait is how long a reader waits for a running rebuild before
	// it gets ErrRebuilding (0: DefaultRebuildWait).
	RebuildWait time.Duration
	// TTL, when not 0, is how long a family's marker and fencing counter
	// live after a rebuild: for families that end (a week's boards).
	TTL time.Duration
	// Name names a family in logs ("campaign", "week").
	Name  string
	Log   *slog.Logger // rebuild failures (nil: slog.Default())
	State *State[F]
}

// State is one instance's caches and running rebuilds of a Set; the zero
// State is ready to use.
type State[F comparable] struct {
	reads   readCache
	rebuild rebuildState[F]
}

// Entry is one line of a board: nickname (masked for under-14s on public
// boards, see Board.Public), a short stable tag and the district name that
// tell two equal nicknames apart, rank, score and time. No other personal
// data.
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

// tag is a user's 4-hex-digit tag under key (Service.Tag).
func tag(key []byte, userID int64) string {
	m := hmac.New(sha256.New, append([]byte("kepu:lb:tag:"), key...))
	m.Write(strconv.AppendInt(nil, userID, 10))
	return hex.EncodeToString(m.Sum(nil)[:2])
}

func (s Set[F]) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

// Write puts user userID's current lines (Source.Lines) on the boards of
// family f and announces the change, in one step (record.lua). It never
// waits for a rebuild: written while one runs, the lines are written again
// after its swap; when Redis lost the family's boards it starts a rebuild
// in the background.
func (s Set[F]) Write(ctx context.Context, f F, userID int64) error {
	built, err := s.record(ctx, f, userID)
	if err != nil {
		return err
	}
	if !built {
		s.kick(f)
	}
	return nil
}

// record writes the user's lines (record.lua) and reports whether the
// family's boards are built.
func (s Set[F]) record(ctx context.Context, f F, userID int64) (bool, error) {
	ls, err := s.Source.Lines(ctx, f, userID)
	if err != nil {
		return false, err
	}
	fam := s.Source.Keys(f)
	keys := []string{fam.Built(), fam.Rebuild("lock"), fam.Rebuild("touched")}
	gt := ""
	if ls.GT {
		gt = "gt"
	}
	args := []any{strconv.FormatInt(userID, 10), gt, fam.Channel(), int(rebuildTimeout.Seconds())}
	for _, l := range ls.Lines {
		if l.User != userID {
			continue
		}
		keys = append(keys, l.Key)
		args = append(args, strconv.FormatFloat(l.Score, 'f', -1, 64), int(l.TTL.Seconds()))
	}
	built, err := recordScript.Run(ctx, s.Redis, keys, args...).Int()
	if err != nil {
		return false, fmt.Errorf("leaderboard: record: %w", err)
	}
	return built == 1, nil
}

// Top returns the first n entries of board key of family f (me marks the
// caller's line; public masks under-14s' nicknames), rebuilding the family
// first when Redis lost it (ErrRebuilding after RebuildWait).
func (s Set[F]) Top(ctx context.Context, f F, key string, n int, me int64, public bool) ([]Entry, error) {
	if err := s.Ensure(ctx, f); err != nil {
		return nil, err
	}
	return s.rangeOf(ctx, key, 0, int64(n-1), me, public)
}

func (s Set[F]) rangeOf(ctx context.Context, key string, from, to int64, me int64, public bool) ([]Entry, error) {
	zs, err := s.Redis.ZRevRangeWithScores(ctx, key, from, to).Result()
	if err != nil {
		return nil, fmt.Errorf("leaderboard: range: %w", err)
	}
	return s.entries(ctx, zs, from, me, public)
}

// Rank returns the user's 1-based rank on board key of family f, 0 when
// not on it. (Redis 7.0: ZREVRANK has no WITHSCORE; the score comes with
// Around.)
func (s Set[F]) Rank(ctx context.Context, f F, key string, userID int64) (int64, error) {
	if err := s.Ensure(ctx, f); err != nil {
		return 0, err
	}
	r, err := s.Redis.ZRevRank(ctx, key, strconv.FormatInt(userID, 10)).Result()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("leaderboard: rank: %w", err)
	}
	return r + 1, nil
}

// Around returns the user's rank on board key of family f and the entries
// from k above to k below it (none when the user is not on the board).
func (s Set[F]) Around(ctx context.Context, f F, key string, userID int64, k int, public bool) (int64, []Entry, error) {
	rank, err := s.Rank(ctx, f, key, userID)
	if err != nil || rank == 0 {
		return 0, []Entry{}, err
	}
	from := max(rank-1-int64(k), 0)
	es, err := s.rangeOf(ctx, key, from, rank-1+int64(k), userID, public)
	return rank, es, err
}
