package server_test

import (
	"fmt"
	"testing"
	"time"
)

// TestLeaderboardHTTP: GET /api/v1/campaigns/:id/leaderboard (the cached
// read path, leaderboard.Page) gives anonymous callers the top n only and
// logged-in callers also their rank and the lines around them, their own
// line marked; a user off the board gets rank 0 and no lines.
func TestLeaderboardHTTP(t *testing.T) {
	t.Parallel()
	f := newCampaign(t, nil)
	type entry struct {
		Rank     int64
		Nickname string
		Score    int64
		Me       bool
	}
	type page struct {
		Top    []entry
		MyRank *int64 `json:"my_rank"`
		Around []entry
	}
	play := func(name string, right bool) {
		c := f.citizen(t, name)
		id := f.start(t, c)
		for seq := 1; seq <= 3; seq++ {
			current(t, c, id)
			f.clock.Add(2 * time.Second)
			choice := f.rightChoice(t, id, seq)
			if !right {
				choice = []int{(choice[0] + 1) % 2}
			}
			answer(t, c, id, seq, choice, 200)
		}
	}
	play("ann", true)
	play("bob", false)

	// The cached top n is at most 50 ms old: wait until it shows both.
	path := fmt.Sprintf("/api/v1/campaigns/%d/leaderboard?n=5", f.id)
	var anon page
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		anon = page{}
		f.inst.Client().Do("GET", path, nil).JSON(t, &anon)
		if len(anon.Top) == 2 || time.Now().After(deadline) {
			break
		}
	}
	if len(anon.Top) != 2 || anon.Top[0].Nickname != "ann" || anon.Top[1].Nickname != "bob" || anon.MyRank != nil || anon.Around != nil {
		t.Fatalf("anonymous: got %+v, want ann then bob and no my_rank/around", anon)
	}
	bob := f.citizen(t, "bob")
	var mine page
	bob.Do("GET", path, nil).JSON(t, &mine)
	if mine.MyRank == nil || *mine.MyRank != 2 || !mine.Top[1].Me || mine.Top[0].Me {
		t.Errorf("bob: got %+v, want my_rank 2 and his line marked", mine)
	}
	if len(mine.Around) != 2 || mine.Around[1].Nickname != "bob" || !mine.Around[1].Me || mine.Around[0].Rank != 1 {
		t.Errorf("bob around: got %+v, want ann (1) then bob (2, me)", mine.Around)
	}
	var none page
	f.citizen(t, "cat").Do("GET", path, nil).JSON(t, &none)
	if none.MyRank == nil || *none.MyRank != 0 || len(none.Around) != 0 || len(none.Top) != 2 {
		t.Errorf("cat (not on the board): got %+v, want my_rank 0, no lines around", none)
	}
}
