package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/kepu/kepu/internal/apptest"
	"github.com/kepu/kepu/internal/testenv"
)

// contestFixture is a teacher with a saved three-question contest on a
// running instance.
type contestFixture struct {
	inst      *apptest.Instance
	teacher   *apptest.Client
	contestID int64
	qids      []int64
}

// insertQuestions adds n published single-choice questions whose answer is
// option 1, and returns their ids.
func insertQuestions(t *testing.T, inst *apptest.Instance, n int) []int64 {
	t.Helper()
	ctx := context.Background()
	var ids []int64
	for i := 0; i < n; i++ {
		var id int64
		err := inst.DB.Pool.QueryRow(ctx, `INSERT INTO questions (owner_region_id, status, type, category, dimension, difficulty, stem_norm)
			VALUES ($1, 'published', 'single', 'life', 'knowledge', 2, $2) RETURNING id`, inst.Seed.CityID, fmt.Sprintf("q%d", i)).Scan(&id)
		if err != nil {
			t.Fatalf("insert question: %v", err)
		}
		_, err = inst.DB.Pool.Exec(ctx, `INSERT INTO question_versions (question_id, version, type, stem, options, answer, explanation, category, dimension, difficulty)
			VALUES ($1, 1, 'single', $2, '["A","B","C","D"]', '{1}', 'because B', 'life', 'knowledge', 2)`, id, fmt.Sprintf("Question %d?", i+1))
		if err != nil {
			t.Fatalf("insert version: %v", err)
		}
		ids = append(ids, id)
	}
	return ids
}

func newContestFixture(t *testing.T, settings map[string]any, opts ...apptest.Options) *contestFixture {
	t.Helper()
	inst := apptest.Start(t, opts...)
	_, pw := inst.CreateUser("teacher1", "teacher")
	f := &contestFixture{inst: inst, teacher: inst.Login("teacher1", pw), qids: insertQuestions(t, inst, 3)}
	if settings == nil {
		settings = map[string]any{}
	}
	if _, ok := settings["time_limit"]; !ok {
		settings["time_limit"] = 5
	}
	r := f.teacher.Do("POST", "/api/v1/contests", map[string]any{"title": "Class quiz", "question_ids": f.qids, "settings": settings})
	apptest.Expect(t, r, 201, "create contest")
	var c struct{ ID int64 }
	r.JSON(t, &c)
	f.contestID = c.ID
	return f
}

type runInfo struct {
	ID  int64
	PIN string
}

func (f *contestFixture) newRun(t *testing.T) runInfo {
	t.Helper()
	r := f.teacher.Do("POST", fmt.Sprintf("/api/v1/contests/%d/runs", f.contestID), nil)
	apptest.Expect(t, r, 201, "create run")
	var v struct{ Run runInfo }
	r.JSON(t, &v)
	if len(v.Run.PIN) != 6 {
		t.Fatalf("pin = %q, want 6 digits", v.Run.PIN)
	}
	return v.Run
}

func (f *contestFixture) act(t *testing.T, run runInfo, action string, want int) {
	t.Helper()
	apptest.Expect(t, f.teacher.Do("POST", fmt.Sprintf("/api/v1/contest-runs/%d/%s", run.ID, action), nil), want, action)
}

type joined struct {
	Room     int64
	Player   int
	Nickname string
	Token    string
	Epoch    int64
}

func join(t *testing.T, inst *apptest.Instance, pin, nick string, want int) joined {
	t.Helper()
	r := inst.Client().Do("POST", "/api/v1/play/join", map[string]any{"pin": pin, "nickname": nick})
	apptest.Expect(t, r, want, "join "+nick)
	var j joined
	if want == 201 {
		r.JSON(t, &j)
	}
	return j
}

// wsClient is a test websocket client of the contest protocol.
type wsClient struct {
	t    *testing.T
	ws   *websocket.Conn
	last int64          // highest event seq seen
	seen map[string]int // messages read, by type
}

type msg map[string]any

func (m msg) typ() string { s, _ := m["type"].(string); return s }
func (m msg) data() msg   { d, _ := m["data"].(map[string]any); return d }
func (m msg) num(k string) float64 {
	v, _ := m[k].(float64)
	return v
}

func dial(t *testing.T, inst *apptest.Instance, cookie *apptest.Client) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	h := http.Header{"Origin": {inst.URL}}
	if cookie != nil {
		h.Set("Cookie", "kepu_session="+cookie.Cookie("kepu_session"))
	}
	return websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(inst.URL, "http")+"/ws/contest", h)
}

// connect opens a connection and says hello; host when token is "".
func connect(t *testing.T, inst *apptest.Instance, host *apptest.Client, room int64, token string, epoch, lastSeq int64) *wsClient {
	t.Helper()
	ws, _, err := dial(t, inst, host)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { ws.Close() })
	c := &wsClient{t: t, ws: ws, last: lastSeq, seen: map[string]int{}}
	c.send(msg{"type": "hello", "room": room, "token": token, "epoch": epoch, "last_seq": lastSeq})
	return c
}

func (c *wsClient) send(m msg) {
	c.t.Helper()
	if err := c.ws.WriteJSON(m); err != nil {
		c.t.Fatalf("send: %v", err)
	}
}

func (c *wsClient) read(timeout time.Duration) (msg, error) {
	c.ws.SetReadDeadline(time.Now().Add(timeout))
	_, b, err := c.ws.ReadMessage()
	if err != nil {
		return nil, err
	}
	var m msg
	if err := json.Unmarshal(b, &m); err != nil {
		c.t.Fatalf("server sent bad JSON %s: %v", b, err)
	}
	c.seen[m.typ()]++
	if s := m.num("seq"); s > 0 {
		if int64(s) <= c.last {
			c.t.Fatalf("event seq %v not after %d: %v", s, c.last, m)
		}
		c.last = int64(s)
	}
	return m, nil
}

// waitFor reads until a message of type typ arrives (and pred, if given,
// holds), failing after 5 s.
func (c *wsClient) waitFor(typ string, pred ...func(msg) bool) msg {
	c.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	var seen []string
	for time.Now().Before(deadline) {
		m, err := c.read(time.Until(deadline))
		if err != nil {
			c.t.Fatalf("waiting for %q: %v (saw %v)", typ, err, seen)
		}
		seen = append(seen, m.typ())
		if m.typ() == typ && (len(pred) == 0 || pred[0](m)) {
			return m
		}
	}
	c.t.Fatalf("no %q message within 5s (saw %v)", typ, seen)
	return nil
}

// closeCode reads until the server closes and returns the close code.
func (c *wsClient) closeCode() int {
	c.t.Helper()
	for {
		_, err := c.read(5 * time.Second)
		if err != nil {
			var ce *websocket.CloseError
			if e, ok := err.(*websocket.CloseError); ok {
				ce = e
				return ce.Code
			}
			c.t.Fatalf("want a close frame, got %v", err)
		}
	}
}

func TestContestJoinRules(t *testing.T) {
	t.Parallel()
	f := newContestFixture(t, nil)
	run := f.newRun(t)
	inst := f.inst
	join(t, inst, "000000", "ann", 404)
	join(t, inst, "12ab56", "ann", 404)
	join(t, inst, run.PIN, "  Ann  ", 201)
	if code := inst.Client().Do("POST", "/api/v1/play/join", map[string]any{"pin": run.PIN, "nickname": "ann"}).ErrorCode(); code != "conflict" {
		t.Errorf("duplicate nickname (case-insensitive): got %q, want conflict", code)
	}
	join(t, inst, run.PIN, "", 400)
	join(t, inst, run.PIN, strings.Repeat("長", 17), 400)
	join(t, inst, run.PIN, "f.u.c.k", 400)
	join(t, inst, run.PIN, "<b>bob</b>", 201) // kept as text, rendered escaped
	f.act(t, run, "lock", 204)
	join(t, inst, run.PIN, "carl", 423)
	f.act(t, run, "unlock", 204)
	join(t, inst, run.PIN, "carl", 201)
	f.act(t, run, "next", 204) // start: late join is off
	join(t, inst, run.PIN, "dora", 409)

	// Another teacher may not drive the room.
	_, pw := inst.CreateUser("teacher2", "teacher")
	other := inst.Login("teacher2", pw)
	apptest.Expect(t, other.Do("POST", fmt.Sprintf("/api/v1/contest-runs/%d/next", run.ID), nil), 403, "other teacher")
	// A participant may not host at all.
	_, pw = inst.CreateUser("pupil", "participant")
	apptest.Expect(t, inst.Login("pupil", pw).Do("POST", "/api/v1/contests", map[string]any{"title": "x"}), 403, "participant creates")

	// Guessing PINs runs into the per-IP limit.
	guesser := inst.Client()
	limited := false
	for i := 0; i < 130 && !limited; i++ {
		r := guesser.Do("POST", "/api/v1/play/join", map[string]any{"pin": fmt.Sprintf("%06d", 100000+i), "nickname": "g"})
		limited = r.Status == 429 && r.Header.Get("Retry-After") != ""
	}
	if !limited {
		t.Errorf("130 join attempts from one IP: never got 429 with Retry-After")
	}
}

func TestContestPlayToPodium(t *testing.T) {
	t.Parallel()
	f := newContestFixture(t, nil)
	inst := f.inst
	run := f.newRun(t)
	host := connect(t, inst, f.teacher, run.ID, "", 0, 0)
	if m := host.waitFor("snapshot"); m["phase"] != "lobby" || m["pin"] != run.PIN {
		t.Fatalf("host snapshot: got phase %v pin %v, want lobby %s", m["phase"], m["pin"], run.PIN)
	}
	ann := join(t, inst, run.PIN, "ann", 201)
	bob := join(t, inst, run.PIN, "bob", 201)
	// Joins are coalesced into lobby updates carrying the list: status
	// messages without seq, for hosts only.
	if m := host.waitFor("lobby", func(m msg) bool { return m.data().num("count") == 2 }); m["seq"] != nil || len(m.data()["players"].([]any)) != 2 {
		t.Errorf("lobby update: %v, want no seq and 2 players", m)
	}

	pa := connect(t, inst, nil, ann.Room, ann.Token, 0, 0)
	pb := connect(t, inst, nil, bob.Room, bob.Token, 0, 0)
	if m := pa.waitFor("snapshot"); m["me"].(map[string]any)["nick"] != "ann" {
		t.Fatalf("ann's snapshot me = %v", m["me"])
	}
	pb.waitFor("snapshot")

	f.act(t, run, "next", 204) // start
	q := pa.waitFor("question").data()
	if q.num("q") != 0 || q["stem"] != "Question 1?" || q["answer"] != nil {
		t.Fatalf("question event: %v (must not carry the answer)", q)
	}
	pb.waitFor("question")

	pa.send(msg{"type": "answer", "q": 0, "choice": []int{1}})
	pa.waitFor("ack")
	pa.send(msg{"type": "answer", "q": 0, "choice": []int{2}})
	if m := pa.waitFor("answer_error"); m["error"] != "duplicate" {
		t.Errorf("second answer: got %v, want duplicate", m["error"])
	}
	host.waitFor("progress", func(m msg) bool { return m.data().num("answered") == 1 })
	pb.send(msg{"type": "answer", "q": 0, "choice": []int{3}})
	pb.waitFor("ack")

	// Everyone answered: the server closes the round at once.
	rv := host.waitFor("reveal").data()
	if got := fmt.Sprint(rv["answer"], " ", rv["dist"], " ", rv["explanation"]); got != "[1] [0 1 0 1] because B" {
		t.Errorf("reveal: got %s, want [1] [0 1 0 1] because B", got)
	}
	ra := pa.waitFor("result")["me"].(map[string]any)
	last := ra["last"].(map[string]any)
	if last["correct"] != true || last["points"].(float64) < 500 || last["points"].(float64) > 1000 || ra["rank"] != 1.0 {
		t.Errorf("ann's result: %v, want correct, 500–1000 points, rank 1", ra)
	}
	rb := pb.waitFor("result")["me"].(map[string]any)
	if rb["last"].(map[string]any)["correct"] != false || rb["score"] != 0.0 || rb["rank"] != 2.0 {
		t.Errorf("bob's result: %v, want wrong, 0 points, rank 2", rb)
	}
	pa.send(msg{"type": "answer", "q": 0, "choice": []int{1}})
	if m := pa.waitFor("answer_error"); m["error"] != "closed" {
		t.Errorf("answer after close: got %v, want closed", m["error"])
	}

	f.act(t, run, "next", 204) // board
	top := host.waitFor("board").data()["top"].([]any)
	if len(top) != 2 || top[0].(map[string]any)["nick"] != "ann" {
		t.Errorf("board top: %v, want ann first of 2", top)
	}
	// Question 2: bob answers wrong, ann does not answer. (Were bob right,
	// the order would hang on milliseconds of speed points: on a busy
	// machine ann's first answer scored 999 and bob's 1000.)
	f.act(t, run, "next", 204)
	pb.waitFor("question", func(m msg) bool { return m.data().num("q") == 1 })
	pb.send(msg{"type": "answer", "q": 1, "choice": []int{2}})
	pb.waitFor("ack")
	f.act(t, run, "next", 204) // skip: close now
	host.waitFor("reveal", func(m msg) bool { return m.data().num("answered") == 1 })
	f.act(t, run, "end", 204) // end early
	pod := host.waitFor("podium").data()
	if len(pod["podium"].([]any)) != 2 || len(pod["questions"].([]any)) != 2 || len(pod["ranking"].([]any)) != 2 {
		t.Errorf("podium: %v, want 2 players, 2 questions played and the ranking", pod)
	}
	// Phones get the podium without the full ranking and statistics, then
	// their own final standing.
	if pp := pa.waitFor("podium").data(); len(pp["podium"].([]any)) != 2 || pp["ranking"] != nil || pp["questions"] != nil || pp.num("total") != 2 {
		t.Errorf("players' podium: %v, want the podium and total only", pp)
	}
	if m := pa.waitFor("final")["me"].(map[string]any); m["rank"] != 1.0 {
		t.Errorf("ann's final rank: %v, want 1", m["rank"])
	}
	if n := pa.seen["lobby"] + pa.seen["progress"] + pb.seen["lobby"] + pb.seen["progress"]; n != 0 {
		t.Errorf("players got %d lobby/progress messages (ann %v, bob %v), want none", n, pa.seen, pb.seen)
	}

	// The results are in Postgres and exportable.
	var res struct {
		Ranking []struct {
			Rank     int
			Nickname string
			Score    int
			Correct  int
		}
		Questions []struct {
			Answered, Correct int
			Accuracy          float64
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		r := f.teacher.Do("GET", fmt.Sprintf("/api/v1/contest-runs/%d/results", run.ID), nil)
		if r.Status == 200 {
			r.JSON(t, &res)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("results: got %d %s", r.Status, r.Body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(res.Ranking) != 2 || res.Ranking[0].Nickname != "ann" || res.Ranking[0].Correct != 1 || res.Ranking[1].Correct != 0 {
		t.Errorf("stored ranking: %+v", res.Ranking)
	}
	if len(res.Questions) != 3 || res.Questions[0].Answered != 2 || res.Questions[0].Accuracy != 0.5 || res.Questions[2].Answered != 0 {
		t.Errorf("stored question stats: %+v", res.Questions)
	}
	csv := f.teacher.Do("GET", fmt.Sprintf("/api/v1/contest-runs/%d/results.csv", run.ID), nil)
	apptest.Expect(t, csv, 200, "csv")
	if !strings.Contains(string(csv.Body), "ann") {
		t.Errorf("csv lacks ann: %s", csv.Body)
	}
	xlsx := f.teacher.Do("GET", fmt.Sprintf("/api/v1/contest-runs/%d/results.xlsx", run.ID), nil)
	apptest.Expect(t, xlsx, 200, "xlsx")
	if !strings.HasPrefix(string(xlsx.Body), "PK") {
		t.Errorf("xlsx is not a zip file")
	}
	// The PIN no longer works.
	join(t, inst, run.PIN, "late", 404)
}

func TestContestRoomSizeFollowsConfig(t *testing.T) {
	t.Parallel()
	f := newContestFixture(t, nil, apptest.Options{Env: map[string]string{"KEPU_CONTEST_MAX_PLAYERS": "2"}})
	run := f.newRun(t)
	join(t, f.inst, run.PIN, "ann", 201)
	join(t, f.inst, run.PIN, "bob", 201)
	join(t, f.inst, run.PIN, "cat", 409) // full
	// The per-PIN join budget is twice the room size: 4 a minute here.
	join(t, f.inst, run.PIN, "dan", 409)
	join(t, f.inst, run.PIN, "eve", 429)
}

func TestContestTimeoutAndReconnect(t *testing.T) {
	t.Parallel()
	f := newContestFixture(t, map[string]any{"time_limit": 10})
	inst := f.inst
	run := f.newRun(t)
	ann := join(t, inst, run.PIN, "ann", 201)
	join(t, inst, run.PIN, "bob", 201)
	pa := connect(t, inst, nil, ann.Room, ann.Token, 0, 0)
	pa.waitFor("snapshot")
	f.act(t, run, "next", 204)
	pa.waitFor("question")
	seqAtQuestion := pa.last

	// Reconnect 4 s into the question: the snapshot has 6 s left.
	inst.App.Contests.Clock.Advance(4 * time.Second)
	pa.ws.Close()
	pa2 := connect(t, inst, nil, ann.Room, ann.Token, 0, 0)
	snap := pa2.waitFor("snapshot")
	if rem := snap.num("remaining_ms"); rem < 5000 || rem > 6000 || snap["phase"] != "question" {
		t.Errorf("reconnect snapshot: phase %v remaining %v ms, want question and 5000–6000", snap["phase"], rem)
	}
	if snap["me"].(map[string]any)["nick"] != "ann" {
		t.Errorf("snapshot me: %v", snap["me"])
	}

	// Time runs out: the server closes the round without anyone asking.
	inst.App.Contests.Clock.Advance(7 * time.Second)
	pa2.waitFor("reveal")
	pa2.send(msg{"type": "answer", "q": 0, "choice": []int{1}})
	if m := pa2.waitFor("answer_error"); m["error"] != "closed" {
		t.Errorf("late answer: got %v, want closed", m["error"])
	}

	// A client that saw up to the question gets exactly the missed events.
	pa3 := connect(t, inst, nil, ann.Room, ann.Token, ann.Epoch, seqAtQuestion)
	if m := pa3.waitFor("welcome"); m["resumed"] != true {
		t.Fatalf("welcome: %v, want resumed", m)
	}
	// (Status messages — lobby lists, answer counts — have no seq and are
	// not replayed.)
	if m, _ := pa3.read(2 * time.Second); int64(m.num("seq")) != seqAtQuestion+1 || m.typ() != "closed" {
		t.Errorf("first replayed event: %v, want closed with seq %d", m, seqAtQuestion+1)
	}
	pa3.waitFor("reveal")

	// Too many missed: a snapshot instead.
	for i := 0; i < 40; i++ {
		f.act(t, run, "lock", 204)
		f.act(t, run, "unlock", 204)
	}
	pa4 := connect(t, inst, nil, ann.Room, ann.Token, ann.Epoch, seqAtQuestion)
	if m := pa4.waitFor("welcome"); m["resumed"] != false {
		t.Errorf("welcome after a large gap: %v, want resumed false", m)
	}
	if m := pa4.waitFor("snapshot"); m["phase"] != "reveal" {
		t.Errorf("snapshot phase %v, want reveal", m["phase"])
	}
	// A wrong token is refused with its own close code.
	bad := connect(t, inst, nil, ann.Room, "nope", 0, 0)
	if code := bad.closeCode(); code != 4001 {
		t.Errorf("bad token close code: got %d, want 4001", code)
	}
}

func TestContestTwoInstances(t *testing.T) {
	t.Parallel()
	f := newContestFixture(t, map[string]any{"auto_advance": true})
	inst1 := f.inst
	inst2 := apptest.Start(t, apptest.Options{Shared: inst1})
	run := f.newRun(t)
	host := connect(t, inst1, f.teacher, run.ID, "", 0, 0)
	host.waitFor("snapshot")
	ann := join(t, inst2, run.PIN, "ann", 201)
	bob := join(t, inst2, run.PIN, "bob", 201)
	pa := connect(t, inst2, nil, ann.Room, ann.Token, 0, 0)
	pb := connect(t, inst2, nil, bob.Room, bob.Token, 0, 0)
	pa.waitFor("snapshot")
	pb.waitFor("snapshot")
	host.waitFor("lobby", func(m msg) bool { return m.data().num("count") == 2 })
	f.act(t, run, "next", 204)
	pa.waitFor("question")
	pb.waitFor("question")
	pa.send(msg{"type": "answer", "q": 0, "choice": []int{1}})
	pb.send(msg{"type": "answer", "q": 0, "choice": []int{1}})
	host.waitFor("reveal", func(m msg) bool { return m.data().num("correct") == 2 })
	// Auto-advance: board after RevealFor, whichever instance's ticker sees it.
	for _, in := range []*apptest.Instance{inst1, inst2} {
		in.App.Contests.Clock.Advance(6 * time.Second)
	}
	if top := pb.waitFor("board").data()["top"].([]any); len(top) != 2 {
		t.Errorf("board on instance 2: %v", top)
	}
	for _, in := range []*apptest.Instance{inst1, inst2} {
		in.App.Contests.Clock.Advance(6 * time.Second)
	}
	host.waitFor("question", func(m msg) bool { return m.data().num("q") == 1 })
	pa.waitFor("question", func(m msg) bool { return m.data().num("q") == 1 })
}

func TestContestBadMessages(t *testing.T) {
	t.Parallel()
	f := newContestFixture(t, nil)
	inst := f.inst
	run := f.newRun(t)
	ann := join(t, inst, run.PIN, "ann", 201)
	bob := join(t, inst, run.PIN, "bob", 201)
	f.act(t, run, "next", 204)

	tests := []struct {
		name string
		raw  string
		want int
	}{
		{"not JSON", "{oops", websocket.CloseInvalidFramePayloadData},
		{"unknown field", `{"type":"answer","q":0,"choice":[1],"x":1}`, websocket.CloseInvalidFramePayloadData},
		{"unknown type", `{"type":"shout"}`, websocket.ClosePolicyViolation},
		{"oversized", `{"type":"answer","q":0,"choice":[1],"token":"` + strings.Repeat("x", 4000) + `"}`, websocket.CloseMessageTooBig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := connect(t, inst, nil, ann.Room, ann.Token, 0, 0)
			c.waitFor("snapshot")
			c.ws.WriteMessage(websocket.TextMessage, []byte(tt.raw))
			if code := c.closeCode(); code != tt.want {
				t.Errorf("close code: got %d, want %d", code, tt.want)
			}
		})
	}
	// A bad hello, and a host hello without a session.
	c := connect(t, inst, nil, 0, "", 0, 0)
	if code := c.closeCode(); code != 4000 {
		t.Errorf("bad hello: got %d, want 4000", code)
	}
	c = connect(t, inst, nil, run.ID, "", 0, 0)
	if code := c.closeCode(); code != 4003 {
		t.Errorf("anonymous host: got %d, want 4003", code)
	}
	// A foreign origin is refused before the upgrade.
	h := http.Header{"Origin": {"https://evil.example"}}
	if _, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(inst.URL, "http")+"/ws/contest", h); err == nil || resp == nil || resp.StatusCode != 403 {
		t.Errorf("foreign origin: got err %v, want 403", err)
	}
	// The room is undisturbed: the other player still answers.
	pb := connect(t, inst, nil, bob.Room, bob.Token, 0, 0)
	pb.waitFor("snapshot")
	pb.send(msg{"type": "answer", "q": 0, "choice": []int{1}})
	pb.waitFor("ack")
}

func TestContestPages(t *testing.T) {
	t.Parallel()
	f := newContestFixture(t, nil)
	run := f.newRun(t)
	for _, p := range []string{"/contests", "/contests/new", fmt.Sprintf("/host/%d", run.ID), "/play", "/play?pin=" + run.PIN, "/play/room"} {
		r := f.teacher.Do("GET", p, nil)
		apptest.Expect(t, r, 200, p)
	}
	if r := f.teacher.Do("GET", fmt.Sprintf("/api/v1/contest-runs/%d/qr.png", run.ID), nil); r.Status != 200 || !strings.HasPrefix(string(r.Body), "\x89PNG") {
		t.Errorf("qr.png: got %d, want a PNG", r.Status)
	}
	// Every visible string comes from the locale files, in both languages.
	for _, lang := range []string{"zh-CN", "en"} {
		f.teacher.Lang = lang
		for _, p := range []string{"/contests", "/contests/new", fmt.Sprintf("/host/%d", run.ID), "/play", "/play/room"} {
			body := string(f.teacher.Do("GET", p, nil).Body)
			if i := strings.Index(body, `id="contest-msgs"`); i > 0 {
				body = body[:i]
			}
			body = strings.NewReplacer("contest.css", "", "contest.js", "").Replace(body)
			if strings.Contains(body, "contest.") || strings.Contains(body, "error.contest") {
				t.Errorf("%s %s shows a raw message key", lang, p)
			}
		}
	}
	// Anonymous visitors may play but not host.
	anon := f.inst.Client()
	apptest.Expect(t, anon.Do("GET", "/play", nil), 200, "anonymous /play")
	apptest.Expect(t, anon.Do("GET", "/contests", nil), 303, "anonymous /contests")
}

func TestContestPauseAndKick(t *testing.T) {
	t.Parallel()
	f := newContestFixture(t, map[string]any{"time_limit": 10})
	inst := f.inst
	run := f.newRun(t)
	ann := join(t, inst, run.PIN, "ann", 201)
	bob := join(t, inst, run.PIN, "bob", 201)
	join(t, inst, run.PIN, "cat", 201)
	host := connect(t, inst, f.teacher, run.ID, "", 0, 0)
	host.waitFor("snapshot")
	pa := connect(t, inst, nil, ann.Room, ann.Token, 0, 0)
	pb := connect(t, inst, nil, bob.Room, bob.Token, 0, 0)
	pa.waitFor("snapshot")
	pb.waitFor("snapshot")

	// Removed in the lobby: the connection closes, and Bob stays out — his
	// token is refused as removed, his nickname cannot join again (with a
	// message saying why), also after Redis lost the room and it was
	// rebuilt from Postgres.
	apptest.Expect(t, f.teacher.Do("POST", fmt.Sprintf("/api/v1/contest-runs/%d/kick", run.ID), map[string]int{"player": bob.Player}), 204, "kick")
	if code := pb.closeCode(); code != 4004 {
		t.Errorf("kicked player's close code: got %d, want 4004", code)
	}
	host.waitFor("lobby", func(m msg) bool { return m.data().num("count") == 2 })
	for _, when := range []string{"in the room", "in the rebuilt room"} {
		if when != "in the room" {
			if err := testenv.DeletePrefix(context.Background(), inst.Redis.Client, inst.Redis.Prefix); err != nil {
				t.Fatal(err)
			}
		}
		if code := connect(t, inst, nil, bob.Room, bob.Token, 0, 0).closeCode(); code != 4004 {
			t.Errorf("%s: kicked player's token: got close %d, want 4004", when, code)
		}
		r := inst.Client().Do("POST", "/api/v1/play/join", map[string]any{"pin": run.PIN, "nickname": "Bob"})
		apptest.Expect(t, r, 403, when+": Bob joins again")
		if !strings.Contains(string(r.Body), "主持人已将你移出本场游戏") {
			t.Errorf("%s: Bob joins again: got %s, want the removed message", when, r.Body)
		}
	}
	join(t, inst, run.PIN, "dan", 201)
	host = connect(t, inst, f.teacher, run.ID, "", 0, 0)
	host.waitFor("snapshot")
	pa = connect(t, inst, nil, ann.Room, ann.Token, 0, 0)
	pa.waitFor("snapshot")

	f.act(t, run, "next", 204)
	pa.waitFor("question")
	inst.App.Contests.Clock.Advance(3 * time.Second)
	f.act(t, run, "pause", 204)
	if m := pa.waitFor("paused").data(); m.num("remaining_ms") < 6500 || m.num("remaining_ms") > 7000 {
		t.Errorf("paused with %v ms left, want about 7000", m["remaining_ms"])
	}
	// Paused: time stands still, answers are refused, the round stays open.
	inst.App.Contests.Clock.Advance(30 * time.Second)
	pa.send(msg{"type": "answer", "q": 0, "choice": []int{1}})
	if m := pa.waitFor("answer_error"); m["error"] != "closed" {
		t.Errorf("answer while paused: %v, want closed", m["error"])
	}
	f.act(t, run, "pause", 409)
	f.act(t, run, "resume", 204)
	if m := pa.waitFor("resumed").data(); m.num("remaining_ms") < 6500 {
		t.Errorf("resumed with %v ms left, want about 7000", m["remaining_ms"])
	}
	pa.send(msg{"type": "answer", "q": 0, "choice": []int{1}})
	pa.waitFor("ack")
	// A "next" naming a phase the room has left is refused (double click).
	apptest.Expect(t, f.teacher.Do("POST", fmt.Sprintf("/api/v1/contest-runs/%d/next", run.ID), map[string]string{"from": "lobby"}), 409, "stale next")
}

func TestContestTeamsAndAccounts(t *testing.T) {
	t.Parallel()
	inst := apptest.Start(t)
	admin := inst.Login("demo-admin", inst.DemoPassword("demo-admin"))
	qids := insertQuestions(t, inst, 1)
	c1, c2 := inst.Seed.ClassIDs[0], inst.Seed.ClassIDs[1]
	r := admin.Do("POST", "/api/v1/contests", map[string]any{"title": "Teams", "question_ids": qids,
		"settings": map[string]any{"time_limit": 5, "team_mode": true, "class_ids": []int64{c1, c2}}})
	apptest.Expect(t, r, 201, "create team contest")
	var c struct{ ID int64 }
	r.JSON(t, &c)
	r = admin.Do("POST", fmt.Sprintf("/api/v1/contests/%d/runs", c.ID), nil)
	apptest.Expect(t, r, 201, "run")
	var v struct{ Run runInfo }
	r.JSON(t, &v)
	run := v.Run

	// A pupil of class 1, logged in: their class is their team and the
	// result is linked to their account.
	uid, pw := inst.CreateUser("pupil1", "participant")
	if _, err := inst.DB.Pool.Exec(context.Background(), `UPDATE users SET class_id = $1 WHERE id = $2`, c1, uid); err != nil {
		t.Fatal(err)
	}
	pupil := inst.Login("pupil1", pw)
	apptest.Expect(t, pupil.Do("POST", "/api/v1/play/join", map[string]any{"pin": run.PIN, "nickname": "p1"}), 201, "pupil joins")
	// Anonymous players cannot choose a team: a team asked for is ignored
	// and each goes to the team with the fewest members (class 2 now, then
	// class 1 on the tie).
	j2 := inst.Client().Do("POST", "/api/v1/play/join", map[string]any{"pin": run.PIN, "nickname": "p2", "team": c1})
	apptest.Expect(t, j2, 201, "p2 joins")
	j3 := inst.Client().Do("POST", "/api/v1/play/join", map[string]any{"pin": run.PIN, "nickname": "p3", "team": 999999})
	apptest.Expect(t, j3, 201, "p3 joins")
	var p2 joined
	j2.JSON(t, &p2)

	host := connect(t, inst, admin, run.ID, "", 0, 0)
	host.waitFor("snapshot")
	apptest.Expect(t, admin.Do("POST", fmt.Sprintf("/api/v1/contest-runs/%d/next", run.ID), nil), 204, "start")
	pc := connect(t, inst, nil, p2.Room, p2.Token, 0, 0)
	pc.waitFor("snapshot")
	pc.send(msg{"type": "answer", "q": 0, "choice": []int{1}})
	pc.waitFor("ack")
	apptest.Expect(t, admin.Do("POST", fmt.Sprintf("/api/v1/contest-runs/%d/end", run.ID), nil), 204, "end")
	pod := host.waitFor("podium").data()
	tm := pod["teams"].([]any)
	first := tm[0].(map[string]any)
	// Team 2: p2 alone (balanced), who scored; team 1: pupil1 and p3, 0.
	p2score := pod["ranking"].([]any)[0].(map[string]any)["score"].(float64)
	second := tm[1].(map[string]any)
	if first["class_id"].(float64) != float64(c2) || first["members"] != 1.0 || first["score"].(float64) != p2score ||
		second["class_id"].(float64) != float64(c1) || second["members"] != 2.0 {
		t.Errorf("team standings: %v (p2 scored %v), want class 2 with p2 alone first, class 1 with 2 members", tm, p2score)
	}
	var linked int64
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		inst.DB.Pool.QueryRow(context.Background(), `SELECT count(*) FROM contest_players WHERE run_id = $1 AND user_id = $2 AND class_id = $3`, run.ID, uid, c1).Scan(&linked)
		if linked == 1 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if linked != 1 {
		t.Errorf("the logged-in pupil's result is not linked to their account and class")
	}
}

// The instance that opened a question and held the players' connections
// stops: the players reconnect to another instance, catch up, and the
// round is still closed on time by the instance that remains.
func TestContestSurvivesInstanceStop(t *testing.T) {
	t.Parallel()
	f := newContestFixture(t, nil)
	inst1 := f.inst
	inst2 := apptest.Start(t, apptest.Options{Shared: inst1})
	run := f.newRun(t)
	host := connect(t, inst1, f.teacher, run.ID, "", 0, 0)
	host.waitFor("snapshot")
	ann := join(t, inst2, run.PIN, "ann", 201)
	join(t, inst2, run.PIN, "bob", 201)
	pa := connect(t, inst2, nil, ann.Room, ann.Token, 0, 0)
	pa.waitFor("snapshot")
	// The question is opened through instance 2.
	f.teacher.Base = inst2.URL
	f.act(t, run, "next", 204)
	f.teacher.Base = inst1.URL
	pa.waitFor("question")
	pa.send(msg{"type": "answer", "q": 0, "choice": []int{1}})
	pa.waitFor("ack")
	seen := pa.last

	inst2.Stop()
	if code := pa.closeCode(); code != websocket.CloseGoingAway {
		t.Errorf("close code when the instance stops: got %d, want 1001", code)
	}
	pa2 := connect(t, inst1, nil, ann.Room, ann.Token, ann.Epoch, seen)
	if m := pa2.waitFor("welcome"); m["resumed"] != true {
		t.Errorf("welcome on the other instance: %v, want resumed", m)
	}
	clock := pa2.waitFor("clock")
	if clock["phase"] != "question" || clock.num("remaining_ms") <= 0 {
		t.Errorf("clock after reconnect: %v", clock)
	}
	if me := clock["me"].(map[string]any); me["answered"] == nil {
		t.Errorf("reconnected player lost their answer: %v", me)
	}
	inst1.App.Contests.Clock.Advance(6 * time.Second)
	pa2.waitFor("reveal")
	if me := pa2.waitFor("result")["me"].(map[string]any); me["score"].(float64) < 500 {
		t.Errorf("score after the instance change: %v", me["score"])
	}
	host.waitFor("reveal")
}
