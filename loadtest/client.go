package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"time"
)

// Client speaks to Kepu as a browser page does: a cookie jar (session and
// CSRF cookies) and the X-CSRF-Token header on state-changing requests.
type Client struct {
	base string
	http *http.Client
	csrf string
}

// sharedTransport is one connection pool for every simulated user: the
// server sees many keep-alive connections, as from many browsers.
var sharedTransport = &http.Transport{
	MaxIdleConns:        20000,
	MaxIdleConnsPerHost: 20000,
	IdleConnTimeout:     90 * time.Second,
}

// NewClient returns an anonymous client of the server at base.
func NewClient(base string) *Client { return NewClientVia(base, sharedTransport) }

// NewClientVia returns an anonymous client whose requests go through tr
// (e.g. a transport bound to one source address: one school's NAT).
func NewClientVia(base string, tr http.RoundTripper) *Client {
	jar, _ := cookiejar.New(nil)
	return &Client{base: base, http: &http.Client{Jar: jar, Transport: tr, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// Jar returns the client's cookie jar (for websocket dials).
func (c *Client) Jar() http.CookieJar { return c.http.Jar }

// HTTPError is a non-2xx answer.
type HTTPError struct {
	Status int
	Code   string
	Msg    string
}

func (e *HTTPError) Error() string { return fmt.Sprintf("http %d %s", e.Status, e.Code) }

// Kind is the error's short kind for the error table.
func (e *HTTPError) Kind() string { return fmt.Sprintf("http %d %s", e.Status, e.Code) }

// Do sends in as JSON (when non-nil) and decodes the answer into out (when non-nil).
func (c *Client) Do(ctx context.Context, method, path string, in, out any) error {
	if method != http.MethodGet && c.csrf == "" {
		var t struct{ Token string }
		if err := c.do(ctx, http.MethodGet, "/api/v1/csrf", nil, &t); err != nil {
			return err
		}
		c.csrf = t.Token
	}
	return c.do(ctx, method, path, in, out)
}

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.csrf != "" {
		req.Header.Set("X-CSRF-Token", c.csrf)
	}
	req.Header.Set("Accept", "application/json")
	res, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		return err
	}
	if res.StatusCode >= 300 {
		var e struct {
			Error struct{ Code, Message string }
		}
		json.Unmarshal(data, &e)
		return &HTTPError{Status: res.StatusCode, Code: e.Error.Code, Msg: e.Error.Message}
	}
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("decode %s: %w", path, err)
		}
	}
	return nil
}

// Cookies returns the client's cookies for the server, for websocket dials.
func (c *Client) Cookies() []*http.Cookie {
	req, _ := http.NewRequest(http.MethodGet, c.base, nil)
	return c.http.Jar.Cookies(req.URL)
}

// errKind is the short kind of any error for the error table.
func errKind(err error) string {
	if he, ok := err.(*HTTPError); ok {
		return he.Kind()
	}
	s := err.Error()
	if len(s) > 60 {
		s = s[:60]
	}
	return s
}
