package server_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kepu/kepu/internal/apptest"
)

// TestFinalInvitationsAndRoster: from a closed campaign's frozen board the
// organizer invites the top 2 of each division to a live final; the
// invited find the invitation in their account and only they may join the
// final's room, under their own name; the host's roster shows who has
// joined the room and who was checked in at the door; once the final has
// ended its podium (names as on the frozen board) is on the campaign page.
func TestFinalInvitationsAndRoster(t *testing.T) {
	t.Parallel()
	f := newCampaign(t, nil)
	ctx := context.Background()
	db := f.inst.DB.Pool
	final := fmt.Sprintf("/api/v1/campaigns/%d/final", f.id)
	body := map[string]any{"top_n": 2, "starts_at": f.clock.Now().Add(48 * time.Hour), "place": "市科技馆报告厅", "questions": 3}
	apptest.Expect(t, f.org.Do("POST", final, body), 409, "final of an open campaign")
	apptest.Expect(t, f.org.Do("POST", fmt.Sprintf("/api/v1/manage/campaigns/%d/close", f.id), nil), 200, "close")
	// Closing froze the board (internal/prize), empty: nobody played.
	apptest.Expect(t, f.org.Do("POST", final, body), 409, "final from an empty frozen board")

	// The frozen board as if three people in each of two divisions had
	// played (written here instead of playing 6 attempts).
	type person struct {
		id int64
		pw string
	}
	people := map[string]person{}
	if _, err := db.Exec(ctx, `UPDATE campaign_boards_frozen SET entries = 6 WHERE campaign_id = $1`, f.id); err != nil {
		t.Fatal(err)
	}
	for i, name := range []string{"juna", "junb", "junc", "sena", "senb", "senc"} {
		id, pw := f.inst.CreateUser(name, "participant")
		people[name] = person{id, pw}
		div := map[byte]string{'j': "junior", 's': "senior"}[name[0]]
		if _, err := db.Exec(ctx, `INSERT INTO campaign_final_board (campaign_id, division, rank, user_id, display_name, score, time_ms, reached_at)
			VALUES ($1, $2, $3, $4, $5, $6, 1000, now())`, f.id, div, i%3+1, id, "选手"+name, 3000-100*(i%3)); err != nil {
			t.Fatal(err)
		}
	}
	apptest.Expect(t, f.citizen(t, "nobody").Do("POST", final, body), 403, "final by a participant")
	apptest.Expect(t, f.org.Do("POST", final, map[string]any{"top_n": 0, "starts_at": body["starts_at"]}), 400, "top_n 0")
	res := f.org.Do("POST", final, body)
	apptest.Expect(t, res, 201, "final")
	var fin struct {
		ID        int64
		ContestID int64 `json:"contest_id"`
		Invited   int
	}
	res.JSON(t, &fin)
	var fid int64
	db.QueryRow(ctx, `SELECT id FROM invite_finals WHERE campaign_id = $1`, f.id).Scan(&fid)
	if fin.Invited != 4 || fin.ContestID == 0 || fid == 0 {
		t.Fatalf("final: got %s, want 4 invited (top 2 of 2 divisions) and a contest", res.Body)
	}
	apptest.Expect(t, f.org.Do("POST", final, body), 409, "a second final")

	login := func(name string) *apptest.Client { return f.inst.Login(name, people[name].pw) }
	ja, sb, jc := login("juna"), login("senb"), login("junc")
	for who, c := range map[string]*apptest.Client{"juna": ja, "junc": jc} {
		var inv []struct {
			ID      int64
			JoinURL string `json:"join_url"`
			Rank    int
		}
		r := c.Do("GET", "/api/v1/me/finals", nil)
		apptest.Expect(t, r, 200, "my finals")
		r.JSON(t, &inv)
		if want := map[string]int{"juna": 1, "junc": 0}[who]; len(inv) != want {
			t.Errorf("%s's invitations: got %s, want %d", who, r.Body, want)
		}
	}
	page := ja.Do("GET", "/profile", nil)
	if !strings.Contains(string(page.Body), "决赛邀请") || !strings.Contains(string(page.Body), fmt.Sprintf("/finals/%d/join", fid)) {
		t.Errorf("the profile shows no final invitation with its join link")
	}
	join := fmt.Sprintf("/finals/%d/join", fid)
	if r := ja.Do("GET", join, nil); r.Status != 200 || !strings.Contains(string(r.Body), "还没有开放") {
		t.Errorf("join before the room opens: got %d, want 200 with the start time", r.Status)
	}
	apptest.Expect(t, jc.Do("GET", join, nil), 403, "join link of someone not invited")

	// The host opens the room; the invited are sent to it.
	r := f.org.Do("POST", fmt.Sprintf("/api/v1/contests/%d/runs", fin.ContestID), nil)
	apptest.Expect(t, r, 201, "open the final's room")
	var run struct {
		Run struct {
			ID  int64
			PIN string
		}
	}
	r.JSON(t, &run)
	if r := ja.Do("GET", join, nil); r.Status != 303 || r.Header.Get("Location") != "/play?pin="+run.Run.PIN {
		t.Fatalf("join: got %d to %q, want 303 to the room's PIN", r.Status, r.Header.Get("Location"))
	}
	r = ja.Do("POST", "/api/v1/play/join", map[string]any{"pin": run.Run.PIN, "nickname": "冒名者"})
	apptest.Expect(t, r, 201, "an invited player joins")
	var j struct{ Nickname string }
	r.JSON(t, &j)
	if j.Nickname != "juna" {
		t.Errorf("joined as %q, want their own nickname juna", j.Nickname)
	}
	apptest.Expect(t, jc.Do("POST", "/api/v1/play/join", map[string]any{"pin": run.Run.PIN, "nickname": "junc"}), 403, "someone not invited joins")
	apptest.Expect(t, f.inst.Client().Do("POST", "/api/v1/play/join", map[string]any{"pin": run.Run.PIN, "nickname": "游客"}), 403, "anonymous joins")

	// The roster: jA in the room; sB checked in at the door.
	apptest.Expect(t, f.org.Do("POST", fmt.Sprintf("/api/v1/finals/%d/checkin", fid), map[string]any{"user_id": people["senb"].id, "arrived": true}), 204, "check in")
	apptest.Expect(t, f.org.Do("POST", fmt.Sprintf("/api/v1/finals/%d/checkin", fid), map[string]any{"user_id": people["junc"].id, "arrived": true}), 403, "check in someone not invited")
	apptest.Expect(t, sb.Do("GET", fmt.Sprintf("/api/v1/finals/%d/roster", fid), nil), 403, "roster as a participant")
	r = f.org.Do("GET", fmt.Sprintf("/api/v1/finals/%d/roster", fid), nil)
	apptest.Expect(t, r, 200, "roster")
	var roster struct {
		Roster []struct {
			UserID    int64 `json:"user_id"`
			Division  string
			CheckedIn *time.Time `json:"checked_in_at"`
			Joined    bool
		}
	}
	r.JSON(t, &roster)
	got := map[int64]string{}
	for _, p := range roster.Roster {
		got[p.UserID] = fmt.Sprintf("%s joined=%v door=%v", p.Division, p.Joined, p.CheckedIn != nil)
	}
	want := map[int64]string{people["juna"].id: "junior joined=true door=false", people["junb"].id: "junior joined=false door=false",
		people["sena"].id: "senior joined=false door=false", people["senb"].id: "senior joined=false door=true"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("roster: got %v, want %v", got, want)
	}
	if r := f.org.Do("GET", fmt.Sprintf("/campaigns/%d/live-final", f.id), nil); r.Status != 200 || !strings.Contains(string(r.Body), "选手senb") {
		t.Errorf("final page: got %d, want 200 with the roster", r.Status)
	}

	// The final ends: its podium is on the campaign page, named as frozen.
	camp := fmt.Sprintf("/campaigns/%d", f.id)
	if strings.Contains(string(f.inst.Client().Do("GET", camp, nil).Body), "现场决赛领奖台") {
		t.Errorf("the campaign page shows a podium before the final has ended")
	}
	apptest.Expect(t, f.org.Do("POST", fmt.Sprintf("/api/v1/contest-runs/%d/end", run.Run.ID), nil), 204, "end the final")
	p := string(f.inst.Client().Do("GET", camp, nil).Body)
	if !strings.Contains(p, "现场决赛领奖台") || !strings.Contains(p, "选手juna") {
		t.Errorf("campaign page after the final: no podium naming 选手jA")
	}
}
