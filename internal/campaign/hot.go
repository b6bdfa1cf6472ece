package campaign

// The hot path of an attempt. POST an answer is nearly all of a campaign's
// traffic (one request per question: its response serves the next
// question); GET the current question serves the first one and resumes. In
// the common case each is ONE SQL statement (one round trip, one implicit
// transaction, the attempt's row locked inside it; concurrent ones share a
// commit, group.go) instead of a transaction of six to twelve statements:
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
	group     groupCommit  // shared transactions of the hot statements (group.go)
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

// sqlHotCurrent locks attempt $1 and, while it is $3's, unfinished and its
// campaign still at version $5, returns the question to play: already
// served, or served now ($4) when $6 allows a new one. The UPDATE's
// "served_at IS NULL" is rechecked on the latest row, so a question is
// never served twice. A served question delivered again forgets an
// inherited round trip (sqlRedeliver); the last column is what remains.
const sqlHotCurrent = `WITH a AS (
	SELECT ` + attemptCols + ` FROM campaign_attempts WHERE id = $1 FOR UPDATE
), c AS (
	SELECT xmin::text::bigint AS v FROM campaigns WHERE id = $2
), q AS (
	SELECT s.seq, s.question_version_id, s.perm, s.points, s.served_at, CASE WHEN s.seen_at IS NOT NULL THEN s.rtt_ms END AS rtt
	FROM campaign_attempt_questions s, a, c
	WHERE s.attempt_id = a.id AND s.seq = a.answered + 1 AND a.user_id = $3 AND a.finished_at IS NULL AND c.v = $5
), served AS (
	UPDATE campaign_attempt_questions s SET served_at = $4 FROM q
	WHERE s.attempt_id = $1 AND s.seq = q.seq AND q.served_at IS NULL AND s.served_at IS NULL AND $6::bool
	RETURNING s.served_at
), redelivered AS (
	UPDATE campaign_attempt_questions s SET rtt_ms = NULL FROM q
	WHERE s.attempt_id = $1 AND s.seq = q.seq AND q.served_at IS NOT NULL AND s.seen_at IS NULL AND s.rtt_ms IS NOT NULL
)
SELECT a.*, (SELECT v FROM c), q.seq, q.question_version_id, q.perm, q.points, coalesce(q.served_at, (SELECT served_at FROM served)),
	q.rtt
FROM a LEFT JOIN q ON true`

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
	var version *int64
	var seq *int32
	var vid *int64
	var perm []int
	var points *int32
	var servedAt *time.Time
	var rtt *int
	var att Attempt
	err = s.hot.group.row(ctx, s.DB, sqlHotCurrent, []any{id, ha.campaignID, a.UserID, now, hc.version, mayServe},
		func(r pgx.Row) (err error) {
			att, err = scanAttempt(rowPlus{r, []any{&version, &seq, &vid, &perm, &points, &servedAt, &rtt}})
			return err
		})
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return st, false, nil
	case err != nil:
		return st, false, fmt.Errorf("campaign: current: %w", err)
	case att.UserID != a.UserID:
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
	v, err := s.version(ctx, *vid)
	if err != nil {
		return st, false, err
	}
	hs := hotSlot{versionID: *vid, perm: perm, points: int(*points), servedAt: *servedAt, rtt: rtt}
	ha.serve(int(*seq), hs)
	s.hot.hits.Add(1)
	return State{Attempt: att, Question: slotOf(int(*seq), hs, v).view(att.Questions, limit, now)}, true, nil
}

// sqlHotAnswer locks attempt $1 and, while it is $2's, unfinished, at seq
// $3, its campaign ($11) still at version $12 and the question's measured
// round trip still $14, locks the answer, adds it to the attempt (and a
// "fast" signal when $10), serves question $3 + 1 at the same time ($13)
// with the same round trip when $15 allows it, and returns the attempt's
// counts with the question served (NULLs when none). Any other case — a
// duplicate included (ON CONFLICT) — returns no row and changes nothing.
const sqlHotAnswer = `WITH a AS (
	SELECT id, answered FROM campaign_attempts WHERE id = $1 AND user_id = $2 AND finished_at IS NULL FOR UPDATE
), ok AS (
	SELECT a.id FROM a WHERE a.answered + 1 = $3
	AND (SELECT xmin::text::bigint FROM campaigns WHERE id = $11) = $12
	AND (SELECT rtt_ms FROM campaign_attempt_questions WHERE attempt_id = $1 AND seq = $3) IS NOT DISTINCT FROM $14::int
), ins AS (
	INSERT INTO campaign_answers (attempt_id, seq, question_version_id, choice, correct, points, elapsed_ms, timed_out, answered_at)
	SELECT id, $3, $4, $5, $6, $7, $8, $9, $13 FROM ok
	ON CONFLICT (attempt_id, seq) DO NOTHING RETURNING points, elapsed_ms
), sig AS (
	INSERT INTO campaign_signals (attempt_id, kind, seq, at) SELECT $1, 'fast', $3, $13 FROM ins WHERE $10::bool
), upd AS (
	UPDATE campaign_attempts t SET answered = t.answered + 1, score = t.score + ins.points, time_ms = t.time_ms + ins.elapsed_ms
	FROM ins WHERE t.id = $1 RETURNING t.answered, t.score, t.max_score, t.questions
), nxt AS (
	UPDATE campaign_attempt_questions s SET served_at = $13, rtt_ms = $14 FROM ins
	WHERE s.attempt_id = $1 AND s.seq = $3 + 1 AND s.served_at IS NULL AND $15::bool
	RETURNING s.seq, s.question_version_id, s.perm, s.points
)
SELECT answered, score, max_score, questions, nxt.seq, nxt.question_version_id, nxt.perm, nxt.points FROM upd LEFT JOIN nxt ON true`

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
	args := []any{id, a.UserID, seq, hs.versionID, stored, v.correct, v.points, v.elapsed.Milliseconds(), v.timedOut, v.fast,
		ha.campaignID, hc.version, now, hs.rtt, serveNext}
	var answered, score, maxScore, questions int
	var nseq, npoints *int32
	var nvid *int64
	var nperm []int
	scan := func(r pgx.Row) error {
		return r.Scan(&answered, &score, &maxScore, &questions, &nseq, &nvid, &nperm, &npoints)
	}
	if !last {
		err = s.hot.group.row(ctx, s.DB, sqlHotAnswer, args, scan)
	} else {
		// The last answer and the finish commit together.
		err = s.tx(ctx, func(tx pgx.Tx) error {
			if err := scan(tx.QueryRow(ctx, sqlHotAnswer, args...)); err != nil {
				return err
			}
			att.Answered, att.Score, att.MaxScore = answered, score, maxScore
			if answered < questions {
				return nil
			}
			finished = true
			return s.finish(ctx, tx, &att, c, now)
		})
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return res, att, false, false, nil
	}
	if err != nil {
		return res, att, false, false, fmt.Errorf("campaign: answer: %w", err)
	}
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
