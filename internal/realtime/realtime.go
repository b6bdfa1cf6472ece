// Package realtime is the websocket plumbing shared by live features
// (campaign leaderboards, contests): a Conn with a bounded queue written by
// one goroutine at a time, a sharded Hub of connections by topic, and a
// Broker that fans messages out across server instances (RedisBroker:
// Redis pub/sub). The message protocols themselves belong to the features
// and are documented in docs/realtime.md.
package realtime

import (
	"net"
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
	ClosePolicy     = websocket.ClosePolicyViolation
	CloseBadData    = websocket.CloseInvalidFramePayloadData
	CloseTooBig     = websocket.CloseMessageTooBig
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
// bounded queue, written in order by a goroutine that exists only while
// messages wait (so an idle connection costs no goroutine and no queue:
// 10,000 idle players would otherwise hold 10,000 writer stacks); a client
// whose queue is full is closed with 1013 ("try again later") so it cannot
// hold back anyone else. Messages are already encoded, so a broadcast is
// encoded once however many connections receive it. Pings come from a
// timer.
//
// Use: NewConn, set the fields, StartPings (or Run, which also waits),
// Send …, Close, then Wait before the socket goes away.
type Conn struct {
	ws    Socket
	limit int

	mu     sync.Mutex
	idle   sync.Cond // signalled when the writing goroutine stops
	queue  [][]byte  // waiting messages, at most limit
	active bool      // a goroutine is writing the queue
	pinger *time.Timer
	// abort is the close frame of a connection closed by closeLater (a full
	// queue: the writer may be stuck); the writing goroutine sends it.
	abortCode   int
	abortReason string

	done chan struct{}
	once sync.Once

	PingEvery time.Duration // 0: no pings
	WriteWait time.Duration // per write; default 10 s
	// PingData, when set, gives each ping's payload (at most 125 bytes),
	// e.g. the send time so that the pong tells the round trip.
	PingData func() []byte
	// Data is the feature's own state of this connection (e.g. the
	// contest's player and event order), set before the Conn is added to a
	// Hub and not changed after: what Hub.Conns hands back leads to it.
	Data any
}

// NewConn wraps ws with a queue of queue messages.
func NewConn(ws Socket, queue int) *Conn {
	if queue < 1 {
		queue = 1
	}
	c := &Conn{ws: ws, limit: queue, done: make(chan struct{}), WriteWait: defaultWriteTTL}
	c.idle.L = &c.mu
	return c
}

// Done is closed when the connection is closed.
func (c *Conn) Done() <-chan struct{} { return c.done }

func (c *Conn) closed() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// Close sends a close frame with code and reason (once) and stops writing
// and pinging. It may wait up to a second for a write in progress.
func (c *Conn) Close(code int, reason string) {
	c.once.Do(func() {
		_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(time.Second))
		c.stop()
	})
}

// closeLater closes the connection at once without waiting for the socket:
// the writing goroutine sends the close frame as it stops. Send uses it,
// so that a broadcast never waits for a stuck client.
func (c *Conn) closeLater(code int, reason string) {
	c.once.Do(func() {
		c.mu.Lock()
		c.abortCode, c.abortReason = code, reason
		c.mu.Unlock()
		c.stop()
	})
}

func (c *Conn) stop() {
	close(c.done)
	c.mu.Lock()
	if c.pinger != nil {
		c.pinger.Stop()
	}
	c.mu.Unlock()
}

// Send queues msg and reports whether it was queued; a full queue closes
// the connection (slow client) and returns false.
func (c *Conn) Send(msg []byte) bool {
	c.mu.Lock()
	if c.closed() {
		c.mu.Unlock()
		return false
	}
	if len(c.queue) >= c.limit {
		c.mu.Unlock()
		c.closeLater(CloseTryLater, "slow client")
		return false
	}
	c.queue = append(c.queue, msg)
	if !c.active {
		c.active = true
		go c.write()
	}
	c.mu.Unlock()
	return true
}

// write sends the queued messages in order until the queue is empty or the
// connection is closed. One runs at a time (active).
func (c *Conn) write() {
	for {
		c.mu.Lock()
		batch := c.queue
		c.queue = nil
		if len(batch) == 0 || c.closed() {
			if code, reason := c.abortCode, c.abortReason; code != 0 && c.closed() {
				c.abortCode = 0
				c.mu.Unlock()
				_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(time.Second))
				c.mu.Lock()
			}
			c.active = false
			c.idle.Broadcast()
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
		for _, m := range batch {
			if c.closed() {
				break
			}
			_ = c.ws.SetWriteDeadline(time.Now().Add(c.WriteWait))
			if err := c.ws.WriteMessage(websocket.TextMessage, m); err != nil {
				c.Close(CloseGoingAway, "")
				break
			}
		}
	}
}

// StartPings pings the client every PingEvery (if set) until Close.
func (c *Conn) StartPings() {
	if c.PingEvery <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed() || c.pinger != nil {
		return
	}
	c.pinger = time.AfterFunc(c.PingEvery, c.ping)
}

// PingNow pings the client at once (e.g. right after the handshake, so
// that the round trip is known before the first timed ping).
func (c *Conn) PingNow() error {
	var data []byte
	if c.PingData != nil {
		data = c.PingData()
	}
	return c.ws.WriteControl(websocket.PingMessage, data, time.Now().Add(c.WriteWait))
}

func (c *Conn) ping() {
	if c.closed() {
		return
	}
	var data []byte
	if c.PingData != nil {
		data = c.PingData()
	}
	if err := c.ws.WriteControl(websocket.PingMessage, data, time.Now().Add(c.WriteWait)); err != nil {
		c.Close(CloseGoingAway, "")
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.closed() {
		c.pinger.Reset(c.PingEvery)
	}
}

// Wait returns once the connection is closed and nothing is being written
// to it any more.
func (c *Conn) Wait() {
	<-c.done
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.active {
		c.idle.Wait()
	}
}

// Release ends a connection whose upgrade handler is about to return
// (the socket closes then, and nothing may write to it after): Close with
// code and reason (if not closed already), cut short a write in progress,
// and wait for the writing goroutine.
func (c *Conn) Release(code int, reason string) {
	c.Close(code, reason)
	if u, ok := c.ws.(interface{ UnderlyingConn() net.Conn }); ok {
		_ = u.UnderlyingConn().SetWriteDeadline(time.Now())
	}
	c.Wait()
}

// ReadLoop reads ws until a read fails, which it returns (nil when handle
// stopped it). Every message and every pong moves the read deadline wait
// ahead, so a client that stops answering pings is dropped after wait.
// onPong (nil: none) gets each pong's payload; handle (nil: messages are
// read and dropped) gets each message and returns false to stop.
func ReadLoop(ws *WebSocket, wait time.Duration, onPong func(data []byte), handle func(msg []byte) bool) error {
	_ = ws.SetReadDeadline(time.Now().Add(wait))
	ws.SetPongHandler(func(data string) error {
		if onPong != nil {
			onPong([]byte(data))
		}
		return ws.SetReadDeadline(time.Now().Add(wait))
	})
	for {
		_, msg, err := ws.ReadMessage()
		if err != nil {
			return err
		}
		_ = ws.SetReadDeadline(time.Now().Add(wait))
		if handle != nil && !handle(msg) {
			return nil
		}
	}
}
