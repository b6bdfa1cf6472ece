package contest

import (
	"bytes"
	"encoding/json"
)

// EventHead is what a server needs to route a message published on a room
// channel: its seq (0 for a status message, which only hosts get) and type.
type EventHead struct {
	Seq  int64
	Type string
}

var (
	seqPrefix  = []byte(`{"seq":`)
	typeMarker = []byte(`"type":"`)
)

// eventTypes interns the types of room events, so that reading a head
// does not allocate.
var eventTypes = map[string]string{}

func init() {
	for _, t := range []string{"lobby", "progress", "question", "closed", "reveal", "board", "podium",
		"paused", "resumed", "locked", "kicked", "resync"} {
		eventTypes[t] = t
	}
}

// ParseHead reads the seq and type of a room event or status message.
// Events are written by lib.lua's emit as {"seq":N,"epoch":E,"type":"T",…}
// and status messages as {"epoch":E,"type":"T",…}; anything else is
// decoded as JSON. ok is false for a message that is not JSON.
func ParseHead(msg []byte) (h EventHead, ok bool) {
	rest := msg
	if r, found := bytes.CutPrefix(msg, seqPrefix); found {
		i := 0
		for ; i < len(r) && i < 18 && r[i] >= '0' && r[i] <= '9'; i++ {
			h.Seq = h.Seq*10 + int64(r[i]-'0')
		}
		if i == 0 || i >= len(r) || r[i] != ',' {
			return parseHeadJSON(msg)
		}
		rest = r[i:]
	} else if !bytes.HasPrefix(msg, []byte(`{"epoch":`)) {
		return parseHeadJSON(msg)
	}
	_, after, found := bytes.Cut(rest, typeMarker)
	end := bytes.IndexByte(after, '"')
	if !found || end < 0 || bytes.IndexByte(after[:end], '\\') >= 0 {
		return parseHeadJSON(msg)
	}
	if t, known := eventTypes[string(after[:end])]; known {
		h.Type = t
	} else {
		h.Type = string(after[:end])
	}
	return h, true
}

func parseHeadJSON(msg []byte) (EventHead, bool) {
	var v struct {
		Seq  int64  `json:"seq"`
		Type string `json:"type"`
	}
	if json.Unmarshal(msg, &v) != nil {
		return EventHead{}, false
	}
	return EventHead{Seq: v.Seq, Type: v.Type}, true
}

// EventSeq returns the seq of a room event (0 if it has none).
func EventSeq(msg []byte) int64 {
	h, _ := ParseHead(msg)
	return h.Seq
}

// ForPlayers returns the message players' connections get for a room
// event of type typ: the same bytes, except for the podium, whose full
// ranking (up to MaxRankingShown lines) and question statistics only the
// host's screen shows; a phone gets the top three and its own standing
// (the "final" message). Encoded once per event, not per connection.
func ForPlayers(typ string, msg []byte) []byte {
	if typ != "podium" {
		return msg
	}
	var ev struct {
		Seq   int64  `json:"seq"`
		Epoch int64  `json:"epoch"`
		Type  string `json:"type"`
		Data  struct {
			Podium []Standing     `json:"podium"`
			Teams  []TeamStanding `json:"teams,omitempty"`
			Total  int            `json:"total"`
		} `json:"data"`
	}
	if json.Unmarshal(msg, &ev) != nil {
		return msg
	}
	b, err := json.Marshal(ev)
	if err != nil {
		return msg
	}
	return b
}
