package campaign

// The hot path of an attempt. POST an answer is nearly all of a campaign's
// traffic (one request per question: its response serves the next
// question); GET the current question serves the first one and resumes. In
// the common case each is ONE SQL statement (one round trip, one
// transaction, the attempt's row locked inside it; those of concurrent
// requests are one multi-row statement with one commit, group.go) instead
// of a transaction of six to twelve statements:
// what never changes is cached in the instance —
//
//   - an attempt's campaign, user, start and number of questions;
//   - the served questions of an attempt (version, shuffle, points,
//     served_at: written once, never changed; the measured round trip,
//     which the answer statement checks, since an acknowledgment or a
//     GET on another instance may change it);
//   - question versions (immutable rows);
//   - a campaign's rules, with the row's version (xmin, new with every
//     UPDATE of the row): the statement compares it and does nothing when
//     the campaign changed.
//
// Everything else — a duplicate, a wrong seq, a timeout to lock, a finished
// attempt, a changed campaign, an attempt this instance has not seen — goes
// the slow path (the transaction in attempt.go), whose rules are the
// reference; the hot path only takes the cases where it provably decides
// the same. Caches are bounded (gencache: two generations of 100,000).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kepu/kepu/internal/gencache"
	"github.com/kepu/kepu/internal/kepu"
)

// hotAttempt is what never changes about an attempt, plus its served
// questions not yet answered.
type hotAttempt struct {
	campaignID int64
	userID     int64
	startedAt  time.Time
	questions  int

	mu     sync.Mutex
	served map[int]hotSlot // by seq
}

// hotSlot is one served question of an attempt.
type hotSlot struct {
	versionID int64
	perm      []int
	points    int
	servedAt  time.Time
	rtt       *int // the measured round trip, ms, as last known here (latency.go)
}

// hotVersion is the content of one question version.
type hotVersion struct {
	typ, stem, explain string
	options            []string
	answer             []int
	imageID            int64
}

// hotCampaign is a campaign with the version of its row and when it was read.
type hotCampaign struct {
	c       Campaign
	version int64
	at      time.Time
}

// hotCache holds the hot path's caches of one Service.
type hotCache struct {
	mu        sync.Mutex
	attempts  gencache.Map[*hotAttempt]
	versions  gencache.Map[*hotVersion]
	campaigns gencache.Map[hotCampaign]
	groupOnce sync.Once
	groups    *hotGroups   // group commits of the hot statements (group.go), made on first use
	hits      atomic.Int64 // requests the hot path decided (a test checks it runs)
}

func (h *hotCache) attempt(id int64) *hotAttempt {
	h.mu.Lock()
	defer h.mu.Unlock()
	a, _ := h.attempts.Get(id)
	return a
}

// remember caches an attempt in progress (and forgets a finished one).
func (h *hotCache) remember(att Attempt) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if att.Finished() || att.ID == 0 {
		h.attempts.Delete(att.ID)
		return
	}
	if _, ok := h.attempts.Get(att.ID); !ok {
		h.attempts.Put(att.ID, &hotAttempt{campaignID: att.CampaignID, userID: att.UserID, startedAt: att.StartedAt,
			questions: att.Questions, served: map[int]hotSlot{}})
	}
}

func (h *hotCache) forget(id int64) {
	h.mu.Lock()
	h.attempts.Delete(id)
	h.mu.Unlock()
}

func (a *hotAttempt) slot(seq int) (hotSlot, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	q, ok := a.served[seq]
	return q, ok
}

func (a *hotAttempt) serve(seq int, q hotSlot) {
	a.mu.Lock()
	a.served[seq] = q
	a.mu.Unlock()
}

// measured records the round trip an acknowledgment measured for a served
// question this instance knows.
func (a *hotAttempt) measured(seq int, rtt int) {
	a.mu.Lock()
	if q, ok := a.served[seq]; ok && q.rtt == nil {
		q.rtt = &rtt
		a.served[seq] = q
	}
	a.mu.Unlock()
}

func (a *hotAttempt) answered(seq int) {
	a.mu.Lock()
	delete(a.served, seq)
	a.mu.Unlock()
}

// version returns a question version's content, reading it once.
func (s *Service) version(ctx context.Context, id int64) (*hotVersion, error) {
	s.hot.mu.Lock()
	v, ok := s.hot.versions.Get(id)
	s.hot.mu.Unlock()
	if ok {
		return v, nil
	}
	v = &hotVersion{}
	var opts []byte
	var img *int64
	err := s.DB.QueryRow(ctx, `SELECT type, stem, options, answer, explanation, image_id FROM question_versions WHERE id = $1`, id).
		Scan(&v.typ, &v.stem, &opts, &v.answer, &v.explain, &img)
	if err != nil {
		return nil, fmt.Errorf("campaign: question version %d: %w", id, err)
	}
	if err := json.Unmarshal(opts, &v.options); err != nil {
		return nil, fmt.Errorf("campaign: question options: %w", err)
	}
	if img != nil {
		v.imageID = *img
	}
	s.hot.mu.Lock()
	s.hot.versions.Put(id, v)
	s.hot.mu.Unlock()
	return v, nil
}

// rowPlus scans a row's leading columns with scan and the rest into extra.
type rowPlus struct {
	pgx.Row
	extra []any
}

func (r rowPlus) Scan(dest ...any) error { return r.Row.Scan(append(dest, r.extra...)...) }

// hotCampaign returns the campaign with its row version; fresh reads it
// again (the cached one was seen to be stale).
func (s *Service) hotCampaign(ctx context.Context, id int64, fresh bool) (hotCampaign, error) {
	if !fresh {
		s.hot.mu.Lock()
		hc, ok := s.hot.campaigns.Get(id)
		s.hot.mu.Unlock()
		if ok {
			return hc, nil
		}
	}
	var hc hotCampaign
	var err error
	hc.c, err = scanCampaign(rowPlus{s.DB.QueryRow(ctx, `SELECT `+campaignCols+`, xmin::text::bigint FROM campaigns WHERE id = $1`, id),
		[]any{&hc.version}})
	if errors.Is(err, pgx.ErrNoRows) {
		return hc, kepu.NotFound("error.campaign_not_found")
	}
	if err != nil {
		return hc, fmt.Errorf("campaign: %d: %w", id, err)
	}
	hc.at = time.Now()
	s.hot.mu.Lock()
	s.hot.campaigns.Put(id, hc)
	s.hot.mu.Unlock()
	return hc, nil
}

// listedMaxAge is how stale Listed may be.
const listedMaxAge = time.Second

// Listed is Public for high-rate public reads (the leaderboard's JSON):
// the campaign as the hot path caches it, read again when older than
// listedMaxAge, so a campaign archived a moment ago may show for a second.
func (s *Service) Listed(ctx context.Context, id int64) (Campaign, error) {
	hc, err := s.hotCampaign(ctx, id, false)
	if err == nil && time.Since(hc.at) >= listedMaxAge {
		hc, err = s.hotCampaign(ctx, id, true)
	}
	if err != nil {
		return Campaign{}, err
	}
	if hc.c.Status == StatusDraft || hc.c.Status == StatusArchived {
		return Campaign{}, kepu.NotFound("error.campaign_not_found")
	}
	return hc.c, nil
}

// slotOf joins a served slot and its version into the slot the rules use.
func slotOf(seq int, q hotSlot, v *hotVersion) slot {
	at := q.servedAt
	return slot{Seq: seq, VersionID: q.versionID, Perm: q.perm, Points: q.points, ServedAt: &at, RTT: q.rtt, Type: v.typ, Stem: v.stem,
		Options: v.options, Answer: v.answer, Explain: v.explain, ImageID: v.imageID}
}

// sqlHotCurrents serves a batch of question GETs (group.go): one row per
// request in the unnest() arrays — attempt, its campaign, user, now, the
// campaign's row version as cached, whether a new question may be served.
// It locks the batch's attempts in id order and returns, for each request
// whose attempt exists, its ordinal, the attempt, the campaign's row
// version now and — while the attempt is the user's, unfinished and its
// campaign still at that version, for the first request of an attempt in
// the batch — the question to play: already served, or served now when
// allowed. The UPDATE's "served_at IS NULL" is rechecked on the latest
// row, so a question is never served twice. A served question delivered
// again forgets an inherited round trip (sqlRedeliver); the last column is
// what remains.
const sqlHotCurrents = `WITH k AS (
	SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::timestamptz[], $5::bigint[], $6::bool[])
		WITH ORDINALITY AS k(attempt_id, campaign_id, user_id, at, campaign_version, may_serve, ord)
), a AS MATERIALIZED (
	SELECT ` + attemptCols + ` FROM campaign_attempts WHERE id IN (SELECT attempt_id FROM k) ORDER BY id FOR UPDATE
), q AS (
	SELECT DISTINCT ON (k.attempt_id) k.ord, k.at, k.may_serve, s.attempt_id, s.seq, s.question_version_id, s.perm, s.points,
		s.served_at, CASE WHEN s.seen_at IS NOT NULL THEN s.rtt_ms END AS rtt
	FROM k JOIN a ON a.id = k.attempt_id JOIN campaign_attempt_questions s ON s.attempt_id = a.id AND s.seq = a.answered + 1
	WHERE a.user_id = k.user_id AND a.finished_at IS NULL
	AND (SELECT xmin::text::bigint FROM campaigns WHERE id = k.campaign_id) = k.campaign_version
	ORDER BY k.attempt_id, k.ord
), served AS (
	UPDATE campaign_attempt_questions s SET served_at = q.at FROM q
	WHERE s.attempt_id = q.attempt_id AND s.seq = q.seq AND q.served_at IS NULL AND s.served_at IS NULL AND q.may_serve
	RETURNING s.attempt_id, s.served_at
), redelivered AS (
	UPDATE campaign_attempt_questions s SET rtt_ms = NULL FROM q
	WHERE s.attempt_id = q.attempt_id AND s.seq = q.seq AND q.served_at IS NOT NULL AND s.seen_at IS NULL AND s.rtt_ms IS NOT NULL
)
SELECT k.ord, a.*, (SELECT xmin::text::bigint FROM campaigns WHERE id = k.campaign_id), q.seq, q.question_version_id, q.perm,
	q.points, coalesce(q.served_at, served.served_at), q.rtt
FROM k JOIN a ON a.id = k.attempt_id LEFT JOIN q ON q.ord = k.ord LEFT JOIN served ON served.attempt_id = q.attempt_id`

// currentJob is one question GET for sqlHotCurrents, with its result
// (found false: no such attempt).
type currentJob struct {
	attemptID, campaignID, userID int64
	at                            time.Time
	campaignVersion               int64
	mayServe                      bool

	found    bool
	att      Attempt
	version  *int64 // the campaign's row version now
	seq      *int32 // the question to play (nil: none)
	vid      *int64
	perm     []int
	points   *int32
	servedAt *time.Time
	rtt      *int
}

// flushCurrents runs sqlHotCurrents for jobs and fills in their results.
func flushCurrents(ctx context.Context, db sender, jobs []*currentJob) error {
	n := len(jobs)
	ids, cids, users, vers := make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
	ats, may := make([]time.Time, n), make([]bool, n)
	for i, j := range jobs {
		ids[i], cids[i], users[i], ats[i], vers[i], may[i] = j.attemptID, j.campaignID, j.userID, j.at, j.campaignVersion, j.mayServe
		*j = currentJob{attemptID: j.attemptID, campaignID: j.campaignID, userID: j.userID, at: j.at,
			campaignVersion: j.campaignVersion, mayServe: j.mayServe}
	}
	return flushRows(ctx, db, sqlHotCurrents, []any{ids, cids, users, ats, vers, may}, func(r pgx.Rows) error {
		var ord int64
		var c currentJob
		att, err := scanAttempt(rowPlus{prefixRow{r, &ord}, []any{&c.version, &c.seq, &c.vid, &c.perm, &c.points, &c.servedAt, &c.rtt}})
		if err != nil {
			return err
		}
		j, err := jobAt(jobs, ord)
		if err != nil {
			return err
		}
		j.found, j.att, j.version, j.seq, j.vid, j.perm, j.points, j.servedAt, j.rtt = true, att, c.version, c.seq, c.vid, c.perm,
			c.points, c.servedAt, c.rtt
		return nil
	})
}

// prefixRow scans a row's first column into first and the rest with scan.
type prefixRow struct {
	pgx.Row
	first any
}

func (r prefixRow) Scan(dest ...any) error { return r.Row.Scan(append([]any{r.first}, dest...)...) }

// currentHot is Current's hot path; ok is false when the slow path must
// decide.
func (s *Service) currentHot(ctx context.Context, a kepu.Actor, id int64) (st State, ok bool, err error) {
	ha := s.hot.attempt(id)
	if ha == nil || ha.userID != a.UserID {
		return st, false, nil
	}
	hc, err := s.hotCampaign(ctx, ha.campaignID, false)
	if err != nil {
		return st, false, err
	}
	now := s.now()
	mayServe := hc.c.Open(now)
	if end, limited := attemptEnd(hc.c, Attempt{StartedAt: ha.startedAt}); limited && !now.Before(end) {
		mayServe = false
	}
	j := &currentJob{attemptID: id, campaignID: ha.campaignID, userID: a.UserID, at: now, campaignVersion: hc.version, mayServe: mayServe}
	if err := s.groups().currents.Do(ctx, j); err != nil {
		// j is not ours to read: its flush may still run (ctx ended).
		return st, false, fmt.Errorf("campaign: current: %w", err)
	}
	att, version, seq, servedAt := j.att, j.version, j.seq, j.servedAt
	switch {
	case !j.found || att.UserID != a.UserID:
		return st, false, nil
	case att.Finished():
		s.hot.forget(id)
		s.hot.hits.Add(1)
		return State{Attempt: att}, true, nil
	case version == nil || *version != hc.version:
		_, err := s.hotCampaign(ctx, ha.campaignID, true)
		return st, false, err
	case seq == nil || servedAt == nil:
		return st, false, nil // nothing left to serve, or nothing may be served now
	}
	limit := questionLimit(hc.c, att, *servedAt)
	if now.After(servedAt.Add(limit + s.Grace)) {
		return st, false, nil // a timeout to lock first
	}
	v, err := s.version(ctx, *j.vid)
	if err != nil {
		return st, false, err
	}
	hs := hotSlot{versionID: *j.vid, perm: j.perm, points: int(*j.points), servedAt: *servedAt, rtt: j.rtt}
	ha.serve(int(*seq), hs)
	s.hot.hits.Add(1)
	return State{Attempt: att, Question: slotOf(int(*seq), hs, v).view(att.Questions, limit, now)}, true, nil
}

// sqlHotAnswers writes a batch of answers (group.go): one row per answer
// in the unnest() arrays, $1 … $15 the single-row statement's parameters
// (attempt, user, seq, question version, choice, correct, points,
// elapsed ms, timed out, fast, campaign, campaign row version, answered at,
// measured round trip, serve the next question). It locks the batch's
// attempts in id order and, for each answer whose attempt is its user's,
// unfinished, at that seq, whose campaign is still at that version and
// whose question's measured round trip is still that one — the first such
// answer of an attempt in the batch — locks the answer, adds it to the
// attempt (and a "fast" signal when asked), serves question seq + 1 at the
// same time with the same round trip when asked, and returns its ordinal
// with the attempt's counts and the question served (NULLs when none).
// Any other answer — a duplicate included (ON CONFLICT) — returns no row
// and changes nothing.
const sqlHotAnswers = `WITH k AS (
	SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::int[], $4::bigint[], $5::text[], $6::bool[], $7::int[], $8::int[],
		$9::bool[], $10::bool[], $11::bigint[], $12::bigint[], $13::timestamptz[], $14::int[], $15::bool[])
		WITH ORDINALITY AS k(attempt_id, user_id, seq, version_id, choice, correct, points, elapsed_ms, timed_out, fast,
			campaign_id, campaign_version, at, rtt_ms, serve_next, ord)
), a AS MATERIALIZED (
	SELECT t.id, t.user_id, t.answered FROM campaign_attempts t, (SELECT DISTINCT attempt_id, user_id FROM k) u
	WHERE t.id = u.attempt_id AND t.user_id = u.user_id AND t.finished_at IS NULL ORDER BY t.id FOR UPDATE OF t
), ok AS (
	SELECT DISTINCT ON (k.attempt_id) k.* FROM k JOIN a ON a.id = k.attempt_id
	WHERE a.user_id = k.user_id AND a.answered + 1 = k.seq
	AND (SELECT xmin::text::bigint FROM campaigns WHERE id = k.campaign_id) = k.campaign_version
	AND (SELECT rtt_ms FROM campaign_attempt_questions WHERE attempt_id = k.attempt_id AND seq = k.seq) IS NOT DISTINCT FROM k.rtt_ms
	ORDER BY k.attempt_id, k.ord
), ins AS (
	INSERT INTO campaign_answers (attempt_id, seq, question_version_id, choice, correct, points, elapsed_ms, timed_out, answered_at)
	SELECT attempt_id, seq, version_id, choice::int[], correct, points, elapsed_ms, timed_out, at FROM ok
	ON CONFLICT (attempt_id, seq) DO NOTHING RETURNING attempt_id, points, elapsed_ms
), sig AS (
	INSERT INTO campaign_signals (attempt_id, kind, seq, at)
	SELECT ok.attempt_id, 'fast', ok.seq, ok.at FROM ok JOIN ins USING (attempt_id) WHERE ok.fast
), upd AS (
	UPDATE campaign_attempts t SET answered = t.answered + 1, score = t.score + ins.points, time_ms = t.time_ms + ins.elapsed_ms
	FROM ins WHERE t.id = ins.attempt_id RETURNING t.id, t.answered, t.score, t.max_score, t.questions
), nxt AS (
	UPDATE campaign_attempt_questions s SET served_at = ok.at, rtt_ms = ok.rtt_ms FROM ok JOIN ins USING (attempt_id)
	WHERE s.attempt_id = ok.attempt_id AND s.seq = ok.seq + 1 AND s.served_at IS NULL AND ok.serve_next
	RETURNING s.attempt_id, s.seq, s.question_version_id, s.perm, s.points
)
SELECT ok.ord, upd.answered, upd.score, upd.max_score, upd.questions, nxt.seq, nxt.question_version_id, nxt.perm, nxt.points
FROM ok JOIN upd ON upd.id = ok.attempt_id LEFT JOIN nxt ON nxt.attempt_id = ok.attempt_id`

// answerJob is one answer for sqlHotAnswers, with its result (taken
// false: the statement did not take it; the slow path decides).
type answerJob struct {
	attemptID, userID           int64
	seq                         int
	versionID                   int64
	choice                      []int // authoring order, stored
	correct, timedOut, fast     bool
	points                      int
	elapsedMS                   int64
	campaignID, campaignVersion int64
	at                          time.Time
	rtt                         *int
	serveNext                   bool

	taken                                bool
	answered, score, maxScore, questions int
	nseq, npoints                        *int32 // the question served with it (nil: none)
	nvid                                 *int64
	nperm                                []int
}

// writeAnswers runs sqlHotAnswers for jobs on db (the pool: its own
// transaction; or the last answer's transaction) and fills in their
// results.
func writeAnswers(ctx context.Context, db sender, jobs []*answerJob) error {
	n := len(jobs)
	var (
		ids, users, vids, cids, cvers = make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
		seqs, points, elapsed         = make([]int32, n), make([]int32, n), make([]int32, n)
		choices                       = make([]string, n)
		correct, timedOut, fast, next = make([]bool, n), make([]bool, n), make([]bool, n), make([]bool, n)
		ats                           = make([]time.Time, n)
		rtts                          = make([]*int32, n)
	)
	for i, j := range jobs {
		ids[i], users[i], seqs[i], vids[i], choices[i] = j.attemptID, j.userID, int32(j.seq), j.versionID, intArray(j.choice)
		correct[i], points[i], elapsed[i], timedOut[i], fast[i] = j.correct, int32(j.points), int32(j.elapsedMS), j.timedOut, j.fast
		cids[i], cvers[i], ats[i], next[i] = j.campaignID, j.campaignVersion, j.at, j.serveNext
		if j.rtt != nil {
			r := int32(*j.rtt)
			rtts[i] = &r
		}
		j.taken, j.nseq, j.npoints, j.nvid, j.nperm = false, nil, nil, nil, nil
	}
	args := []any{ids, users, seqs, vids, choices, correct, points, elapsed, timedOut, fast, cids, cvers, ats, rtts, next}
	return flushRows(ctx, db, sqlHotAnswers, args, func(r pgx.Rows) error {
		var ord int64
		var answered, score, maxScore, questions int
		var nseq, npoints *int32
		var nvid *int64
		var nperm []int
		if err := r.Scan(&ord, &answered, &score, &maxScore, &questions, &nseq, &nvid, &nperm, &npoints); err != nil {
			return err
		}
		j, err := jobAt(jobs, ord)
		if err != nil {
			return err
		}
		j.taken, j.answered, j.score, j.maxScore, j.questions = true, answered, score, maxScore, questions
		j.nseq, j.nvid, j.nperm, j.npoints = nseq, nvid, nperm, npoints
		return nil
	})
}

// answerHot is Answer's hot path; ok is false when the slow path must
// decide (and nothing was written).
func (s *Service) answerHot(ctx context.Context, a kepu.Actor, id int64, seq int, choice []int, rttMS int, arrived time.Time) (res Result, att Attempt, finished, ok bool, err error) {
	ha := s.hot.attempt(id)
	if ha == nil || ha.userID != a.UserID || seq < 1 || seq > ha.questions {
		return res, att, false, false, nil
	}
	hs, served := ha.slot(seq)
	// Not served here, or no round trip known here (an acknowledgment may
	// have reached another instance): read the row. A stale round trip
	// makes the statement do nothing (the slow path decides).
	if !served || hs.rtt == nil {
		var at *time.Time
		err := s.DB.QueryRow(ctx, `SELECT question_version_id, perm, points, served_at, rtt_ms FROM campaign_attempt_questions
			WHERE attempt_id = $1 AND seq = $2`, id, seq).Scan(&hs.versionID, &hs.perm, &hs.points, &at, &hs.rtt)
		if errors.Is(err, pgx.ErrNoRows) || (err == nil && at == nil) {
			return res, att, false, false, nil
		}
		if err != nil {
			return res, att, false, false, fmt.Errorf("campaign: answer: %w", err)
		}
		hs.servedAt = *at
	}
	content, err := s.version(ctx, hs.versionID)
	if err != nil {
		return res, att, false, false, err
	}
	q := slotOf(seq, hs, content)
	orig, err := validChoice(q, choice)
	if err != nil {
		return res, att, false, false, nil // the slow path answers a retry of a locked seq first
	}
	hc, err := s.hotCampaign(ctx, ha.campaignID, false)
	if err != nil {
		return res, att, false, false, err
	}
	c := hc.c
	now := arrived
	att = Attempt{ID: id, CampaignID: ha.campaignID, UserID: ha.userID, StartedAt: ha.startedAt, Questions: ha.questions}
	last := seq == ha.questions
	// The next question is served with the answer; when it may not be
	// (campaign paused or over, the attempt's time up) the slow path
	// decides what the answer's response says.
	serveNext := !last && c.Open(now)
	if end, limited := attemptEnd(c, att); limited && !now.Before(end) {
		serveNext = false
	}
	if !last && !serveNext {
		return res, att, false, false, nil
	}
	v := s.judge(c, att, q, orig, now, rttMS)
	stored := v.choice
	if stored == nil {
		stored = []int{}
	}
	j := &answerJob{attemptID: id, userID: a.UserID, seq: seq, versionID: hs.versionID, choice: stored, correct: v.correct,
		points: v.points, elapsedMS: v.elapsed.Milliseconds(), timedOut: v.timedOut, fast: v.fast, campaignID: ha.campaignID,
		campaignVersion: hc.version, at: now, rtt: hs.rtt, serveNext: serveNext}
	if !last {
		err = s.groups().answers.Do(ctx, j)
	} else {
		// The last answer and the finish commit together.
		err = s.tx(ctx, func(tx pgx.Tx) error {
			if err := writeAnswers(ctx, tx, []*answerJob{j}); err != nil || !j.taken {
				return err
			}
			att.Answered, att.Score, att.MaxScore = j.answered, j.score, j.maxScore
			if j.answered < j.questions {
				return nil
			}
			finished = true
			return s.finish(ctx, tx, &att, c, now)
		})
	}
	if err != nil {
		return res, att, false, false, fmt.Errorf("campaign: answer: %w", err)
	}
	if !j.taken {
		return res, att, false, false, nil
	}
	answered, score, questions := j.answered, j.score, j.questions
	nseq, nvid, nperm, npoints := j.nseq, j.nvid, j.nperm, j.npoints
	ha.answered(seq)
	res = Result{Seq: seq, Correct: v.correct, Points: v.points, TimedOut: v.timedOut, Choice: q.shown(stored),
		CorrectChoice: q.shown(q.Answer), Explanation: q.Explain, ElapsedMS: v.elapsed.Milliseconds(),
		Score: score, Answered: answered, Total: questions, Done: finished}
	if finished {
		s.hot.forget(id)
		res.Attempt = &att
	}
	if nseq != nil {
		next := hotSlot{versionID: *nvid, perm: nperm, points: int(*npoints), servedAt: now, rtt: hs.rtt}
		ha.serve(int(*nseq), next)
		nv, err := s.version(ctx, next.versionID)
		if err != nil {
			// Committed: the page GETs the question it could not be shown.
			s.hot.hits.Add(1)
			return res, att, finished, true, nil
		}
		res.Next = slotOf(int(*nseq), next, nv).view(questions, questionLimit(c, att, now), now)
	}
	s.hot.hits.Add(1)
	return res, att, finished, true, nil
}
