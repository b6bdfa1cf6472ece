package server

import (
	"context"
	"net"
	"net/http/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/kepu/kepu/internal/kepu"
	"github.com/kepu/kepu/internal/postgres"
)

// metrics are the Prometheus metrics of one instance.
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	// Registry lets feature code add its own collectors.
}

func newMetrics() *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "kepu_http_requests_total", Help: "HTTP requests by method, route and status.",
	}, []string{"method", "route", "status"})
	m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "kepu_http_request_duration_seconds", Help: "HTTP request latency by route.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
	}, []string{"method", "route"})
	m.reg.MustRegister(m.requests, m.duration, collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// observe counts one request. method and route may point into Fiber's
// reused buffers (valid only during the request), so the labels are a
// constant for the method and a copy of the route: a label kept after the
// request would change under the registry, and the scrape would fail with
// "was collected before with the same name and label values".
func (m *metrics) observe(method, route string, status int, d time.Duration) {
	method = methodLabel(method)
	route = strings.Clone(route)
	m.requests.WithLabelValues(method, route, strconv.Itoa(status)).Inc()
	m.duration.WithLabelValues(method, route).Observe(d.Seconds())
}

// methodLabel returns the constant for a standard HTTP method, else
// "other" (which also keeps the label set bounded).
func methodLabel(method string) string {
	for _, m := range [...]string{fiber.MethodGet, fiber.MethodPost, fiber.MethodPut, fiber.MethodDelete,
		fiber.MethodPatch, fiber.MethodHead, fiber.MethodOptions, fiber.MethodConnect, fiber.MethodTrace} {
		if method == m {
			return m
		}
	}
	return "other"
}

// Registry returns the Prometheus registry, for features to register on.
func (s *Server) Registry() *prometheus.Registry { return s.metrics.reg }

// loopbackOnly lets through only requests from this machine (not via a proxy).
func loopbackOnly(c *fiber.Ctx) error {
	ip := net.ParseIP(c.Context().RemoteIP().String())
	if ip == nil || !ip.IsLoopback() || c.Get(fiber.HeaderXForwardedFor) != "" {
		return kepu.Forbidden
	}
	return c.Next()
}

func (s *Server) opsRoutes() {
	a := s.App
	a.Get("/healthz", func(c *fiber.Ctx) error {
		return c.JSON(fiber.Map{"status": "ok"})
	})
	a.Get("/readyz", s.readyz)
	a.Get("/metrics", loopbackOnly, adaptor.HTTPHandler(promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{})))
	if s.cfg.Pprof {
		a.Get("/debug/pprof/*", loopbackOnly, func(c *fiber.Ctx) error {
			switch c.Params("*") {
			case "profile":
				return adaptor.HTTPHandlerFunc(pprof.Profile)(c)
			case "trace":
				return adaptor.HTTPHandlerFunc(pprof.Trace)(c)
			case "cmdline":
				return adaptor.HTTPHandlerFunc(pprof.Cmdline)(c)
			case "symbol":
				return adaptor.HTTPHandlerFunc(pprof.Symbol)(c)
			}
			return adaptor.HTTPHandlerFunc(pprof.Index)(c)
		})
	}
}

// readyCheckTimeout is how long /readyz waits for each dependency.
const readyCheckTimeout = 2 * time.Second

// readyz answers 200 when Postgres and Redis answer and the schema is
// current, else 503. Each dependency is checked at the same time with its
// own deadline, so a slow one never makes the other look down; the body
// names each one's state ("ok", "unreachable", "migrations pending");
// with a read replica it also tells where lag-tolerant reads go and the
// replica's lag.
func (s *Server) readyz(c *fiber.Ctx) error {
	check := func(f func(ctx context.Context) string) <-chan string {
		out := make(chan string, 1)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), readyCheckTimeout)
			defer cancel()
			out <- f(ctx)
		}()
		return out
	}
	pg := check(func(ctx context.Context) string {
		if err := s.db.Ping(ctx); err != nil {
			return "unreachable"
		}
		if pending, err := postgres.Pending(ctx, s.db); err != nil {
			return "unreachable"
		} else if pending {
			return "migrations pending"
		}
		return "ok"
	})
	rd := check(func(ctx context.Context) string {
		if err := s.redis.Ping(ctx).Err(); err != nil {
			return "unreachable"
		}
		return "ok"
	})
	checks := fiber.Map{"postgres": <-pg, "redis": <-rd}
	ok := checks["postgres"] == "ok" && checks["redis"] == "ok"
	// The read replica is reported, never a reason to be unready: reads
	// fall back to the primary without it.
	if st := s.reads.Status(); st.Replica {
		checks["replica"] = st
	}
	if !ok {
		c.Status(fiber.StatusServiceUnavailable)
		c.Set(fiber.HeaderRetryAfter, "5")
	}
	checks["status"] = map[bool]string{true: "ok", false: "unavailable"}[ok]
	return c.JSON(checks)
}
