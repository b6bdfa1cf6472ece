package realtime

import (
	"errors"
	"sync"

	"github.com/fasthttp/websocket"
	"github.com/gofiber/fiber/v2"
	fws "github.com/gofiber/websocket/v2"
	"github.com/valyala/fasthttp"
)

// WebSocket is an upgraded connection (gofiber/websocket's Conn, which
// embeds fasthttp/websocket's): the handler given to Upgrade reads from
// it; writes go through a Conn.
type WebSocket = fws.Conn

// ErrReadLimit is the read error of a message longer than the read limit
// given to Upgrade (close with CloseTooBig). It is the error of the
// library under gofiber/websocket, which is what a read returns.
var ErrReadLimit = websocket.ErrReadLimit

// ErrNotUpgrade is returned by Upgrade for a request that is not a
// websocket handshake (answer 426 Upgrade Required).
var ErrNotUpgrade = errors.New("realtime: not a websocket upgrade")

// Locals under which Upgrade hands the handler and the request context to
// the one upgrade handler.
const (
	localHandle = "realtime.handle"
	localCtx    = "realtime.ctx"
)

// upgrade is the one websocket upgrader of the server, for every socket
// (/ws/contest, /ws/leaderboard, /ws/dash): gofiber/websocket (archived
// upstream; github.com/gofiber/contrib/websocket continues it with the
// same API, see docs/architecture.md). Memory per idle connection matters
// (a contest room holds up to KEPU_CONTEST_MAX_PLAYERS phones): the read
// buffer is small (clients send tiny messages; fasthttp's own reader sits
// below it) and write buffers come from a pool, held only while a message
// is written. Origins are checked by the caller before Upgrade (with the
// server's allow-list), so the library's own check lets all through.
var upgrade = fws.New(func(ws *fws.Conn) {
	handle, _ := ws.Locals(localHandle).(func(*WebSocket))
	if ctx, ok := ws.Locals(localCtx).(*fasthttp.RequestCtx); ok {
		// fasthttp holds the request context until the socket closes;
		// its headers, cookies and response are not needed any more
		// (≈ 3 KB per idle socket). New values, not Reset, so that
		// nothing still pointing into the old buffers (unsafe strings)
		// sees them reused.
		ctx.Request = fasthttp.Request{}
		ctx.Response = fasthttp.Response{}
	}
	if handle != nil {
		handle(ws)
	}
}, fws.Config{ReadBufferSize: 256, WriteBufferSize: 4096, WriteBufferPool: &sync.Pool{}})

// IsUpgrade reports whether c is a websocket handshake.
func IsUpgrade(c *fiber.Ctx) bool { return fws.IsWebSocketUpgrade(c) }

// Upgrade turns c into a websocket and runs handle on it (on the request's
// goroutine, after this returns; the socket closes when handle returns).
// Messages longer than readLimit bytes fail the read with ErrReadLimit. The
// caller checks the Origin (and any rate limit) first. Values from c (the
// user, parameters, c.IP …) must be read before Upgrade and handed to
// handle in its closure: the upgrade request is released before handle
// runs, so WebSocket's own Locals/Query/Headers are not for handlers.
func Upgrade(c *fiber.Ctx, readLimit int64, handle func(ws *WebSocket)) error {
	if !IsUpgrade(c) {
		return ErrNotUpgrade
	}
	c.Locals(localCtx, c.Context())
	c.Locals(localHandle, func(ws *WebSocket) {
		ws.SetReadLimit(readLimit)
		handle(ws)
	})
	return upgrade(c)
}
