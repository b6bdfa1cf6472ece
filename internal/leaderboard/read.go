package leaderboard

// The read path of every Set, GET /api/v1/campaigns/:id/leaderboard at
// high request rates the first. Per request it costs at most one Redis round trip (a Lua script:
// marker check, the caller's rank and the lines around it) and no Postgres
// query in the common case:
//
//   - the top n of a board is read once per topTTL per instance (one
//     pipeline: marker, ZREVRANGE) and kept encoded as JSON; every request
//     in between shares it, so an HTTP read may show the board up to topTTL
//     older than Redis (the live websocket pushes at most every 400 ms
//     anyway);
//   - nicknames (with the age band and district) are cached per instance
//     for nickTTL (a renamed user shows the new name on boards within
//     nickTTL); public boards mask under-14s' names (MaskNickname).

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/kepu/kepu/internal/gencache"
	"github.com/kepu/kepu/internal/scoring"
)

// Read-path cache lifetimes and size.
const (
	topTTL   = 50 * time.Millisecond
	nickTTL  = 30 * time.Second
	staleTTL = 2 * time.Minute // a top this old is still shown while its board is rebuilt
	maxTops  = 10_000          // cached tops per instance (each board and n; at most 100 entries each)
)

//go:embed around.lua
var aroundLua string

var aroundScript = redis.NewScript(aroundLua)

// topEntry is a cached top n of one board.
type topEntry struct {
	at      time.Time
	entries []Entry
	json    []byte   // entries without "me"
	offsets [][2]int // where each entry's object starts and ends in json
	filling *fill    // the read under way, nil when none
}

// fill is one read of a top n under way; err is set before done closes.
type fill struct {
	done chan struct{}
	err  error
}

// encodeTop encodes entries as a JSON array, noting where each one is.
func encodeTop(entries []Entry) ([]byte, [][2]int, error) {
	out := []byte{'['}
	offsets := make([][2]int, len(entries))
	for i, e := range entries {
		if i > 0 {
			out = append(out, ',')
		}
		j, err := json.Marshal(e)
		if err != nil {
			return nil, nil, err
		}
		offsets[i] = [2]int{len(out), len(out) + len(j)}
		out = append(out, j...)
	}
	return append(out, ']'), offsets, nil
}

type nick struct {
	name     string
	minor    bool // age band u14
	district string
	at       time.Time
}

// sqlNicknames reads what a board line shows of users $1.
const sqlNicknames = `SELECT u.id, u.nickname, coalesce(u.age_band, '') = 'u14',
	coalesce((SELECT d.name FROM regions r JOIN regions d ON d.kind = 'district' AND r.path LIKE d.path || '%'
		WHERE r.id = u.region_id LIMIT 1), '')
	FROM users u WHERE u.id = ANY($1)`

// show fills e's name, tag and district from n (masking minors on public
// boards).
func (s Set[F]) show(e *Entry, n nick, public bool) {
	e.Nickname, e.District, e.Tag = n.name, n.district, tag(s.TagKey, e.userID)
	if public && n.minor {
		e.Nickname = MaskNickname(n.name)
	}
}

// readCache is one instance's read-path cache.
type readCache struct {
	mu    sync.Mutex
	tops  map[string]*topEntry // by board key and n
	nicks gencache.Map[nick]
}

// Page is the JSON body of GET /api/v1/campaigns/:id/leaderboard: the top n
// entries of a board ({"top":[…]}), and for a logged-in caller (me ≠ 0)
// also "my_rank" (0: not on the board) and "around" (the lines from two
// above to two below the caller). The caller's line is marked "me". While
// the campaign's boards are rebuilt (longer than RebuildWait) it is the
// last top this instance read, up to staleTTL old, with "rebuilding":true
// and no rank; ErrRebuilding when there is none.
func (s *Service) Page(ctx context.Context, campaignID int64, b Board, n int, me int64) ([]byte, error) {
	return s.set().Page(ctx, campaignID, s.Key(campaignID, b), n, me, b.Public())
}

// Page is Service.Page for board key of family f of any Set: the cached top
// n, and for me ≠ 0 the caller's rank and the lines around it.
func (s Set[F]) Page(ctx context.Context, f F, key string, n int, me int64, public bool) ([]byte, error) {
	top, stale, err := s.cachedTop(ctx, f, key, n, public)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(top.json)+512)
	out = append(out, `{"top":`...)
	if stale {
		out = append(out, top.json...)
		return append(out, `,"rebuilding":true}`...), nil
	}
	if me == 0 {
		out = append(out, top.json...)
		return append(out, '}'), nil
	}
	rank, around, err := s.around(ctx, f, key, me, 2, public)
	if errors.Is(err, ErrRebuilding) { // the top came from memory
		out = append(out, top.json...)
		return append(out, `,"rebuilding":true}`...), nil
	}
	if err != nil {
		return nil, err
	}
	if rank > 0 && rank <= int64(len(top.entries)) {
		// Only the caller's line changes: the others are copied as encoded.
		me := top.entries[rank-1]
		me.Me = true
		j, err := json.Marshal(me)
		if err != nil {
			return nil, fmt.Errorf("leaderboard: page: %w", err)
		}
		at := top.offsets[rank-1]
		out = append(out, top.json[:at[0]]...)
		out = append(out, j...)
		out = append(out, top.json[at[1]:]...)
	} else {
		out = append(out, top.json...)
	}
	out = append(out, `,"my_rank":`...)
	out = strconv.AppendInt(out, rank, 10)
	j, err := json.Marshal(around)
	if err != nil {
		return nil, fmt.Errorf("leaderboard: page: %w", err)
	}
	out = append(out, `,"around":`...)
	out = append(out, j...)
	return append(out, '}'), nil
}

// cachedTop returns the top n of the board at key, read at most topTTL ago
// (entries, and as JSON without "me"). One request refreshes an expired
// board; the others use the previous read meanwhile (or wait for the first
// read of a board). When the refresh finds the boards being rebuilt
// (ErrRebuilding) it returns the last read, if it is younger than
// staleTTL, with stale set; else ErrRebuilding.
func (s Set[F]) cachedTop(ctx context.Context, f F, key string, n int, public bool) (top topEntry, stale bool, err error) {
	ck := key + "|" + strconv.Itoa(n)
	reads := &s.State.reads
	reads.mu.Lock()
	if reads.tops == nil {
		reads.tops = map[string]*topEntry{}
	}
	e := reads.tops[ck]
	if e == nil {
		reads.prune()
		e = &topEntry{}
		reads.tops[ck] = e
	}
	if e.json != nil && (time.Since(e.at) < topTTL || e.filling != nil) {
		got := *e
		reads.mu.Unlock()
		return got, false, nil
	}
	if fl := e.filling; fl != nil {
		reads.mu.Unlock()
		select {
		case <-fl.done:
		case <-ctx.Done():
			return topEntry{}, false, ctx.Err()
		}
		if fl.err != nil { // the read this request waited for failed: so does this one
			return topEntry{}, false, fl.err
		}
		return s.cachedTop(ctx, f, key, n, public)
	}
	fl := &fill{done: make(chan struct{})}
	e.filling = fl
	reads.mu.Unlock()
	entries, err := s.readTop(ctx, f, key, n, public)
	var j []byte
	var offsets [][2]int
	if err == nil {
		j, offsets, err = encodeTop(entries)
	}
	reads.mu.Lock()
	if err == nil {
		e.at, e.entries, e.json, e.offsets = time.Now(), entries, j, offsets
	}
	e.filling = nil
	got := *e
	reads.mu.Unlock()
	fl.err = err
	close(fl.done)
	if errors.Is(err, ErrRebuilding) && got.json != nil && time.Since(got.at) < staleTTL {
		return got, true, nil
	}
	if err != nil {
		return topEntry{}, false, err
	}
	return got, false, nil
}

// prune keeps the cached tops below maxTops: it drops those older than
// staleTTL, then any not being read. Callers hold mu.
func (c *readCache) prune() {
	if len(c.tops) < maxTops {
		return
	}
	for k, e := range c.tops {
		if e.filling == nil && time.Since(e.at) > staleTTL {
			delete(c.tops, k)
		}
	}
	for k, e := range c.tops {
		if len(c.tops) < maxTops/2 {
			return
		}
		if e.filling == nil {
			delete(c.tops, k)
		}
	}
}

// readTop reads the top n of a board with nicknames, rebuilding the
// family's boards first when Redis lost them.
func (s Set[F]) readTop(ctx context.Context, f F, key string, n int, public bool) ([]Entry, error) {
	pipe := s.Redis.Pipeline()
	built := pipe.Exists(ctx, s.Source.Keys(f).Built())
	rng := pipe.ZRevRangeWithScores(ctx, key, 0, int64(n-1))
	if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
		return nil, fmt.Errorf("leaderboard: top: %w", err)
	}
	if built.Val() == 0 {
		if err := s.Ensure(ctx, f); err != nil {
			return nil, err
		}
		return s.readTop(ctx, f, key, n, public)
	}
	return s.entries(ctx, rng.Val(), 0, 0, public)
}

// around returns the user's rank on the board at key and the entries from
// k above to k below it, in one round trip (around.lua).
func (s Set[F]) around(ctx context.Context, f F, key string, userID int64, k int, public bool) (int64, []Entry, error) {
	res, err := aroundScript.Run(ctx, s.Redis, []string{s.Source.Keys(f).Built(), key}, strconv.FormatInt(userID, 10), k).Slice()
	if err != nil {
		return 0, nil, fmt.Errorf("leaderboard: around: %w", err)
	}
	rank, _ := res[0].(int64)
	switch rank {
	case -2: // Redis lost the boards
		if err := s.Ensure(ctx, f); err != nil {
			return 0, nil, err
		}
		return s.around(ctx, f, key, userID, k, public)
	case -1:
		return 0, []Entry{}, nil
	}
	flat, _ := res[1].([]any)
	zs := make([]redis.Z, 0, len(flat)/2)
	for i := 0; i+1 < len(flat); i += 2 {
		m, _ := flat[i].(string)
		sc, _ := flat[i+1].(string)
		f, err := strconv.ParseFloat(sc, 64)
		if err != nil {
			return 0, nil, fmt.Errorf("leaderboard: around: score %q: %w", sc, err)
		}
		zs = append(zs, redis.Z{Member: m, Score: f})
	}
	from := max(rank-int64(k), 0)
	es, err := s.entries(ctx, zs, from, userID, public)
	return rank + 1, es, err
}

// entries turns ZREVRANGE results starting at 0-based rank from into
// entries with nicknames, tags and districts (cached for nickTTL); public
// boards mask under-14s' nicknames.
func (s Set[F]) entries(ctx context.Context, zs []redis.Z, from int64, me int64, public bool) ([]Entry, error) {
	reads := &s.State.reads
	out := make([]Entry, 0, len(zs))
	var missing []int64
	now := time.Now()
	reads.mu.Lock()
	for i, z := range zs {
		m, _ := z.Member.(string)
		id, _ := strconv.ParseInt(m, 10, 64)
		score, ts, _ := scoring.DecodeStanding(z.Score)
		e := Entry{Rank: from + int64(i) + 1, Score: score, TimeS: ts, Me: id == me && me != 0, userID: id}
		if nk, ok := reads.nicks.Get(id); ok && now.Sub(nk.at) < nickTTL {
			s.show(&e, nk, public)
		} else {
			missing = append(missing, id)
		}
		out = append(out, e)
	}
	reads.mu.Unlock()
	if len(missing) == 0 {
		return out, nil
	}
	rows, _ := s.DB.Query(ctx, sqlNicknames, missing)
	names := make(map[int64]nick, len(missing))
	var id int64
	var n nick
	if _, err := pgx.ForEachRow(rows, []any{&id, &n.name, &n.minor, &n.district}, func() error {
		n.at = now
		names[id] = n
		return nil
	}); err != nil {
		return nil, fmt.Errorf("leaderboard: nicknames: %w", err)
	}
	reads.mu.Lock()
	for id, n := range names {
		reads.nicks.Put(id, n)
	}
	reads.mu.Unlock()
	for i := range out {
		if out[i].Tag == "" {
			s.show(&out[i], names[out[i].userID], public)
		}
	}
	return out, nil
}
