package account

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/kepu/kepu/internal/rdb"
	"github.com/kepu/kepu/internal/testenv"
)

// cacheFixture is one account service with a listening session cache on a
// test database and Redis prefix, and a clock the test moves.
type cacheFixture struct {
	db     *testenv.DB
	svc    *Service
	offset atomic.Int64
}

func (f *cacheFixture) advance(d time.Duration) { f.offset.Add(int64(d)) }

// newCacheFixture starts a service whose cache has ttl and size, listening
// through client (the test Redis when nil).
func newCacheFixture(t *testing.T, ttl time.Duration, size int, client redis.UniversalClient) *cacheFixture {
	t.Helper()
	f := &cacheFixture{db: testenv.NewDB(t)}
	r := testenv.NewRedis(t)
	if client == nil {
		client = r.Client
	}
	f.svc = NewService(f.db.Pool, NewHasher(2), time.Hour, 4*time.Hour)
	f.svc.Now = func() time.Time { return time.Now().Add(time.Duration(f.offset.Load())) }
	f.svc.Sessions = NewSessionCache(client, r.Keys, ttl, size)
	ctx, cancel := context.WithCancel(context.Background())
	done := f.svc.Sessions.Listen(ctx)
	t.Cleanup(func() { cancel(); <-done })
	return f
}

// login creates a user and returns one of their session tokens.
func (f *cacheFixture) login(t *testing.T, username string) (int64, string) {
	t.Helper()
	ctx := context.Background()
	id, err := f.svc.EnsureUser(ctx, NewUser{Username: username, Password: "long enough password", Role: "participant", Nickname: username})
	if err != nil {
		t.Fatal(err)
	}
	sess, err := f.svc.StartSession(ctx, id, "", "127.0.0.1", "test")
	if err != nil {
		t.Fatal(err)
	}
	return id, sess.Token
}

// lookup returns the session's username, or "" for ErrNoSession.
func (f *cacheFixture) lookup(t *testing.T, token string) string {
	t.Helper()
	u, err := f.svc.SessionUser(context.Background(), token)
	if errors.Is(err, ErrNoSession) {
		return ""
	}
	if err != nil {
		t.Fatalf("SessionUser: %v", err)
	}
	return u.Username
}

// deleteBehindTheCache ends a session in Postgres without telling any cache.
func (f *cacheFixture) deleteBehindTheCache(t *testing.T, token string) {
	t.Helper()
	if _, err := f.db.Pool.Exec(context.Background(), `DELETE FROM sessions WHERE token_hash = $1`, hashToken(token)); err != nil {
		t.Fatal(err)
	}
}

func (f *cacheFixture) lastSeen(t *testing.T, token string) time.Time {
	t.Helper()
	var ls time.Time
	if err := f.db.Pool.QueryRow(context.Background(), `SELECT last_seen_at FROM sessions WHERE token_hash = $1`,
		hashToken(token)).Scan(&ls); err != nil {
		t.Fatal(err)
	}
	return ls
}

func waitFor(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestSessionCacheServesFromMemory: a resolved session is answered from
// the cache (a row deleted behind its back still resolves) until the TTL
// passes; the service's own revocations take effect at once; the token
// itself is never a key.
func TestSessionCacheServesFromMemory(t *testing.T) {
	f := newCacheFixture(t, time.Minute, 1000, nil)
	c := f.svc.Sessions
	if !c.Live() {
		t.Fatal("cache not serving after Listen returned with Redis up")
	}
	var ttlClock atomic.Int64
	c.Now = func() time.Time { return c.born.Add(time.Duration(ttlClock.Load())) }
	_, tok := f.login(t, "ann")
	if got := f.lookup(t, tok); got != "ann" {
		t.Fatalf("first lookup: got %q, want ann", got)
	}
	if _, ok := c.get(sessionKey(tok)); !ok {
		t.Fatalf("the session is not cached under its token's hash")
	}
	f.deleteBehindTheCache(t, tok)
	if got := f.lookup(t, tok); got != "ann" {
		t.Fatalf("within the TTL: got %q, want ann from the cache", got)
	}
	ttlClock.Add(int64(time.Minute))
	if got := f.lookup(t, tok); got != "" {
		t.Fatalf("after the TTL: got %q, want the session gone (read from Postgres)", got)
	}

	t.Run("logout", func(t *testing.T) {
		_, tok := f.login(t, "ben")
		f.lookup(t, tok)
		if err := f.svc.EndSession(context.Background(), tok); err != nil {
			t.Fatal(err)
		}
		if got := f.lookup(t, tok); got != "" {
			t.Fatalf("after EndSession: got %q, want no session", got)
		}
	})
	t.Run("revoke user", func(t *testing.T) {
		id, tok := f.login(t, "cat")
		f.lookup(t, tok)
		if _, err := f.db.Pool.Exec(context.Background(), `UPDATE users SET nickname = 'Cat' WHERE id = $1`, id); err != nil {
			t.Fatal(err)
		}
		c.RevokeUser(context.Background(), id)
		u, err := f.svc.SessionUser(context.Background(), tok)
		if err != nil || u.Nickname != "Cat" {
			t.Fatalf("after RevokeUser: got %q, %v; want the new nickname from Postgres", u.Nickname, err)
		}
	})
}

// TestSessionCacheExpiry: the cache never serves a session past its
// expires_at or idle limit, and the sliding last_seen_at is still written
// at most once a minute.
func TestSessionCacheExpiry(t *testing.T) {
	f := newCacheFixture(t, time.Minute, 1000, nil) // entries would outlive every step below
	f.svc.Sessions.Now = func() time.Time { return f.svc.Sessions.born }

	t.Run("absolute", func(t *testing.T) {
		_, tok := f.login(t, "dan")
		for i := 1; i <= 4; i++ {
			f.advance(55 * time.Minute)
			if got := f.lookup(t, tok); got != "dan" {
				t.Fatalf("%d×55 minutes after login: got %q, want dan", i, got)
			}
		}
		f.advance(19*time.Minute + 30*time.Second) // 3h59m30s: renewed and cached
		if got := f.lookup(t, tok); got != "dan" {
			t.Fatalf("3h59m30s after login: got %q, want dan", got)
		}
		f.advance(40 * time.Second) // seen 40 s ago, but past expires_at
		if got := f.lookup(t, tok); got != "" {
			t.Fatalf("4h00m10s after login: got %q, want no session", got)
		}
	})
	t.Run("idle and throttled renewal", func(t *testing.T) {
		_, tok := f.login(t, "eve")
		start := f.lastSeen(t, tok)
		f.lookup(t, tok)
		for i := 0; i < 5; i++ {
			f.advance(10 * time.Second)
			f.lookup(t, tok)
		}
		if got := f.lastSeen(t, tok); !got.Equal(start) {
			t.Errorf("last_seen_at after 50 s of requests: got %v, want unchanged %v", got, start)
		}
		f.advance(15 * time.Second) // 65 s after the last write
		f.lookup(t, tok)
		renewed := f.lastSeen(t, tok)
		if !renewed.After(start) {
			t.Fatalf("last_seen_at after 65 s: got %v, want renewed", renewed)
		}
		f.advance(59 * time.Minute) // 59 minutes idle: still alive, renewed again
		if got := f.lookup(t, tok); got != "eve" {
			t.Fatalf("59 idle minutes: got %q, want eve", got)
		}
		f.advance(61 * time.Minute)
		if got := f.lookup(t, tok); got != "" {
			t.Fatalf("61 idle minutes, entry cached: got %q, want no session", got)
		}
	})
	t.Run("disabled user", func(t *testing.T) {
		id, tok := f.login(t, "fay")
		f.lookup(t, tok)
		if _, err := f.db.Pool.Exec(context.Background(), `UPDATE users SET disabled_at = now() WHERE id = $1`, id); err != nil {
			t.Fatal(err)
		}
		f.svc.Sessions.RevokeUser(context.Background(), id)
		if got := f.lookup(t, tok); got != "" {
			t.Fatalf("disabled: got %q, want no session", got)
		}
	})
}

// TestSessionCacheBounded: however many sessions pass through, the cache
// holds at most its size, and keeps the newest.
func TestSessionCacheBounded(t *testing.T) {
	c := NewSessionCache(nil, rdb.Keys{Prefix: "test"}, time.Minute, 640)
	c.live.Store(true)
	var step atomic.Int64
	c.Now = func() time.Time { return c.born.Add(time.Duration(step.Add(1))) }
	var last [32]byte
	for i := 0; i < 50_000; i++ {
		rand.Read(last[:])
		c.put(last, cacheEntry{user: User{ID: int64(i)}}, c.gen.Load())
		if n := c.Len(); n > 640 {
			t.Fatalf("after %d sessions: %d entries, want at most 640", i+1, n)
		}
	}
	if n := c.Len(); n < 600 {
		t.Errorf("full cache holds %d entries, want about 640", n)
	}
	if _, ok := c.get(last); !ok {
		t.Errorf("the newest entry was evicted")
	}

	t.Run("in parallel", func(t *testing.T) {
		var wg sync.WaitGroup
		for g := 0; g < 8; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var k [32]byte
				for i := 0; i < 5000; i++ {
					rand.Read(k[:])
					c.put(k, cacheEntry{}, c.gen.Load())
					c.get(k)
				}
			}()
		}
		wg.Wait()
		if n := c.Len(); n > 640 {
			t.Errorf("%d entries, want at most 640", n)
		}
	})
}

// TestSessionCacheRevocationRace: a Postgres read that began before a
// revocation must not put the revoked session back in the cache.
func TestSessionCacheRevocationRace(t *testing.T) {
	c := NewSessionCache(nil, rdb.Keys{Prefix: "test"}, time.Minute, 1000)
	c.live.Store(true)
	key := sessionKey("token")
	for _, tt := range []struct {
		name   string
		revoke func()
	}{
		{"by token", func() { c.apply("t:" + fmt.Sprintf("%x", key)) }},
		{"by user", func() { c.apply("u:7") }},
		{"another user", func() { c.apply("u:8") }}, // coarse, but safe
		{"garbage", func() { c.apply("?") }},
		{"subscription lost", func() { c.setLive(false); c.setLive(true) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			gen := c.gen.Load() // the read begins
			tt.revoke()
			c.put(key, cacheEntry{user: User{ID: 7}}, gen) // the read ends
			if _, ok := c.get(key); ok {
				t.Fatalf("a read from before the revocation was cached")
			}
		})
	}
	c.put(key, cacheEntry{user: User{ID: 7}}, c.gen.Load())
	c.apply("u:7")
	if _, ok := c.get(key); ok {
		t.Fatalf("u:7 left the user's entry")
	}
}

// TestSessionCacheFallsBackWithoutRedis: while the subscription is down the
// cache serves nothing (every lookup asks Postgres), and it comes back when
// Redis does.
func TestSessionCacheFallsBackWithoutRedis(t *testing.T) {
	p := testenv.NewRedisProxy(t)
	client := redis.NewClient(&redis.Options{Addr: p.Addr(), MaxRetries: -1})
	t.Cleanup(func() { client.Close() })
	f := newCacheFixture(t, time.Minute, 1000, client)
	c := f.svc.Sessions
	if !c.Live() {
		t.Fatal("cache not serving through the proxy")
	}
	_, tok := f.login(t, "gus")
	f.lookup(t, tok)

	p.Cut()
	waitFor(t, "the cache notices the lost subscription", 5*time.Second, func() bool { return !c.Live() })
	if n := c.Len(); n != 0 {
		t.Errorf("cache holds %d entries while unsubscribed, want 0", n)
	}
	f.deleteBehindTheCache(t, tok)
	if got := f.lookup(t, tok); got != "" {
		t.Fatalf("unsubscribed: got %q for a deleted session, want no session", got)
	}
	_, tok2 := f.login(t, "hal") // revocations cannot be published now: logged, not fatal
	f.lookup(t, tok2)
	if c.Len() != 0 {
		t.Errorf("unsubscribed cache stored an entry")
	}

	p.Restore()
	waitFor(t, "the cache resubscribes", 15*time.Second, c.Live)
	f.lookup(t, tok2)
	f.deleteBehindTheCache(t, tok2)
	if got := f.lookup(t, tok2); got != "hal" {
		t.Fatalf("resubscribed: got %q, want hal from the cache", got)
	}
}
