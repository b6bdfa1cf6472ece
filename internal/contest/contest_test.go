package contest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kepu/kepu/internal/kepu"
	"github.com/kepu/kepu/internal/org"
	"github.com/kepu/kepu/internal/testenv"
)

func TestCleanNick(t *testing.T) {
	tests := []struct {
		in, want, err string
	}{
		{"  Ann   Lee ", "Ann Lee", ""},
		{"<b>x</b>", "<b>x</b>", ""},
		{"", "", "error.contest_nick_length"},
		{strings.Repeat("a", MaxNick+1), "", "error.contest_nick_length"},
		{strings.Repeat("長", MaxNick), strings.Repeat("長", MaxNick), ""},
		{"a\u0000b", "", "error.contest_nick_chars"},
		{"a\u200bb", "", "error.contest_nick_chars"},
		{"!!!", "", "error.contest_nick_chars"},
		{"F.u c-k", "", "error.contest_nick_abuse"},
		{"小傻逼", "", "error.contest_nick_abuse"},
		{"Lisbon", "Lisbon", ""},
	}
	for _, tt := range tests {
		got, err := CleanNick(tt.in)
		key := ""
		if e, ok := err.(*kepu.Error); ok {
			key = e.Key
		}
		if got != tt.want || key != tt.err {
			t.Errorf("CleanNick(%q) = %q, %q; want %q, %q", tt.in, got, key, tt.want, tt.err)
		}
	}
}

func TestSafeCell(t *testing.T) {
	for in, want := range map[string]string{"=1+1": "'=1+1", "+x": "'+x", "-2": "'-2", "@SUM": "'@SUM", "ok": "ok", "": "", "\tx": "'\tx"} {
		if got := SafeCell(in); got != want {
			t.Errorf("SafeCell(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSettings(t *testing.T) {
	i := func(n int) *int { return &n }
	b := func(v bool) *bool { return &v }
	tests := []struct {
		name string
		in   SettingsInput
		err  string
	}{
		{"defaults", SettingsInput{}, ""},
		{"too short", SettingsInput{TimeLimit: i(4)}, "error.contest_time_limit"},
		{"too long", SettingsInput{TimeLimit: i(121)}, "error.contest_time_limit"},
		{"negative points", SettingsInput{Points: i(-1)}, "error.contest_points"},
		{"practice only", SettingsInput{Points: i(0)}, ""},
		{"team mode without classes", SettingsInput{TeamMode: b(true)}, "error.contest_teams"},
	}
	for _, tt := range tests {
		s, err := tt.in.Settings()
		key := ""
		if e, ok := err.(*kepu.Error); ok {
			key = e.Key
		}
		if key != tt.err {
			t.Errorf("%s: got error %q, want %q", tt.name, key, tt.err)
		}
		if tt.name == "defaults" && (s.TimeLimit != 20 || s.Points != 1000 || !s.ShowText || !s.StreakBonus || s.AutoAdvance) {
			t.Errorf("defaults: %+v", s)
		}
	}
}

func TestValidChoice(t *testing.T) {
	single := Question{Type: "single", Options: []string{"a", "b", "c"}}
	multi := Question{Type: "multiple", Options: []string{"a", "b", "c"}}
	tests := []struct {
		q    Question
		c    []int
		want bool
	}{
		{single, []int{1}, true}, {single, []int{}, false}, {single, []int{0, 1}, false}, {single, []int{3}, false},
		{single, []int{-1}, false}, {multi, []int{0, 2}, true}, {multi, []int{2, 2}, false}, {multi, []int{0, 1, 2, 0}, false},
	}
	for _, tt := range tests {
		if got := validChoice(tt.q, tt.c); got != tt.want {
			t.Errorf("validChoice(%s, %v) = %v, want %v", tt.q.Type, tt.c, got, tt.want)
		}
	}
}

// newTestService returns a service on a fresh database and Redis prefix
// with a host and a three-question contest.
func newTestService(t *testing.T) (*Service, kepu.Actor, int64) {
	t.Helper()
	ctx := context.Background()
	db := testenv.NewDB(t)
	rd := testenv.NewRedis(t)
	var region, uid int64
	err := db.Pool.QueryRow(ctx, `INSERT INTO regions (kind, code, name, path) VALUES ('city', 't1', 'T', '/') RETURNING id`).Scan(&region)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Pool.QueryRow(ctx, `INSERT INTO users (username, role, nickname) VALUES ('host', 'teacher', 'Host') RETURNING id`).Scan(&uid); err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for i := 0; i < 3; i++ {
		var id int64
		if err := db.Pool.QueryRow(ctx, `INSERT INTO questions (owner_region_id, status, type, category, dimension, difficulty, stem_norm)
			VALUES ($1, 'published', 'single', 'life', 'knowledge', 1, $2) RETURNING id`, region, fmt.Sprint(i)).Scan(&id); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Pool.Exec(ctx, `INSERT INTO question_versions (question_id, version, type, stem, options, answer, explanation, category, dimension, difficulty)
			VALUES ($1, 1, 'single', 'Q?', '["a","b"]', '{0}', 'e', 'life', 'knowledge', 1)`, id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	s := NewService(db.Pool, rd.Client, rd.Keys, &org.Service{DB: db.Pool})
	a := kepu.Actor{UserID: uid, Role: kepu.RoleTeacher}
	tl := 5
	c, err := s.Create(ctx, a, NewContest{Title: "t", QuestionIDs: ids, Settings: SettingsInput{TimeLimit: &tl}})
	if err != nil {
		t.Fatal(err)
	}
	return s, a, c.ID
}

// Many answers from one player at once: exactly one counts.
// mustRun opens a run (a lobby with a PIN) of contest cid.
func mustRun(t *testing.T, s *Service, a kepu.Actor, cid int64) Run {
	t.Helper()
	run, err := s.CreateRun(context.Background(), a, cid)
	if err != nil {
		t.Fatal(err)
	}
	return run
}

func TestAnswerOnce(t *testing.T) {
	s, a, cid := newTestService(t)
	ctx := context.Background()
	run := mustRun(t, s, a, cid)
	j, err := s.Join(ctx, JoinInput{PIN: run.PIN, Nickname: "ann"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Join(ctx, JoinInput{PIN: run.PIN, Nickname: "bob"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Next(ctx, a, run.ID, ""); err != nil {
		t.Fatal(err)
	}
	p := Player{Room: run.ID, ID: j.Player, Nick: "ann"}
	var ok, dup atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := s.Answer(ctx, p, 0, []int{0}, 0)
			switch {
			case err != nil:
				t.Error(err)
			case res == AnswerOK:
				ok.Add(1)
			case res == AnswerDuplicate:
				dup.Add(1)
			}
		}()
	}
	wg.Wait()
	if ok.Load() != 1 || dup.Load() != 19 {
		t.Errorf("20 concurrent answers: %d accepted, %d duplicates; want 1 and 19", ok.Load(), dup.Load())
	}
	me, err := s.MeOf(ctx, p, 0)
	if err != nil {
		t.Fatal(err)
	}
	if me.Score < 500 || me.Score > 1000 || me.Streak != 1 {
		t.Errorf("score %d streak %d, want 500–1000 and 1", me.Score, me.Streak)
	}
}

// Several instances tick at once when a round is due: exactly one closes
// it (one "closed" and one "reveal" event).
func TestRoundClosedOnce(t *testing.T) {
	s, a, cid := newTestService(t)
	ctx := context.Background()
	run := mustRun(t, s, a, cid)
	if _, err := s.Join(ctx, JoinInput{PIN: run.PIN, Nickname: "ann"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Next(ctx, a, run.ID, ""); err != nil {
		t.Fatal(err)
	}
	// Instances share Redis and Postgres but not memory.
	var others []*Service
	for i := 0; i < 4; i++ {
		o := NewService(s.DB, s.Redis, s.Keys, s.Org)
		o.Clock.Advance(6 * time.Second)
		others = append(others, o)
	}
	var wg sync.WaitGroup
	for _, o := range others {
		wg.Add(1)
		go func() { defer wg.Done(); o.Tick(ctx) }()
	}
	wg.Wait()
	evs, err := s.Redis.LRange(ctx, s.room(run.ID).events(), 0, -1).Result()
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, e := range evs {
		for _, typ := range []string{"closed", "reveal"} {
			if strings.Contains(e, `"type":"`+typ+`"`) {
				count[typ]++
			}
		}
	}
	if count["closed"] != 1 || count["reveal"] != 1 {
		t.Errorf("events after concurrent ticks: %v, want one closed and one reveal", count)
	}
	// An answer now is refused.
	if res, _ := s.Answer(ctx, Player{Room: run.ID, ID: 1}, 0, []int{0}, 0); res != AnswerClosed {
		t.Errorf("answer after close: %q, want closed", res)
	}
}

// An instance that closed a round reveals it only while it is still
// closed: when another instance's timer revealed it first and the host
// has moved on to the board, the late reveal leaves the board alone (it
// used to take the room back to the reveal, and the host's next from the
// board answered 409).
func TestLateRevealLeavesTheBoard(t *testing.T) {
	s, a, cid := newTestService(t)
	ctx := context.Background()
	run := mustRun(t, s, a, cid)
	if _, err := s.Join(ctx, JoinInput{PIN: run.PIN, Nickname: "ann"}); err != nil {
		t.Fatal(err)
	}
	for _, from := range []string{"lobby", "question", "reveal"} { // open, close and reveal, board
		if err := s.Next(ctx, a, run.ID, from); err != nil {
			t.Fatalf("next from %s: %v", from, err)
		}
	}
	if st := phaseOf(t, s, run.ID); st.Phase != PhaseBoard {
		t.Fatalf("phase %s, want board", st.Phase)
	}
	// The slow instance that closed question 0 reveals now.
	if err := s.revealClosed(ctx, run.ID, 0); err != nil {
		t.Fatal(err)
	}
	if st := phaseOf(t, s, run.ID); st.Phase != PhaseBoard {
		t.Fatalf("after a late reveal: phase %s, want board", st.Phase)
	}
	if err := s.Next(ctx, a, run.ID, "board"); err != nil {
		t.Errorf("next from board: %v", err)
	}
}

func TestDrawAndExport(t *testing.T) {
	s, a, _ := newTestService(t)
	ctx := context.Background()
	tl := 5
	c, err := s.Create(ctx, a, NewContest{Title: "drawn", Draw: &Draw{Category: "life", Count: 2}, Settings: SettingsInput{TimeLimit: &tl}})
	if err != nil || c.Count != 2 {
		t.Fatalf("draw 2 of 3: %+v, %v", c, err)
	}
	if _, err := s.Create(ctx, a, NewContest{Title: "x", Draw: &Draw{Category: "life", Count: 4}}); err == nil {
		t.Errorf("drawing 4 of 3 questions: want an error")
	}
	if _, err := s.Create(ctx, a, NewContest{Title: "x", Draw: &Draw{Category: "health", Count: 1}}); err == nil {
		t.Errorf("drawing from an empty category: want an error")
	}
	if _, err := s.Create(ctx, kepu.Actor{UserID: a.UserID, Role: kepu.RoleParticipant}, NewContest{Title: "x", Draw: &Draw{Count: 1}}); err != kepu.Forbidden {
		t.Errorf("participant creates: got %v, want forbidden", err)
	}

	r := Results{Ranking: []ResultRow{{Rank: 1, Nickname: "=HYPERLINK(\"x\")", Score: 10}, {Rank: 2, Nickname: "@me", Class: "+1"}}}
	var buf strings.Builder
	if err := r.WriteCSV(&buf, Labels{}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`'=HYPERLINK`, `'@me`, `'+1`} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("CSV lacks %q: %s", want, buf.String())
		}
	}
	var xb strings.Builder
	if err := r.WriteXLSX(&xb, Labels{Ranking: "R", Questions: "Q"}); err != nil {
		t.Fatal(err)
	}
}

// Drawing and searching stay in one language, and search text is literal
// (a "%" does not match every question).
func TestDrawAndSearchLanguageAndLiteralText(t *testing.T) {
	s, a, _ := newTestService(t)
	ctx := context.Background()
	var region, zhID int64
	if err := s.DB.QueryRow(ctx, `SELECT owner_region_id, id FROM questions ORDER BY id LIMIT 1`).Scan(&region, &zhID); err != nil {
		t.Fatal(err)
	}
	var enID int64
	if err := s.DB.QueryRow(ctx, `INSERT INTO questions (owner_region_id, status, lang, translation_of, type, category, dimension, difficulty, stem_norm)
		VALUES ($1, 'published', 'en', $2, 'single', 'life', 'knowledge', 1, 'en') RETURNING id`, region, zhID).Scan(&enID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DB.Exec(ctx, `INSERT INTO question_versions (question_id, version, type, stem, options, answer, explanation, category, dimension, difficulty)
		VALUES ($1, 1, 'single', 'English Q?', '["a","b"]', '{0}', 'e', 'life', 'knowledge', 1)`, enID); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		ids, err := s.draw(ctx, Draw{Category: "life", Count: 3})
		if err != nil {
			t.Fatalf("draw 3 zh-CN: %v", err)
		}
		var en int
		s.DB.QueryRow(ctx, `SELECT count(*) FROM question_versions v JOIN questions q ON q.id = v.question_id
			WHERE v.id = ANY($1) AND q.lang = 'en'`, ids).Scan(&en)
		if en != 0 {
			t.Fatalf("a zh-CN draw picked %d English questions", en)
		}
	}
	if ids, err := s.draw(ctx, Draw{Category: "life", Count: 1, Lang: "en"}); err != nil || len(ids) != 1 {
		t.Fatalf("draw 1 en: %v, %v", ids, err)
	}
	got, err := s.SearchBank(ctx, a, "%", "", 0, "")
	if err != nil || len(got) != 0 {
		t.Errorf(`SearchBank("%%") = %d questions, %v; want none (literal match)`, len(got), err)
	}
	got, err = s.SearchBank(ctx, a, "Q?", "", 0, "")
	if err != nil || len(got) != 3 {
		t.Errorf(`SearchBank("Q?") = %d questions, %v; want the 3 zh-CN ones`, len(got), err)
	}
}
