// Package app wires Kepu together: Config → Postgres, Redis, services, HTTP
// server. It holds no logic of its own.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/kepu/kepu/internal/account"
	"github.com/kepu/kepu/internal/bank"
	"github.com/kepu/kepu/internal/calibrate"
	"github.com/kepu/kepu/internal/campaign"
	"github.com/kepu/kepu/internal/config"
	"github.com/kepu/kepu/internal/contest"
	"github.com/kepu/kepu/internal/dashboard"
	"github.com/kepu/kepu/internal/i18n"
	"github.com/kepu/kepu/internal/invite"
	"github.com/kepu/kepu/internal/leaderboard"
	"github.com/kepu/kepu/internal/literacy"
	"github.com/kepu/kepu/internal/notebook"
	"github.com/kepu/kepu/internal/org"
	"github.com/kepu/kepu/internal/pk"
	"github.com/kepu/kepu/internal/postgres"
	"github.com/kepu/kepu/internal/practice"
	"github.com/kepu/kepu/internal/prize"
	"github.com/kepu/kepu/internal/ratelimit"
	"github.com/kepu/kepu/internal/rdb"
	"github.com/kepu/kepu/internal/server"
	"github.com/kepu/kepu/web"
)

// App is one running Kepu instance.
type App struct {
	Config config.Config
	Log    *slog.Logger
	DB     *pgxpool.Pool
	// Reads sends lag-tolerant reads to the replica of
	// KEPU_DATABASE_READ_URL while it is well (else to DB).
	Reads    *postgres.Reads
	Redis    redis.UniversalClient
	Keys     rdb.Keys
	I18n     *i18n.Bundle
	Accounts *account.Service
	// Sessions is the account service's session cache (Accounts.Sessions):
	// it publishes revocations from every subcommand, and serves and
	// listens for them only in Serve.
	Sessions *account.SessionCache
	Org      *org.Service
	Contests *contest.Service
	Dash     *dashboard.Service
	Bank     *bank.Service
	// Campaigns and Boards: timed quiz campaigns and their leaderboards.
	Campaigns *campaign.Service
	// Invites: invitations, their reach and the online-to-live final.
	Invites  *invite.Service
	Boards   *leaderboard.Service
	Literacy *literacy.Service // the literacy share and the five-year report
	PK       *pk.Service       // PK battles: matchmaking, matches, the practice bot
	// Calibration fits the items' response model (kepu calibrate, and
	// the periodic job Serve runs).
	Calibration *calibrate.Service
	// Prizes: campaign prizes, the verifiable lottery and the frozen final board.
	Prizes *prize.Service
	// Practice: the daily practice, points, streaks and weekly boards;
	// Notebook: the wrong-answer notebook. Both on the campaigns' clock.
	Practice *practice.Service
	Notebook *notebook.Service
	Server   *server.Server

	stop context.CancelFunc
}

// NewLogger returns the JSON logger at the configured level.
func NewLogger(level slog.Level) *slog.Logger {
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

// Open connects to Postgres and Redis and builds the services (not the HTTP
// server): what every subcommand needs.
func Open(ctx context.Context, cfg config.Config, log *slog.Logger) (*App, error) {
	a := &App{Config: cfg, Log: log, Keys: rdb.Keys{Prefix: cfg.RedisPrefix}}
	var err error
	if a.DB, err = postgres.Open(ctx, cfg.DatabaseURL, postgres.Limits(cfg.DB)); err != nil {
		return nil, err
	}
	if a.Redis, err = rdb.Open(ctx, cfg.RedisURL); err != nil {
		a.DB.Close()
		return nil, err
	}
	a.Reads = &postgres.Reads{Primary: a.DB, MaxLag: cfg.ReadMaxLag, Log: log}
	if cfg.DatabaseReadURL != "" {
		if a.Reads.Standby, err = postgres.OpenReplica(cfg.DatabaseReadURL, postgres.Limits(cfg.DB)); err != nil {
			a.Close()
			return nil, err
		}
	}
	if a.I18n, err = i18n.Load(web.Locales); err != nil {
		a.Close()
		return nil, err
	}
	hasher := account.NewHasher(cfg.MaxHashes)
	hasher.Wait = cfg.HashWait
	a.Accounts = account.NewService(a.DB, hasher, cfg.SessionIdle, cfg.SessionMax)
	a.Sessions = account.NewSessionCache(a.Redis, a.Keys, cfg.SessionCacheTTL, cfg.SessionCacheSize)
	a.Sessions.Log = log
	a.Accounts.Sessions = a.Sessions
	a.Org = &org.Service{DB: a.DB}
	a.Accounts.Classes = a.Org
	a.Contests = contest.NewService(a.DB, a.Redis, a.Keys, a.Org)
	a.Contests.MaxPlayers = cfg.ContestMaxPlayers
	a.Contests.Log = a.Log
	a.Accounts.Exporters = append(a.Accounts.Exporters, a.Contests.ExportUser)
	a.Calibration = &calibrate.Service{DB: a.DB, Log: log}
	a.Dash = &dashboard.Service{DB: a.DB, Reads: a.Reads, Org: a.Org, Calibrated: a.Calibration}
	a.Bank = &bank.Service{DB: a.DB, Org: a.Org}
	a.Literacy = &literacy.Service{DB: a.DB, Org: a.Org, Dash: a.Dash}
	a.Campaigns = campaign.NewService(a.DB, a.Org)
	a.Accounts.Attempts = a.Campaigns // the rule on district changes
	a.Accounts.Guests = a.Campaigns   // a guest who registers keeps their attempts
	a.Campaigns.Log = log
	a.Campaigns.Calibrated = a.Calibration // parallel forms
	a.Accounts.Exporters = append(a.Accounts.Exporters, a.Campaigns.ExportUser)
	a.PK = pk.NewService(a.DB, a.Redis, a.Keys)
	a.PK.Log = log
	a.Boards = &leaderboard.Service{DB: a.DB, Redis: a.Redis, Keys: a.Keys, Now: func() time.Time { return a.Campaigns.Now() },
		TagKey: cfg.SecretKey, Log: log}
	a.Invites = &invite.Service{DB: a.DB, Campaigns: a.Campaigns, Contests: a.Contests, Org: a.Org,
		Now: func() time.Time { return a.Campaigns.Now() }}
	a.Campaigns.Extra = a.Invites // the invitation reward's extra attempt
	a.Campaigns.OnFinish = append(a.Campaigns.OnFinish, a.Invites.Finished)
	a.Campaigns.OnFinish = append(a.Campaigns.OnFinish, func(ctx context.Context, t campaign.Attempt) error {
		if t.StaffPractice || t.Practice { // never ranked (docs/security.md, docs/campaigns.md)
			return nil
		}
		return a.Boards.Record(ctx, t.CampaignID, t.UserID)
	})
	a.Prizes = &prize.Service{DB: a.DB, Campaigns: a.Campaigns, Key: cfg.SecretKey, Log: log,
		Now: func() time.Time { return a.Campaigns.Now() }}
	a.Accounts.Exporters = append(a.Accounts.Exporters, a.Prizes.ExportUser)
	campaignNow := func() time.Time { return a.Campaigns.Now() }
	a.Notebook = &notebook.Service{DB: a.DB, Now: campaignNow}
	a.Practice = &practice.Service{DB: a.DB, Notebook: a.Notebook, Now: campaignNow, Log: log,
		Boards: &practice.Boards{Redis: a.Redis, Keys: a.Keys, Log: log}}
	a.PK.Levels = pkLevels{a.Practice} // matchmaking by practice level; match points into the ledger
	return a, nil
}

// pkLevels gives PK the practice record: a person's practice level (0–10,
// from their recent daily-practice answers) as PK's level 1–11, and a
// finished match's points into the points ledger (reason "pk", once per
// match and person).
type pkLevels struct{ p *practice.Service }

func (l pkLevels) LevelOf(ctx context.Context, userID int64) (int, error) {
	n, err := l.p.Level(ctx, userID)
	return n + 1, err
}

func (l pkLevels) AddPoints(ctx context.Context, userID int64, points int, source string, ref int64) error {
	added, err := l.p.AddPoints(ctx, nil, userID, points, source, strconv.FormatInt(ref, 10))
	if err == nil && added {
		l.p.BoardTouch(ctx, userID)
	}
	return err
}

// BuildServer builds the HTTP server on top of the services.
func (a *App) BuildServer() error {
	limiter := ratelimit.New(a.Redis, a.Keys)
	limiter.Outage.Log = a.Log
	s, err := server.New(server.Deps{
		Config: a.Config, Log: a.Log, DB: a.DB, Reads: a.Reads, Redis: a.Redis, I18n: a.I18n,
		Accounts: a.Accounts, Org: a.Org, Limiter: limiter,
		Contests: a.Contests, Dash: a.Dash, Bank: a.Bank, Campaigns: a.Campaigns, Boards: a.Boards, Invites: a.Invites,
		Literacy: a.Literacy, Prizes: a.Prizes, PK: a.PK, Practice: a.Practice, Notebook: a.Notebook,
	})
	if err != nil {
		return err
	}
	s.Registry().MustRegister(a.Contests.TickFailures, a.Contests.RoomRebuilds, limiter.Fallbacks)
	a.Server = s
	return nil
}

// Serve listens on ln (or Config.Addr when nil) until ctx ends or the
// listener fails. It owns the instance's background work — the session
// cache's revocation listener, session housekeeping, the contest runner,
// the dashboard refresher, the calibration job and the server's live subscriptions and push
// loops — which it starts before serving and, at the end, stops and waits
// for (at most shutdownWait): stop accepting, close websockets with
// "going away", finish requests in flight, then stop the rest.
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	if a.Server == nil {
		if err := a.BuildServer(); err != nil {
			return err
		}
	}
	bg, cancel := context.WithCancel(context.Background())
	a.stop = cancel
	var work sync.WaitGroup
	// Subscribed (or not, if Redis refuses) before the first request.
	sessionsDone := a.Sessions.Listen(bg)
	serverDone := a.Server.Start(bg)
	work.Go(func() { <-sessionsDone })
	work.Go(func() { <-serverDone })
	work.Go(func() { a.housekeeping(bg) })
	work.Go(func() { a.Reads.Run(bg) })
	work.Go(func() { a.Contests.Run(bg, 100*time.Millisecond, a.Log) })
	work.Go(func() { (&calibrate.Job{Service: a.Calibration, Every: a.Config.CalibrateEvery}).Run(bg) })
	work.Go(func() { (&prize.Job{Service: a.Prizes, Every: time.Minute}).Run(bg) })
	work.Go(func() {
		(&dashboard.Refresher{DB: a.DB, Log: a.Log, OnRefresh: a.Server.DashRefreshed}).Run(bg)
	})
	errc := make(chan error, 1)
	go func() {
		if ln != nil {
			errc <- a.Server.App.Listener(ln)
		} else {
			errc <- a.Server.App.Listen(a.Config.Addr)
		}
	}()
	var serveErr error
	select {
	case err := <-errc:
		serveErr = fmt.Errorf("app: serve: %w", err)
	case <-ctx.Done():
		a.Log.Info("shutting down")
	}
	sctx, scancel := context.WithTimeout(context.Background(), shutdownWait)
	defer scancel()
	err := a.Server.Shutdown(sctx)
	cancel()
	if !waitUntil(sctx, &work) {
		a.Log.Warn("shutdown: background work still running", "waited", shutdownWait)
	}
	if serveErr != nil {
		return serveErr
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("app: shutdown: %w", err)
	}
	return nil
}

// shutdownWait bounds a graceful shutdown: requests in flight, then the
// background work.
const shutdownWait = 15 * time.Second

// waitUntil waits for wg until ctx ends; false: ctx ended first.
func waitUntil(ctx context.Context, wg *sync.WaitGroup) bool {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		return true
	case <-ctx.Done():
		return false
	}
}

// housekeeping purges expired sessions every ten minutes.
func (a *App) housekeeping(ctx context.Context) {
	t := time.NewTicker(10 * time.Minute)
	defer t.Stop()
	for {
		if n, err := a.Accounts.PurgeSessions(ctx); err != nil && ctx.Err() == nil {
			a.Log.Warn("purge sessions", "err", err)
		} else if n > 0 {
			a.Log.Debug("purged sessions", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Close releases connections.
func (a *App) Close() {
	if a.stop != nil {
		a.stop()
	}
	if a.Redis != nil {
		a.Redis.Close()
	}
	if a.Reads != nil && a.Reads.Standby != nil {
		a.Reads.Standby.Close()
	}
	if a.DB != nil {
		a.DB.Close()
	}
}
