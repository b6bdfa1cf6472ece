package e2e_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/kepu/kepu/internal/apptest"
	"github.com/kepu/kepu/internal/drill"
	"github.com/kepu/kepu/internal/e2e"
)

// practiceChoice is the shown positions of a right (or, right false, one
// wrong) answer to question seq of the user's practice today.
func practiceChoice(t *testing.T, inst *apptest.Instance, userID int64, seq int, right bool) []int {
	t.Helper()
	var perm, key []int
	if err := inst.DB.Pool.QueryRow(context.Background(), `SELECT p.perm, v.answer FROM practice_questions p
		JOIN question_versions v ON v.id = p.question_version_id WHERE p.user_id = $1 AND p.seq = $2
		ORDER BY p.day DESC LIMIT 1`, userID, seq).Scan(&perm, &key); err != nil {
		t.Fatal(err)
	}
	shown := drill.Shown(perm, key)
	if right {
		return shown
	}
	for pos := range perm {
		if !slices.Contains(shown, pos) {
			return []int{pos}
		}
	}
	return nil
}

// answerTiles taps the tiles of choice on the question view (and, when
// the submit button shows, submits).
func answerTiles(b *e2e.Browser, choice []int) {
	b.Do(chromedp.WaitVisible(chromedp.CSS(`#q-tiles .tile`)))
	for _, i := range choice {
		b.Do(chromedp.Click(chromedp.CSS(fmt.Sprintf(`#q-tiles .tile[data-option="%d"]`, i))))
	}
	if b.Visible(`[data-testid=submit]`) {
		b.Do(chromedp.Click(chromedp.CSS(`[data-testid=submit]`)))
	}
	b.Do(chromedp.WaitVisible(chromedp.CSS(`[data-testid=verdict]`)))
}

// A citizen on a phone opens 每日一练 from the home page, answers today's
// five questions (the first wrong), sees the key and the explanation after
// each and the day's summary with the streak; the wrong one is in 错题本 with
// their answer, the right one and the explanation, and a retry from there
// is timed and judged; 我的积分 shows where the points came from; the pages
// fit the phone in Chinese and English.
func TestDailyPracticeAndNotebookRetry(t *testing.T) {
	t.Parallel()
	b := e2e.Start(t)
	inst := b.Inst
	uid, pw := inst.CreateUser("daily-citizen", "participant")
	b.Phone()
	b.Login("daily-citizen", pw)

	t.Run("a day of practice", func(t *testing.T) {
		b.Visit("/")
		b.ClickNav(`[data-testid=daily-link]`)
		for seq := 1; seq <= 5; seq++ {
			b.WaitText(`[data-testid=q-of]`, fmt.Sprintf("%d", seq))
			if b.Visible(`[data-testid=correct-answer]`) {
				t.Fatalf("question %d: the key shows before the answer", seq)
			}
			answerTiles(b, practiceChoice(t, inst, uid, seq, seq != 1))
			want := "回答正确"
			if seq == 1 {
				want = "回答错误"
				b.WaitText(`[data-testid=res-note]`, "错题本")
				b.Screenshot("daily-practice-result-zh")
				noOverflow(t, b, "practice result")
			}
			b.WaitText(`[data-testid=verdict]`, want)
			if b.Text(`[data-testid=explanation]`) == "" || b.Text(`[data-testid=correct-answer]`) == "" {
				t.Errorf("question %d: no key or explanation after the answer", seq)
			}
			b.Do(chromedp.Click(chromedp.CSS(`[data-testid=next]`)))
		}
		b.WaitText(`[data-testid=done-summary]`, "答对 4 / 5")
		b.WaitText(`[data-testid=done-streak]`, "1 天")
		b.Screenshot("daily-practice-done-zh")
		noOverflow(t, b, "practice done")
	})

	t.Run("notebook retry", func(t *testing.T) {
		b.ClickNav(`[data-testid=to-notebook]`)
		b.WaitText(`[data-testid=nb-summary]`, "错题 1 道")
		entry := b.Text(`[data-testid=nb-entry]`)
		for _, want := range []string{"你的答案：", "正确答案：", "每日一练"} {
			if !strings.Contains(entry, want) {
				t.Errorf("notebook entry %q: want %q", entry, want)
			}
		}
		b.Screenshot("daily-notebook-zh")
		noOverflow(t, b, "notebook")
		b.Do(chromedp.Click(chromedp.CSS(`[data-testid=retry]`)))
		var perm, key []int
		b.Do(chromedp.WaitVisible(chromedp.CSS(`#q-tiles .tile`)))
		if err := inst.DB.Pool.QueryRow(context.Background(), `SELECT r.perm, v.answer FROM notebook_retries r
			JOIN question_versions v ON v.id = r.question_version_id WHERE r.user_id = $1`, uid).Scan(&perm, &key); err != nil {
			t.Fatal(err)
		}
		answerTiles(b, drill.Shown(perm, key))
		b.WaitText(`[data-testid=verdict]`, "回答正确")
		b.WaitText(`[data-testid=res-note]`, "下次复习")
		b.Screenshot("daily-notebook-retry-zh")
		b.Do(chromedp.Click(chromedp.CSS(`[data-testid=next]`)))
		b.WaitText(`[data-testid=nb-summary]`, "错题 1 道")
	})

	t.Run("points and english", func(t *testing.T) {
		b.Visit("/points")
		if got := b.Text(`[data-testid=balance]`); got != "45" {
			t.Errorf("balance: got %q, want 45 (4 right × 10 + 5 for the day)", got)
		}
		b.WaitText(`[data-testid=points-history]`, "完成每日一练")
		b.Screenshot("daily-points-zh")
		noOverflow(t, b, "points")
		b.Visit("/lang/en?next=/points")
		b.WaitText(`[data-testid=points-history]`, "Daily practice finished")
		b.Screenshot("daily-points-en")
		noOverflow(t, b, "points en")
		b.Visit("/notebook")
		b.WaitText(`[data-testid=nb-summary]`, "1 question")
		b.Screenshot("daily-notebook-en")
		b.Visit("/practice")
		b.WaitText(`[data-testid=done-summary]`, "4 of 5 right")
		noOverflow(t, b, "practice en")
	})

	t.Run("organizer dashboard", func(t *testing.T) {
		org := e2e.New(t, inst)
		org.LoginDemo("demo-organizer")
		org.Visit("/lang/zh-CN?next=/dash")
		org.WaitText(`[data-testid=dash-practice]`, "每日一练参与")
		// One person practised: a group under five shows only "<5".
		org.WaitText(`[data-testid=dash-practice_age]`, "<5")
		org.Screenshot("daily-dash-zh")
		noOverflow(t, org, "dashboard")
	})
}
