package contest

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/kepu/kepu/internal/kepu"
)

func ev(seq int64, typ string) []byte {
	return []byte(fmt.Sprintf(`{"seq":%d,"epoch":1,"type":"%s"}`, seq, typ))
}

// The cursor holds live events back until the catch-up is sent, then
// passes on only what the client does not have, in order.
func TestCursor(t *testing.T) {
	status := func(n int) []byte { return []byte(fmt.Sprintf(`{"epoch":1,"type":"progress","n":%d}`, n)) }
	tests := []struct {
		name  string
		steps func(c *Cursor, send func([]byte) bool)
		want  []string
	}{
		{"held back until start, older dropped", func(c *Cursor, send func([]byte) bool) {
			c.Event(3, ev(3, "question"), send)
			c.Event(5, ev(5, "closed"), send)
			c.Event(6, ev(6, "reveal"), send)
			c.Start(5, send)
		}, []string{string(ev(6, "reveal"))}},
		{"after start: newer only", func(c *Cursor, send func([]byte) bool) {
			c.Start(2, send)
			c.Event(2, ev(2, "question"), send)
			c.Event(3, ev(3, "closed"), send)
			c.Event(3, ev(3, "closed"), send)
			c.Event(4, ev(4, "reveal"), send)
		}, []string{string(ev(3, "closed")), string(ev(4, "reveal"))}},
		{"latest status only, after held events", func(c *Cursor, send func([]byte) bool) {
			c.Status(status(1), send)
			c.Event(7, ev(7, "lobby"), send)
			c.Status(status(2), send)
			c.Start(6, send)
			c.Status(status(3), send)
		}, []string{string(ev(7, "lobby")), string(status(2)), string(status(3))}},
		{"at most Max held back", func(c *Cursor, send func([]byte) bool) {
			c.Max = 2
			c.Event(1, ev(1, "lobby"), send)
			c.Event(2, ev(2, "lobby"), send)
			c.Event(3, ev(3, "lobby"), send)
			c.Start(0, send)
		}, []string{string(ev(1, "lobby")), string(ev(2, "lobby"))}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			var c Cursor
			tt.steps(&c, func(b []byte) bool { got = append(got, string(b)); return true })
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("sent\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestGreet(t *testing.T) {
	s, a, run := newTestRun(t)
	ctx := context.Background()
	j, err := s.Join(ctx, JoinInput{PIN: run.PIN, Nickname: "Ann"})
	if err != nil {
		t.Fatal(err)
	}
	stranger := kepu.Actor{UserID: a.UserID + 100, Role: kepu.RoleTeacher}
	tests := []struct {
		name   string
		hello  Hello
		actor  *kepu.Actor
		player int // 0: the host
		code   string
	}{
		{"player", Hello{Room: run.ID, Token: j.Token}, nil, j.Player, ""},
		{"player with a session", Hello{Room: run.ID, Token: j.Token}, &a, j.Player, ""},
		{"bad token", Hello{Room: run.ID, Token: "nope"}, &a, 0, kepu.EUNAUTHORIZED},
		{"host", Hello{Room: run.ID}, &a, 0, ""},
		{"no session", Hello{Room: run.ID}, nil, 0, kepu.EFORBIDDEN},
		{"not the host", Hello{Room: run.ID}, &stranger, 0, kepu.EFORBIDDEN},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := s.Greet(ctx, tt.hello, tt.actor)
			code := ""
			if err != nil {
				code = kepu.ErrorCode(err)
			}
			id := 0
			if p != nil {
				id = p.ID
			}
			if code != tt.code || id != tt.player {
				t.Errorf("got player %d, error %q (%v); want player %d, error %q", id, code, err, tt.player, tt.code)
			}
		})
	}
}

// A client is sent the events it missed while the room keeps them all,
// else a snapshot; a room that is gone is EGONE.
func TestCatchUp(t *testing.T) {
	s, a, run := newTestRun(t)
	ctx := context.Background()
	j, err := s.Join(ctx, JoinInput{PIN: run.PIN, Nickname: "Ann"})
	if err != nil {
		t.Fatal(err)
	}
	p := &Player{Room: run.ID, ID: j.Player, Nick: j.Nickname}
	before, err := s.Snapshot(ctx, run.ID, p)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Next(ctx, a, run.ID, ""); err != nil {
		t.Fatal(err)
	}
	now, err := s.Snapshot(ctx, run.ID, p)
	if err != nil {
		t.Fatal(err)
	}
	if now.Seq <= before.Seq {
		t.Fatalf("seq %d after Next, %d before: want it to grow", now.Seq, before.Seq)
	}
	type welcome struct {
		Type    string `json:"type"`
		Resumed bool   `json:"resumed"`
		Player  int    `json:"player"`
		Room    int64  `json:"room"`
	}
	tests := []struct {
		name    string
		hello   Hello
		p       *Player
		resumed bool
		events  int // missed events replayed (resumed) ; -1: a snapshot
	}{
		{"fresh page", Hello{Room: run.ID}, p, false, -1},
		{"missed some", Hello{Room: run.ID, Epoch: now.Epoch, LastSeq: before.Seq}, p, true, int(now.Seq - before.Seq)},
		{"missed none", Hello{Room: run.ID, Epoch: now.Epoch, LastSeq: now.Seq}, nil, true, 0},
		{"other epoch", Hello{Room: run.ID, Epoch: now.Epoch + 1, LastSeq: before.Seq}, p, false, -1},
		{"ahead of the room", Hello{Room: run.ID, Epoch: now.Epoch, LastSeq: now.Seq + 5}, nil, false, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cu, err := s.CatchUp(ctx, tt.hello, tt.p)
			if err != nil {
				t.Fatal(err)
			}
			if cu.Resumed != tt.resumed || cu.Seq != now.Seq {
				t.Fatalf("resumed %v seq %d, want %v and %d", cu.Resumed, cu.Seq, tt.resumed, now.Seq)
			}
			var w welcome
			if err := json.Unmarshal(cu.Msgs[0], &w); err != nil {
				t.Fatal(err)
			}
			wantID := 0
			if tt.p != nil {
				wantID = tt.p.ID
			}
			if w != (welcome{"welcome", tt.resumed, wantID, run.ID}) {
				t.Errorf("welcome %+v", w)
			}
			rest := cu.Msgs[1:]
			if tt.events < 0 {
				var snap Snapshot
				if len(rest) != 1 || json.Unmarshal(rest[0], &snap) != nil || snap.Type != "snapshot" || snap.Seq != now.Seq {
					t.Errorf("got %q, want one snapshot at seq %d", rest, now.Seq)
				}
				return
			}
			if len(rest) != tt.events {
				t.Fatalf("%d events replayed, want %d", len(rest), tt.events)
			}
			for i, m := range rest {
				if got, want := EventSeq(m), tt.hello.LastSeq+int64(i)+1; got != want {
					t.Errorf("event %d has seq %d, want %d", i, got, want)
				}
			}
		})
	}
	clock, err := s.ClockMsg(ctx, run.ID, p)
	if err != nil || !strings.Contains(string(clock), `"type":"clock"`) || !strings.Contains(string(clock), `"phase":"question"`) {
		t.Errorf("clock %s, %v", clock, err)
	}
	if _, err := s.CatchUp(ctx, Hello{Room: run.ID + 1000}, nil); kepu.ErrorCode(err) != kepu.EGONE {
		t.Errorf("room gone: got %v, want EGONE", err)
	}
}
