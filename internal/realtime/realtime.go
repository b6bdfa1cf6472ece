// Package realtime is the websocket plumbing shared by live features
// (campaign leaderboards, and contests when they move onto it): a Conn with
// one writer goroutine and a bounded queue, a sharded Hub of connections by
// topic, and a Broker that fans messages out across server instances
// (RedisBroker: Redis pub/sub). The message protocols themselves belong to
// the features and are documented in docs/realtime.md.
package realtime

import (
	"sync"
	"time"

	"github.com/fasthttp/websocket"
)

// Close codes used by Conn.
const (
	CloseNormal     = websocket.CloseNormalClosure
	CloseGoingAway  = websocket.CloseGoingAway // server stopping: reconnect
	CloseTryLater   = websocket.CloseTryAgainLater
	CloseInternal   = websocket.CloseInternalServerErr
	defaultWriteTTL = 10 * time.Second
)

// Socket is the part of a websocket connection the writer needs
// (*websocket.Conn from gofiber/websocket satisfies it).
type Socket interface {
	WriteMessage(messageType int, data []byte) error
	WriteControl(messageType int, data []byte, deadline time.Time) error
	SetWriteDeadline(t time.Time) error
}

// Conn is one client connection. Send never blocks: the message goes to a
// bounded queue that one writer goroutine (Run) drains; a client whose
// queue is full is closed with 1013 ("try again later") so it cannot hold
// back anyone else. Messages are already encoded, so a broadcast is
// encoded once however many connections receive it.
type Conn struct {
	ws        Socket
	send      chan []byte
	done      chan struct{}
	once      sync.Once
	PingEvery time.Duration // 0: no pings
	WriteWait time.Duration // per write; default 10 s
}

// NewConn wraps ws with a queue of queue messages.
func NewConn(ws Socket, queue int) *Conn {
	if queue < 1 {
		queue = 1
	}
	return &Conn{ws: ws, send: make(chan []byte, queue), done: make(chan struct{}), WriteWait: defaultWriteTTL}
}

// Done is closed when the connection is closed.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Close sends a close frame with code and reason (once) and stops the writer.
func (c *Conn) Close(code int, reason string) {
	c.once.Do(func() {
		_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(time.Second))
		close(c.done)
	})
}

// Send queues msg and reports whether it was queued; a full queue closes
// the connection (slow client) and returns false.
func (c *Conn) Send(msg []byte) bool {
	select {
	case <-c.done:
		return false
	default:
	}
	select {
	case c.send <- msg:
		return true
	default:
		c.Close(CloseTryLater, "slow client")
		return false
	}
}

// Run writes queued messages and pings until the connection closes or a
// write fails. Call it in its own goroutine; it returns when Done is closed.
func (c *Conn) Run() {
	var ping <-chan time.Time
	if c.PingEvery > 0 {
		t := time.NewTicker(c.PingEvery)
		defer t.Stop()
		ping = t.C
	}
	for {
		select {
		case <-c.done:
			return
		case m := <-c.send:
			_ = c.ws.SetWriteDeadline(time.Now().Add(c.WriteWait))
			if err := c.ws.WriteMessage(websocket.TextMessage, m); err != nil {
				c.Close(CloseGoingAway, "")
				return
			}
		case <-ping:
			if err := c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(c.WriteWait)); err != nil {
				c.Close(CloseGoingAway, "")
				return
			}
		}
	}
}
