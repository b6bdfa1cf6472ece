// Package server is Kepu's HTTP layer: the Fiber app, its middleware, the one
// error handler, page rendering and the handlers of every resource. Handlers
// are thin: parse, validate, call a service, respond.
package server

import (
	"context"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/recover"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/kepu/kepu/internal/account"
	"github.com/kepu/kepu/internal/bank"
	"github.com/kepu/kepu/internal/campaign"
	"github.com/kepu/kepu/internal/certificate"
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
	"github.com/kepu/kepu/internal/realtime"
)

// Deps are the services the server calls.
type Deps struct {
	Config   config.Config
	Log      *slog.Logger
	DB       *pgxpool.Pool
	Reads    *postgres.Reads // where lag-tolerant reads go (reported by /readyz)
	Redis    redis.UniversalClient
	I18n     *i18n.Bundle
	Accounts *account.Service
	Org      *org.Service
	Limiter  *ratelimit.Limiter
	Contests *contest.Service
	Dash     *dashboard.Service
	Bank     *bank.Service
	// Campaigns and Boards: timed quiz campaigns and their leaderboards.
	Campaigns *campaign.Service
	Boards    *leaderboard.Service
	Literacy  *literacy.Service // the literacy share and the five-year report (literacy.go)
	Prizes    *prize.Service    // campaign prizes, the lottery and the final board (prize.go)
	PK        *pk.Service       // PK battles (pk.go, pk_ws.go)
	Invites   *invite.Service   // invitations and the online-to-live final (invite.go; nil: none)
	// Practice and Notebook: the daily practice, points, streaks, weekly
	// boards and the wrong-answer notebook (practice.go).
	Practice *practice.Service
	Notebook *notebook.Service
}

// Server is the HTTP server of one Kepu instance.
type Server struct {
	App *fiber.App

	cfg       config.Config
	log       *slog.Logger
	db        *pgxpool.Pool
	reads     *postgres.Reads
	redis     redis.UniversalClient
	i18n      *i18n.Bundle
	accounts  *account.Service
	org       *org.Service
	limiter   *ratelimit.Limiter
	contests  *contest.Service
	dash      *dashboard.Service
	bank      *bank.Service
	campaigns *campaign.Service
	boards    *leaderboard.Service
	literacy  *literacy.Service
	prizes    *prize.Service
	pk        *pk.Service
	pkDrivers pkDrivers // this instance's PK match drivers (pk_ws.go)
	invites   *invite.Service
	practice  *practice.Service
	notebook  *notebook.Service
	issuers   *certificate.Issuers // who issues certificates (cert_issuer.go)
	lbHub     *lbHub
	dashHub   *dashHub
	portal    portalCache // the home page's public figures (portal.go)
	live      *realtime.Hub
	pages     *pages
	metrics   *metrics
	wsOrigins string
	// shutdown is closed when the server begins to stop (Shutdown); a
	// websocket registered after that is closed with "going away".
	shutdown chan struct{}
	// bg holds the background work started by Start: the live
	// subscriptions and push loops of the three sockets, result senders.
	bg sync.WaitGroup
}

// MaxBody is the largest request body Fiber reads at all; JSON handlers
// enforce smaller limits of their own (decodeJSON).
const MaxBody = 16 << 20

// New builds the Fiber app with every route.
func New(d Deps) (*Server, error) {
	s := &Server{
		cfg: d.Config, log: d.Log, db: d.DB, reads: d.Reads, redis: d.Redis, i18n: d.I18n,
		accounts: d.Accounts, org: d.Org, limiter: d.Limiter,
		contests: d.Contests, dash: d.Dash, bank: d.Bank, campaigns: d.Campaigns, boards: d.Boards,
		literacy: d.Literacy, prizes: d.Prizes, pk: d.PK, invites: d.Invites, practice: d.Practice, notebook: d.Notebook, issuers: &certificate.Issuers{DB: d.DB}, metrics: newMetrics(), shutdown: make(chan struct{}),
		live: realtime.NewHub(), lbHub: newLBHub(),
	}
	s.dashHub = newDashHub(s.metrics.reg)
	var err error
	if s.pages, err = loadPages(); err != nil {
		return nil, err
	}
	var ws []string
	for _, o := range d.Config.Origins() {
		if u, err := url.Parse(o); err == nil {
			scheme := "ws"
			if u.Scheme == "https" {
				scheme = "wss"
			}
			ws = append(ws, scheme+"://"+u.Host)
		}
	}
	s.wsOrigins = strings.Join(ws, " ")

	fcfg := fiber.Config{
		AppName:                 "kepu",
		ErrorHandler:            s.handleError,
		BodyLimit:               MaxBody,
		ReadTimeout:             30 * time.Second,
		WriteTimeout:            60 * time.Second,
		IdleTimeout:             120 * time.Second,
		DisableStartupMessage:   true,
		EnableTrustedProxyCheck: true,
		TrustedProxies:          d.Config.TrustedProxies,
		ReadBufferSize:          8192,
		// Give a connection's read and write buffers back to the pool
		// between requests. Above all, a websocket upgrade then does not
		// keep fasthttp's 8 KB read buffer for the life of the socket
		// (10,000 idle players: 80 MB); see docs/benchmarks.md, contest.
		ReduceMemoryUsage: true,
	}
	if len(d.Config.TrustedProxies) > 0 {
		fcfg.ProxyHeader = fiber.HeaderXForwardedFor
		fcfg.EnableIPValidation = true
	}
	s.App = fiber.New(fcfg)
	// A worker goroutine keeps the stack a request grew (often 16–32 KB)
	// while it idles; after a burst (10,000 phones joining a contest) a
	// second is long enough to wait for more work (fasthttp's default: 10 s).
	s.App.Server().MaxIdleWorkerDuration = time.Second
	s.App.Use(recover.New(recover.Config{EnableStackTrace: true, StackTraceHandler: func(c *fiber.Ctx, e any) {
		s.log.Error("panic", "request_id", requestID(c), "panic", e)
	}}))
	s.App.Use(s.requestIDMiddleware, s.logMiddleware, s.deadlineMiddleware, s.securityHeaders)
	s.routes()
	return s, nil
}

// Start starts the server's background work, which runs until ctx ends:
// the Redis subscriptions of the three live sockets (contest rooms,
// leaderboards, dashboards) and their push loops. It returns once the
// first attempt to subscribe is done (so events published after it reach
// this instance's sockets); the returned channel is closed when all of
// the background work, result senders included, has stopped. The owner
// (app.App.Serve) calls it once, before serving, and waits for it.
func (s *Server) Start(ctx context.Context) <-chan struct{} {
	s.startContestLive(ctx)
	s.startLeaderboardLive(ctx)
	s.startDashLive(ctx)
	s.startPKLive(ctx)
	done := make(chan struct{})
	go func() { s.bg.Wait(); close(done) }()
	return done
}

// Shutdown stops accepting connections, closes every websocket with
// "going away" (clients reconnect, to another instance if this one is
// gone), and waits until ctx ends for requests in flight. The background
// work started by Start stops with Start's context.
func (s *Server) Shutdown(ctx context.Context) error {
	close(s.shutdown)
	for _, h := range []*realtime.Hub{s.live, s.lbHub.hub, s.dashHub.hub} {
		h.CloseAll(realtime.CloseGoingAway, "server stopping")
	}
	return s.App.ShutdownWithContext(ctx)
}

// stopping reports whether Shutdown has begun.
func (s *Server) stopping() bool {
	select {
	case <-s.shutdown:
		return true
	default:
		return false
	}
}

func (s *Server) routes() {
	a := s.App
	s.opsRoutes()
	s.staticRoutes()
	a.Use(s.sessionMiddleware)

	api := a.Group("/api/v1", s.csrfMiddleware)
	s.accountRoutes(api)
	s.orgRoutes(api)
	s.adminRoutes(api)
	s.contestRoutes(api)
	s.dashRoutes(api)
	s.bankRoutes(api)
	s.campaignRoutes(api)
	s.campaignSignalRoutes(api)
	s.literacyRoutes(api)
	s.practiceRoutes(api)
	s.certIssuerRoutes(api)
	s.prizeRoutes(api)
	s.pkRoutes(api)
	s.inviteRoutes(api)

	s.pageRoutes()
	a.Use(func(c *fiber.Ctx) error { return fiber.ErrNotFound })
}
