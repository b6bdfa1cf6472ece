package server_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kepu/kepu/internal/apptest"
	"github.com/kepu/kepu/internal/dashboard"
)

// profileBody is a full PATCH /api/v1/me body.
func profileBody(nickname string, region int64) map[string]any {
	return map[string]any{"nickname": nickname, "region_id": region, "age_band": "30_39", "lang": "zh-CN"}
}

type boardPage struct {
	Top []struct {
		Nickname string
		Score    int64
	}
}

// boardTop reads a district board over HTTP (past the 50 ms read cache).
func boardTop(t *testing.T, f *campaignFixture, district int64) boardPage {
	t.Helper()
	time.Sleep(60 * time.Millisecond)
	var p boardPage
	res := f.inst.Client().Do("GET", fmt.Sprintf("/api/v1/campaigns/%d/leaderboard?board=district&id=%d&n=10", f.id, district), nil)
	if res.Status != 200 {
		t.Fatalf("board %d: got %d %s", district, res.Status, res.Body)
	}
	res.JSON(t, &p)
	return p
}

// playAll plays one attempt of the fixture's campaign to the end, every
// answer right or every answer wrong, and returns the attempt id.
func (f *campaignFixture) playAll(t *testing.T, c *apptest.Client, right bool) int64 {
	t.Helper()
	id := f.start(t, c)
	for seq := 1; seq <= 3; seq++ {
		current(t, c, id) // the fake clock stands still: every time is in the past for the dashboard
		choice := f.rightChoice(t, id, seq)
		if !right {
			choice = wrongChoice(choice)
		}
		answer(t, c, id, seq, choice, 200)
	}
	return id
}

// TestAttemptCountsWhereItStarted is issue 12's attack: score high in
// district A, move to district B through PATCH /api/v1/me, play again for
// 0. The high score stays on A's board only (live and after a rebuild),
// B's board shows the 0, the result page ranks the first attempt on A's
// board, the dashboard counts each attempt where it started, and a second
// move while the campaign is open is refused with a localized 409.
func TestAttemptCountsWhereItStarted(t *testing.T) {
	t.Parallel()
	f := newCampaign(t, nil)
	ctx := context.Background()
	db := f.inst.DB.Pool
	a, b := f.inst.Seed.DistrictIDs["430702"], f.inst.Seed.DistrictIDs["430703"]
	if a == 0 || b == 0 || a == b {
		t.Fatalf("seed districts: %v", f.inst.Seed.DistrictIDs)
	}
	mover := f.citizen(t, "mover") // in district a (apptest.CreateUser)
	first := f.playAll(t, mover, true)

	if res := mover.Do("PATCH", "/api/v1/me", profileBody("mover", b)); res.Status != 200 {
		t.Fatalf("first move: got %d %s, want 200", res.Status, res.Body)
	}
	second := f.playAll(t, mover, false)
	var s1, s2 int
	if err := db.QueryRow(ctx, `SELECT (SELECT score FROM campaign_attempts WHERE id = $1), (SELECT score FROM campaign_attempts WHERE id = $2)`,
		first, second).Scan(&s1, &s2); err != nil {
		t.Fatal(err)
	}
	if s1 == 0 || s2 != 0 {
		t.Fatalf("scores: got %d and %d, want > 0 and 0", s1, s2)
	}

	check := func(when string) {
		t.Helper()
		pa, pb := boardTop(t, f, a), boardTop(t, f, b)
		if len(pa.Top) != 1 || pa.Top[0].Nickname != "mover" || pa.Top[0].Score != int64(s1) {
			t.Errorf("%s: district A board: got %+v, want mover with %d", when, pa.Top, s1)
		}
		if len(pb.Top) != 1 || pb.Top[0].Score != 0 {
			t.Errorf("%s: district B board: got %+v, want mover with 0 (the attempt made there)", when, pb.Top)
		}
	}
	check("live")
	if err := f.inst.App.Boards.Rebuild(ctx, f.id); err != nil { // `kepu leaderboard rebuild`
		t.Fatal(err)
	}
	check("after rebuild")

	var result struct{ Ranks struct{ District int64 } }
	mover.Do("GET", fmt.Sprintf("/api/v1/attempts/%d/result", first), nil).JSON(t, &result)
	if result.Ranks.District != 1 {
		t.Errorf("result of the first attempt: got district rank %d, want 1 (on A's board)", result.Ranks.District)
	}

	// A second move while the campaign is open: refused, nothing saved.
	res := mover.Do("PATCH", "/api/v1/me", profileBody("mover2", a))
	if msg := res.ErrorMessage(); res.Status != http.StatusConflict || msg == "" || strings.HasPrefix(msg, "error.") {
		t.Errorf("second move: got %d %s, want 409 with a localized message", res.Status, res.Body)
	}
	var me struct {
		Nickname string
		RegionID int64 `json:"region_id"`
	}
	mover.Do("GET", "/api/v1/me", nil).JSON(t, &me)
	if me.RegionID != b || me.Nickname != "mover" {
		t.Errorf("after the refused move: got %+v, want region %d and the old nickname", me, b)
	}
	// Other profile changes still work.
	if res := mover.Do("PATCH", "/api/v1/me", profileBody("mover3", b)); res.Status != 200 {
		t.Errorf("nickname change without a move: got %d %s", res.Status, res.Body)
	}
	// Someone who has not played moves freely.
	free := f.citizen(t, "free")
	for i, r := range []int64{b, a, b} {
		if res := free.Do("PATCH", "/api/v1/me", profileBody("free", r)); res.Status != 200 {
			t.Errorf("move %d of a non-player: got %d %s", i, res.Status, res.Body)
		}
	}

	// The dashboard counts each attempt in the district it started in. (The
	// instance's own refresher may hold the fold lock: retry until both
	// attempts are folded, for at most 30 s: under load a fold can take a while.)
	got := map[int64][3]float64{}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
		if _, err := (&dashboard.Refresher{DB: db, CommitLag: -1}).Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		rows, err := db.Query(ctx, `SELECT region_id, sum(started), sum(finished), sum(sum_pct) FROM dash_hourly
			WHERE campaign_id = $1 GROUP BY region_id`, f.id)
		if err != nil {
			t.Fatal(err)
		}
		got = map[int64][3]float64{}
		var total float64
		for rows.Next() {
			var r int64
			var started, finished, pct float64
			if err := rows.Scan(&r, &started, &finished, &pct); err != nil {
				t.Fatal(err)
			}
			got[r] = [3]float64{started, finished, pct}
			total += finished
		}
		if rows.Err() != nil {
			t.Fatal(rows.Err())
		}
		if total >= 2 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if g := got[a]; g[0] != 1 || g[1] != 1 || g[2] <= 0 {
		t.Errorf("dashboard, district A: got started/finished/sum_pct %v, want 1, 1, > 0", g)
	}
	if g := got[b]; g[0] != 1 || g[1] != 1 || g[2] != 0 {
		t.Errorf("dashboard, district B: got started/finished/sum_pct %v, want 1, 1, 0", g)
	}
	var region int64
	if err := db.QueryRow(ctx, `SELECT p.region_id FROM dash_participants p JOIN users u ON u.id = p.user_id
		WHERE p.campaign_id = $1 AND u.username = 'mover'`, f.id).Scan(&region); err != nil || region != a {
		t.Errorf("dashboard participant: got region %d (%v), want %d (where they first played)", region, err, a)
	}
}

// TestAudienceUsesTheSnapshot: a campaign for district A admits whoever is
// in A when they start; an attempt started there may be resumed after a
// move (it belongs to A), but a new attempt after the move is refused.
func TestAudienceUsesTheSnapshot(t *testing.T) {
	t.Parallel()
	f := newCampaign(t, nil)
	a, b := f.inst.Seed.DistrictIDs["430702"], f.inst.Seed.DistrictIDs["430703"]
	body := map[string]any{"title": "区级活动", "starts_at": f.clock.Now().Add(-time.Hour), "ends_at": f.clock.Now().Add(time.Hour),
		"audience": []int64{a}, "rules": map[string]any{"questions": 3, "time_limit": 20}}
	id := f.create(t, body)
	if res := f.org.Do("POST", fmt.Sprintf("/api/v1/manage/campaigns/%d/publish", id), nil); res.Status != 200 {
		t.Fatalf("publish: got %d %s", res.Status, res.Body)
	}
	path := fmt.Sprintf("/api/v1/campaigns/%d/attempts", id)
	c := f.citizen(t, "walker") // in district a
	if res := c.Do("POST", path, nil); res.Status != 201 {
		t.Fatalf("start in A: got %d %s, want 201", res.Status, res.Body)
	}
	if res := c.Do("PATCH", "/api/v1/me", profileBody("walker", b)); res.Status != 200 {
		t.Fatalf("move: got %d %s", res.Status, res.Body)
	}
	res := c.Do("POST", path, nil)
	if res.Status != 200 {
		t.Fatalf("resume after the move: got %d %s, want 200 (the attempt started in A)", res.Status, res.Body)
	}
	var st struct{ Attempt struct{ ID int64 } }
	res.JSON(t, &st)
	for seq := 1; seq <= 3; seq++ {
		current(t, c, st.Attempt.ID)
		answer(t, c, st.Attempt.ID, seq, []int{0}, 200)
	}
	if res := c.Do("POST", path, nil); res.Status != 403 {
		t.Errorf("new attempt from B: got %d %s, want 403", res.Status, res.Body)
	}
	// Someone in B who moves to A (their first move) is admitted from then on.
	d := f.citizen(t, "settler")
	if res := d.Do("PATCH", "/api/v1/me", profileBody("settler", b)); res.Status != 200 {
		t.Fatal(res.Status)
	}
	if res := d.Do("POST", path, nil); res.Status != 403 {
		t.Errorf("start from B: got %d, want 403", res.Status)
	}
	if res := d.Do("PATCH", "/api/v1/me", profileBody("settler", a)); res.Status != 200 {
		t.Fatal(res.Status)
	}
	if res := d.Do("POST", path, nil); res.Status != 201 {
		t.Errorf("start from A: got %d %s, want 201", res.Status, res.Body)
	}
}

// TestCertificateKeepsIssuedValues: renaming the holder or the campaign
// after a certificate is issued changes neither the verification API nor
// the verification page.
func TestCertificateKeepsIssuedValues(t *testing.T) {
	t.Parallel()
	f := newCampaign(t, map[string]any{"questions": 1, "scoring": "flat"})
	c := f.citizen(t, "ada")
	id := f.start(t, c)
	current(t, c, id)
	f.clock.Add(5 * time.Second)
	answer(t, c, id, 1, f.rightChoice(t, id, 1), 200)
	st, _ := current(t, c, id)
	code := st.Attempt.CertCode
	if code == "" {
		t.Fatalf("no certificate: %+v", st.Attempt)
	}
	if res := c.Do("PATCH", "/api/v1/me", profileBody("mallory", f.inst.Seed.DistrictIDs["430702"])); res.Status != 200 {
		t.Fatalf("rename: got %d %s", res.Status, res.Body)
	}
	if _, err := f.inst.DB.Pool.Exec(context.Background(), `UPDATE campaigns SET title = '改过的标题' WHERE id = $1`, f.id); err != nil {
		t.Fatal(err)
	}
	var cert struct{ Nickname, Campaign string }
	f.inst.Client().Do("GET", "/api/v1/certificates/"+code, nil).JSON(t, &cert)
	if cert.Nickname != "ada" || cert.Campaign != "健康科普周" {
		t.Errorf("verify API: got %+v, want ada and 健康科普周 (as issued)", cert)
	}
	page := f.inst.Client().Do("GET", "/certificates/"+code, nil)
	if body := string(page.Body); page.Status != 200 || !strings.Contains(body, "ada") || strings.Contains(body, "mallory") ||
		!strings.Contains(body, "健康科普周") || strings.Contains(body, "改过的标题") {
		t.Errorf("verify page: got %d, want the issued nickname and title: %s", page.Status, body)
	}
}
