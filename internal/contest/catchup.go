package contest

// Catching a (re)connecting client up with its room: who says hello
// (Greet), what it is sent first (CatchUp: the missed events or a
// snapshot, then ClockMsg) and the order of the live events that arrive
// meanwhile (Cursor). The websocket itself is the server's
// (internal/server/contest_ws.go); the protocol is in docs/realtime.md,
// "Contests".

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/kepu/kepu/internal/kepu"
)

// Hello is the first message a client sends on the contest socket: the
// room, the player's token (empty: the host), and the epoch and seq of the
// last event it has (0: a fresh page).
type Hello struct {
	Room    int64
	Token   string
	Epoch   int64
	LastSeq int64
}

// Greet identifies the client of hello: the player holding hello.Token,
// or, without a token, the host a (nil: no session), checked against the
// room. It returns nil for the host. Errors: EGONE if the room no longer
// exists; ErrBadToken (EUNAUTHORIZED) for an unknown or revoked token;
// kepu.Forbidden (or another code) for anyone not hosting the room.
func (s *Service) Greet(ctx context.Context, hello Hello, a *kepu.Actor) (*Player, error) {
	if hello.Token != "" {
		p, err := s.PlayerByToken(ctx, hello.Room, hello.Token)
		if err != nil {
			return nil, err
		}
		return &p, nil
	}
	if a == nil {
		return nil, kepu.Forbidden
	}
	if err := s.CheckHost(ctx, *a, hello.Room); err != nil {
		return nil, err
	}
	return nil, nil
}

// CatchUp is what a client is sent right after its hello, before any live
// event: Msgs in order (a welcome, then the missed events or a snapshot).
// Live events after Seq follow (Cursor.Start). Resumed: the client had
// all events up to its seq and got the missed ones; it is then also sent
// ClockMsg, once the live events held back are released.
type CatchUp struct {
	Msgs    [][]byte
	Seq     int64
	Resumed bool
}

// CatchUp returns what a client greeted as p (nil: the host) must be sent:
// the events it missed since hello.LastSeq if the room still keeps them
// all (EventsKept) in the same epoch, else the room's snapshot. Errors:
// EGONE if the room is gone (no snapshot); others are internal.
func (s *Service) CatchUp(ctx context.Context, hello Hello, p *Player) (CatchUp, error) {
	missed, ok, err := s.Missed(ctx, hello.Room, hello.Epoch, hello.LastSeq)
	if err != nil {
		return CatchUp{}, err
	}
	if ok {
		out := CatchUp{Seq: hello.LastSeq, Resumed: true}
		out.Msgs = append(out.Msgs, welcomeMsg(hello.Room, true, p))
		for _, m := range missed {
			out.Msgs = append(out.Msgs, []byte(m))
			out.Seq = EventSeq([]byte(m))
		}
		return out, nil
	}
	snap, err := s.Snapshot(ctx, hello.Room, p)
	if err != nil {
		if kepu.ErrorCode(err) == kepu.EGONE {
			return CatchUp{}, err
		}
		return CatchUp{}, fmt.Errorf("%w: %w", errRoomGone, err)
	}
	b, err := json.Marshal(snap)
	if err != nil {
		return CatchUp{}, fmt.Errorf("contest: catch up: %w", err)
	}
	return CatchUp{Msgs: [][]byte{welcomeMsg(hello.Room, false, p), b}, Seq: snap.Seq}, nil
}

// welcomeMsg is {"player":ID,"resumed":R,"room":N,"type":"welcome"}
// (player 0: the host).
func welcomeMsg(room int64, resumed bool, p *Player) []byte {
	id := 0
	if p != nil {
		id = p.ID
	}
	b, _ := json.Marshal(map[string]any{"type": "welcome", "room": room, "resumed": resumed, "player": id})
	return b
}

// ClockMsg is the "clock" message of a resumed client: replayed events
// carry the time left when they were sent, the clock says what is left now
// (and the player's standing).
func (s *Service) ClockMsg(ctx context.Context, room int64, p *Player) ([]byte, error) {
	snap, err := s.Snapshot(ctx, room, p)
	if err != nil {
		return nil, err
	}
	return json.Marshal(map[string]any{"type": "clock", "phase": snap.Phase, "q": snap.Q,
		"remaining_ms": snap.RemainingMS, "paused": snap.Paused, "me": snap.Me})
}

// Cursor orders one client's room events across its catch-up: until Start
// (the catch-up sent) live events are held back, at most Max of them, and
// only the latest status message is kept; after it, every event newer
// than the last one sent is passed to send, older ones are dropped. Safe
// for concurrent use; the zero Cursor holds nothing back before Start and
// keeps no more than 64 events.
type Cursor struct {
	Max int // events held back before Start; 0: 64

	mu      sync.Mutex
	ready   bool
	pending [][]byte
	status  []byte // the latest status message held back before ready
	lastSeq int64  // highest event seq sent
}

// Event passes room event msg (seq > 0) to send unless the client already
// has it; before Start it is held back.
func (c *Cursor) Event(seq int64, msg []byte, send func([]byte) bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.ready {
		max := c.Max
		if max <= 0 {
			max = 64
		}
		if len(c.pending) < max {
			c.pending = append(c.pending, msg)
		}
		return
	}
	if seq <= c.lastSeq {
		return
	}
	c.lastSeq = seq
	send(msg)
}

// Status passes a status message (no seq) to send; before Start only the
// latest one is kept.
func (c *Cursor) Status(msg []byte, send func([]byte) bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.ready {
		c.status = msg
		return
	}
	send(msg)
}

// Start marks the client caught up to seq and passes to send the events
// held back that are newer, then the latest status message held back.
func (c *Cursor) Start(seq int64, send func([]byte) bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lastSeq = seq
	c.ready = true
	for _, m := range c.pending {
		if s := EventSeq(m); s > c.lastSeq {
			c.lastSeq = s
			send(m)
		}
	}
	c.pending = nil
	if c.status != nil {
		send(c.status)
		c.status = nil
	}
}
