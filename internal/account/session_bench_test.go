package account

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/kepu/kepu/internal/testenv"
)

// BenchmarkSessionUser is the lookup the session middleware makes on every
// authenticated request, on real Postgres, without and with the session
// cache: 1,000 users with one session each, requests spread over them.
//
//	go test -run '^$' -bench SessionUser -benchmem ./internal/account
func BenchmarkSessionUser(b *testing.B) {
	db := testenv.NewDB(b)
	r := testenv.NewRedis(b)
	ctx := context.Background()
	setup := NewService(db.Pool, NewHasher(1), time.Hour, 24*time.Hour)
	const users = 1000
	if _, err := db.Pool.Exec(ctx, `INSERT INTO users (username, role, nickname)
		SELECT 'bench' || i, 'participant', 'bench' || i FROM generate_series(1, $1) i`, users); err != nil {
		b.Fatal(err)
	}
	tokens := make([]string, users)
	for i := range tokens {
		s, err := setup.StartSession(ctx, int64(i+1), "", "127.0.0.1", "bench")
		if err != nil {
			b.Fatal(err)
		}
		tokens[i] = s.Token
	}
	for _, ttl := range []time.Duration{0, DefaultSessionCacheTTL} {
		name := "uncached"
		if ttl > 0 {
			name = "cached"
		}
		b.Run(name, func(b *testing.B) {
			svc := NewService(db.Pool, setup.Hasher, time.Hour, 24*time.Hour)
			svc.Sessions = NewSessionCache(r.Client, r.Keys, ttl, DefaultSessionCacheSize)
			svc.Sessions.Log = slog.New(slog.DiscardHandler)
			lctx, cancel := context.WithCancel(ctx)
			done := svc.Sessions.Listen(lctx)
			defer func() { cancel(); <-done }()
			if ttl > 0 && !svc.Sessions.Live() {
				b.Fatal("cache not serving")
			}
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					i++
					if _, err := svc.SessionUser(ctx, tokens[i%users]); err != nil {
						panic(fmt.Sprintf("SessionUser: %v", err))
					}
				}
			})
		})
	}
}
