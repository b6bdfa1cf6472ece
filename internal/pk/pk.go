// Package pk runs PK battles: 1-vs-1 (双人对战) and 4-player (四人赛)
// matches of a few questions between logged-in people of similar practice
// level, matched across instances through a Redis queue (queue.go), or a
// friend invited by link/QR (invite.go), or a practice bot (bot.go).
//
// Postgres is the truth of a match (pk_matches, pk_players, pk_answers). A
// match's schedule is a pure function of its start time, its round times
// and the answers committed so far (schedule.go): every instance computes
// the same phase at the same server moment, so no timer state lives in
// Redis and a restarted or different instance serves a rejoining player
// where the match stands. The rules on answers are the contest engine's:
// once per player and question (a primary key), only while the question
// is open by the server's clock (its deadline, with the contest's latency
// credit bound as grace), speed points by scoring.ContestPoints, and an
// answer is acknowledged only after its row is committed. The key of a
// question is never in anything sent before its round closes (View).
package pk

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/kepu/kepu/internal/kepu"
	"github.com/kepu/kepu/internal/rdb"
)

// Match sizes.
const (
	Duel = 2 // 双人对战
	Four = 4 // 四人赛
)

// Defaults of a match's timing.
const (
	Questions       = 5
	DefaultRound    = 10 * time.Second // answer time of one question
	DefaultReveal   = 4 * time.Second  // the answer and explanation, before the next question
	DefaultReady    = 3 * time.Second  // countdown before the first question
	DefaultGrace    = 500 * time.Millisecond
	DefaultBotAfter = 20 * time.Second // waiting this long offers the practice bot
	BasePoints      = 1000             // a correct instant answer (scoring.ContestPoints)
)

// Answer outcomes (as the contest's).
const (
	AnswerOK        = "ok"
	AnswerDuplicate = "duplicate" // answered before: the first answer counts
	AnswerClosed    = "closed"    // not the open question, or too late
	AnswerInvalid   = "invalid"
)

// Errors callers map to statuses.
var (
	ErrNotFound  = kepu.NotFound("pk.error.not_found")
	ErrNotPlayer = kepu.Errorf(kepu.EFORBIDDEN, "pk.error.not_player")
	ErrFull      = kepu.Errorf(kepu.ECONFLICT, "pk.error.full")
	ErrNoBank    = kepu.Errorf(kepu.ECONFLICT, "pk.error.no_questions")
	ErrBadMode   = kepu.Invalid("mode", "pk.error.mode")
)

// Levels is what PK needs from the practice record (the daily-practice
// lane's points ledger and level): a user's practice level (1 and up),
// which matchmaking pairs by, and points for a finished match. LocalLevels
// is a fallback over PK's own tables.
type Levels interface {
	LevelOf(ctx context.Context, userID int64) (int, error)
	AddPoints(ctx context.Context, userID int64, points int, source string, ref int64) error
}

// Who is a person taking part.
type Who struct {
	UserID int64
	Nick   string // filled in from the account when a match is made
	Lang   string // zh-CN or en: the match's questions
}

// Service runs PK matches. Set the fields, then use it from any goroutine.
type Service struct {
	DB     *pgxpool.Pool
	Redis  redis.UniversalClient
	Keys   rdb.Keys
	Levels Levels
	Log    *slog.Logger
	// Now is the server clock every deadline is decided by.
	Now                                   func() time.Time
	Round, Reveal, Ready, Grace, BotAfter time.Duration

	questions sync.Map // question version id -> Question (versions never change)
	poolMu    sync.Mutex
	pools     map[string]questionPool // by language: what draw picks from
}

// NewService returns a service with the default timing.
func NewService(db *pgxpool.Pool, r redis.UniversalClient, keys rdb.Keys) *Service {
	s := &Service{DB: db, Redis: r, Keys: keys, Now: time.Now,
		Round: DefaultRound, Reveal: DefaultReveal, Ready: DefaultReady, Grace: DefaultGrace, BotAfter: DefaultBotAfter}
	s.Levels = LocalLevels{DB: db}
	return s
}

func (s *Service) nowMS() int64 { return s.Now().UnixMilli() }

// ValidMode reports whether mode is a match size.
func ValidMode(mode int) bool { return mode == Duel || mode == Four }

func (s *Service) log() *slog.Logger {
	if s.Log == nil {
		return slog.Default()
	}
	return s.Log
}

// LocalLevels is the practice record PK falls back on when none is wired
// (the app wires the daily practice's ledger, internal/app): a user's level
// rises by one for every ten questions they answered right in PK (1–10),
// and points are not kept anywhere else (pk_players.score holds each
// match's).
type LocalLevels struct{ DB *pgxpool.Pool }

// LevelOf implements Levels.
func (l LocalLevels) LevelOf(ctx context.Context, userID int64) (int, error) {
	var n int
	err := l.DB.QueryRow(ctx, `
		SELECT count(*) FROM pk_answers a JOIN pk_players p USING (match_id, seat)
		WHERE p.user_id = $1 AND a.correct`, userID).Scan(&n)
	if err != nil {
		return 0, err
	}
	return min(1+n/10, 10), nil
}

// AddPoints implements Levels (nothing to do: the match rows hold them).
func (LocalLevels) AddPoints(context.Context, int64, int, string, int64) error { return nil }
