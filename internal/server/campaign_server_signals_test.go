package server_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/kepu/kepu/internal/apptest"
)

// TestCampaignServerSignals: signals the server computes itself from its
// own clock and records, without anything the page reports — answers
// below the reading-speed floor, uniform answer times, several accounts
// from one device — reach the organizer's report (API and page); a person
// answering at a human pace from the same school address is not listed.
func TestCampaignServerSignals(t *testing.T) {
	t.Parallel()
	f := newCampaign(t, map[string]any{"questions": 6})
	// Stems are ≈ 42 characters: 2.8 s to read at 15 a second; the "fast"
	// floor (400 ms + 15 ms a character) is ≈ 1.1 s.
	play := func(c *apptest.Client, id int64, times ...time.Duration) {
		t.Helper()
		for i, d := range times {
			current(t, c, id)
			f.clock.Add(d)
			answer(t, c, id, i+1, f.rightChoice(t, id, i+1), 200)
		}
	}
	skimmer, metronome, human := f.citizen(t, "skimmer"), f.citizen(t, "metronome"), f.citizen(t, "human")
	skimID := f.start(t, skimmer)
	play(skimmer, skimID, 2*time.Second, 2*time.Second, 2*time.Second)
	metroID := f.start(t, metronome)
	play(metronome, metroID, 6*time.Second, 6*time.Second, 6*time.Second, 6*time.Second, 6*time.Second, 6*time.Second)
	humanID := f.start(t, human)
	play(human, humanID, 4*time.Second, 9*time.Second, 5*time.Second, 12*time.Second, 6*time.Second, 8*time.Second)

	// Three accounts on one device (the kepu_did cookie the first start issued).
	farm := []*apptest.Client{f.citizen(t, "farm1"), f.citizen(t, "farm2"), f.citizen(t, "farm3")}
	farmIDs := []int64{f.start(t, farm[0])}
	dev := farm[0].Cookie("kepu_did")
	if dev == "" {
		t.Fatal("starting an attempt issued no kepu_did cookie")
	}
	u, _ := url.Parse(f.inst.URL)
	for _, c := range farm[1:] {
		c.HTTP.Jar.SetCookies(u, []*http.Cookie{{Name: "kepu_did", Value: dev, Path: "/"}})
		farmIDs = append(farmIDs, f.start(t, c))
	}
	var stored int
	f.inst.DB.Pool.QueryRow(t.Context(), `SELECT count(*) FROM campaign_attempts WHERE device_hash = addr_hash OR device_hash LIKE '%'||$1||'%'`, dev).Scan(&stored)
	if stored != 0 {
		t.Errorf("the device cookie is stored as it is; want only its keyed hash")
	}

	res := f.org.Do("GET", fmt.Sprintf("/api/v1/manage/campaigns/%d/signals", f.id), nil)
	if res.Status != 200 {
		t.Fatalf("report: got %d %s", res.Status, res.Body)
	}
	var rep struct {
		Attempts, Flagged int64
		Rows              []struct {
			AttemptID      int64 `json:"attempt_id"`
			Fast           int
			BelowReading   int  `json:"below_reading"`
			Uniform        bool `json:"uniform_times"`
			TimeSpreadMS   int  `json:"time_spread_ms"`
			DeviceAccounts int  `json:"device_accounts"`
			AddressAccts   int  `json:"address_accounts"`
		}
	}
	res.JSON(t, &rep)
	byID := map[int64]int{}
	for i, r := range rep.Rows {
		byID[r.AttemptID] = i
	}
	if rep.Attempts != 6 || rep.Flagged != 5 || len(rep.Rows) != 5 {
		t.Fatalf("report: got %+v, want 6 attempts, 5 flagged (all but the human)", rep)
	}
	if _, ok := byID[humanID]; ok {
		t.Errorf("the human's attempt is listed: %+v", rep.Rows[byID[humanID]])
	}
	if r := rep.Rows[byID[skimID]]; r.BelowReading != 3 || r.Fast != 0 || r.Uniform {
		t.Errorf("skimmer: %+v, want 3 answers below reading speed, none 'fast', not uniform (3 answers)", r)
	}
	if r := rep.Rows[byID[metroID]]; !r.Uniform || r.TimeSpreadMS != 0 || r.BelowReading != 0 {
		t.Errorf("metronome: %+v, want uniform times (spread 0 ms), none below reading speed", r)
	}
	for _, id := range farmIDs {
		if r := rep.Rows[byID[id]]; r.DeviceAccounts != 3 || r.AddressAccts != 6 {
			t.Errorf("farm attempt %d: %+v, want 3 accounts on its device, 6 on its address", id, r)
		}
	}

	page := f.org.Do("GET", fmt.Sprintf("/manage/campaigns/%d/signals", f.id), nil)
	for _, want := range []string{"3 题答得比阅读题干还快", "每题用时几乎相同", "同一设备上有 3 个账号参加本活动", "同一网络地址有 6 个账号"} {
		if !strings.Contains(string(page.Body), want) {
			t.Errorf("page lacks %q", want)
		}
	}
}
