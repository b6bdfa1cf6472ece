package server_test

import (
	"context"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/kepu/kepu/internal/apptest"
	"github.com/kepu/kepu/internal/kepu"
	"github.com/kepu/kepu/internal/lottery"
	"github.com/kepu/kepu/internal/prize"
)

// Prizes are per division: each division's frozen board ranks only its own
// attempts (practice and staff practice never count), its rank prizes take
// its own ranks, and its lottery draws among its own eligible entries by its
// own rule; one person wins at most one lottery prize.
func TestPrizesPerDivision(t *testing.T) {
	t.Parallel()
	inst := apptest.Start(t)
	ctx := context.Background()
	db := inst.DB.Pool
	svc := inst.App.Prizes
	adminID, _ := inst.CreateUser("div-admin", "admin")
	admin := kepu.Actor{UserID: adminID, Role: kepu.RoleAdmin}
	var id int64
	if err := db.QueryRow(ctx, `INSERT INTO campaigns (title, region_id, status, starts_at, ends_at, settings)
		VALUES ('分组别', $1, 'published', now() - interval '1 day', now() + interval '1 day',
		'{"questions": 4, "counts": "best", "divisions": [{"key": "adult", "name_zh": "成人组", "name_en": "Adults"}, {"key": "pupil", "name_zh": "少儿组", "name_en": "Children"}]}') RETURNING id`, inst.Seed.CityID).Scan(&id); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Save(ctx, admin, id, prize.Definition{Prizes: []prize.Prize{
		{Kind: prize.KindRank, Division: "adult", Name: "成人一等奖", Count: 1},
		{Kind: prize.KindRank, Division: "adult", Name: "成人二等奖", Count: 2},
		{Kind: prize.KindRank, Division: "pupil", Name: "少儿奖", Count: 1},
		{Kind: prize.KindLottery, Division: "adult", Name: "成人抽奖", Count: 10},
		{Kind: prize.KindLottery, Division: "pupil", Name: "少儿抽奖", Count: 10},
	}, Eligibility: []prize.Eligibility{
		{Division: "adult", Basis: prize.BasisRight, Min: 3, Per: prize.PerAttempt},
		{Division: "", Basis: prize.BasisScore, Min: 20, Per: prize.PerPerson},
	}}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Save(ctx, admin, id, prize.Definition{Prizes: []prize.Prize{{Kind: prize.KindRank, Division: "elder", Name: "x", Count: 1}}}); kepu.ErrorCode(err) != kepu.EINVALID {
		t.Errorf("a division the campaign does not have: got %v, want invalid", err)
	}
	// attempts: user, division, right answers (score = 10 each), time, practice, staff practice
	type att struct {
		user            string
		division        string
		right           int
		timeMS          int
		practice, staff bool
	}
	atts := []att{
		{"a1", "adult", 4, 30000, false, false}, {"a1", "adult", 3, 20000, false, false}, // two qualifying attempts: two entries
		{"a2", "adult", 4, 25000, false, false}, {"a3", "adult", 2, 10000, false, false},
		{"a4", "adult", 4, 1000, true, false}, // practice: never ranked nor entered
		{"a5", "adult", 4, 1000, false, true}, // staff practice
		{"k1", "pupil", 2, 9000, false, false}, {"k2", "pupil", 3, 9000, false, false}, {"k3", "pupil", 1, 1000, false, false},
	}
	users := map[string]int64{}
	for i, a := range atts {
		if users[a.user] == 0 {
			users[a.user], _ = inst.CreateUser("div-"+a.user, "participant")
		}
		var tid int64
		if err := db.QueryRow(ctx, `INSERT INTO campaign_attempts (campaign_id, user_id, division, practice, staff_practice, started_at,
			finished_at, score, max_score, questions, answered, time_ms) VALUES ($1, $2, $3, $4, $5, now() - interval '1 hour',
			now() - interval '1 hour' + $6 * interval '1 second', $7, 40, 4, 4, $8) RETURNING id`,
			id, users[a.user], a.division, a.practice, a.staff, i, a.right*10, a.timeMS).Scan(&tid); err != nil {
			t.Fatal(err)
		}
		db.Exec(ctx, `INSERT INTO campaign_answers (attempt_id, seq, question_version_id, correct, elapsed_ms)
			SELECT $1, s, (SELECT min(id) FROM question_versions), s <= $2, 1000 FROM generate_series(1, 4) s`, tid, a.right)
	}
	if _, err := inst.App.Campaigns.Transition(ctx, admin, id, "close"); err != nil {
		t.Fatal(err)
	}
	if ok, err := svc.Settle(ctx, admin, id); !ok || err != nil {
		t.Fatalf("settle: %v %v", ok, err)
	}
	camp, _ := inst.App.Campaigns.Get(ctx, id)
	board, err := svc.FinalBoard(ctx, id, 100)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range board.Lines {
		got = append(got, fmt.Sprintf("%s#%d:%s:%d", l.Division, l.Rank, l.Name, l.Score))
	}
	// a1's best is 40 in 30 s, a2's 40 in 25 s: a2 first (less time); a3 20. Pupils: k2 30, k1 20, k3 10.
	want := "[adult#1:div-a2:40 adult#2:div-a1:40 adult#3:div-a3:20 pupil#1:div-k2:30 pupil#2:div-k1:20 pupil#3:div-k3:10]"
	if fmt.Sprint(got) != want {
		t.Errorf("final board %v, want %s", got, want)
	}
	// The public page heads each division with its name in the reader's language.
	for lang, names := range map[string][]string{"zh-CN": {"成人组", "少儿组"}, "en": {"Adults", "Children"}} {
		c := inst.Client()
		c.Lang = lang
		page := string(c.Do("GET", fmt.Sprintf("/campaigns/%d/final", id), nil).Body)
		for _, n := range names {
			if !strings.Contains(page, `data-testid="final-division">`+n+`<`) {
				t.Errorf("%s final board page: no division heading %q", lang, n)
			}
		}
	}
	var awards []string
	rows, _ := db.Query(ctx, `SELECT p.name, u.username FROM prize_awards w JOIN prizes p ON p.id = w.prize_id JOIN users u ON u.id = w.user_id
		WHERE w.campaign_id = $1 AND w.rank IS NOT NULL ORDER BY p.position, w.rank`, id)
	for rows.Next() {
		var p, u string
		rows.Scan(&p, &u)
		awards = append(awards, p+":"+u)
	}
	if fmt.Sprint(awards) != "[成人一等奖:div-a2 成人二等奖:div-a1 成人二等奖:div-a3 少儿奖:div-k2]" {
		t.Errorf("rank awards %v", awards)
	}
	l, err := svc.Lottery(ctx, camp)
	if err != nil {
		t.Fatal(err)
	}
	// adult: right >= 3 per attempt: a1 twice, a2 once (a3 has 2; a4 practice; a5 staff). pupil: the "" rule, score >= 20 per person: k1, k2.
	div := map[string]int{}
	for _, e := range l.Entries {
		div[e.Division]++
	}
	if div["adult"] != 3 || div["pupil"] != 2 || len(l.Entries) != 5 {
		t.Errorf("entries per division %v (%v), want adult 3, pupil 2", div, l.Entries)
	}
	if _, err := lottery.Verify(l.Published, l.Commitment); err != nil {
		t.Errorf("verify: %v", err)
	}
	if len(l.Winners) != 4 { // a1 once though two entries, a2, k1, k2
		t.Errorf("winners %v, want 4 (one per person)", l.Winners)
	}
	seed, _ := hex.DecodeString(l.Seed)
	if lottery.Commitment(seed) != l.Commitment {
		t.Error("the revealed seed does not fit the commitment")
	}
	if ok, _ := svc.Settle(ctx, admin, id); ok {
		t.Error("settled twice")
	}
}
