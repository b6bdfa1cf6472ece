package server

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/kepu/kepu/internal/contest"
)

// The per-message work of the contest websocket: decoding a player's answer,
// encoding its ack, and reading the seq of a room event (done once per
// event per held-back connection).

func BenchmarkContestDecodeAnswer(b *testing.B) {
	msg := []byte(`{"type":"answer","q":3,"choice":[2]}`)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := decodeClientMsg(msg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkContestEncodeAck(b *testing.B) {
	choice := []int{2}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		_ = ackMsg(3, choice)
	}
}

func BenchmarkContestEventSeq(b *testing.B) {
	ev := []byte(`{"seq":41,"epoch":1764345600000,"type":"question","data":{"q":3,"count":10,"type":"single",` +
		`"stem":"水在标准大气压下的沸点是多少？","options":["50 °C","100 °C","150 °C","200 °C"],"duration_ms":20000,"remaining_ms":20000,"points":1000,"practice":false}}`)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if contest.EventSeq(ev) != 41 {
			b.Fatal("seq")
		}
	}
}

// decodeAnswer's fast path reads what the JSON decoder reads, and accepts
// nothing the decoder refuses.
func FuzzDecodeAnswer(f *testing.F) {
	for _, s := range []string{`{"type":"answer","q":3,"choice":[2]}`, `{"type":"answer","q":0,"choice":[0,3,1]}`,
		`{"type":"answer","q":01,"choice":[2]}`, `{"type":"answer","q":3,"choice":[]}`, `{"type":"answer","q":3,"choice":[2]} `,
		`{"type":"answer","q":3,"choice":[2,]}`, `{"type":"answer","q":-1,"choice":[2]}`, `{"type":"answer","q":1e2,"choice":[2]}`,
		`{"type":"answer","q":3,"choice":[1,2,3,4,5,6,7,8,9,10,11]}`, `{"type":"answer","q":9999999999,"choice":[2]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fast, ok := decodeAnswer(b)
		if !ok {
			return
		}
		var m clientMsg
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&m); err != nil || dec.More() || len(m.Choice) > 10 {
			t.Fatalf("decodeAnswer accepted %q, the decoder refuses it (%v)", b, err)
		}
		if !reflect.DeepEqual(fast, m) {
			t.Fatalf("decodeAnswer(%q) = %+v, the decoder reads %+v", b, fast, m)
		}
	})
}
