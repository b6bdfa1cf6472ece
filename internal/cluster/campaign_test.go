package cluster_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kepu/kepu/internal/apptest"
)

// TestNginxCampaignInstanceKilled: citizens answer the demo campaign
// through nginx in front of two instances; one is killed with SIGKILL
// while they answer. Answering goes on through the other instance, and
// every answer that was acknowledged (200) is in Postgres with its points.
func TestNginxCampaignInstanceKilled(t *testing.T) {
	t.Parallel()
	const citizens, perCitizen = 12, 12
	port := freePort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	c := newCluster(t, base)
	var campaignID int64
	if err := c.db.Pool.QueryRow(context.Background(), `SELECT id FROM campaigns ORDER BY id LIMIT 1`).Scan(&campaignID); err != nil {
		t.Fatalf("demo campaign: %v", err)
	}
	for i := 0; i < citizens; i++ {
		c.run("user", "create", "--username", fmt.Sprintf("citizen%02d", i), "--role", "participant", "--password", "citizen-pass-123456")
	}
	insts := []*instance{c.start(), c.start()}
	startNginx(t, port, []string{insts[0].addr, insts[1].addr})

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	log := newAnswerLog()
	var wg sync.WaitGroup
	for i := 0; i < citizens; i++ {
		wg.Go(func() {
			log.citizen(ctx, base, fmt.Sprintf("citizen%02d", i), "citizen-pass-123456", campaignID, perCitizen, false)
		})
	}
	waitFor(t, time.Minute, "a third of the answers", func() bool { return log.answered.Load() >= citizens*perCitizen/3 })
	insts[0].kill(t)
	t.Logf("killed instance %s after %d acknowledged answers", insts[0].addr, log.answered.Load())
	wg.Wait()
	if ctx.Err() != nil {
		t.Fatalf("citizens did not finish in 2 minutes: %d of %d answers", log.answered.Load(), citizens*perCitizen)
	}
	t.Logf("%d answers acknowledged, %d requests failed and were retried", log.answered.Load(), log.retried.Load())
	if got := int(log.answered.Load()); got != citizens*perCitizen {
		t.Errorf("acknowledged answers: %d, want %d", got, citizens*perCitizen)
	}
	log.checkStored(t, c.db.Pool)
}

// demoCitizens opens the demo campaign on inst and makes n participants
// named prefix00, prefix01 …; it returns the campaign and their passwords.
func demoCitizens(t *testing.T, inst *apptest.Instance, prefix string, n int) (int64, map[string]string) {
	t.Helper()
	campaignID, _, err := inst.App.Campaigns.SeedDemo(context.Background(), inst.Seed.CityID)
	if err != nil {
		t.Fatal(err)
	}
	passwords := map[string]string{}
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("%s%02d", prefix, i)
		_, passwords[name] = inst.CreateUser(name, "participant")
	}
	return campaignID, passwords
}

// answerLog is what the citizens of a test had acknowledged.
type answerLog struct {
	answered atomic.Int32 // answers acknowledged (200)
	retried  atomic.Int32 // requests that failed (a dying dependency) and were tried again
	mu       sync.Mutex
	acked    map[[2]int64]int // (attempt, seq) → points acknowledged
	failed   map[string]int   // failed requests by status ("0": no response), 503s without Retry-After apart
}

func newAnswerLog() *answerLog {
	return &answerLog{acked: map[[2]int64]int{}, failed: map[string]int{}}
}

// failure notes a request that did not succeed.
func (l *answerLog) failure(h *httpUser, status int) {
	key := fmt.Sprint(status)
	if status == http.StatusServiceUnavailable && h.retryAfter == "" {
		key = "503 without Retry-After"
	}
	l.mu.Lock()
	l.failed[key]++
	l.mu.Unlock()
	l.retried.Add(1)
	time.Sleep(100 * time.Millisecond)
}

// citizen logs in at base as name, starts (or resumes) an attempt of the
// campaign and answers n questions (option 0) one request after another,
// trying again whatever fails, until ctx ends; with finish it then
// finishes the attempt (which ranks it on the boards).
func (l *answerLog) citizen(ctx context.Context, base, name, password string, campaignID int64, n int, finish bool) {
	h := newHTTPUser(base)
	retry := func(ok func() int) {
		for ctx.Err() == nil {
			st := ok()
			if st/100 == 2 {
				return
			}
			l.failure(h, st)
		}
	}
	retry(func() int {
		st, _ := h.call(ctx, "POST", "/api/v1/auth/login", map[string]string{"username": name, "password": password}, nil)
		return st
	})
	var start struct{ Attempt struct{ ID int64 } }
	retry(func() int {
		st, _ := h.call(ctx, "POST", fmt.Sprintf("/api/v1/campaigns/%d/attempts", campaignID), nil, &start)
		return st
	})
	id := start.Attempt.ID
	for i := 0; i < n && ctx.Err() == nil; {
		var cur struct {
			Question *struct{ Seq int64 } `json:"question"`
		}
		if st, _ := h.call(ctx, "GET", fmt.Sprintf("/api/v1/attempts/%d", id), nil, &cur); st != 200 {
			l.failure(h, st)
			continue
		}
		if cur.Question == nil {
			break
		}
		var res struct {
			Seq    int64
			Points int
		}
		if st, _ := h.call(ctx, "POST", fmt.Sprintf("/api/v1/attempts/%d/answers", id), map[string]any{"seq": cur.Question.Seq, "choice": []int{0}}, &res); st != 200 {
			l.failure(h, st)
			continue
		}
		l.mu.Lock()
		l.acked[[2]int64{id, res.Seq}] = res.Points
		l.mu.Unlock()
		i++
		l.answered.Add(1)
	}
	if finish {
		retry(func() int {
			st, _ := h.call(ctx, "POST", fmt.Sprintf("/api/v1/attempts/%d/finish", id), nil, nil)
			return st
		})
	}
}

// checkStored fails t unless every acknowledged answer is in Postgres with
// the points it was acknowledged with.
func (l *answerLog) checkStored(t *testing.T, db *pgxpool.Pool) {
	t.Helper()
	lost := 0
	for k, pts := range l.acked {
		var stored int
		err := db.QueryRow(context.Background(), `SELECT points FROM campaign_answers WHERE attempt_id = $1 AND seq = $2`, k[0], k[1]).Scan(&stored)
		if err != nil || stored != pts {
			lost++
			t.Errorf("attempt %d seq %d: acknowledged with %d points, in Postgres: %d (%v)", k[0], k[1], pts, stored, err)
		}
	}
	if lost == 0 {
		t.Logf("all %d acknowledged answers are in Postgres with their points", len(l.acked))
	}
}

// httpUser is a browser-like client with its own cookies and CSRF token,
// safe for one goroutine; it never fails the test by itself (a request to
// a dying instance is an expected failure).
type httpUser struct {
	base       string
	c          *http.Client
	csrf       string
	retryAfter string // of the last response
}

func newHTTPUser(base string) *httpUser {
	jar, _ := cookiejar.New(nil)
	return &httpUser{base: base, c: &http.Client{Jar: jar, Timeout: 15 * time.Second}}
}

// call sends body as JSON and decodes a 2xx answer into out; it returns
// the status (0 when the request failed).
func (h *httpUser) call(ctx context.Context, method, path string, body, out any) (int, error) {
	if method != "GET" && h.csrf == "" {
		var v struct{ Token string }
		if st, err := h.call(ctx, "GET", "/api/v1/csrf", nil, &v); st != 200 {
			return st, err
		}
		h.csrf = v.Token
	}
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, h.base+path, rd)
	if err != nil {
		return 0, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if h.csrf != "" {
		req.Header.Set("X-CSRF-Token", h.csrf)
	}
	res, err := h.c.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	h.retryAfter = res.Header.Get("Retry-After")
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode/100 == 2 && out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return 0, err
		}
	}
	return res.StatusCode, nil
}
