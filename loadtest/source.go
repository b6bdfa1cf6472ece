package main

import (
	"context"
	"net"
	"net/http"
	"time"
)

// A school's pupils reach Kepu through one NAT address, and the server's
// per-IP limits are sized for that. The tool spreads simulated users over
// loopback source addresses (127.1.x.y; Linux routes all of 127.0.0.0/8 to
// lo), a class of users per address, so the server sees the per-address
// traffic of real classes and each address has its own ephemeral ports.

// sourceIP returns the i-th simulated source address (i >= 0).
func sourceIP(i int) net.IP {
	return net.IPv4(127, 1, byte(i/254), byte(i%254+1))
}

// source is one simulated NAT address: a dialer bound to it and an HTTP
// transport using that dialer.
type source struct {
	dialer    *net.Dialer
	transport *http.Transport
}

func newSource(i int) *source { return newSourceConns(i, 4) }

// newSourceConns is newSource keeping up to conns idle keep-alive
// connections (one per simulated browser behind the address).
func newSourceConns(i, conns int) *source {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: sourceIP(i)}, Timeout: 10 * time.Second}
	return &source{dialer: d, transport: &http.Transport{
		DialContext:         d.DialContext,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     10 * time.Second,
	}}
}

// dial opens a TCP connection from the source address (websocket dials).
func (s *source) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	return s.dialer.DialContext(ctx, network, addr)
}
