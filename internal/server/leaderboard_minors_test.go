package server_test

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/fasthttp/websocket"

	"github.com/kepu/kepu/internal/apptest"
	"github.com/kepu/kepu/internal/leaderboard"
)

// TestLeaderboardMinors: a class or school board names pupils, so it is
// refused (403, localized) to anonymous visitors, to other citizens and to
// teachers of other classes — over HTTP and the websocket — and served to
// classmates, the class's teacher and organizers in scope. Public boards
// and the public certificate check show an under-14's nickname masked.
func TestLeaderboardMinors(t *testing.T) {
	t.Parallel()
	f := newCampaign(t, map[string]any{"questions": 1})
	ctx := context.Background()
	db := f.inst.DB.Pool
	var class, school int64
	if err := db.QueryRow(ctx, `SELECT id, school_id FROM classes ORDER BY id LIMIT 1`).Scan(&class, &school); err != nil {
		t.Fatal(err)
	}
	pupil := func(name, nick string) (*apptest.Client, int64) {
		t.Helper()
		uid, pw := f.inst.CreateUser(name, "participant")
		if _, err := db.Exec(ctx, `UPDATE users SET class_id = $2, school_id = $3, age_band = 'u14', nickname = $4,
			guardian_consent_at = now() WHERE id = $1`, uid, class, school, nick); err != nil {
			t.Fatal(err)
		}
		return f.inst.Login(name, pw), uid
	}
	ming, mingID := pupil("ming", "张小明")
	hong, _ := pupil("hong", "李小红")
	att := f.play(t, ming, f.id, true)

	_, pw := f.inst.CreateUser("classteacher", "teacher")
	classTeacher := f.inst.Login("classteacher", pw)
	if _, err := db.Exec(ctx, `UPDATE classes SET teacher_id = (SELECT id FROM users WHERE username = 'classteacher') WHERE id = $1`, class); err != nil {
		t.Fatal(err)
	}
	_, pw = f.inst.CreateUser("otherteacher", "teacher")
	otherTeacher := f.inst.Login("otherteacher", pw)
	stranger := f.citizen(t, "stranger")

	boards := []string{fmt.Sprintf("board=class&id=%d", class), fmt.Sprintf("board=school&id=%d", school)}
	for who, c := range map[string]*apptest.Client{"anonymous": f.inst.Client(), "stranger": stranger, "other teacher": otherTeacher} {
		for _, q := range boards {
			res := c.Do("GET", fmt.Sprintf("/api/v1/campaigns/%d/leaderboard?%s", f.id, q), nil)
			if res.Status != 403 || !strings.Contains(res.ErrorMessage(), "排行榜只对") || strings.Contains(string(res.Body), "张小明") {
				t.Errorf("%s GET %s: got %d %s, want 403 with the localized message", who, q, res.Status, res.Body)
			}
			url := fmt.Sprintf("ws%s/ws/leaderboard?campaign=%d&%s", strings.TrimPrefix(f.inst.URL, "http"), f.id, q)
			h := http.Header{"Origin": {f.inst.URL}}
			if ck := c.Cookie("kepu_session"); ck != "" {
				h.Set("Cookie", "kepu_session="+ck)
			}
			ws, resp, err := websocket.DefaultDialer.Dial(url, h)
			if err == nil {
				ws.Close()
				t.Errorf("%s websocket %s: connected, want 403", who, q)
			} else if resp == nil || resp.StatusCode != 403 {
				t.Errorf("%s websocket %s: got %v, want 403", who, q, err)
			}
		}
	}
	for who, c := range map[string]*apptest.Client{"classmate": hong, "class teacher": classTeacher, "organizer": f.org, "pupil": ming} {
		for _, q := range boards {
			if names := boardNames(t, c, f.id, q); strings.Join(names, ",") != "张小明" {
				t.Errorf("%s GET %s: got %v, want 张小明 unmasked", who, q, names)
			}
		}
	}

	// Public boards: masked, for everyone (the pupil finds their own line by "me").
	for who, c := range map[string]*apptest.Client{"anonymous": f.inst.Client(), "pupil": ming} {
		district := fmt.Sprintf("board=district&id=%d", f.inst.Seed.DistrictIDs["430702"])
		for _, q := range []string{"board=all", district, "board=all&period=today"} {
			res := c.Do("GET", fmt.Sprintf("/api/v1/campaigns/%d/leaderboard?%s", f.id, q), nil)
			if strings.Contains(string(res.Body), "小明") {
				t.Errorf("%s GET %s: got %s, want the name masked", who, q, res.Body)
			}
			if names := boardNames(t, c, f.id, q); strings.Join(names, ",") != "张**" {
				t.Errorf("%s GET %s: got %v, want 张**", who, q, names)
			}
		}
	}
	url := fmt.Sprintf("ws%s/ws/leaderboard?campaign=%d&board=all", strings.TrimPrefix(f.inst.URL, "http"), f.id)
	ws, _, err := websocket.DefaultDialer.Dial(url, http.Header{"Origin": {f.inst.URL}})
	if err != nil {
		t.Fatalf("dial the overall board: %v", err)
	}
	var push struct{ Top []leaderboard.Entry }
	readJSON(t, ws, &push)
	ws.Close()
	if len(push.Top) != 1 || push.Top[0].Nickname != "张**" || push.Top[0].Tag != f.inst.App.Boards.Tag(mingID) {
		t.Errorf("overall board over the websocket: got %+v, want 张** with the pupil's tag", push.Top)
	}

	// The certificate check is public: masked too; the holder's own page is not.
	var code string
	if err := db.QueryRow(ctx, `SELECT cert_code FROM campaign_attempts WHERE id = $1`, att).Scan(&code); err != nil || code == "" {
		t.Fatalf("certificate code: %q %v", code, err)
	}
	for _, path := range []string{"/api/v1/certificates/" + code, "/certificates/" + code} {
		res := f.inst.Client().Do("GET", path, nil)
		if res.Status != 200 || strings.Contains(string(res.Body), "小明") || !strings.Contains(string(res.Body), "张**") {
			t.Errorf("GET %s: got %d, want the masked nickname only", path, res.Status)
		}
	}
	if res := ming.Do("GET", fmt.Sprintf("/attempts/%d/certificate", att), nil); res.Status != 200 || !strings.Contains(string(res.Body), "张小明") {
		t.Errorf("the holder's certificate page: got %d, want the full nickname", res.Status)
	}
}

// TestLeaderboardTag: two accounts with the same nickname are told apart
// on a board by their tags (stable, keyed, 4 hex digits) and districts.
func TestLeaderboardTag(t *testing.T) {
	t.Parallel()
	f := newCampaign(t, map[string]any{"questions": 1})
	real := f.citizen(t, "realone")
	fake := f.citizen(t, "fakeone")
	realID, fakeID := mustUserID(t, f, "realone"), mustUserID(t, f, "fakeone")
	if _, err := f.inst.DB.Pool.Exec(context.Background(), `UPDATE users SET nickname = '科学迷' WHERE id = ANY($1)`,
		[]int64{realID, fakeID}); err != nil {
		t.Fatal(err)
	}
	f.play(t, real, f.id, true)
	f.play(t, fake, f.id, false)
	res := f.inst.Client().Do("GET", fmt.Sprintf("/api/v1/campaigns/%d/leaderboard", f.id), nil)
	var v struct{ Top []leaderboard.Entry }
	res.JSON(t, &v)
	if len(v.Top) != 2 {
		t.Fatalf("board: got %s", res.Body)
	}
	tags := map[string]bool{}
	hex4 := regexp.MustCompile(`^[0-9a-f]{4}$`)
	for i, want := range []int64{realID, fakeID} {
		e := v.Top[i]
		if e.Nickname != "科学迷" || e.Tag != f.inst.App.Boards.Tag(want) || !hex4.MatchString(e.Tag) || e.District == "" {
			t.Errorf("entry %d: got %+v, want 科学迷 with user %d's tag and a district", i, e, want)
		}
		tags[e.Tag] = true
	}
	if len(tags) != 2 {
		t.Errorf("equal nicknames, equal tags %v: an impostor is not told apart", tags)
	}
	// Another instance (the same key) computes the same tag.
	other := leaderboard.Service{TagKey: f.inst.App.Boards.TagKey}
	if got, want := other.Tag(realID), v.Top[0].Tag; got != want {
		t.Errorf("tag on another instance: got %s, want %s", got, want)
	}
}
