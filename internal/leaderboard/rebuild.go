package leaderboard

// Rebuilding a family of boards (a campaign's, a week's) from Postgres,
// one rebuild at a time.
//
// After Redis lost the boards (the "built" marker is gone) every reader
// and writer of any instance notices at once. Only one of them rebuilds:
// claim.lua takes the family's lock (rdb.BoardFamily.Rebuild: for a
// campaign {p}:lbrb:{lb:C}:lock, SET NX PX lockTTL, renewed every
// lockRenewEvery while the rebuild runs) with a fencing token drawn from
// {p}:lbrb:{lb:C}:fence. Each instance runs at most one watcher per
// family (kick): it rebuilds when it gets the
// lock, else looks again every claimEvery until the marker is back, so a
// dead holder's lock (not renewed) is taken over within lockTTL. Readers
// wait for their instance's watcher at most RebuildWait, then are answered
// from the last known top (read.go) or with ErrRebuilding.
//
// The rebuild writes scratch keys and swaps them in with swap.lua, which
// checks that the lock still holds the rebuild's token (a rebuilder that
// lost it changes nothing). Finishes recorded while the lock is held put
// their user into the family's touched set (record.lua); the swap
// returns and empties that set and the rebuild records those users again
// from Postgres, so no finish written after the rebuild's Postgres read is
// lost. docs/leaderboards.md "Rebuild".

import (
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/kepu/kepu/internal/kepu"
)

// Rebuild timing.
const (
	// DefaultRebuildWait is how long a reader waits for a running rebuild
	// (Service.RebuildWait): a 50,000-entry board rebuilds in about 1 s.
	DefaultRebuildWait = 2 * time.Second
	lockTTL            = 10 * time.Second // a dead rebuilder's lock expires after at most this
	lockRenewEvery     = lockTTL / 3
	claimEvery         = 100 * time.Millisecond // how often a waiting instance looks again
	rebuildTimeout     = 10 * time.Minute       // a rebuild that takes longer is abandoned (1,000,000 entries: 42 s)
	rebuildingRetry    = 3                      // seconds, the Retry-After of ErrRebuilding
)

// ErrRebuilding is the answer to a read of a board that is being rebuilt
// from Postgres and was not ready within RebuildWait (HTTP 503 with
// Retry-After, "refresh in a few seconds").
var ErrRebuilding = (&kepu.Error{Code: kepu.EUNAVAILABLE, Key: "error.lb_rebuilding"}).With("seconds", rebuildingRetry)

var (
	//go:embed claim.lua
	claimLua string
	//go:embed hold.lua
	holdLua string
	//go:embed swap.lua
	swapLua string
	//go:embed record.lua
	recordLua string

	claimScript  = redis.NewScript(claimLua)
	holdScript   = redis.NewScript(holdLua)
	swapScript   = redis.NewScript(swapLua)
	recordScript = redis.NewScript(recordLua)
)

// errLostLock: the rebuild's lock expired or was taken over; its boards
// were not swapped in.
var errLostLock = fmt.Errorf("leaderboard: rebuild: lost the lock")

// rebuildState is one instance's running rebuild watchers.
type rebuildState[F comparable] struct {
	mu        sync.Mutex
	running   map[F]chan struct{} // family → closed when its watcher ends
	count     atomic.Int64        // rebuilds this instance ran
	afterRead func()              // tests: called after a rebuild's Postgres read
}

// Rebuilds returns how many rebuilds this instance ran (took the lock and
// read Postgres).
func (s Set[F]) Rebuilds() int64 { return s.State.rebuild.count.Load() }

func (s Set[F]) rebuildWait() time.Duration {
	if s.RebuildWait > 0 {
		return s.RebuildWait
	}
	return DefaultRebuildWait
}

// Ensure returns nil when family f's boards are built. Otherwise it
// starts (or joins) the rebuild and waits for it at most RebuildWait:
// ErrRebuilding when it is still running then.
func (s Set[F]) Ensure(ctx context.Context, f F) error {
	marker := s.Source.Keys(f).Built()
	n, err := s.Redis.Exists(ctx, marker).Result()
	if err != nil {
		return fmt.Errorf("leaderboard: marker: %w", err)
	}
	if n == 1 {
		return nil
	}
	wait := time.NewTimer(s.rebuildWait())
	defer wait.Stop()
	select {
	case <-s.kick(f):
	case <-wait.C:
		return ErrRebuilding
	case <-ctx.Done():
		return ctx.Err()
	}
	// The watcher saw the boards built, or failed (logged): look.
	if n, err = s.Redis.Exists(ctx, marker).Result(); err != nil {
		return fmt.Errorf("leaderboard: marker: %w", err)
	}
	if n == 0 {
		return ErrRebuilding
	}
	return nil
}

// kick starts this instance's watcher of family f unless one runs; the
// channel is closed when it ends (boards built, or it failed).
func (s Set[F]) kick(f F) <-chan struct{} {
	r := &s.State.rebuild
	r.mu.Lock()
	defer r.mu.Unlock()
	if ch, ok := r.running[f]; ok {
		return ch
	}
	if r.running == nil {
		r.running = map[F]chan struct{}{}
	}
	ch := make(chan struct{})
	r.running[f] = ch
	go func() {
		defer func() {
			r.mu.Lock()
			delete(r.running, f)
			r.mu.Unlock()
			close(ch)
		}()
		ctx, cancel := context.WithTimeout(context.Background(), rebuildTimeout)
		defer cancel()
		if err := s.watch(ctx, f); err != nil {
			s.log().Warn("leaderboard rebuild", s.Name, f, "err", err)
		}
	}()
	return ch
}

// watch returns once family f's boards are built: it rebuilds them when
// it can take the lock, else looks again every claimEvery.
func (s Set[F]) watch(ctx context.Context, f F) error {
	tick := time.NewTicker(claimEvery)
	defer tick.Stop()
	for {
		built, token, err := s.claim(ctx, f, false)
		switch {
		case err != nil:
			return err
		case built:
			return nil
		case token != "":
			return s.rebuildHeld(ctx, f, token)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("leaderboard: rebuild: wait for the lock: %w", ctx.Err())
		case <-tick.C:
		}
	}
}

// claim runs claim.lua: built when there is nothing to do (never when
// force), else the token when the caller now holds the lock, "" when
// another rebuild does.
func (s Set[F]) claim(ctx context.Context, f F, force bool) (built bool, token string, err error) {
	var suffix [8]byte
	rand.Read(suffix[:])
	forced := "0"
	if force {
		forced = "1"
	}
	fam := s.Source.Keys(f)
	res, err := claimScript.Run(ctx, s.Redis, []string{fam.Built(), fam.Rebuild("lock"), fam.Rebuild("fence")},
		hex.EncodeToString(suffix[:]), lockTTL.Milliseconds(), forced, s.TTL.Milliseconds()).Slice()
	if err != nil {
		return false, "", fmt.Errorf("leaderboard: rebuild: claim: %w", err)
	}
	code, _ := res[0].(int64)
	if code == 2 && len(res) == 2 {
		token, _ = res[1].(string)
	}
	return code == 1, token, nil
}

// Rebuild replaces every board of family f with lines computed from
// Postgres, waiting first for a rebuild that runs (bounded by ctx; a dead
// holder's lock expires within lockTTL).
func (s Set[F]) Rebuild(ctx context.Context, f F) error {
	tick := time.NewTicker(claimEvery)
	defer tick.Stop()
	for {
		_, token, err := s.claim(ctx, f, true)
		if err != nil {
			return err
		}
		if token != "" {
			return s.rebuildHeld(ctx, f, token)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("leaderboard: rebuild: wait for the lock: %w", ctx.Err())
		case <-tick.C:
		}
	}
}

// rebuildHeld rebuilds holding the lock (token), renewing it meanwhile,
// then records again the users written during the rebuild. The lock is
// released by the swap, or here when the rebuild fails.
func (s Set[F]) rebuildHeld(ctx context.Context, f F, token string) error {
	s.State.rebuild.count.Add(1)
	lock := s.Source.Keys(f).Rebuild("lock")
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	renewed := make(chan struct{})
	go func() { // renew until the rebuild ends; a lost lock stops it
		defer close(renewed)
		tick := time.NewTicker(lockRenewEvery)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				if held, err := holdScript.Run(ctx, s.Redis, []string{lock}, token, lockTTL.Milliseconds()).Int(); err == nil && held == 0 {
					cancel()
					return
				}
			}
		}
	}()
	touched, err := s.build(ctx, f, token)
	cancel()
	<-renewed
	if err != nil {
		rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer rcancel()
		holdScript.Run(rctx, s.Redis, []string{lock}, token, 0) // best effort: else it expires
		return err
	}
	for _, m := range touched {
		userID, err := strconv.ParseInt(m, 10, 64)
		if err != nil {
			continue
		}
		rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		_, err = s.record(rctx, f, userID)
		rcancel()
		if err != nil {
			return fmt.Errorf("leaderboard: rebuild: record user %d again: %w", userID, err)
		}
	}
	return nil
}

// rebuildChunk is how many lines a rebuild writes per pipeline.
const rebuildChunk = 5000

// build computes every line of family f from Postgres (Source.Lines) and
// writes the new boards into scratch keys (rdb.BoardFamily.Scratch: for a
// campaign {p}:lbtmp:{lb:C}:{token}:…, in the boards' slot, an hour's TTL
// in case the rebuild dies) in pipelines of rebuildChunk lines, so Redis
// is never blocked for long even with millions of entries; then swap.lua
// deletes the old keys, renames the scratch keys into place (each with its
// lines' TTL), sets the marker, releases the lock and announces the
// change, only if token still holds the lock: readers see the old boards
// or the new ones, never a half-built board. It returns the users written
// during the rebuild (the touched set).
func (s Set[F]) build(ctx context.Context, f F, token string) ([]string, error) {
	ls, err := s.Source.Lines(ctx, f, 0)
	if err != nil {
		return nil, err
	}
	if s.State.rebuild.afterRead != nil {
		s.State.rebuild.afterRead()
	}
	fam := s.Source.Keys(f)
	type pair struct {
		scratch string
		ttl     time.Duration
	}
	scratch := map[string]pair{} // final key → scratch key
	var finals, fresh []string
	for from := 0; from < len(ls.Lines); from += rebuildChunk {
		pipe := s.Redis.Pipeline()
		for _, l := range ls.Lines[from:min(from+rebuildChunk, len(ls.Lines))] {
			p, ok := scratch[l.Key]
			if !ok {
				p = pair{fam.Scratch(token, l.Key), l.TTL}
				scratch[l.Key] = p
				finals = append(finals, l.Key)
				fresh = append(fresh, p.scratch)
			}
			z := redis.Z{Score: l.Score, Member: strconv.FormatInt(l.User, 10)}
			if ls.GT {
				pipe.ZAddGT(ctx, p.scratch, z)
			} else {
				pipe.ZAdd(ctx, p.scratch, z)
			}
		}
		for _, k := range fresh {
			pipe.Expire(ctx, k, time.Hour)
		}
		fresh = fresh[:0]
		if _, err := pipe.Exec(ctx); err != nil {
			return nil, fmt.Errorf("leaderboard: rebuild: %w", err)
		}
	}
	var old []string
	iter := s.Redis.Scan(ctx, 0, fam.Pattern(), 500).Iterator()
	for iter.Next(ctx) {
		old = append(old, iter.Val())
	}
	if err := iter.Err(); err != nil {
		return nil, fmt.Errorf("leaderboard: rebuild: scan: %w", err)
	}
	keys := append([]string{fam.Rebuild("lock"), fam.Rebuild("touched"), fam.Built()}, old...)
	args := []any{token, fam.Channel(), len(old), int(s.TTL.Seconds())}
	for _, final := range finals {
		p := scratch[final]
		keys = append(keys, p.scratch, final)
		args = append(args, int(p.ttl.Seconds()))
	}
	res, err := swapScript.Run(ctx, s.Redis, keys, args...).Slice()
	if err != nil {
		return nil, fmt.Errorf("leaderboard: rebuild: swap: %w", err)
	}
	if ok, _ := res[0].(int64); ok != 1 {
		for _, p := range scratch { // they would expire within the hour anyway
			s.Redis.Del(context.WithoutCancel(ctx), p.scratch)
		}
		return nil, errLostLock
	}
	var touched []string
	if len(res) == 2 {
		ms, _ := res[1].([]any)
		for _, m := range ms {
			if m, ok := m.(string); ok {
				touched = append(touched, m)
			}
		}
	}
	return touched, nil
}
