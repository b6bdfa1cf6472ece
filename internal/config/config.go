// Package config reads Kepu's typed configuration from KEPU_* environment
// variables. Every setting has a default that works for `make run`.
package config

import (
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/kepu/kepu/internal/rdb"
)

// Config is the whole configuration of one Kepu process.
type Config struct {
	Addr        string // KEPU_ADDR: listen address
	DatabaseURL string // KEPU_DATABASE_URL
	// DatabaseReadURL is a streaming replica for reads that tolerate lag
	// (KEPU_DATABASE_READ_URL; "" none), used while its lag is at most
	// ReadMaxLag (KEPU_READ_MAX_LAG).
	DatabaseReadURL string
	ReadMaxLag      time.Duration
	RedisURL        string        // KEPU_REDIS_URL
	BaseURL         string        // KEPU_BASE_URL: public URL, used in links, QR codes, cookies
	SecretKey       []byte        // KEPU_SECRET_KEY: hex, >= 32 bytes; signs CSRF tokens
	AllowedOrigins  []string      // KEPU_ALLOWED_ORIGINS: websocket/CSRF origins; BaseURL is always allowed
	TrustedProxies  []string      // KEPU_TRUSTED_PROXIES: IPs or CIDRs whose X-Forwarded-For is believed
	LogLevel        slog.Level    // KEPU_LOG_LEVEL: debug, info, warn, error
	SessionIdle     time.Duration // KEPU_SESSION_IDLE: a session unused this long ends
	SessionMax      time.Duration // KEPU_SESSION_MAX: a session ends this long after login, used or not
	RedisPrefix     string        // KEPU_REDIS_PREFIX: prefix of every Redis key
	Pprof           bool          // KEPU_PPROF: serve /debug/pprof to loopback clients
	MaxHashes       int           // KEPU_MAX_HASHES: concurrent argon2id hashes (default: the number of cores)
	HashWait        time.Duration // KEPU_HASH_WAIT: how long a password login waits for a hash slot before 503
	// SessionCacheTTL (KEPU_SESSION_CACHE_TTL) is how long an instance
	// answers a session from memory after reading it from Postgres; 0 turns
	// the cache off. SessionCacheSize (KEPU_SESSION_CACHE_SIZE) bounds the
	// entries per instance.
	SessionCacheTTL  time.Duration
	SessionCacheSize int
	// ContestMaxPlayers (KEPU_CONTEST_MAX_PLAYERS) is the most players one
	// live contest room holds, across all instances.
	ContestMaxPlayers int
	// CalibrateEvery (KEPU_CALIBRATE_EVERY) is how often the cluster
	// recalibrates the items from the answers (internal/calibrate.Job); 0: never.
	CalibrateEvery time.Duration
	// Waits (docs/operations.md): RequestTimeout (KEPU_REQUEST_TIMEOUT)
	// bounds every request, ExportTimeout (KEPU_EXPORT_TIMEOUT) the export
	// downloads instead; DB holds the pool's own bounds.
	RequestTimeout time.Duration
	ExportTimeout  time.Duration
	DB             DBLimits
}

// DBLimits bound every wait on Postgres, whoever waits.
type DBLimits struct {
	StatementTimeout time.Duration // KEPU_DB_STATEMENT_TIMEOUT: Postgres statement_timeout
	LockTimeout      time.Duration // KEPU_DB_LOCK_TIMEOUT: Postgres lock_timeout
	AcquireTimeout   time.Duration // KEPU_DB_ACQUIRE_TIMEOUT: longest wait for a connection of the pool
}

// DevSecret is the secret used when KEPU_SECRET_KEY is unset. It is fine for
// `make run` on a laptop and refused when KEPU_ENV=production.
const DevSecret = "6b6570752d6465762d7365637265742d6b65792d6e6f742d666f722d70726f64"

// Load reads the environment through getenv (os.Getenv when nil) and
// validates it. The error names the bad variable.
func Load(getenv func(string) string) (Config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	get := func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}
	c := Config{
		Addr:        get("KEPU_ADDR", "127.0.0.1:8080"),
		DatabaseURL: get("KEPU_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/kepu?sslmode=disable"),
		RedisURL:    get("KEPU_REDIS_URL", "redis://127.0.0.1:6379/0"),
		RedisPrefix: get("KEPU_REDIS_PREFIX", "kepu"),
	}
	var errs []string
	bad := func(name, why string) { errs = append(errs, fmt.Sprintf("%s: %s", name, why)) }

	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		bad("KEPU_ADDR", "want host:port, e.g. 127.0.0.1:8080")
	}
	if u, err := url.Parse(c.DatabaseURL); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		bad("KEPU_DATABASE_URL", "want postgres://user@host:port/db")
	}
	c.DatabaseReadURL = strings.TrimSpace(getenv("KEPU_DATABASE_READ_URL"))
	if c.DatabaseReadURL != "" {
		if u, err := url.Parse(c.DatabaseReadURL); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			bad("KEPU_DATABASE_READ_URL", "want postgres://user@host:port/db (a streaming replica), or nothing")
		}
	}
	if d, err := time.ParseDuration(get("KEPU_READ_MAX_LAG", "10s")); err != nil || d < time.Second || d > time.Hour {
		bad("KEPU_READ_MAX_LAG", "want a duration from 1s to 1h, e.g. 10s")
	} else {
		c.ReadMaxLag = d
	}
	switch {
	case strings.HasPrefix(c.RedisURL, rdb.SentinelScheme+"://"):
		if _, err := rdb.ParseSentinelURL(c.RedisURL); err != nil {
			bad("KEPU_REDIS_URL", strings.TrimPrefix(err.Error(), "rdb: ")) // what is wrong, never the password
		}
	case strings.HasPrefix(c.RedisURL, rdb.ClusterScheme+"://"):
		if _, err := rdb.ParseClusterURL(c.RedisURL); err != nil {
			bad("KEPU_REDIS_URL", strings.TrimPrefix(err.Error(), "rdb: "))
		}
	default:
		if u, err := url.Parse(c.RedisURL); err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") {
			bad("KEPU_REDIS_URL", "want redis://host:port/db, redis+sentinel://host:port[,host:port…]/master[/db] or redis+cluster://host:port[,host:port…]")
		}
	}
	c.BaseURL = strings.TrimRight(get("KEPU_BASE_URL", "http://"+c.Addr), "/")
	if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("KEPU_BASE_URL", "want an absolute http(s) URL, e.g. https://kepu.example.org")
	}
	secret := get("KEPU_SECRET_KEY", DevSecret)
	if key, err := hex.DecodeString(secret); err != nil || len(key) < 32 {
		bad("KEPU_SECRET_KEY", "want at least 32 bytes as hex (openssl rand -hex 32)")
	} else {
		c.SecretKey = key
	}
	if get("KEPU_ENV", "development") == "production" && secret == DevSecret {
		bad("KEPU_SECRET_KEY", "must be set in production")
	}
	for _, o := range splitList(getenv("KEPU_ALLOWED_ORIGINS")) {
		u, err := url.Parse(o)
		if err != nil || u.Scheme == "" || u.Host == "" || u.Path != "" {
			bad("KEPU_ALLOWED_ORIGINS", fmt.Sprintf("%q is not an origin like https://host[:port]", o))
			continue
		}
		c.AllowedOrigins = append(c.AllowedOrigins, o)
	}
	for _, p := range splitList(getenv("KEPU_TRUSTED_PROXIES")) {
		if net.ParseIP(p) == nil {
			if _, _, err := net.ParseCIDR(p); err != nil {
				bad("KEPU_TRUSTED_PROXIES", fmt.Sprintf("%q is neither an IP nor a CIDR", p))
				continue
			}
		}
		c.TrustedProxies = append(c.TrustedProxies, p)
	}
	if err := c.LogLevel.UnmarshalText([]byte(get("KEPU_LOG_LEVEL", "info"))); err != nil {
		bad("KEPU_LOG_LEVEL", "want debug, info, warn or error")
	}
	var err error
	if c.CalibrateEvery, err = time.ParseDuration(get("KEPU_CALIBRATE_EVERY", "1h")); err != nil ||
		(c.CalibrateEvery != 0 && (c.CalibrateEvery < time.Minute || c.CalibrateEvery > 30*24*time.Hour)) {
		bad("KEPU_CALIBRATE_EVERY", "want 0 (never) or a duration from 1m to 720h, e.g. 1h")
	}
	if c.SessionIdle, err = time.ParseDuration(get("KEPU_SESSION_IDLE", "24h")); err != nil || c.SessionIdle < time.Minute {
		bad("KEPU_SESSION_IDLE", "want a duration of at least 1m, e.g. 24h")
	}
	if c.SessionMax, err = time.ParseDuration(get("KEPU_SESSION_MAX", "720h")); err != nil || c.SessionMax < c.SessionIdle {
		bad("KEPU_SESSION_MAX", "want a duration no shorter than KEPU_SESSION_IDLE, e.g. 720h")
	}
	if c.SessionCacheTTL, err = time.ParseDuration(get("KEPU_SESSION_CACHE_TTL", "5s")); err != nil ||
		c.SessionCacheTTL < 0 || c.SessionCacheTTL > time.Minute {
		bad("KEPU_SESSION_CACHE_TTL", "want a duration from 0 (off) to 1m, e.g. 5s")
	}
	if c.SessionCacheSize, err = strconv.Atoi(get("KEPU_SESSION_CACHE_SIZE", "100000")); err != nil ||
		c.SessionCacheSize < 1000 || c.SessionCacheSize > 10_000_000 {
		bad("KEPU_SESSION_CACHE_SIZE", "want a whole number from 1000 to 10000000")
	}
	if c.Pprof, err = strconv.ParseBool(get("KEPU_PPROF", "false")); err != nil {
		bad("KEPU_PPROF", "want true or false")
	}
	if c.MaxHashes, err = strconv.Atoi(get("KEPU_MAX_HASHES", strconv.Itoa(min(runtime.NumCPU(), 64)))); err != nil || c.MaxHashes < 1 || c.MaxHashes > 64 {
		bad("KEPU_MAX_HASHES", "want a whole number from 1 to 64")
	}
	if c.HashWait, err = time.ParseDuration(get("KEPU_HASH_WAIT", "2s")); err != nil ||
		c.HashWait < time.Millisecond || c.HashWait > 30*time.Second {
		bad("KEPU_HASH_WAIT", "want a duration from 1ms to 30s, e.g. 2s")
	}
	if c.ContestMaxPlayers, err = strconv.Atoi(get("KEPU_CONTEST_MAX_PLAYERS", "20000")); err != nil ||
		c.ContestMaxPlayers < 1 || c.ContestMaxPlayers > 100000 {
		bad("KEPU_CONTEST_MAX_PLAYERS", "want a whole number from 1 to 100000")
	}
	duration := func(name, def string, min, max time.Duration) time.Duration {
		d, err := time.ParseDuration(get(name, def))
		if err != nil || d < min || d > max {
			bad(name, fmt.Sprintf("want a duration from %v to %v", min, max))
		}
		return d
	}
	c.RequestTimeout = duration("KEPU_REQUEST_TIMEOUT", "10s", 100*time.Millisecond, 10*time.Minute)
	c.ExportTimeout = duration("KEPU_EXPORT_TIMEOUT", "2m", c.RequestTimeout, time.Hour)
	c.DB.StatementTimeout = duration("KEPU_DB_STATEMENT_TIMEOUT", "2m", 100*time.Millisecond, time.Hour)
	c.DB.LockTimeout = duration("KEPU_DB_LOCK_TIMEOUT", "5s", 10*time.Millisecond, time.Hour)
	c.DB.AcquireTimeout = duration("KEPU_DB_ACQUIRE_TIMEOUT", "3s", 10*time.Millisecond, time.Hour)
	if len(errs) > 0 {
		return c, fmt.Errorf("config: %s", strings.Join(errs, "; "))
	}
	return c, nil
}

// Origins returns every origin allowed for websockets and cross-checked on
// state-changing requests: the base URL's origin and KEPU_ALLOWED_ORIGINS.
func (c Config) Origins() []string {
	out := []string{}
	if u, err := url.Parse(c.BaseURL); err == nil {
		out = append(out, u.Scheme+"://"+u.Host)
	}
	return append(out, c.AllowedOrigins...)
}

// Secure reports whether the public URL is https (cookies get Secure, HSTS is sent).
func (c Config) Secure() bool { return strings.HasPrefix(c.BaseURL, "https://") }

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
