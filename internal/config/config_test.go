package config

import (
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLoadDefaults(t *testing.T) {
	c, err := Load(env(nil))
	if err != nil {
		t.Fatalf("Load with no env: %v", err)
	}
	if c.Addr != "127.0.0.1:8080" || c.BaseURL != "http://127.0.0.1:8080" {
		t.Errorf("got addr %q base %q, want defaults", c.Addr, c.BaseURL)
	}
	if got := c.Origins(); len(got) != 1 || got[0] != "http://127.0.0.1:8080" {
		t.Errorf("Origins() = %v, want the base URL origin", got)
	}
	if c.Pprof {
		t.Errorf("Pprof: got true, want false by default")
	}
	if c.ContestMaxPlayers != 20000 {
		t.Errorf("ContestMaxPlayers: got %d, want 20000", c.ContestMaxPlayers)
	}
	if c.SessionCacheTTL != 5*time.Second || c.SessionCacheSize != 100000 {
		t.Errorf("session cache: got ttl %v size %d, want 5s and 100000", c.SessionCacheTTL, c.SessionCacheSize)
	}
	if c, err := Load(env(map[string]string{"KEPU_SESSION_CACHE_TTL": "0"})); err != nil || c.SessionCacheTTL != 0 {
		t.Errorf("KEPU_SESSION_CACHE_TTL=0: got %v, %v; want the cache off", c.SessionCacheTTL, err)
	}
}

func TestLoadNamesBadVariable(t *testing.T) {
	tests := []struct {
		name, value string
	}{
		{"KEPU_ADDR", "8080"},
		{"KEPU_DATABASE_URL", "mysql://x"},
		{"KEPU_REDIS_URL", "http://x"},
		{"KEPU_REDIS_URL", "redis+sentinel://a:1"},
		{"KEPU_REDIS_URL", "redis+cluster://a"},
		{"KEPU_REDIS_URL", "redis+cluster://a:1/3"},
		{"KEPU_BASE_URL", "not a url"},
		{"KEPU_SECRET_KEY", "abcd"},
		{"KEPU_ALLOWED_ORIGINS", "https://ok.example, nope"},
		{"KEPU_TRUSTED_PROXIES", "10.0.0.0/8,banana"},
		{"KEPU_LOG_LEVEL", "loud"},
		{"KEPU_SESSION_IDLE", "5s"},
		{"KEPU_SESSION_MAX", "1m"},
		{"KEPU_MAX_HASHES", "0"},
		{"KEPU_HASH_WAIT", "0s"},
		{"KEPU_HASH_WAIT", "1m"},
		{"KEPU_PPROF", "maybe"},
		{"KEPU_CONTEST_MAX_PLAYERS", "0"},
		{"KEPU_CONTEST_MAX_PLAYERS", "many"},
		{"KEPU_SESSION_CACHE_TTL", "-1s"},
		{"KEPU_SESSION_CACHE_TTL", "2m"},
		{"KEPU_SESSION_CACHE_SIZE", "10"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(env(map[string]string{tt.name: tt.value}))
			if err == nil || !strings.Contains(err.Error(), tt.name) {
				t.Fatalf("got %v, want an error naming %s", err, tt.name)
			}
		})
	}
}

func TestProductionNeedsSecret(t *testing.T) {
	_, err := Load(env(map[string]string{"KEPU_ENV": "production"}))
	if err == nil || !strings.Contains(err.Error(), "KEPU_SECRET_KEY") {
		t.Fatalf("got %v, want KEPU_SECRET_KEY required in production", err)
	}
}

// A Redis behind Sentinel or a Redis Cluster is named by its own URL
// scheme; a bad one says what is wrong, never the password.
func TestRedisURLKinds(t *testing.T) {
	for _, u := range []string{"redis://127.0.0.1:6379/2", "redis+sentinel://s1:26379,s2:26379/kepu",
		"redis+cluster://u:pw@n1:7000,n2:7000,n3:7000"} {
		if c, err := Load(env(map[string]string{"KEPU_REDIS_URL": u})); err != nil || c.RedisURL != u {
			t.Errorf("%s: got %q, %v", u, c.RedisURL, err)
		}
	}
	_, err := Load(env(map[string]string{"KEPU_REDIS_URL": "redis+cluster://u:s3cret@n1:0"}))
	if err == nil || !strings.Contains(err.Error(), `bad port in "n1:0"`) || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("bad cluster url: got %v, want the bad port named and no password", err)
	}
}
