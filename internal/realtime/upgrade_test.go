package realtime

import (
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/gofiber/fiber/v2"
)

// Upgrade refuses a plain request, releases the upgrade request before
// the handler runs and enforces the read limit.
func TestUpgrade(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		header  string // the upgrade request's header as the handler sees it
		readErr error
	}
	results := make(chan result, 1)
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Get("/", func(c *fiber.Ctx) error {
		ctx := c.Context()
		err := Upgrade(c, 16, func(ws *WebSocket) {
			r := result{header: string(ctx.Request.Header.Peek("X-Big"))}
			_, _, r.readErr = ws.ReadMessage()
			results <- r
		})
		if errors.Is(err, ErrNotUpgrade) {
			return c.SendStatus(fiber.StatusUpgradeRequired)
		}
		return err
	})
	go app.Listener(ln)
	defer app.Shutdown()
	url := "ws://" + ln.Addr().String() + "/"

	resp, err := http.Get("http://" + ln.Addr().String() + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUpgradeRequired {
		t.Errorf("plain GET: status %d, want 426", resp.StatusCode)
	}

	ws, _, err := websocket.DefaultDialer.Dial(url, http.Header{"X-Big": {strings.Repeat("x", 2000)}})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	if err := ws.WriteMessage(websocket.TextMessage, []byte(strings.Repeat("y", 17))); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-results:
		if r.header != "" {
			t.Errorf("handler still sees the upgrade request's header (%d bytes), want it released", len(r.header))
		}
		if !errors.Is(r.readErr, ErrReadLimit) {
			t.Errorf("17-byte message with limit 16: read error %v, want ErrReadLimit", r.readErr)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("handler did not run")
	}
}
