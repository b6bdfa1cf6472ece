package campaign

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kepu/kepu/internal/kepu"
)

// ReviewItem is one question of a finished attempt, options in the order
// the player saw them.
type ReviewItem struct {
	Seq           int      `json:"seq"`
	Stem          string   `json:"stem"`
	Options       []string `json:"options"`
	Choice        []int    `json:"choice"`
	CorrectChoice []int    `json:"correct_choice"`
	Correct       bool     `json:"correct"`
	TimedOut      bool     `json:"timed_out"`
	Points        int      `json:"points"`
	ElapsedMS     int64    `json:"elapsed_ms"`
	Explanation   string   `json:"explanation"`
}

// Review returns every question of the actor's finished attempt with the
// answers; kepu.ECONFLICT while it is in progress.
func (s *Service) Review(ctx context.Context, a kepu.Actor, id int64) ([]ReviewItem, error) {
	att, err := s.Attempt(ctx, a, id)
	if err != nil {
		return nil, err
	}
	if !att.Finished() {
		return nil, kepu.Errorf(kepu.ECONFLICT, "error.campaign_not_finished")
	}
	rows, err := s.DB.Query(ctx, `SELECT s.seq, s.perm, v.stem, v.options, v.answer, v.explanation,
		coalesce(a.choice, '{}'), coalesce(a.correct, false), coalesce(a.timed_out, true), coalesce(a.points, 0), coalesce(a.elapsed_ms, 0)
		FROM campaign_attempt_questions s JOIN question_versions v ON v.id = s.question_version_id
		LEFT JOIN campaign_answers a ON a.attempt_id = s.attempt_id AND a.seq = s.seq
		WHERE s.attempt_id = $1 ORDER BY s.seq`, id)
	if err != nil {
		return nil, fmt.Errorf("campaign: review: %w", err)
	}
	defer rows.Close()
	out := []ReviewItem{}
	for rows.Next() {
		var it ReviewItem
		var q slot
		var opts []byte
		var choice []int
		if err := rows.Scan(&it.Seq, &q.Perm, &it.Stem, &opts, &q.Answer, &it.Explanation, &choice, &it.Correct,
			&it.TimedOut, &it.Points, &it.ElapsedMS); err != nil {
			return nil, fmt.Errorf("campaign: review: %w", err)
		}
		if err := json.Unmarshal(opts, &q.Options); err != nil {
			return nil, fmt.Errorf("campaign: review: %w", err)
		}
		it.Options = q.shownOptions()
		it.Choice, it.CorrectChoice = q.shown(choice), q.shown(q.Answer)
		out = append(out, it)
	}
	return out, rows.Err()
}

// HistoryItem is one of the actor's attempts with its campaign's title.
type HistoryItem struct {
	Attempt
	Title string `json:"title"`
}

// History returns the actor's attempts, newest first (at most 200).
func (s *Service) History(ctx context.Context, a kepu.Actor) ([]HistoryItem, error) {
	rows, err := s.DB.Query(ctx, `SELECT c.title, `+attemptColsT+` FROM campaign_attempts t
		JOIN campaigns c ON c.id = t.campaign_id WHERE t.user_id = $1 ORDER BY t.started_at DESC LIMIT 200`, a.UserID)
	if err != nil {
		return nil, fmt.Errorf("campaign: history: %w", err)
	}
	defer rows.Close()
	out := []HistoryItem{}
	for rows.Next() {
		h, err := scanHistory(rows)
		if err != nil {
			return nil, fmt.Errorf("campaign: history: %w", err)
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

// scanHistory reads c.title, then attemptColsT.
func scanHistory(row pgx.Row) (HistoryItem, error) {
	var h HistoryItem
	a := &h.Attempt
	err := row.Scan(&h.Title, &a.ID, &a.CampaignID, &a.UserID, &a.StartedAt, &a.FinishedAt, &a.Score, &a.MaxScore,
		&a.Passed, &a.Questions, &a.Answered, &a.TimeMS, &a.Tier, &a.CertCode, &a.InProgress, &a.StaffPractice,
		&a.Division, &a.Practice)
	return h, err
}

// Certificate is what a verification code proves: no personal data beyond
// the nickname.
type Certificate struct {
	Code       string    `json:"code"`
	Nickname   string    `json:"nickname"`
	Campaign   string    `json:"campaign"`
	CampaignID int64     `json:"campaign_id"`
	Score      int       `json:"score"`
	MaxScore   int       `json:"max_score"`
	Tier       string    `json:"tier,omitempty"`
	FinishedAt time.Time `json:"finished_at"`
	// Minor: the holder is under 14; public verification shows the
	// nickname masked (leaderboard.MaskNickname).
	Minor bool `json:"-"`
	// Division names the division the attempt was played in (its name as
	// the campaign has it now); empty without divisions.
	Division   string `json:"division,omitempty"`
	DivisionZh string `json:"division_zh,omitempty"`
	DivisionEn string `json:"division_en,omitempty"`
}

// DivisionName is the certificate's division name in lang.
func (c Certificate) DivisionName(lang string) string {
	return Division{NameZh: c.DivisionZh, NameEn: c.DivisionEn}.Name(lang)
}

// CertificateByCode returns the passing result with the code;
// kepu.NotFound for an unknown code.
func (s *Service) CertificateByCode(ctx context.Context, code string) (Certificate, error) {
	var c Certificate
	if len(code) == 0 || len(code) > 32 {
		return c, kepu.NotFound("error.campaign_cert_not_found")
	}
	// The nickname and title as issued; the current ones only for
	// certificates issued before they were kept.
	err := s.DB.QueryRow(ctx, `SELECT t.cert_code, coalesce(t.cert_nickname, u.nickname), coalesce(t.cert_campaign, c.title), c.id, t.score, t.max_score, coalesce(t.tier, ''), t.finished_at,
		coalesce(u.age_band, '') = 'u14', t.division, coalesce(d->>'name_zh', ''), coalesce(d->>'name_en', '')
		FROM campaign_attempts t JOIN users u ON u.id = t.user_id JOIN campaigns c ON c.id = t.campaign_id
		LEFT JOIN LATERAL (SELECT d FROM jsonb_array_elements(CASE WHEN jsonb_typeof(c.settings->'divisions') = 'array'
			THEN c.settings->'divisions' ELSE '[]' END) d WHERE d->>'key' = t.division AND t.division <> '' LIMIT 1) dv ON true
		WHERE t.cert_code = $1 AND t.passed AND NOT t.staff_practice AND NOT t.practice AND u.deleted_at IS NULL`, code).
		Scan(&c.Code, &c.Nickname, &c.Campaign, &c.CampaignID, &c.Score, &c.MaxScore, &c.Tier, &c.FinishedAt, &c.Minor,
			&c.Division, &c.DivisionZh, &c.DivisionEn)
	if errors.Is(err, pgx.ErrNoRows) {
		return c, kepu.NotFound("error.campaign_cert_not_found")
	}
	if err != nil {
		return c, fmt.Errorf("campaign: certificate: %w", err)
	}
	return c, nil
}

// Locked returns the result of question seq of the actor's attempt once it
// is locked — answered, or timed out (its time plus Grace ran out, which
// this call locks, as Current does) — with the right answer and the
// explanation, and the question to play now (Result.Next) or the finished
// attempt (Result.Attempt). A question still open is kepu.ECONFLICT: its
// answer is never revealed before it is locked.
func (s *Service) Locked(ctx context.Context, a kepu.Actor, id int64, seq int) (Result, error) {
	if seq < 1 {
		return Result{}, kepu.Invalid("seq", "error.invalid_id")
	}
	st, err := s.Current(ctx, a, id)
	if err != nil {
		return Result{}, err
	}
	var res Result
	err = s.tx(ctx, func(tx pgx.Tx) error {
		r, ok, err := storedResult(ctx, tx, st.Attempt, seq)
		if err != nil {
			return err
		}
		if !ok {
			return kepu.Errorf(kepu.ECONFLICT, "error.campaign_not_locked")
		}
		res = r
		return nil
	})
	if err != nil {
		return res, err
	}
	res.Next = st.Question
	if st.Attempt.Finished() {
		res.Attempt = &st.Attempt
	}
	return res, nil
}

// Tally is what the result page tells about a finished attempt beyond
// its row: right answers, and the time really used.
type Tally struct {
	Right int `json:"right"` // questions answered right
	// UsedMS is the time used on the questions actually served (a
	// question never served — after giving up, or once the attempt's own
	// time ran out — took none), where Attempt.TimeMS, which ranks, counts
	// the full limit for each.
	UsedMS int64 `json:"used_ms"`
}

// TallyOf counts the tally of attempt id.
func (s *Service) TallyOf(ctx context.Context, id int64) (Tally, error) {
	var t Tally
	if err := s.DB.QueryRow(ctx, `SELECT count(*) FILTER (WHERE a.correct),
		coalesce(sum(a.elapsed_ms) FILTER (WHERE s.served_at IS NOT NULL), 0)
		FROM campaign_answers a JOIN campaign_attempt_questions s ON s.attempt_id = a.attempt_id AND s.seq = a.seq
		WHERE a.attempt_id = $1`, id).Scan(&t.Right, &t.UsedMS); err != nil {
		return t, fmt.Errorf("campaign: tally: %w", err)
	}
	return t, nil
}
