package server

import (
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
