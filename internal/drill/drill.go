// Package drill serves one question at a time and judges it on the
// server, as a campaign question is: the daily practice
// (internal/practice) and the notebook's retries (internal/notebook) use
// it. The clock is the caller's; the answer key and explanation leave the
// server only in a Result, after the question is locked.
package drill

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kepu/kepu/internal/campaign"
	"github.com/kepu/kepu/internal/kepu"
	"github.com/kepu/kepu/internal/scoring"
)

// TimeLimit is the time a question has, as in the demo campaign.
const TimeLimit = 30 * time.Second

// Grace is the network-delay credit after the deadline (a campaign's).
const Grace = campaign.DefaultGrace

// Item is a question version with its key.
type Item struct {
	QuestionID  int64
	VersionID   int64
	Type        string
	Stem        string
	Options     []string
	Answer      []int // authoring order
	Explanation string
	ImageID     int64
}

// Load reads question version versionID.
func Load(ctx context.Context, tx pgx.Tx, versionID int64) (Item, error) {
	var it Item
	var opts []byte
	var img *int64
	err := tx.QueryRow(ctx, `SELECT question_id, id, type, stem, options, answer, explanation, image_id
		FROM question_versions WHERE id = $1`, versionID).
		Scan(&it.QuestionID, &it.VersionID, &it.Type, &it.Stem, &opts, &it.Answer, &it.Explanation, &img)
	if errors.Is(err, pgx.ErrNoRows) {
		return it, kepu.NotFound("daily.error.practice_not_found")
	}
	if err != nil {
		return it, fmt.Errorf("drill: load %d: %w", versionID, err)
	}
	if err := json.Unmarshal(opts, &it.Options); err != nil {
		return it, fmt.Errorf("drill: options: %w", err)
	}
	if img != nil {
		it.ImageID = *img
	}
	return it, nil
}

// Perm is a random order of n options: shown position i is option perm[i].
func Perm(n int) []int {
	p := rand.Perm(n)
	return p
}

// Question is a question as the player sees it: shown options, no key.
type Question struct {
	Seq         int       `json:"seq"`
	Total       int       `json:"total"`
	Type        string    `json:"type"`
	Stem        string    `json:"stem"`
	Options     []string  `json:"options"`
	ImageID     int64     `json:"image_id,omitempty"`
	Notebook    bool      `json:"notebook,omitempty"` // a due question of the wrong-answer notebook
	TimeLimitMS int64     `json:"time_limit_ms"`
	RemainingMS int64     `json:"remaining_ms"`
	Deadline    time.Time `json:"deadline"`
}

// View is it served at servedAt with options in perm order, seen at now.
func (it Item) View(perm []int, servedAt, now time.Time) *Question {
	opts := make([]string, len(perm))
	for pos, o := range perm {
		if o >= 0 && o < len(it.Options) {
			opts[pos] = it.Options[o]
		}
	}
	deadline := servedAt.Add(TimeLimit)
	return &Question{Type: it.Type, Stem: it.Stem, Options: opts, ImageID: it.ImageID,
		TimeLimitMS: TimeLimit.Milliseconds(), RemainingMS: max(deadline.Sub(now).Milliseconds(), 0), Deadline: deadline}
}

// Expired reports whether a question served at servedAt can no longer be
// answered at now (its limit and the grace are over).
func Expired(servedAt, now time.Time) bool { return now.After(servedAt.Add(TimeLimit + Grace)) }

// Verdict is the judgement of one answer.
type Verdict struct {
	Choice    []int // authoring order; empty when timed out
	Correct   bool
	TimedOut  bool
	ElapsedMS int64
}

// Judge checks choice (shown positions under perm) for it served at
// servedAt and answered at now. A bad choice is kepu.EINVALID; an answer
// after the deadline plus Grace, or an empty choice (the page's clock ran
// out), is a timeout.
func (it Item) Judge(perm []int, choice []int, servedAt, now time.Time) (Verdict, error) {
	raw := now.Sub(servedAt)
	v := Verdict{Choice: []int{}, ElapsedMS: min(max(raw, 0), TimeLimit).Milliseconds()}
	if raw > TimeLimit+Grace || len(choice) == 0 {
		v.TimedOut = true
		return v, nil
	}
	bad := kepu.Invalid("choice", "error.campaign_choice")
	if len(choice) > len(perm) || (it.Type != "multiple" && len(choice) != 1) {
		return v, bad
	}
	seen := map[int]bool{}
	for _, p := range choice {
		if p < 0 || p >= len(perm) || seen[p] {
			return v, bad
		}
		seen[p] = true
		v.Choice = append(v.Choice, perm[p])
	}
	v.Correct = scoring.Credit(v.Choice, it.Answer, false) == 1
	return v, nil
}

// Shown maps authoring-order option indexes to shown positions under perm.
func Shown(perm, orig []int) []int {
	out := []int{}
	for pos, o := range perm {
		for _, x := range orig {
			if x == o {
				out = append(out, pos)
			}
		}
	}
	return out
}

// Result is a locked question: the choice, the right answer (shown
// positions) and the explanation.
type Result struct {
	Correct       bool   `json:"correct"`
	TimedOut      bool   `json:"timed_out"`
	Choice        []int  `json:"choice"`
	CorrectChoice []int  `json:"correct_choice"`
	Explanation   string `json:"explanation"`
	ElapsedMS     int64  `json:"elapsed_ms"`
	Points        int    `json:"points"`
}

// Result is v's result for it shown under perm.
func (it Item) Result(perm []int, v Verdict) Result {
	return Result{Correct: v.Correct, TimedOut: v.TimedOut, Choice: Shown(perm, v.Choice),
		CorrectChoice: Shown(perm, it.Answer), Explanation: it.Explanation, ElapsedMS: v.ElapsedMS}
}
