package server_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kepu/kepu/internal/apptest"
)

// playThrough starts an attempt of campaign id as c and answers every
// question (a formal, finished attempt).
func (f *campaignFixture) playThrough(t *testing.T, c *apptest.Client, id int64) {
	t.Helper()
	res := c.Do("POST", fmt.Sprintf("/api/v1/campaigns/%d/attempts", id), nil)
	apptest.Expect(t, res, 201, "start")
	var v struct{ Attempt struct{ ID int64 } }
	res.JSON(t, &v)
	current(t, c, v.Attempt.ID) // serves the first question
	for seq := 1; seq <= 3; seq++ {
		answer(t, c, v.Attempt.ID, seq, f.rightChoice(t, v.Attempt.ID, seq), 200)
	}
}

// tryStart starts and at once gives up an attempt of campaign id as c,
// returning the start's status.
func tryStart(t *testing.T, c *apptest.Client, id int64) int {
	t.Helper()
	res := c.Do("POST", fmt.Sprintf("/api/v1/campaigns/%d/attempts", id), nil)
	if res.Status == 201 {
		var v struct{ Attempt struct{ ID int64 } }
		res.JSON(t, &v)
		apptest.Expect(t, c.Do("POST", fmt.Sprintf("/api/v1/attempts/%d/finish", v.Attempt.ID), nil), 200, "give up")
	}
	return res.Status
}

type inviteLinkJSON struct {
	Code  string `json:"code"`
	URL   string `json:"url"`
	QRURL string `json:"qr_url"`
}

func myInvite(t *testing.T, c *apptest.Client, campaignID int64) inviteLinkJSON {
	t.Helper()
	res := c.Do("POST", fmt.Sprintf("/api/v1/campaigns/%d/invite", campaignID), nil)
	apptest.Expect(t, res, 200, "my invitation")
	var l inviteLinkJSON
	res.JSON(t, &l)
	return l
}

type reachJSON struct {
	Codes, Opens, Registered, Participated int
	Districts                              []struct {
		District     string
		Opens        int
		Registered   *int
		Participated *int
	}
	Schools []struct {
		School       string
		Opens        int
		Registered   *int
		Participated *int
	}
}

func reachOf(t *testing.T, c *apptest.Client, id int64) reachJSON {
	t.Helper()
	res := c.Do("GET", fmt.Sprintf("/api/v1/campaigns/%d/reach", id), nil)
	apptest.Expect(t, res, 200, "reach")
	var r reachJSON
	res.JSON(t, &r)
	return r
}

// TestInviteAttribution follows an invitation from the link to a
// participation: an open counted once a day per visitor, the registration
// and the first finished attempt credited once to the right inviter and
// school, never to the inviter themself; the link redirects only into its
// campaign; the reward gives the inviter exactly one extra attempt a day
// when the campaign enables it and nothing when it does not.
func TestInviteAttribution(t *testing.T) {
	t.Parallel()
	// Sessions outlive the days the test moves through.
	f := newCampaignOn(t, apptest.Options{Env: map[string]string{"KEPU_SESSION_IDLE": "720h"}}, nil)
	ctx := context.Background()
	// Two campaigns open for the days the test moves through, one attempt
	// a day each: one with the invitation reward, one without.
	open := func(title string, reward bool) int64 {
		id := f.create(t, map[string]any{"title": title, "starts_at": f.clock.Now().Add(-time.Hour),
			"ends_at": f.clock.Now().Add(10 * 24 * time.Hour), "rules": map[string]any{"questions": 3, "per_day": 1, "invite_reward": reward}})
		apptest.Expect(t, f.org.Do("POST", fmt.Sprintf("/api/v1/manage/campaigns/%d/publish", id), nil), 200, "publish")
		return id
	}
	f.id = open("邀请有奖活动", true)
	plain := open("无奖励活动", false)

	aliceID, pw := f.inst.CreateUser("alice", "participant")
	school := f.inst.Seed.SchoolIDs[0]
	if _, err := f.inst.DB.Pool.Exec(ctx, `UPDATE users SET school_id = $2 WHERE id = $1`, aliceID, school); err != nil {
		t.Fatal(err)
	}
	alice := f.inst.Login("alice", pw)
	link := myInvite(t, alice, f.id)
	if again := myInvite(t, alice, f.id); again.Code != link.Code || len(link.Code) != 16 || !strings.HasSuffix(link.URL, "/i/"+link.Code) {
		t.Fatalf("personal link: got %+v then %+v, want one 16-character code per person and campaign", link, again)
	}
	plainLink := myInvite(t, alice, plain)

	t.Run("open, redirect and cookie", func(t *testing.T) {
		v := f.inst.Client()
		for _, q := range []string{"", "?to=https://evil.example/", "?to=//evil.example"} {
			res := v.Do("GET", "/i/"+link.Code+q, nil)
			if res.Status != http.StatusSeeOther || res.Header.Get("Location") != fmt.Sprintf("/campaigns/%d", f.id) {
				t.Fatalf("open %q: got %d to %q, want 303 to the campaign", q, res.Status, res.Header.Get("Location"))
			}
		}
		if res := v.Do("GET", "/i/"+link.Code+"?to=leaderboard", nil); res.Header.Get("Location") != fmt.Sprintf("/campaigns/%d/leaderboard", f.id) {
			t.Errorf("to=leaderboard: got %q", res.Header.Get("Location"))
		}
		apptest.Expect(t, v.Do("GET", "/i/aaaaaaaaaaaaaaaa", nil), 404, "unknown code")
		apptest.Expect(t, v.Do("GET", "/i/..%2f..%2fetc", nil), 404, "malformed code")
		if r := reachOf(t, f.org, f.id); r.Opens != 1 {
			t.Errorf("opens after 5 opens by one visitor on one day: got %d, want 1", r.Opens)
		}
		// Another visitor, and the first one the next day, count.
		f.inst.Client().Do("GET", "/i/"+link.Code, nil)
		f.clock.Add(24 * time.Hour)
		v.Do("GET", "/i/"+link.Code, nil)
		if r := reachOf(t, f.org, f.id); r.Opens != 3 {
			t.Errorf("opens: got %d, want 3 (2 visitors on day 1, 1 on day 2)", r.Opens)
		}
		// The visitor registers: credited to alice once.
		v.Do("GET", "/i/"+plainLink.Code, nil) // the cookie keeps the last invitation opened
		apptest.Expect(t, v.Do("POST", "/api/v1/auth/register", registration(f.inst, "vera", "薇拉")), 201, "register")
		if v.Cookie("kepu_invite") != "" {
			t.Errorf("the invitation cookie outlives the registration")
		}
		v.Do("GET", "/i/"+link.Code, nil) // now logged in: credited to alice here too
		bob := f.citizen(t, "bob")
		bobLink := myInvite(t, bob, f.id)
		v.Do("GET", "/i/"+bobLink.Code, nil)  // a second inviter: the first invitation wins
		alice.Do("GET", "/i/"+link.Code, nil) // no self-credit
		r := reachOf(t, f.org, f.id)
		if r.Registered != 0 || r.Codes != 2 {
			t.Errorf("reward campaign after registration: got %+v, want 0 registered (the account came through the other link), 2 codes", r)
		}
		var credits int
		f.inst.DB.Pool.QueryRow(ctx, `SELECT count(*) FROM invite_credits ic JOIN invite_codes i ON i.code = ic.code
			WHERE i.inviter_id = $1`, aliceID).Scan(&credits)
		if credits != 2 {
			t.Errorf("alice's credits: got %d, want 2 (vera in each campaign, alice never)", credits)
		}
		if rp := reachOf(t, f.org, plain); rp.Registered != 1 || len(rp.Schools) != 1 || rp.Schools[0].Registered != nil {
			t.Errorf("plain campaign: got %+v, want 1 registered, one school row with the figure suppressed (< 5)", rp)
		}

		// Alice plays her attempt of the day; the limit holds until vera takes part.
		if s := tryStart(t, alice, f.id); s != 201 {
			t.Fatalf("alice's first attempt: got %d", s)
		}
		if s := tryStart(t, alice, f.id); s != 409 {
			t.Errorf("alice's second attempt before anyone took part: got %d, want 409", s)
		}
		f.playThrough(t, v, f.id)
		f.playThrough(t, v, plain)
		r = reachOf(t, f.org, f.id)
		if r.Participated != 1 {
			t.Errorf("participations: got %d, want 1", r.Participated)
		}
		f.clock.Add(24 * time.Hour)
		f.playThrough(t, v, f.id) // a second finished attempt is no second participation
		if r := reachOf(t, f.org, f.id); r.Participated != 1 {
			t.Errorf("participations after vera's second attempt: got %d, want 1", r.Participated)
		}
	})

	t.Run("reward: one extra attempt a day, only when enabled", func(t *testing.T) {
		for day := 0; day < 2; day++ {
			for i, want := range []int{201, 201, 409} {
				if s := tryStart(t, alice, f.id); s != want {
					t.Errorf("day %d, attempt %d with the reward: got %d, want %d", day, i+1, s, want)
				}
			}
			for i, want := range []int{201, 409} {
				if s := tryStart(t, alice, plain); s != want {
					t.Errorf("day %d, attempt %d without the reward: got %d, want %d", day, i+1, s, want)
				}
			}
			f.clock.Add(24 * time.Hour)
		}
		// The reward is never points: alice's best score is her own.
		var bonus int
		f.inst.DB.Pool.QueryRow(ctx, `SELECT coalesce(max(score), 0) FROM campaign_attempts WHERE user_id = $1`, aliceID).Scan(&bonus)
		if bonus != 0 {
			t.Errorf("alice gave up every attempt yet has %d points", bonus)
		}
	})

	t.Run("pages", func(t *testing.T) {
		res := alice.Do("GET", fmt.Sprintf("/campaigns/%d/invite", f.id), nil)
		apptest.Expect(t, res, 200, "invite page")
		if !strings.Contains(string(res.Body), link.URL) {
			t.Errorf("invite page lacks the link %s", link.URL)
		}
		qr := f.inst.Client().Do("GET", link.QRURL, nil)
		if qr.Status != 200 || qr.Header.Get("Content-Type") != "image/png" {
			t.Errorf("QR: got %d %s", qr.Status, qr.Header.Get("Content-Type"))
		}
		apptest.Expect(t, f.org.Do("GET", fmt.Sprintf("/campaigns/%d/reach", f.id), nil), 200, "reach page")
		apptest.Expect(t, alice.Do("GET", fmt.Sprintf("/api/v1/campaigns/%d/reach", f.id), nil), 403, "reach as a participant")
		sres := f.org.Do("POST", fmt.Sprintf("/api/v1/campaigns/%d/invite/schools/%d", f.id, school), nil)
		apptest.Expect(t, sres, 200, "school link")
		var sl inviteLinkJSON
		sres.JSON(t, &sl)
		if sl.Code == link.Code || len(sl.Code) != 16 {
			t.Errorf("school code: got %q", sl.Code)
		}
	})
}
