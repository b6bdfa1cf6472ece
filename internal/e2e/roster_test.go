package e2e_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/kepu/kepu/internal/e2e"
)

// A teacher opens their class, pastes three names and gets printable join
// cards whose accounts work; markup in a name stays text.
func TestTeacherCreatesPupilsWithJoinCards(t *testing.T) {
	t.Parallel()
	b := e2e.Start(t)
	b.LoginDemo("demo-teacher")
	b.Visit("/org")
	if got := b.Text("h1"); got != "我的班级" {
		t.Errorf("teacher's org page: got %q, want 我的班级", got)
	}
	b.ClickNav("a.class-link")
	b.WaitText("h1", "五年级(1)班")
	b.Do(chromedp.WaitVisible(chromedp.CSS("#names")))
	b.Do(
		chromedp.SendKeys(chromedp.CSS("#names"), "小明\n小红\n<i>小刚</i>\n"),
		chromedp.Click(chromedp.CSS(`#add-pupils button[type=submit]`)),
	)
	b.WaitText("#cards-status", "已创建 3 个学生账号")
	cards := e2e.Get(b, chromedp.TextContent(chromedp.CSS("#cards")))
	for _, want := range []string{"小明", "小红", "<i>小刚</i>", "用户名", "密码", "/login"} {
		if !strings.Contains(cards, want) {
			t.Errorf("join cards: want %q in %q", want, cards)
		}
	}
	if n := e2e.Get(b, chromedp.Evaluate[int](`document.querySelectorAll('#cards .join-card').length`)); n != 3 {
		t.Errorf("join cards: got %d, want 3", n)
	}
	if n := e2e.Get(b, chromedp.Evaluate[int](`document.querySelectorAll('#cards i').length`)); n != 0 {
		t.Errorf("a nickname's markup became %d elements, want text", n)
	}
	if n := e2e.Get(b, chromedp.Evaluate[int](`document.querySelectorAll('#roster-body tr').length`)); n != 3 {
		t.Errorf("roster rows after creating: got %d, want 3", n)
	}
	b.Screenshot("join-cards-phone")
	b.Desktop() // about the width of a printed page
	b.PrintMedia(true)
	for sel, want := range map[string]bool{"#cards .join-card": true, "#add-pupils": false, "header.top": false, "#print-cards": false} {
		if got := b.Visible(sel); got != want {
			t.Errorf("printing the join cards: %s visible %v, want %v", sel, got, want)
		}
	}
	b.Screenshot("join-cards-print")
	b.PrintMedia(false)
	b.Phone()
	username := e2e.Get(b, chromedp.Evaluate[string](`document.querySelector('#cards .join-card dd.pw').textContent`))
	password := e2e.Get(b, chromedp.Evaluate[string](`document.querySelectorAll('#cards .join-card')[0].querySelectorAll('dd.pw')[1].textContent`))

	// The pupil logs in with the card in a browser of their own.
	pupil := e2e.New(t, b.Inst)
	pupil.Login(username, password)
	pupil.WaitText("[data-testid=hello]", "你好，小明！")
}

// An admin's pages render on a phone: the user list with its forms and the
// audit log.
func TestAdminPagesOnPhone(t *testing.T) {
	t.Parallel()
	b := e2e.Start(t)
	b.LoginDemo("demo-admin")
	b.Visit("/admin/users?q=demo")
	b.WaitText("[data-testid=user-list]", "demo-teacher")
	b.Screenshot("admin-users-phone")
	// Reset the citizen's password: the temporary password appears once.
	b.ConfirmAll()
	b.Do(chromedp.Click(chromedp.CSS(`li[data-user="demo-citizen"] form[data-reset-password] button`)))
	b.WaitText(`li[data-user="demo-citizen"] .temp-password`, "临时密码")
	b.Visit("/admin/audit")
	b.WaitText("[data-testid=audit]", "重置了「科学爱好者」的密码")
	b.Desktop()
	b.Screenshot("audit-desktop")
	b.Phone()
	b.Visit("/org")
	b.WaitText("h1", "学校与班级")
	b.Screenshot("org-phone")
}

// An organizer creates a school and a class with its teacher from /org.
func TestOrganizerCreatesSchoolAndClass(t *testing.T) {
	t.Parallel()
	b := e2e.Start(t)
	b.LoginDemo("demo-organizer")
	b.Visit("/org")
	district := e2e.Get(b, chromedp.Evaluate[string](`[...document.querySelectorAll('#school-region option')].find(o => o.textContent.includes('汉寿县')).value`))
	b.Do(chromedp.SetValue(chromedp.CSS("#school-region"), district))
	b.Fill("#school-name", "汉寿县第一中学")
	b.ClickNav(`form[data-api="/api/v1/schools"] button[type=submit]`) // the form reloads the page
	b.WaitText("main", "汉寿县第一中学 · 汉寿县")

	school := e2e.Get(b, chromedp.Evaluate[string](`[...document.querySelectorAll('#class-school option')].find(o => o.textContent === '汉寿县第一中学').value`))
	teacher := e2e.Get(b, chromedp.Evaluate[string](`[...document.querySelectorAll('#class-teacher option')].find(o => o.textContent.includes('demo-teacher')).value`))
	b.Do(chromedp.SetValue(chromedp.CSS("#class-school"), school), chromedp.SetValue(chromedp.CSS("#class-teacher"), teacher))
	b.Fill("#class-name", "高一(5)班")
	b.Fill("#class-grade", "10")
	b.ClickNav(`form[data-api="/api/v1/classes"] button[type=submit]`)
	b.WaitText("main", "高一(5)班")
	if got := b.Text(`section[data-school="` + school + `"] .class-item .muted`); !strings.Contains(got, "王老师") {
		t.Errorf("new class: got %q, want its teacher 王老师", got)
	}
	// A bad grade shows the server's message in the form.
	b.Fill("#class-name", "高一(6)班")
	b.Fill("#class-grade", "13")
	b.Do(chromedp.Click(chromedp.CSS(`form[data-api="/api/v1/classes"] button[type=submit]`)))
	b.WaitText(`form[data-api="/api/v1/classes"] .form-error`, "年级需要在 1–12 之间")
}
