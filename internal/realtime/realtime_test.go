package realtime

import (
	"context"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/redis/go-redis/v9"

	"github.com/kepu/kepu/internal/testenv"
)

// fakeSocket records writes; block makes WriteMessage wait (a stuck client).
type fakeSocket struct {
	mu     sync.Mutex
	msgs   []string
	closed []int
	pings  int
	block  chan struct{}
}

func (f *fakeSocket) WriteMessage(_ int, data []byte) error {
	if f.block != nil {
		<-f.block
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.msgs = append(f.msgs, string(data))
	return nil
}

func (f *fakeSocket) WriteControl(t int, data []byte, _ time.Time) error {
	if t == websocket.PingMessage {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.pings++
	}
	if t == websocket.CloseMessage {
		f.mu.Lock()
		defer f.mu.Unlock()
		code := int(data[0])<<8 | int(data[1])
		f.closed = append(f.closed, code)
	}
	return nil
}

func (f *fakeSocket) SetWriteDeadline(time.Time) error { return nil }

func (f *fakeSocket) snapshot() ([]string, []int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.msgs...), append([]int(nil), f.closed...)
}

func TestHubBroadcastAndSlowClient(t *testing.T) {
	h := NewHub()
	fast := &fakeSocket{}
	slow := &fakeSocket{block: make(chan struct{})}
	other := &fakeSocket{}
	cf, cs, co := NewConn(fast, 4), NewConn(slow, 2), NewConn(other, 4)
	h.Add("campaign:1", cf)
	h.Add("campaign:1", cs)
	h.Add("campaign:2", co)

	for i := 0; i < 4; i++ {
		h.Broadcast("campaign:1", []byte("m"))
		time.Sleep(5 * time.Millisecond) // let the fast writer drain
	}
	// The slow socket's writer is stuck on its first message; its queue
	// (2) overflowed, so it is closed with 1013.
	select {
	case <-cs.Done():
	case <-time.After(time.Second):
		t.Fatal("slow client not disconnected")
	}
	// The broadcast did not wait for it: its writer sends the close frame
	// once the stuck write returns.
	close(slow.block)
	deadline := time.Now().Add(time.Second)
	for {
		_, closed := slow.snapshot()
		if len(closed) == 1 && closed[0] == CloseTryLater {
			break
		}
		if len(closed) > 1 || time.Now().After(deadline) {
			t.Fatalf("slow close codes: got %v, want [%d]", closed, CloseTryLater)
		}
		time.Sleep(time.Millisecond)
	}
	if msgs, _ := slow.snapshot(); len(msgs) != 1 {
		t.Errorf("slow client got %d messages after it was closed, want only the one being written (1)", len(msgs))
	}
	deadline = time.Now().Add(time.Second)
	for {
		msgs, _ := fast.snapshot()
		if len(msgs) == 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("fast client got %d messages, want 4", len(msgs))
		}
		time.Sleep(time.Millisecond)
	}
	if msgs, _ := other.snapshot(); len(msgs) != 0 {
		t.Errorf("other topic got %v, want nothing", msgs)
	}
	h.Remove("campaign:1", cs)
	if got := len(h.Conns("campaign:1")); got != 1 {
		t.Errorf("conns after remove: got %d, want 1", got)
	}
	h.CloseAll(CloseGoingAway, "server stopping")
	for _, f := range []*fakeSocket{fast, other} {
		if _, closed := f.snapshot(); len(closed) != 1 || closed[0] != CloseGoingAway {
			t.Errorf("shutdown close codes: got %v, want [%d]", closed, CloseGoingAway)
		}
	}
	if h.Watched("campaign:3") {
		t.Error("Watched(campaign:3): got true, want false")
	}
}

func TestRedisBrokerFansOutAcrossSubscribers(t *testing.T) {
	r := testenv.NewRedis(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b := RedisBroker{Client: r.Client}
	type got struct{ ch, msg string }
	results := make([]chan got, 2) // two "instances"
	for i := range results {
		results[i] = make(chan got, 4)
		out := results[i]
		if _, err := b.Subscribe(ctx, r.Prefix+":ev:*", func(ch string, msg []byte) { out <- got{ch, string(msg)} }); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Publish(ctx, r.Prefix+":ev:7", []byte("changed")); err != nil {
		t.Fatal(err)
	}
	for i, out := range results {
		select {
		case g := <-out:
			if g.ch != r.Prefix+":ev:7" || g.msg != "changed" {
				t.Errorf("instance %d: got %+v, want channel %s:ev:7 message changed", i, g, r.Prefix)
			}
		case <-time.After(2 * time.Second):
			t.Fatalf("instance %d got nothing", i)
		}
	}
}

// Shard channels and patterns are two separate worlds: a SubscribeShard
// subscription gets what PublishShard sends on its channel and nothing
// published with Publish, and a pattern subscription nothing sent with
// PublishShard.
func TestRedisBrokerShardChannels(t *testing.T) {
	r := testenv.NewRedis(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b := RedisBroker{Client: r.Client}
	shard, pattern := make(chan string, 4), make(chan string, 4)
	channel := r.Prefix + ":ev:dash:refresh"
	if _, err := b.SubscribeShard(ctx, channel, func(ch string, msg []byte) { shard <- ch + " " + string(msg) }); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Subscribe(ctx, r.Prefix+":ev:*", func(ch string, msg []byte) { pattern <- ch + " " + string(msg) }); err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"p1", "s1"} {
		publish := b.Publish
		if m[0] == 's' {
			publish = b.PublishShard
		}
		if err := publish(ctx, channel, []byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	for name, tc := range map[string]struct {
		out  chan string
		want string
	}{"shard": {shard, channel + " s1"}, "pattern": {pattern, channel + " p1"}} {
		select {
		case got := <-tc.out:
			if got != tc.want {
				t.Errorf("%s subscription: got %q, want %q", name, got, tc.want)
			}
		case <-time.After(2 * time.Second):
			t.Fatalf("%s subscription got nothing", name)
		}
		select {
		case got := <-tc.out:
			t.Errorf("%s subscription: got %q too, want only %q", name, got, tc.want)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// An idle connection holds no goroutine: messages are written by one that
// lives while the queue has messages; pings come from a timer.
func TestConnIdleHoldsNoGoroutine(t *testing.T) {
	before := runtime.NumGoroutine()
	socks := make([]*fakeSocket, 200)
	conns := make([]*Conn, len(socks))
	for i := range conns {
		socks[i] = &fakeSocket{}
		conns[i] = NewConn(socks[i], 4)
		conns[i].PingEvery = 20 * time.Millisecond
		conns[i].StartPings()
		for j := 0; j < 3; j++ {
			conns[i].Send([]byte{byte('a' + j)})
		}
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		done := 0
		for _, f := range socks {
			if msgs, _ := f.snapshot(); len(msgs) == 3 && msgs[0] == "a" && msgs[2] == "c" {
				done++
			}
		}
		if done == len(socks) && runtime.NumGoroutine() <= before+2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d sockets got a, b, c in order; goroutines %d, before %d", done, len(socks), runtime.NumGoroutine(), before)
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	socks[0].mu.Lock()
	pings := socks[0].pings
	socks[0].mu.Unlock()
	if pings < 1 {
		t.Errorf("pings after 50 ms at 20 ms: got %d, want at least 1", pings)
	}
	for _, c := range conns {
		c.Close(CloseNormal, "")
		c.Wait()
	}
	if c := conns[0]; c.Send([]byte("late")) {
		t.Error("Send after Close: got true, want false")
	}
}

// brokerThroughProxy is a RedisBroker whose subscriptions go through a
// proxy the test can cut; publishing goes straight to Redis.
func brokerThroughProxy(t *testing.T) (sub RedisBroker, pub RedisBroker, p *testenv.Proxy, prefix string, log *testenv.LogBuffer) {
	t.Helper()
	r := testenv.NewRedis(t)
	p = testenv.NewRedisProxy(t)
	client := redis.NewClient(&redis.Options{Addr: p.Addr(), MaxRetries: -1, DialTimeout: time.Second})
	t.Cleanup(func() { client.Close() })
	log = &testenv.LogBuffer{}
	sub = RedisBroker{Client: client, Log: slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	return sub, RedisBroker{Client: r.Client}, p, r.Prefix, log
}

// publishUntilDelivered publishes msg every 50 ms until it arrives on out.
func publishUntilDelivered(t *testing.T, b RedisBroker, channel, msg string, out <-chan string, within time.Duration) {
	t.Helper()
	deadline := time.After(within)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		_ = b.Publish(context.Background(), channel, []byte(msg))
		select {
		case got := <-out:
			if got == msg {
				return
			}
		case <-tick.C:
		case <-deadline:
			t.Fatalf("%q not delivered within %v", msg, within)
		}
	}
}

// TestRedisBrokerResubscribesAfterDrop: the subscription's connection is
// cut (Redis restarting, a network failure); once Redis is reachable again
// the broker subscribes again by itself and delivers what is published.
func TestRedisBrokerResubscribesAfterDrop(t *testing.T) {
	sub, pub, p, prefix, log := brokerThroughProxy(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := make(chan string, 16)
	if _, err := sub.Subscribe(ctx, prefix+":ev:*", func(_ string, msg []byte) { out <- string(msg) }); err != nil {
		t.Fatal(err)
	}
	publishUntilDelivered(t, pub, prefix+":ev:1", "before", out, 2*time.Second)

	p.Cut()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(log.String(), "subscription dropped") {
		if time.Now().After(deadline) {
			t.Fatalf("drop not logged; log:\n%s", log)
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(700 * time.Millisecond) // a few failed attempts while Redis is away
	p.Restore()
	publishUntilDelivered(t, pub, prefix+":ev:1", "after", out, 10*time.Second)
	if !strings.Contains(log.String(), "subscribed again") {
		t.Errorf("recovery not logged; log:\n%s", log)
	}
}

// TestRedisBrokerRetriesFirstSubscribe: Redis is unreachable when the
// subscription is first made; Subscribe reports it and keeps trying, and
// messages flow once Redis is back (the old broker gave up for good).
func TestRedisBrokerRetriesFirstSubscribe(t *testing.T) {
	sub, pub, p, prefix, _ := brokerThroughProxy(t)
	p.Cut()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := make(chan string, 16)
	if _, err := sub.Subscribe(ctx, prefix+":ev:*", func(_ string, msg []byte) { out <- string(msg) }); err == nil {
		t.Fatal("Subscribe with Redis away: got nil, want the first attempt's error")
	}
	time.Sleep(300 * time.Millisecond)
	p.Restore()
	publishUntilDelivered(t, pub, prefix+":ev:2", "hello", out, 10*time.Second)
}

// TestRedisBrokerStopsWithContext: when ctx ends the subscription's
// goroutines end too, connected or retrying.
func TestRedisBrokerStopsWithContext(t *testing.T) {
	sub, _, p, prefix, _ := brokerThroughProxy(t)
	before := runtime.NumGoroutine()
	ctx, cancel := context.WithCancel(context.Background())
	done, err := sub.Subscribe(ctx, prefix+":ev:*", func(string, []byte) {})
	if err != nil {
		t.Fatal(err)
	}
	p.Cut()
	time.Sleep(200 * time.Millisecond)
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("done not closed 5 s after cancel")
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			t.Fatalf("goroutines after cancel: %d, before Subscribe %d", runtime.NumGoroutine(), before)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestBackoffBounded(t *testing.T) {
	for n := 1; n < 40; n++ {
		d := backoff(n)
		if d < backoffMin/2 || d >= backoffMax {
			t.Errorf("backoff(%d) = %v, want within [%v, %v)", n, d, backoffMin/2, backoffMax)
		}
	}
	if d := backoff(1); d >= backoffMin {
		t.Errorf("backoff(1) = %v, want < %v", d, backoffMin)
	}
	if d := backoff(30); d < backoffMax/2 {
		t.Errorf("backoff(30) = %v, want >= %v", d, backoffMax/2)
	}
}
