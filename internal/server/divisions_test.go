package server_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kepu/kepu/internal/apptest"
	"github.com/kepu/kepu/internal/dashboard"
)

// divisionRules: a junior division (under 18, pass at 50%) and an adult
// catch-all (pass at 90%), a required practice round of 2 questions.
var divisionRules = map[string]any{
	"questions": 3,
	"divisions": []map[string]any{
		{"key": "junior", "name_zh": "青少年组", "name_en": "Youth", "age_bands": []string{"u14", "14_17"}, "pass_mark": 50},
		{"key": "adult", "name_zh": "成人组", "name_en": "Adults", "pass_mark": 90},
	},
	"practice": map[string]any{"enabled": true, "questions": 2, "required": true},
}

// startAs starts an attempt of the fixture's campaign as c with body and
// returns the status, the attempt as JSON and the raw body.
func (f *campaignFixture) startAs(t *testing.T, c *apptest.Client, body map[string]any) (int, map[string]any, string) {
	t.Helper()
	res := c.Do("POST", fmt.Sprintf("/api/v1/campaigns/%d/attempts", f.id), body)
	var v struct{ Attempt map[string]any }
	if res.Status < 300 {
		res.JSON(t, &v)
	}
	return res.Status, v.Attempt, string(res.Body)
}

// finishAll answers every question of attempt id right (or wrong) and
// returns the finished attempt.
func (f *campaignFixture) finishAll(t *testing.T, c *apptest.Client, id int64, right bool) map[string]any {
	t.Helper()
	return f.finishBy(t, c, id, func(int) bool { return right })
}

// finishBy answers question seq of attempt id right when right(seq).
func (f *campaignFixture) finishBy(t *testing.T, c *apptest.Client, id int64, right func(seq int) bool) map[string]any {
	t.Helper()
	for seq := 1; ; seq++ {
		st, _ := current(t, c, id)
		if st.Question == nil {
			break
		}
		f.clock.Add(2 * time.Second)
		choice := f.rightChoice(t, id, seq)
		if !right(seq) {
			choice = wrongChoice(choice)
		}
		r := answer(t, c, id, seq, choice, 200)
		if r.Explanation == "" || len(r.CorrectChoice) == 0 {
			t.Errorf("attempt %d question %d: no feedback (right answer and explanation) after the answer", id, seq)
		}
		if r.Done {
			break
		}
	}
	return attemptJSON(t, c, id)
}

func setAgeBand(t *testing.T, f *campaignFixture, user, band string) {
	t.Helper()
	if _, err := f.inst.DB.Pool.Exec(context.Background(), `UPDATE users SET age_band = $2 WHERE username = $1`, user, band); err != nil {
		t.Fatal(err)
	}
}

// TestDivisionsAndPractice: each participant plays in the division their
// profile gives, fixed on the attempt and kept when the profile changes;
// each division has its own board and pass mark, the division is named on
// the certificate; practice gives feedback, is required before the formal
// attempt, is never ranked (live or rebuilt), never certified, and is left
// out of the dashboard's campaign figures but shown apart.
func TestDivisionsAndPractice(t *testing.T) {
	t.Parallel()
	f := newCampaign(t, divisionRules)
	kid := f.citizen(t, "kid")
	setAgeBand(t, f, "kid", "u14")
	grown := f.citizen(t, "grown")
	setAgeBand(t, f, "grown", "30_39")
	kid.Lang = "zh-CN"

	t.Run("formal start refused until a practice is finished", func(t *testing.T) {
		status, _, body := f.startAs(t, kid, nil)
		if status != 409 || !strings.Contains(body, "请先完成一次练习") {
			t.Fatalf("formal start before practice: got %d %s, want 409 with the practice message", status, body)
		}
		page := string(kid.Do("GET", fmt.Sprintf("/campaigns/%d", f.id), nil).Body)
		for _, want := range []string{`data-testid="practice"`, `data-testid="practice-required"`, "您的组别：青少年组"} {
			if !strings.Contains(page, want) {
				t.Errorf("campaign page lacks %s", want)
			}
		}
	})

	var practiceID int64
	t.Run("practice: feedback, never ranked or certified", func(t *testing.T) {
		status, att, body := f.startAs(t, kid, map[string]any{"practice": true})
		if status != 201 || att["practice"] != true || att["division"] != "junior" || att["questions"] != float64(2) {
			t.Fatalf("practice start: got %d %s, want a junior practice attempt of 2 questions", status, body)
		}
		practiceID = int64(att["id"].(float64))
		if page := string(kid.Do("GET", fmt.Sprintf("/attempts/%d", practiceID), nil).Body); !strings.Contains(page, `data-testid="practice-label"`) {
			t.Error("practice attempt page is not labelled 练习")
		}
		done := f.finishAll(t, kid, practiceID, true)
		if done["passed"] != true || done["cert_code"] != nil {
			t.Errorf("practice result: passed %v cert %v, want passed without a certificate", done["passed"], done["cert_code"])
		}
		page := string(kid.Do("GET", fmt.Sprintf("/attempts/%d/result", practiceID), nil).Body)
		if !strings.Contains(page, `data-testid="practice-unranked"`) || strings.Contains(page, `data-testid="rank-overall"`) {
			t.Error("practice result page shows ranks or lacks the unranked note")
		}
		if names := boardNames(t, kid, f.id, "division=junior"); len(names) != 0 {
			t.Errorf("junior board after a practice: %v, want empty", names)
		}
	})

	var kidFormal int64
	t.Run("formal attempts in their divisions, own boards and pass marks", func(t *testing.T) {
		status, att, body := f.startAs(t, kid, nil)
		if status != 201 || att["practice"] != false || att["division"] != "junior" {
			t.Fatalf("kid formal start: got %d %s", status, body)
		}
		kidFormal = int64(att["id"].(float64))
		// One wrong answer of three: 2/3 of the points passes at 50%.
		twoOfThree := func(seq int) bool { return seq != 3 }
		if v := f.finishBy(t, kid, kidFormal, twoOfThree); v["passed"] != true || v["cert_code"] == nil {
			t.Errorf("kid's formal attempt: passed %v cert %v, want a pass at the junior 50%% mark", v["passed"], v["cert_code"])
		}
		// The adult practises, then plays the same 2 of 3 right: fails at 90%.
		if s, _, b := f.startAs(t, grown, map[string]any{"practice": true}); s != 201 {
			t.Fatalf("grown practice: %d %s", s, b)
		} else {
			f.finishAll(t, grown, mustAttemptID(t, b), false)
		}
		s, att, b := f.startAs(t, grown, nil)
		if s != 201 || att["division"] != "adult" {
			t.Fatalf("grown formal start: got %d %s", s, b)
		}
		if v := f.finishBy(t, grown, int64(att["id"].(float64)), twoOfThree); v["passed"] != false {
			t.Errorf("grown's formal attempt: passed %v, want a fail at the adult 90%% mark", v["passed"])
		}
	})

	boards := func(when string) {
		t.Helper()
		if got := strings.Join(boardNames(t, f.inst.Client(), f.id, "division=junior"), ","); got != "k**" {
			t.Errorf("%s: junior board %q, want k** (kid, masked: under 14)", when, got)
		}
		if got := strings.Join(boardNames(t, f.inst.Client(), f.id, "division=adult"), ","); got != "grown" {
			t.Errorf("%s: adult board %q, want grown", when, got)
		}
		if got := strings.Join(boardNames(t, grown, f.id, "board=all"), ","); got != "grown" {
			t.Errorf("%s: the adult's own board %q, want grown", when, got)
		}
	}
	t.Run("boards per division, practice never on them", func(t *testing.T) {
		boards("live")
		if err := f.inst.App.Boards.Rebuild(context.Background(), f.id); err != nil {
			t.Fatal(err)
		}
		time.Sleep(60 * time.Millisecond) // the HTTP top cache
		boards("after rebuild")
		if res := f.inst.Client().Do("GET", fmt.Sprintf("/api/v1/campaigns/%d/leaderboard?division=nope", f.id), nil); res.Status != 400 {
			t.Errorf("unknown division board: got %d, want 400", res.Status)
		}
	})

	t.Run("the division stays when the profile changes", func(t *testing.T) {
		setAgeBand(t, f, "kid", "30_39")
		status, att, body := f.startAs(t, kid, nil)
		if status != 201 || att["division"] != "junior" {
			t.Errorf("kid's second formal attempt after a profile change: got %d %s, want junior", status, body)
		}
	})

	t.Run("certificate names the division", func(t *testing.T) {
		page := string(kid.Do("GET", fmt.Sprintf("/attempts/%d/certificate", kidFormal), nil).Body)
		if !strings.Contains(page, "组别：青少年组") {
			t.Error("certificate does not name the division")
		}
	})

	t.Run("dashboard: practice apart from the campaign figures", func(t *testing.T) {
		ctx := context.Background()
		// The fixture's clock ran ahead of the database's: the attempts were
		// played a while ago, so the dashboard folds them now.
		if _, err := f.inst.DB.Pool.Exec(ctx, `UPDATE campaign_attempts SET started_at = least(started_at, now() - interval '2 seconds'),
			finished_at = CASE WHEN finished_at IS NOT NULL THEN least(finished_at, now() - interval '1 second') END
			WHERE campaign_id = $1`, f.id); err != nil {
			t.Fatal(err)
		}
		var h dashboard.Headline
		for try := 0; try < 50; try++ {
			if _, err := (&dashboard.Refresher{DB: f.inst.DB.Pool, CommitLag: -1}).Refresh(ctx); err != nil {
				t.Fatal(err)
			}
			var sum struct{ Headline dashboard.Headline }
			r := f.org.Do("GET", "/api/v1/dash/campaigns/"+dashID(f.id), nil)
			apptest.Expect(t, r, 200, "dashboard summary")
			r.JSON(t, &sum)
			if h = sum.Headline; h.Finished >= 2 && h.PracticeFinished >= 2 {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		// Formal: kid 2 (one in progress), grown 1; practice: 2 by 2 people.
		if h.Participants != 2 || h.Attempts != 3 || h.Finished != 2 {
			t.Errorf("campaign figures: participants %d attempts %d finished %d, want 2 3 2 (no practice)", h.Participants, h.Attempts, h.Finished)
		}
		if h.PracticeParticipants != 2 || h.PracticeAttempts != 2 || h.PracticeFinished != 2 {
			t.Errorf("practice figures: %d %d %d, want 2 2 2", h.PracticeParticipants, h.PracticeAttempts, h.PracticeFinished)
		}
	})
}

func mustAttemptID(t *testing.T, body string) int64 {
	t.Helper()
	var id int64
	i := strings.Index(body, `"id":`)
	if i < 0 {
		t.Fatalf("no attempt id in %s", body)
	}
	fmt.Sscan(body[i+5:], &id)
	return id
}

// TestDivisionRulesValidated: the campaign form's divisions and practice
// options are checked, naming the field at fault in the reader's language.
func TestDivisionRulesValidated(t *testing.T) {
	t.Parallel()
	f := newCampaign(t, nil)
	base := func(rules map[string]any) map[string]any {
		return map[string]any{"title": "分组测试", "starts_at": f.clock.Now(), "ends_at": f.clock.Now().Add(time.Hour), "rules": rules}
	}
	for _, tt := range []struct {
		name  string
		rules map[string]any
		field string
	}{
		{"bad key", map[string]any{"divisions": []map[string]any{{"key": "Primary!", "name_zh": "小学组"}}}, "rules.divisions.0.key"},
		{"same key twice", map[string]any{"divisions": []map[string]any{{"key": "a", "name_zh": "甲"}, {"key": "a", "name_zh": "乙"}}}, "rules.divisions.1.key"},
		{"no name", map[string]any{"divisions": []map[string]any{{"key": "a"}}}, "rules.divisions.0.name_zh"},
		{"bad grades", map[string]any{"divisions": []map[string]any{{"key": "a", "name_zh": "甲", "grade_min": 7, "grade_max": 3}}}, "rules.divisions.0.grade_min"},
		{"bad occupation", map[string]any{"divisions": []map[string]any{{"key": "a", "name_zh": "甲", "occupations": []string{"pirate"}}}}, "rules.divisions.0.occupations"},
		{"choice without divisions", map[string]any{"division_choice": true}, "rules.division_choice"},
		{"required practice off", map[string]any{"practice": map[string]any{"required": true}}, "rules.practice.enabled"},
	} {
		res := f.org.Do("POST", "/api/v1/manage/campaigns", base(tt.rules))
		if res.Status != 400 || !strings.Contains(string(res.Body), `"field":"`+tt.field+`"`) {
			t.Errorf("%s: got %d %s, want 400 on %s", tt.name, res.Status, res.Body, tt.field)
		}
	}
}
