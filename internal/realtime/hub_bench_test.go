package realtime

import (
	"strconv"
	"testing"
	"time"
)

type nopSocket struct{}

func (nopSocket) WriteMessage(int, []byte) error            { return nil }
func (nopSocket) WriteControl(int, []byte, time.Time) error { return nil }
func (nopSocket) SetWriteDeadline(time.Time) error          { return nil }

// BenchmarkHubBroadcast queues one encoded message to 1000 watchers of a
// topic (the writers drain in their own goroutines).
func BenchmarkHubBroadcast(b *testing.B) {
	h := NewHub()
	for i := 0; i < 1000; i++ {
		c := NewConn(nopSocket{}, 64)
		defer c.Close(CloseNormal, "")
		h.Add("campaign:1", c)
		h.Add("campaign:"+strconv.Itoa(i+2), c)
	}
	msg := []byte(`{"type":"top","top":[],"my_rank":0}`)
	b.ResetTimer()
	// A watcher whose queue is full is closed as a slow client, as in
	// production; report how many deliveries were taken rather than fail.
	taken := 0
	for i := 0; i < b.N; i++ {
		taken += h.Broadcast("campaign:1", msg)
	}
	b.ReportMetric(float64(taken)/float64(b.N), "watchers/op")
}
