package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/kepu/kepu/internal/app"
	"github.com/kepu/kepu/internal/apptest"
	"github.com/kepu/kepu/internal/pk"
)

// pkFast makes PK matches short enough for tests.
func pkFast(round, botAfter time.Duration) func(a *app.App) {
	return func(a *app.App) {
		a.PK.Round, a.PK.Reveal, a.PK.Ready, a.PK.Grace, a.PK.BotAfter = round, 150*time.Millisecond, 200*time.Millisecond, 300*time.Millisecond, botAfter
	}
}

// pkWS is one player's socket in a test.
type pkWS struct {
	t    *testing.T
	ws   *websocket.Conn
	name string
	raw  []string // every message received
}

// pkSession makes a participant and a session of theirs (without the
// password hash of a login: the machine is shared) and returns its token.
func pkSession(t *testing.T, inst *apptest.Instance, name string) string {
	t.Helper()
	id, _ := inst.CreateUser(name, "participant")
	s, err := inst.App.Accounts.StartSession(context.Background(), id, "", "127.0.0.1", "test")
	if err != nil {
		t.Fatal(err)
	}
	return s.Token
}

func pkDial(t *testing.T, inst *apptest.Instance, session string, qs string) *pkWS {
	t.Helper()
	url := "ws" + strings.TrimPrefix(inst.URL, "http") + "/ws/pk?" + qs
	ws, resp, err := websocket.DefaultDialer.Dial(url, http.Header{"Origin": {inst.URL}, "Cookie": {"kepu_session=" + session}})
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("dial %s: %v (status %d)", qs, err, status)
	}
	t.Cleanup(func() { ws.Close() })
	return &pkWS{t: t, ws: ws, name: qs}
}

type pkMsg struct {
	T       string `json:"t"`
	Match   int64  `json:"match"`
	Outcome string `json:"outcome"`
	Q       int    `json:"q"`
	Phase   string `json:"phase"`
	Me      int    `json:"me"`
	BotOf   bool   `json:"bot_offer"`
	Players []struct {
		Bot      bool   `json:"bot"`
		Score    int    `json:"score"`
		Answered []bool `json:"answered"`
		Place    int    `json:"place"`
	} `json:"players"`
	Rounds []struct {
		Q           int    `json:"q"`
		Answer      []int  `json:"answer"`
		Explanation string `json:"explanation"`
	} `json:"rounds"`
	Question *struct {
		Stem string `json:"stem"`
	} `json:"question"`
}

// next reads until a message satisfies ok (within 8 s).
func (p *pkWS) next(what string, ok func(m pkMsg) bool) pkMsg {
	p.t.Helper()
	deadline := time.Now().Add(8 * time.Second)
	for {
		p.ws.SetReadDeadline(deadline)
		_, b, err := p.ws.ReadMessage()
		if err != nil {
			p.t.Fatalf("%s: waiting for %s: %v (last: %v)", p.name, what, err, p.last())
		}
		p.raw = append(p.raw, string(b))
		var m pkMsg
		if err := json.Unmarshal(b, &m); err != nil {
			p.t.Fatalf("%s: bad message %s", p.name, b)
		}
		if ok(m) {
			return m
		}
	}
}

func (p *pkWS) last() string {
	if len(p.raw) == 0 {
		return "nothing"
	}
	return p.raw[len(p.raw)-1]
}

func (p *pkWS) send(v any) {
	p.t.Helper()
	if err := p.ws.WriteJSON(v); err != nil {
		p.t.Fatalf("%s: send: %v", p.name, err)
	}
}

// question waits for question q to be open.
func (p *pkWS) question(q int) pkMsg {
	return p.next("question", func(m pkMsg) bool { return m.T == "state" && m.Phase == pk.PhaseQuestion && m.Q == q })
}

func (p *pkWS) ack(q int) string {
	return p.next("ack", func(m pkMsg) bool { return m.T == "ack" && m.Q == q }).Outcome
}

// pkKeys returns the keys and explanations of match id's questions.
func pkKeys(t *testing.T, inst *apptest.Instance, id int64) ([][]int, []string) {
	t.Helper()
	rows, err := inst.App.DB.Query(context.Background(), `
		SELECT v.answer, v.explanation FROM pk_matches m, unnest(m.versions) WITH ORDINALITY AS u(vid, n)
		JOIN question_versions v ON v.id = u.vid WHERE m.id = $1 ORDER BY u.n`, id)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var keys [][]int
	var ex []string
	for rows.Next() {
		var k []int
		var e string
		if err := rows.Scan(&k, &e); err != nil {
			t.Fatal(err)
		}
		keys, ex = append(keys, k), append(ex, e)
	}
	return keys, ex
}

// TestPKMatchAcrossInstances: two people on two instances tap 开始匹配,
// are put in one match, see each other's progress live, answer once
// (a second answer is refused, the ack comes after the commit), never
// receive a key before the round closes; one drops mid-match and rejoins
// on the other instance, answers the rest, and both get the result. Four
// people over the two instances make one 4-player match.
func TestPKMatchAcrossInstances(t *testing.T) {
	t.Parallel()
	a := apptest.Start(t, apptest.Options{Setup: pkFast(10*time.Second, time.Minute)})
	b := apptest.Start(t, apptest.Options{Shared: a, Setup: pkFast(10*time.Second, time.Minute)})
	c1, c2 := pkSession(t, a, "pk_amy"), pkSession(t, a, "pk_bob")
	p1 := pkDial(t, a, c1, "mode=2")
	p1.next("waiting", func(m pkMsg) bool { return m.T == "waiting" })
	p2 := pkDial(t, b, c2, "mode=2")
	m1 := p1.next("matched", func(m pkMsg) bool { return m.T == "matched" })
	m2 := p2.next("matched", func(m pkMsg) bool { return m.T == "matched" })
	if m1.Match == 0 || m1.Match != m2.Match {
		t.Fatalf("matched %d and %d, want one match", m1.Match, m2.Match)
	}
	id := m1.Match
	keys, explanations := pkKeys(t, a, id)
	if len(keys) != pk.Questions {
		t.Fatalf("match has %d questions, want %d", len(keys), pk.Questions)
	}

	s1 := p1.question(0)
	s2 := p2.question(0)
	if s1.Me == s2.Me || s1.Question == nil || s1.Question.Stem == "" {
		t.Fatalf("seats %d and %d, question %+v", s1.Me, s2.Me, s1.Question)
	}
	p1.send(map[string]any{"t": "answer", "q": 0, "c": keys[0]})
	if got := p1.ack(0); got != pk.AnswerOK {
		t.Fatalf("first answer: %s, want ok", got)
	}
	var n int
	a.App.DB.QueryRow(context.Background(), `SELECT count(*) FROM pk_answers WHERE match_id = $1 AND q = 0`, id).Scan(&n)
	if n != 1 {
		t.Fatalf("after the ack %d answers committed, want 1", n)
	}
	p1.send(map[string]any{"t": "answer", "q": 0, "c": []int{(keys[0][0] + 1) % 2}})
	if got := p1.ack(0); got != pk.AnswerDuplicate {
		t.Fatalf("second answer: %s, want duplicate", got)
	}
	// Bob, on the other instance, sees Amy has answered while the round is open.
	p2.next("opponent progress", func(m pkMsg) bool {
		return m.T == "state" && m.Phase == pk.PhaseQuestion && m.Players[s1.Me].Answered[0]
	})
	p2.send(map[string]any{"t": "answer", "q": 0, "c": []int{(keys[0][0] + 1) % 2}})
	if got := p2.ack(0); got != pk.AnswerOK {
		t.Fatalf("bob's answer: %s, want ok", got)
	}
	// Both answered: the round closes at once and the key comes.
	// (Under load the reveal of q0 may be over before the state is read:
	// any later state carries q0's round as well.)
	r := p2.next("reveal", func(m pkMsg) bool {
		return m.T == "state" && len(m.Rounds) >= 1 && (m.Phase == pk.PhaseClosed && m.Q == 0 || m.Q > 0)
	})
	if r.Rounds[0].Q != 0 || r.Rounds[0].Explanation != explanations[0] || r.Players[s1.Me].Score <= r.Players[s2.Me].Score {
		t.Fatalf("reveal %+v", r)
	}

	t.Run("rejoin on the other instance", func(t *testing.T) {
		if r.Phase != pk.PhaseQuestion || r.Q != 1 { // the reveal read above may have taken q1's opening already
			p2.question(1)
		}
		p2.ws.Close()
		p2 = pkDial(t, a, c2, "match="+itoa(id))
		st := p2.question(1)
		if st.Me != s2.Me {
			t.Fatalf("rejoined as seat %d, want %d", st.Me, s2.Me)
		}
		for q := 1; q < pk.Questions; q++ {
			if q > 1 {
				p2.question(q)
			}
			p1.question(q)
			p2.send(map[string]any{"t": "answer", "q": q, "c": keys[q]})
			if got := p2.ack(q); got != pk.AnswerOK {
				t.Fatalf("q%d after rejoin: %s", q, got)
			}
			p1.send(map[string]any{"t": "answer", "q": q, "c": keys[q]})
			p1.ack(q)
		}
		done := p2.next("result", func(m pkMsg) bool { return m.T == "state" && m.Phase == pk.PhaseDone })
		if len(done.Rounds) != pk.Questions || done.Players[0].Place == 0 {
			t.Fatalf("result %+v", done)
		}
	})

	t.Run("no key before a round closes", func(t *testing.T) {
		for _, p := range []*pkWS{p1, p2} {
			for _, raw := range p.raw {
				var m pkMsg
				json.Unmarshal([]byte(raw), &m)
				if m.T == "state" && m.Phase == pk.PhaseQuestion {
					for _, r := range m.Rounds {
						if r.Q >= m.Q {
							t.Fatalf("%s: key of q%d sent while q%d open: %s", p.name, r.Q, m.Q, raw)
						}
					}
					if strings.Contains(raw, explanations[m.Q]) {
						t.Fatalf("%s: explanation of open q%d sent: %s", p.name, m.Q, raw)
					}
				}
			}
		}
		var status string
		a.App.DB.QueryRow(context.Background(), `SELECT status FROM pk_matches WHERE id = $1`, id).Scan(&status)
		if status != "done" {
			t.Fatalf("match status %q, want done", status)
		}
	})

	t.Run("match points in the points ledger", func(t *testing.T) {
		// Each player's score/100 is credited once, as reason pk and the
		// match's id, where /points shows where points came from (credited
		// just after the match's result commits: wait for it, bounded).
		const q = `SELECT count(*), count(*) FILTER (WHERE l.delta = p.score / 100) FROM pk_players p
			LEFT JOIN points_ledger l ON l.user_id = p.user_id AND l.reason = 'pk' AND l.ref = p.match_id::text
			WHERE p.match_id = $1 AND p.user_id IS NOT NULL`
		var players, credited int
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			if err := a.App.DB.QueryRow(context.Background(), q, id).Scan(&players, &credited); err != nil {
				t.Fatal(err)
			}
			if credited == 2 {
				break
			}
		}
		if players != 2 || credited != 2 {
			t.Errorf("ledger: %d of %d players credited with their match points, want 2 of 2", credited, players)
		}
	})

	t.Run("four players over two instances", func(t *testing.T) {
		var ps []*pkWS
		for i, inst := range []*apptest.Instance{a, b, a, b} {
			p := pkDial(t, inst, pkSession(t, a, "pk_four"+itoa(int64(i))), "mode=4")
			ps = append(ps, p)
		}
		var match int64
		for _, p := range ps {
			m := p.next("matched", func(m pkMsg) bool { return m.T == "matched" })
			if match != 0 && m.Match != match {
				t.Fatalf("4-player: matched %d and %d", match, m.Match)
			}
			match = m.Match
		}
		if st := ps[3].question(0); len(st.Players) != 4 {
			t.Fatalf("4-player match has %d players", len(st.Players))
		}
	})
}

// pkClient is an API client holding session.
func pkClient(inst *apptest.Instance, session string) *apptest.Client {
	c := inst.Client()
	u, _ := url.Parse(inst.URL)
	c.HTTP.Jar.SetCookies(u, []*http.Cookie{{Name: "kepu_session", Value: session}})
	return c
}

// TestPKBotFallback: alone in the queue, a person is offered the practice
// bot only after the wait, plays it (marked as a bot) and finishes.
func TestPKBotFallback(t *testing.T) {
	t.Parallel()
	inst := apptest.Start(t, apptest.Options{Setup: pkFast(2*time.Second, 600*time.Millisecond)})
	p := pkDial(t, inst, pkSession(t, inst, "pk_solo"), "mode=2")
	first := p.next("waiting", func(m pkMsg) bool { return m.T == "waiting" })
	if first.BotOf {
		t.Fatal("bot offered at once, want after the wait")
	}
	p.send(map[string]any{"t": "bot"}) // too early: ignored
	p.next("bot offer", func(m pkMsg) bool {
		if m.T == "matched" {
			t.Fatal("matched with the bot before it was offered")
		}
		return m.T == "waiting" && m.BotOf
	})
	p.send(map[string]any{"t": "bot"})
	id := p.next("matched", func(m pkMsg) bool { return m.T == "matched" }).Match
	keys, _ := pkKeys(t, inst, id)
	st := p.question(0)
	if len(st.Players) != 2 || !st.Players[1].Bot || st.Players[0].Bot {
		t.Fatalf("players %+v, want me and a bot", st.Players)
	}
	for q := range pk.Questions {
		if q > 0 {
			p.question(q)
		}
		p.send(map[string]any{"t": "answer", "q": q, "c": keys[q]})
		if got := p.ack(q); got != pk.AnswerOK {
			t.Fatalf("q%d: %s", q, got)
		}
	}
	done := p.next("result", func(m pkMsg) bool { return m.T == "state" && m.Phase == pk.PhaseDone })
	for _, pl := range done.Players {
		if pl.Bot && !pl.Answered[0] {
			t.Fatalf("the bot did not answer: %+v", done.Players)
		}
	}

	t.Run("invite a friend by link and QR", func(t *testing.T) {
		host := pkClient(inst, pkSession(t, inst, "pk_host"))
		friend := pkClient(inst, pkSession(t, inst, "pk_friend"))
		third := pkClient(inst, pkSession(t, inst, "pk_third"))
		r := host.Do("POST", "/api/v1/pk/invites", nil)
		apptest.Expect(t, r, 201, "invite")
		var inv struct {
			Match int64
			Code  string
			URL   string
		}
		r.JSON(t, &inv)
		page := host.Do("GET", "/pk/match/"+itoa(inv.Match), nil)
		if page.Status != 200 || !strings.Contains(string(page.Body), inv.URL) || !strings.Contains(string(page.Body), `class="pk-qr"`) {
			t.Fatalf("the inviter's page lacks the link %s or its QR code (status %d)", inv.URL, page.Status)
		}
		apptest.Expect(t, friend.Do("GET", strings.TrimPrefix(inv.URL, inst.URL), nil), 200, "invitation page")
		apptest.Expect(t, third.Do("GET", "/api/v1/pk/matches/"+itoa(inv.Match), nil), 403, "a stranger reads the match")
		apptest.Expect(t, friend.Do("POST", "/api/v1/pk/invites/"+inv.Code+"/join", nil), 200, "join")
		if r := third.Do("POST", "/api/v1/pk/invites/"+inv.Code+"/join", nil); r.Status != 409 || r.ErrorMessage() == "" {
			t.Fatalf("a third person joins: %d %s, want 409 with a message", r.Status, r.Body)
		}
		var v struct {
			Phase   string
			Players []struct{ Nick string }
		}
		r = friend.Do("GET", "/api/v1/pk/matches/"+itoa(inv.Match), nil)
		apptest.Expect(t, r, 200, "match state")
		r.JSON(t, &v)
		if len(v.Players) != 2 || v.Players[0].Nick != "pk_host" || v.Phase == pk.PhaseWaiting {
			t.Fatalf("after joining: %+v", v)
		}
	})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
