package realtime

import (
	"errors"
	"sync"

	"github.com/fasthttp/websocket"
	"github.com/valyala/fasthttp"
)

// WebSocket is an upgraded connection (fasthttp/websocket's Conn): the
// handler of Upgrade reads from it; writes go through a Conn.
type WebSocket = websocket.Conn

// ErrReadLimit is the read error of a message longer than the read limit
// given to Upgrade (close with CloseTooBig).
var ErrReadLimit = websocket.ErrReadLimit

// upgrader is the one websocket upgrader of the server. Memory per idle
// connection matters (a contest room holds up to KEPU_CONTEST_MAX_PLAYERS
// phones): fasthttp/websocket is used directly (gofiber/websocket copies
// every header, cookie and query into maps per connection), the read
// buffer is small (clients send tiny messages; fasthttp's own reader sits
// below it) and write buffers come from a pool, held only while a message
// is written. The Origin is checked by the caller before Upgrade.
var upgrader = websocket.FastHTTPUpgrader{
	ReadBufferSize:  256,
	WriteBufferSize: 4096,
	WriteBufferPool: &sync.Pool{},
	CheckOrigin:     func(*fasthttp.RequestCtx) bool { return true },
}

// ErrNotUpgrade is returned by Upgrade for a request that is not a
// websocket handshake (answer 426 Upgrade Required).
var ErrNotUpgrade = errors.New("realtime: not a websocket upgrade")

// IsUpgrade reports whether ctx is a websocket handshake.
func IsUpgrade(ctx *fasthttp.RequestCtx) bool { return websocket.FastHTTPIsWebSocketUpgrade(ctx) }

// Upgrade turns ctx into a websocket and runs handle on it (on the
// request's goroutine, after this returns; the socket closes when handle
// returns). Messages longer than readLimit bytes fail the read with
// ErrReadLimit. The caller checks the Origin (and any rate limit) first:
// Upgrade accepts every origin. Before handle runs, the upgrade request's
// headers, cookies and the response are released: fasthttp holds the
// request context until the socket closes and they are not needed any
// more (≈ 3 KB per idle socket). Values from ctx (Fiber's c.Get, c.IP …)
// must be copied before Upgrade if handle needs them.
func Upgrade(ctx *fasthttp.RequestCtx, readLimit int64, handle func(ws *WebSocket)) error {
	if !IsUpgrade(ctx) {
		return ErrNotUpgrade
	}
	return upgrader.Upgrade(ctx, func(ws *websocket.Conn) {
		// New values, not Reset, so that nothing still pointing into the
		// old buffers (unsafe strings) sees them reused.
		ctx.Request = fasthttp.Request{}
		ctx.Response = fasthttp.Response{}
		ws.SetReadLimit(readLimit)
		handle(ws)
	})
}
