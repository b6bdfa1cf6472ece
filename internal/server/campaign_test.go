package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kepu/kepu/internal/apptest"
)

// campaignQuestions inserts n published single-choice zh-CN questions of a
// category and dimension; option 0 ("甲") is right before shuffling.
func campaignQuestions(t *testing.T, inst *apptest.Instance, n int, category, dimension, typ string) {
	t.Helper()
	ctx := context.Background()
	// Draws must see only these questions: retire the shipped seed bank.
	if _, err := inst.DB.Pool.Exec(ctx, `UPDATE questions SET status = 'retired' WHERE seed_key IS NOT NULL`); err != nil {
		t.Fatalf("retire seed bank: %v", err)
	}
	answer := []int32{0}
	if typ == "multiple" {
		answer = []int32{0, 2}
	}
	for i := range n {
		stem := fmt.Sprintf("%s-%s-%s 第%d题：以下哪一项是正确的科学常识？", category, dimension, typ, i)
		var qid int64
		if err := inst.DB.Pool.QueryRow(ctx, `INSERT INTO questions (owner_region_id, status, type, category, dimension, difficulty, stem_norm)
			VALUES ($1, 'published', $2, $3, $4, 2, $5) RETURNING id`, inst.Seed.CityID, typ, category, dimension, stem).Scan(&qid); err != nil {
			t.Fatalf("insert question: %v", err)
		}
		if _, err := inst.DB.Pool.Exec(ctx, `INSERT INTO question_versions (question_id, version, type, stem, options, answer, explanation,
			category, dimension, difficulty) VALUES ($1, 1, $2, $3, '["甲","乙","丙","丁"]', $4, $5, $6, $7, 2)`,
			qid, typ, stem, answer, "秘密解释"+stem, category, dimension); err != nil {
			t.Fatalf("insert version: %v", err)
		}
	}
}

// fakeClock is a settable clock shared by the test and the server.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type campaignFixture struct {
	inst  *apptest.Instance
	org   *apptest.Client
	clock *fakeClock
	id    int64
}

// newCampaign starts an instance with questions and a published campaign
// with the given rules (merged over 3 speed questions, 20 s each).
func newCampaign(t *testing.T, rules map[string]any) *campaignFixture {
	t.Helper()
	return newCampaignOn(t, apptest.Options{}, rules)
}

// newCampaignOn is newCampaign on an instance started with opts (its clock
// is the fixture's).
func newCampaignOn(t *testing.T, opts apptest.Options, rules map[string]any) *campaignFixture {
	t.Helper()
	clock := &fakeClock{t: time.Now().UTC()}
	opts.Now = clock.Now
	inst := apptest.Start(t, opts)
	campaignQuestions(t, inst, 6, "health", "knowledge", "single")
	campaignQuestions(t, inst, 3, "safety", "method", "multiple")
	_, pw := inst.CreateUser("org1", "organizer")
	org := inst.Login("org1", pw)
	r := map[string]any{"questions": 3, "time_limit": 20, "scoring": "speed"}
	for k, v := range rules {
		r[k] = v
	}
	body := map[string]any{"title": "健康科普周", "description": "测试", "starts_at": clock.Now().Add(-time.Hour),
		"ends_at": clock.Now().Add(24 * time.Hour), "rules": r}
	res := org.Do("POST", "/api/v1/manage/campaigns", body)
	if res.Status != 201 {
		t.Fatalf("create campaign: got %d %s", res.Status, res.Body)
	}
	var c struct{ ID int64 }
	res.JSON(t, &c)
	if res := org.Do("POST", fmt.Sprintf("/api/v1/manage/campaigns/%d/publish", c.ID), nil); res.Status != 200 {
		t.Fatalf("publish: got %d %s", res.Status, res.Body)
	}
	return &campaignFixture{inst: inst, org: org, clock: clock, id: c.ID}
}

// create makes a draft campaign as the fixture's organizer and returns its id.
func (f *campaignFixture) create(t *testing.T, body map[string]any) int64 {
	t.Helper()
	res := f.org.Do("POST", "/api/v1/manage/campaigns", body)
	if res.Status != 201 {
		t.Fatalf("create campaign: got %d %s", res.Status, res.Body)
	}
	var c struct{ ID int64 }
	res.JSON(t, &c)
	return c.ID
}

// districtOrganizer logs in a new organizer whose scope is one district
// (the fixture's campaign belongs to the city).
func (f *campaignFixture) districtOrganizer(t *testing.T, name string) *apptest.Client {
	t.Helper()
	var district int64
	for _, id := range f.inst.Seed.DistrictIDs {
		district = id
		break
	}
	_, pw := f.inst.CreateUser(name, "organizer", district)
	return f.inst.Login(name, pw)
}

func (f *campaignFixture) citizen(t *testing.T, name string) *apptest.Client {
	t.Helper()
	_, pw := f.inst.CreateUser(name, "participant")
	return f.inst.Login(name, pw)
}

type attemptState struct {
	Attempt struct {
		ID                  int64
		Score               int
		Questions, Answered int
		FinishedAt          *time.Time `json:"finished_at"`
		Passed              *bool
		CertCode            string `json:"cert_code"`
		TimeMS              int64  `json:"time_ms"`
	}
	Question *struct {
		Seq         int
		Options     []string
		RemainingMS int64 `json:"remaining_ms"`
	}
}

type answerResult struct {
	Seq           int
	Correct       bool
	Points        int
	TimedOut      bool  `json:"timed_out"`
	CorrectChoice []int `json:"correct_choice"`
	Explanation   string
	Score         int
	Answered      int
	Done          bool
}

func (f *campaignFixture) start(t *testing.T, c *apptest.Client) int64 {
	t.Helper()
	res := c.Do("POST", fmt.Sprintf("/api/v1/campaigns/%d/attempts", f.id), nil)
	if res.Status != 201 && res.Status != 200 {
		t.Fatalf("start: got %d %s", res.Status, res.Body)
	}
	var v struct{ Attempt struct{ ID int64 } }
	res.JSON(t, &v)
	return v.Attempt.ID
}

func current(t *testing.T, c *apptest.Client, id int64) (attemptState, string) {
	t.Helper()
	res := c.Do("GET", fmt.Sprintf("/api/v1/attempts/%d", id), nil)
	if res.Status != 200 {
		t.Fatalf("current: got %d %s", res.Status, res.Body)
	}
	var st attemptState
	res.JSON(t, &st)
	return st, string(res.Body)
}

// rightChoice reads the shown position(s) of the key from the database.
func (f *campaignFixture) rightChoice(t *testing.T, attempt int64, seq int) []int {
	t.Helper()
	var perm, key []int
	if err := f.inst.DB.Pool.QueryRow(context.Background(), `SELECT s.perm, v.answer FROM campaign_attempt_questions s
		JOIN question_versions v ON v.id = s.question_version_id WHERE s.attempt_id = $1 AND s.seq = $2`, attempt, seq).Scan(&perm, &key); err != nil {
		t.Fatal(err)
	}
	var out []int
	for pos, o := range perm {
		for _, k := range key {
			if o == k {
				out = append(out, pos)
			}
		}
	}
	return out
}

func wrongChoice(right []int) []int {
	for p := 0; p < 4; p++ {
		hit := false
		for _, r := range right {
			hit = hit || r == p
		}
		if !hit {
			return []int{p}
		}
	}
	return nil
}

func answer(t *testing.T, c *apptest.Client, id int64, seq int, choice []int, want int) answerResult {
	t.Helper()
	res := c.Do("POST", fmt.Sprintf("/api/v1/attempts/%d/answers", id), map[string]any{"seq": seq, "choice": choice})
	if res.Status != want {
		t.Fatalf("answer seq %d: got %d %s, want %d", seq, res.Status, res.Body, want)
	}
	var r answerResult
	if want == 200 {
		res.JSON(t, &r)
	}
	return r
}

// keyFree fails when a response before the lock carries the answer key or
// the explanation.
func keyFree(t *testing.T, body string) {
	t.Helper()
	for _, bad := range []string{`"explanation"`, `"correct"`, `"correct_choice"`, `"answer"`, "秘密解释"} {
		if strings.Contains(body, bad) {
			t.Errorf("response before lock contains %q: %s", bad, body)
		}
	}
}

func TestCampaignFullAttempt(t *testing.T) {
	t.Parallel()
	f := newCampaign(t, map[string]any{"quotas": []map[string]any{{"category": "safety", "count": 1}}})
	c := f.citizen(t, "alice")
	res := c.Do("POST", fmt.Sprintf("/api/v1/campaigns/%d/attempts", f.id), nil)
	if res.Status != 201 {
		t.Fatalf("start: got %d %s", res.Status, res.Body)
	}
	keyFree(t, string(res.Body))
	var started struct{ Attempt struct{ ID int64 } }
	res.JSON(t, &started)
	id := started.Attempt.ID
	total := 0
	for seq := 1; seq <= 3; seq++ {
		st, body := current(t, c, id)
		keyFree(t, body)
		if st.Question == nil || st.Question.Seq != seq || len(st.Question.Options) != 4 {
			t.Fatalf("question %d: got %s", seq, body)
		}
		if st.Question.RemainingMS <= 0 || st.Question.RemainingMS > 20000 {
			t.Errorf("remaining_ms = %d, want in (0, 20000]", st.Question.RemainingMS)
		}
		f.clock.Add(5 * time.Second)
		right := f.rightChoice(t, id, seq)
		choice := right
		if seq == 2 {
			choice = wrongChoice(right)
		}
		r := answer(t, c, id, seq, choice, 200)
		if r.Correct != (seq != 2) {
			t.Errorf("seq %d correct = %v, want %v", seq, r.Correct, seq != 2)
		}
		if fmt.Sprint(r.CorrectChoice) != fmt.Sprint(right) || !strings.HasPrefix(r.Explanation, "秘密解释") {
			t.Errorf("seq %d: result %+v, want correct_choice %v and the explanation", seq, r, right)
		}
		if seq != 2 && r.Points != 900 { // 600 + 400·(15/20)
			t.Errorf("seq %d points = %d, want 900", seq, r.Points)
		}
		total += r.Points
		if r.Done != (seq == 3) {
			t.Errorf("seq %d done = %v", seq, r.Done)
		}
	}
	res = c.Do("GET", fmt.Sprintf("/api/v1/attempts/%d/result", id), nil)
	var result struct {
		Attempt struct {
			Score  int
			TimeMS int64 `json:"time_ms"`
			Passed bool
		}
		Ranks struct{ Overall, District int64 }
	}
	res.JSON(t, &result)
	if res.Status != 200 || result.Attempt.Score != total || result.Attempt.TimeMS != 15000 || !result.Attempt.Passed {
		t.Errorf("result: got %d %s, want score %d, time 15000, passed", res.Status, res.Body, total)
	}
	if result.Ranks.Overall != 1 || result.Ranks.District != 1 {
		t.Errorf("ranks = %+v, want overall 1, district 1", result.Ranks)
	}
	res = c.Do("GET", fmt.Sprintf("/api/v1/attempts/%d/review", id), nil)
	var review struct {
		Items []struct {
			Seq     int
			Correct bool
		}
	}
	res.JSON(t, &review)
	if len(review.Items) != 3 || review.Items[1].Correct {
		t.Errorf("review: got %s", res.Body)
	}
	// Another user cannot see the attempt.
	other := f.citizen(t, "bob")
	if res := other.Do("GET", fmt.Sprintf("/api/v1/attempts/%d", id), nil); res.Status != 404 {
		t.Errorf("someone else's attempt: got %d, want 404", res.Status)
	}
	// The safety quota was honoured.
	var n int
	f.inst.DB.Pool.QueryRow(context.Background(), `SELECT count(*) FROM campaign_attempt_questions s JOIN question_versions v
		ON v.id = s.question_version_id WHERE s.attempt_id = $1 AND v.category = 'safety'`, id).Scan(&n)
	if n < 1 {
		t.Errorf("safety questions drawn = %d, want at least 1", n)
	}
	// The public leaderboard shows the nickname, not the id.
	res = f.inst.Client().Do("GET", fmt.Sprintf("/api/v1/campaigns/%d/leaderboard", f.id), nil)
	if res.Status != 200 || !strings.Contains(string(res.Body), `"nickname":"alice"`) || strings.Contains(string(res.Body), "user_id") {
		t.Errorf("leaderboard: got %d %s", res.Status, res.Body)
	}
}

func TestCampaignDeadlinesAndSeq(t *testing.T) {
	t.Parallel()
	f := newCampaign(t, nil)
	c := f.citizen(t, "carol")
	id := f.start(t, c)
	st, _ := current(t, c, id)
	if st.Question.Seq != 1 {
		t.Fatalf("seq = %d, want 1", st.Question.Seq)
	}
	// Wrong seq: 409.
	answer(t, c, id, 2, []int{0}, 409)
	// Bad choices: 400.
	answer(t, c, id, 1, []int{7}, 400)
	answer(t, c, id, 1, []int{0, 0}, 400) // the same option twice
	// Resume: the same question, with less time left.
	f.clock.Add(4 * time.Second)
	st2, _ := current(t, c, id)
	if st2.Question.Seq != 1 || st2.Question.RemainingMS != 16000 {
		t.Errorf("resume: seq %d remaining %d, want 1 and 16000", st2.Question.Seq, st2.Question.RemainingMS)
	}
	if again := f.start(t, c); again != id {
		t.Errorf("start while in progress: attempt %d, want the same %d", again, id)
	}
	// Deadline passes with nobody answering: the question times out and
	// the next one is served.
	f.clock.Add(20 * time.Second)
	st3, _ := current(t, c, id)
	if st3.Question == nil || st3.Question.Seq != 2 || st3.Attempt.Answered != 1 {
		t.Fatalf("after expiry: got %+v, want question 2 with 1 answered", st3)
	}
	// An answer just after the deadline, within the network credit, counts
	// as given at the limit.
	f.clock.Add(21 * time.Second)
	r := answer(t, c, id, 2, f.rightChoice(t, id, 2), 200)
	if r.TimedOut || !r.Correct || r.Points != 600 {
		t.Errorf("within grace: got %+v, want correct, 600 points", r)
	}
	// Beyond the deadline plus the credit: a timeout, key revealed.
	current(t, c, id)
	f.clock.Add(23 * time.Second)
	r = answer(t, c, id, 3, f.rightChoice(t, id, 3), 200)
	if !r.TimedOut || r.Correct || r.Points != 0 || len(r.CorrectChoice) == 0 || !r.Done {
		t.Errorf("late: got %+v, want a timeout with the key, attempt done", r)
	}
	// Answering a finished attempt's next question: 409.
	answer(t, c, id, 4, []int{0}, 409)
}

func TestCampaignDuplicateAnswersCountOnce(t *testing.T) {
	t.Parallel()
	f := newCampaign(t, nil)
	c := f.citizen(t, "dave")
	id := f.start(t, c)
	current(t, c, id)
	f.clock.Add(2 * time.Second)
	right := f.rightChoice(t, id, 1)
	c.CSRF()
	var wg sync.WaitGroup
	results := make([]string, 50)
	statuses := make([]int, 50)
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res := c.Do("POST", fmt.Sprintf("/api/v1/attempts/%d/answers", id), map[string]any{"seq": 1, "choice": right})
			statuses[i], results[i] = res.Status, string(res.Body)
		}()
	}
	wg.Wait()
	for i := range 50 {
		if statuses[i] != 200 || results[i] != results[0] {
			t.Fatalf("submission %d: got %d %s, want 200 %s", i, statuses[i], results[i], results[0])
		}
	}
	var n, answered, score int
	f.inst.DB.Pool.QueryRow(context.Background(), `SELECT (SELECT count(*) FROM campaign_answers WHERE attempt_id = $1), answered, score
		FROM campaign_attempts WHERE id = $1`, id).Scan(&n, &answered, &score)
	if n != 1 || answered != 1 || score != 960 {
		t.Errorf("after 50 duplicates: %d answers, answered %d, score %d; want 1, 1, 960", n, answered, score)
	}
}

func TestCampaignConcurrentStartsRespectLimits(t *testing.T) {
	// 23:58 in Shanghai, so that the day changes in the test.
	f := newCampaign(t, map[string]any{"per_day": 1, "total": 2, "questions": 1})
	f.clock.mu.Lock()
	f.clock.t = time.Date(2026, 11, 28, 15, 58, 0, 0, time.UTC)
	f.clock.mu.Unlock()
	f.inst.DB.Pool.Exec(context.Background(), `UPDATE campaigns SET starts_at = $2, ends_at = $3 WHERE id = $1`,
		f.id, f.clock.Now().Add(-time.Hour), f.clock.Now().Add(72*time.Hour))
	c := f.citizen(t, "erin")
	c.CSRF()
	var wg sync.WaitGroup
	ids := make([]int64, 20)
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res := c.Do("POST", fmt.Sprintf("/api/v1/campaigns/%d/attempts", f.id), nil)
			var v struct{ Attempt struct{ ID int64 } }
			json.Unmarshal(res.Body, &v)
			ids[i] = v.Attempt.ID
		}()
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] || id == 0 {
			t.Fatalf("concurrent starts gave attempts %v, want one", ids)
		}
	}
	finish := func(id int64) {
		if res := c.Do("POST", fmt.Sprintf("/api/v1/attempts/%d/finish", id), nil); res.Status != 200 {
			t.Fatalf("finish: got %d %s", res.Status, res.Body)
		}
	}
	finish(ids[0])
	// Today's limit is reached: concurrent starts all fail.
	for i := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res := c.Do("POST", fmt.Sprintf("/api/v1/campaigns/%d/attempts", f.id), nil)
			ids[i] = int64(res.Status)
		}()
	}
	wg.Wait()
	for i := range 10 {
		if ids[i] != 409 {
			t.Fatalf("start over the daily limit: got %d, want 409", ids[i])
		}
	}
	// The next Shanghai day allows one more, then the total limit holds.
	f.clock.Add(3 * time.Minute)
	finish(f.start(t, c))
	res := c.Do("POST", fmt.Sprintf("/api/v1/campaigns/%d/attempts", f.id), nil)
	if res.Status != 409 || !strings.Contains(res.ErrorMessage(), "2") {
		t.Errorf("start over the total limit: got %d %s, want 409 naming 2", res.Status, res.Body)
	}
	var n int
	f.inst.DB.Pool.QueryRow(context.Background(), `SELECT count(*) FROM campaign_attempts WHERE campaign_id = $1`, f.id).Scan(&n)
	if n != 2 {
		t.Errorf("attempts = %d, want 2", n)
	}
}

func TestCampaignPublishValidationAndScope(t *testing.T) {
	t.Parallel()
	f := newCampaign(t, nil)
	body := map[string]any{"title": "安全月", "starts_at": time.Now().Add(time.Hour), "ends_at": time.Now().Add(48 * time.Hour),
		"rules": map[string]any{"questions": 5, "quotas": []map[string]any{{"category": "safety", "type": "multiple", "count": 4}}}}
	res := f.org.Do("POST", "/api/v1/manage/campaigns", body)
	if res.Status != 201 {
		t.Fatalf("create: got %d %s", res.Status, res.Body)
	}
	var c struct{ ID int64 }
	res.JSON(t, &c)
	res = f.org.Do("POST", fmt.Sprintf("/api/v1/manage/campaigns/%d/publish", c.ID), nil)
	if res.Status != 400 || !strings.Contains(res.ErrorMessage(), "安全与应急") || !strings.Contains(res.ErrorMessage(), "3") {
		t.Errorf("publish short quota: got %d %s, want 400 naming 安全与应急 and 3", res.Status, res.Body)
	}
	// Invalid input.
	bad := map[string]any{"title": "", "starts_at": time.Now(), "ends_at": time.Now().Add(time.Hour)}
	if res := f.org.Do("POST", "/api/v1/manage/campaigns", bad); res.Status != 400 {
		t.Errorf("empty title: got %d, want 400", res.Status)
	}
	// A participant cannot manage; an organizer of another district cannot
	// touch a city campaign.
	p := f.citizen(t, "frank")
	if res := p.Do("POST", "/api/v1/manage/campaigns", body); res.Status != 403 {
		t.Errorf("participant create: got %d, want 403", res.Status)
	}
	od := f.districtOrganizer(t, "orgd")
	if res := od.Do("POST", fmt.Sprintf("/api/v1/manage/campaigns/%d/pause", f.id), nil); res.Status != 403 {
		t.Errorf("other scope pause: got %d, want 403", res.Status)
	}
	// Pause stops new attempts.
	if res := f.org.Do("POST", fmt.Sprintf("/api/v1/manage/campaigns/%d/pause", f.id), nil); res.Status != 200 {
		t.Fatalf("pause: got %d %s", res.Status, res.Body)
	}
	if res := p.Do("POST", fmt.Sprintf("/api/v1/campaigns/%d/attempts", f.id), nil); res.Status != 409 {
		t.Errorf("start while paused: got %d, want 409", res.Status)
	}
	// Guests cannot start.
	if res := f.inst.Client().Do("POST", fmt.Sprintf("/api/v1/campaigns/%d/attempts", f.id), nil); res.Status != 401 {
		t.Errorf("guest start: got %d, want 401", res.Status)
	}
}

func TestCampaignCertificate(t *testing.T) {
	t.Parallel()
	f := newCampaign(t, map[string]any{"questions": 1, "scoring": "flat"})
	c := f.citizen(t, "grace")
	id := f.start(t, c)
	current(t, c, id)
	f.clock.Add(5 * time.Second)
	answer(t, c, id, 1, f.rightChoice(t, id, 1), 200)
	st, _ := current(t, c, id)
	if st.Attempt.CertCode == "" {
		t.Fatalf("passing attempt has no certificate code: %+v", st.Attempt)
	}
	res := f.inst.Client().Do("GET", "/api/v1/certificates/"+st.Attempt.CertCode, nil)
	if res.Status != 200 || !strings.Contains(string(res.Body), `"nickname":"grace"`) || strings.Contains(string(res.Body), "user") {
		t.Errorf("verify: got %d %s", res.Status, res.Body)
	}
	if res := f.inst.Client().Do("GET", "/api/v1/certificates/NOPE12345678", nil); res.Status != 404 {
		t.Errorf("unknown code: got %d, want 404", res.Status)
	}
}
