package e2e_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/kepu/kepu/internal/e2e"
)

// An organizer on a phone, with the keyboard only, finds a school by name,
// chooses it, opens another school's classes and chooses one; the form
// saves both (rules.schools, rules.classes), shows them again when it is
// opened anew, and removing a chip removes it from the campaign.
func TestCampaignFormPicksSchoolsAndClasses(t *testing.T) {
	t.Parallel()
	b := e2e.Start(t)
	db := b.Inst.DB.Pool
	ctx := context.Background()
	var school, class, classSchool int64
	if err := db.QueryRow(ctx, `SELECT id FROM schools WHERE name = '鼎城区演示中学'`).Scan(&school); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(ctx, `SELECT c.id, c.school_id FROM classes c JOIN schools s ON s.id = c.school_id
		WHERE s.name = '武陵区演示实验小学' AND c.name = '五年级(2)班'`).Scan(&class, &classSchool); err != nil {
		t.Fatal(err)
	}
	key := func(sel, keys string) { b.Do(chromedp.Focus(chromedp.CSS(sel)), chromedp.KeyEvent(keys)) }

	b.LoginDemo("demo-organizer")
	b.Visit("/manage/campaigns/new")
	b.Fill("#title", "校园科学周")
	b.WaitText("#aud-none", "还没有选择学校或班级")
	b.Fill("#aud-q", "鼎城")
	b.WaitText("#aud-count", "1 所学校")
	key("#aud-results input[data-kind=school]", " ")
	b.WaitText("[data-testid=aud-picked]", "鼎城区演示中学")

	// The district filter, then the classes of a school in it.
	b.Fill("#aud-q", "")
	e2e.Get(b, chromedp.Evaluate[bool](fmt.Sprintf(`(() => { const s = document.getElementById('aud-district');
		s.value = '%d'; s.dispatchEvent(new Event('change')); return true })()`, b.Inst.Seed.DistrictIDs["430702"])))
	b.WaitText("#aud-count", "1 所学校")
	b.WaitText("#aud-results", "武陵区演示实验小学")
	key(fmt.Sprintf("[data-classes='%d']", classSchool), kb.Enter)
	b.WaitText(fmt.Sprintf("#aud-c-%d", classSchool), "五年级(2)班")
	key(fmt.Sprintf("#aud-c-%d input[data-id='%d']", classSchool, class), " ")
	b.WaitText("[data-testid=aud-picked]", "武陵区演示实验小学 · 五年级(2)班")
	b.Screenshot("campaign-audience-picker-phone")

	b.ClickNav("[data-testid=save]")
	b.WaitText("[data-testid=form-status]", "草稿")
	var id int64
	var rules string
	read := func() {
		t.Helper()
		if err := db.QueryRow(ctx, `SELECT id, coalesce(settings->'schools', '[]')::text || ' ' || coalesce(settings->'classes', '[]')::text FROM campaigns
			WHERE title = '校园科学周'`).Scan(&id, &rules); err != nil {
			t.Fatal(err)
		}
	}
	read()
	if want := fmt.Sprintf("[%d] [%d]", school, class); rules != want {
		t.Fatalf("saved schools and classes: got %s, want %s", rules, want)
	}
	// Opened anew, the form shows both; removing the school by keyboard
	// moves the focus to the class's chip.
	b.WaitText("[data-testid=aud-picked]", "鼎城区演示中学")
	b.WaitText("[data-testid=aud-picked]", "五年级(2)班")
	key(`#aud-picked [data-kind=school] [data-unpick]`, kb.Enter)
	if got := e2e.Get(b, chromedp.Evaluate[string](`document.activeElement.closest('[data-kind]')?.dataset.kind || ''`)); got != "class" {
		t.Errorf("focus after removing a chip: on %q, want the class chip", got)
	}
	b.Do(chromedp.Click(chromedp.CSS("[data-testid=save]")))
	b.WaitText("#ok", "已保存")
	read()
	if want := fmt.Sprintf("[] [%d]", class); rules != want {
		t.Errorf("after removing the school: got %s, want %s", rules, want)
	}
}
