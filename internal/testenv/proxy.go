package testenv

import (
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
)

// Proxy is a TCP proxy in front of a server (the test Redis) that a test
// can cut and restore, as a network failure or a restart of the server
// would. Point a client at Addr (or URL) instead of the server.
type Proxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	down   bool
	conns  []net.Conn
}

// NewRedisProxy starts a Proxy in front of the test Redis (RedisURL),
// closed when the test ends.
func NewRedisProxy(tb testing.TB) *Proxy {
	tb.Helper()
	u, err := url.Parse(RedisURL())
	if err != nil {
		tb.Fatalf("testenv: redis url: %v", err)
	}
	return NewProxy(tb, u.Host)
}

// NewProxy starts a Proxy in front of target (host:port).
func NewProxy(tb testing.TB, target string) *Proxy {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("testenv: proxy: %v", err)
	}
	p := &Proxy{ln: ln, target: target}
	tb.Cleanup(func() { ln.Close(); p.Cut() })
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			down := p.down
			p.mu.Unlock()
			if down {
				in.Close()
				continue
			}
			out, err := net.Dial("tcp", target)
			if err != nil {
				in.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, in, out)
			p.mu.Unlock()
			go func() { io.Copy(out, in); out.Close() }()
			go func() { io.Copy(in, out); in.Close() }()
		}
	}()
	return p
}

// Addr is the proxy's host:port.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// RedisURL is RedisURL() with the host replaced by the proxy's.
func (p *Proxy) RedisURL() string {
	u, err := url.Parse(RedisURL())
	if err != nil {
		return "redis://" + p.Addr()
	}
	u.Host = p.Addr()
	return u.String()
}

// Cut closes every connection and refuses new ones until Restore.
func (p *Proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// Restore accepts connections again.
func (p *Proxy) Restore() {
	p.mu.Lock()
	p.down = false
	p.mu.Unlock()
}
