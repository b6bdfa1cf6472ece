package server_test

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kepu/kepu/internal/apptest"
	"github.com/kepu/kepu/internal/lottery"
)

// lotteryDoc is the public lottery answer.
type lotteryDoc struct {
	lottery.Published
	Drawn bool
}

// TestPrizesLotteryRankAndDelivery is a campaign's prizes from definition
// to fulfilment on a real server: the commitment is public before the
// close and unchanged after; the seed is revealed once and the published
// data alone recompute the winners (a changed seed is detected, a second
// draw refused); the final board is frozen with minors masked and does not
// follow a later nickname change; rank prizes follow it; a winner gives
// delivery details, which are deleted when the organizer marks the prize
// fulfilled; every step is audited.
func TestPrizesLotteryRankAndDelivery(t *testing.T) {
	t.Parallel()
	f := newCampaign(t, map[string]any{"questions": 3})
	ctx := context.Background()
	db := f.inst.DB.Pool
	prizesURL := fmt.Sprintf("/api/v1/manage/campaigns/%d/prizes", f.id)
	def := map[string]any{
		"prizes": []map[string]any{{"kind": "rank", "name": "一等奖", "count": 1}, {"kind": "rank", "name": "二等奖", "count": 1},
			{"kind": "lottery", "name": "纪念徽章", "count": 2}},
		"eligibility": []map[string]any{{"division": "", "basis": "right", "min": 2, "per": "person"}},
	}
	t.Run("definitions are checked", func(t *testing.T) {
		for _, bad := range []map[string]any{
			{"prizes": []map[string]any{{"kind": "rank", "name": "x", "count": 0}}},
			{"prizes": []map[string]any{{"kind": "rank", "name": "x", "count": 1, "division": "adult"}}}, // no divisions here
			{"prizes": []map[string]any{{"kind": "gold", "name": "x", "count": 1}}},
			{"eligibility": []map[string]any{{"basis": "right", "min": -1, "per": "person"}}},
		} {
			if res := f.org.Do("PUT", prizesURL, bad); res.Status != 400 || res.ErrorMessage() == "" {
				t.Errorf("%v: got %d %s, want 400 with a message", bad, res.Status, res.Body)
			}
		}
		if res := f.citizen(t, "nosy").Do("PUT", prizesURL, def); res.Status != 403 {
			t.Errorf("a participant defines prizes: got %d, want 403", res.Status)
		}
	})
	apptest.Expect(t, f.org.Do("PUT", prizesURL, def), 200, "define prizes")

	// The commitment is on the campaign page and in the public lottery before the close; the seed is not.
	var before lotteryDoc
	anon := f.inst.Client()
	res := anon.Do("GET", fmt.Sprintf("/api/v1/campaigns/%d/lottery", f.id), nil)
	res.JSON(t, &before)
	if res.Status != 200 || len(before.Commitment) != 64 || before.Seed != "" || before.Drawn || len(before.Entries) != 0 {
		t.Fatalf("lottery before the close: got %d %s, want the commitment only", res.Status, res.Body)
	}
	page := anon.Do("GET", fmt.Sprintf("/campaigns/%d", f.id), nil)
	if !strings.Contains(string(page.Body), before.Commitment) {
		t.Errorf("the campaign page does not show the commitment %s", before.Commitment)
	}
	if res := anon.Do("GET", fmt.Sprintf("/api/v1/campaigns/%d/final-board", f.id), nil); res.Status != 404 {
		t.Errorf("final board before the close: got %d, want 404", res.Status)
	}

	// Six players: right answers 3, 3, 2, 2, 1, 0; the last is under 14. The eligible: the first four.
	rights := []int{3, 3, 2, 2, 1, 0}
	clients := make([]*apptest.Client, len(rights))
	ids := make([]int64, len(rights))
	for i, n := range rights {
		name := fmt.Sprintf("玩家%d", i)
		clients[i] = f.citizen(t, fmt.Sprintf("player%d", i))
		db.QueryRow(ctx, `SELECT id FROM users WHERE username = $1`, fmt.Sprintf("player%d", i)).Scan(&ids[i])
		db.Exec(ctx, `UPDATE users SET nickname = $2 WHERE id = $1`, ids[i], name)
		id := f.start(t, clients[i])
		for seq := 1; seq <= 3; seq++ {
			current(t, clients[i], id)
			f.clock.Add(time.Duration(i+1) * time.Second)
			right := f.rightChoice(t, id, seq)
			if seq > n {
				right = wrongChoice(right)
			}
			answer(t, clients[i], id, seq, right, 200)
		}
	}
	db.Exec(ctx, `UPDATE users SET age_band = 'u14' WHERE id = $1`, ids[5])

	apptest.Expect(t, f.org.Do("POST", fmt.Sprintf("/api/v1/manage/campaigns/%d/close", f.id), nil), 200, "close")
	if res := f.org.Do("PUT", prizesURL, def); res.Status != 409 {
		t.Errorf("prizes changed after the close: got %d, want 409", res.Status)
	}

	var after lotteryDoc
	res = anon.Do("GET", fmt.Sprintf("/api/v1/campaigns/%d/lottery", f.id), nil)
	res.JSON(t, &after)
	t.Run("the published data recompute the winners", func(t *testing.T) {
		if !after.Drawn || after.Commitment != before.Commitment || len(after.Entries) != 4 || len(after.Winners) != 2 {
			t.Fatalf("after the close: got %s, want 4 entries, 2 winners, the same commitment", res.Body)
		}
		got, err := lottery.Verify(after.Published, before.Commitment)
		if err != nil || len(got) != 2 {
			t.Fatalf("verify the published data: %v", err)
		}
		for _, e := range after.Entries {
			if strings.Contains(e.Nickname, "玩家") || !strings.HasSuffix(e.Nickname, "**") {
				t.Errorf("entry %+v: the nickname is not masked", e)
			}
		}
		forged := after.Published
		forged.Seed = hex.EncodeToString(make([]byte, 32))
		if _, err := lottery.Verify(forged, before.Commitment); !errors.Is(err, lottery.ErrCommitment) {
			t.Errorf("a changed seed: got %v, want ErrCommitment", err)
		}
	})
	t.Run("the draw runs once", func(t *testing.T) {
		if _, err := db.Exec(ctx, `UPDATE prize_lottery SET seed = $2 WHERE campaign_id = $1`, f.id, make([]byte, 32)); err == nil {
			t.Error("the seed could be changed after the draw")
		}
		if _, err := db.Exec(ctx, `UPDATE prize_lottery SET published = '{}' WHERE campaign_id = $1`, f.id); err == nil {
			t.Error("the published draw could be replaced")
		}
		var v struct{ Settled bool }
		r := f.org.Do("POST", fmt.Sprintf("/api/v1/manage/campaigns/%d/settle", f.id), nil)
		r.JSON(t, &v)
		var awards int
		db.QueryRow(ctx, `SELECT count(*) FROM prize_awards WHERE campaign_id = $1`, f.id).Scan(&awards)
		if r.Status != 200 || v.Settled || awards != 4 {
			t.Errorf("settle again: got %d %s and %d awards, want settled false and 4 awards (2 rank, 2 lottery)", r.Status, r.Body, awards)
		}
	})

	var board struct {
		Entries int
		Lines   []struct {
			Rank  int
			Name  string
			Score int64
		}
	}
	t.Run("the final board is frozen", func(t *testing.T) {
		// A nickname changed after the close does not reach the frozen board.
		apptest.Expect(t, clients[0].Do("PATCH", "/api/v1/me", map[string]any{"nickname": "改名以后",
			"region_id": f.inst.Seed.DistrictIDs["430702"], "age_band": "30_39"}), 200, "rename")
		r := anon.Do("GET", fmt.Sprintf("/api/v1/campaigns/%d/final-board", f.id), nil)
		r.JSON(t, &board)
		if r.Status != 200 || board.Entries != 6 || len(board.Lines) != 6 {
			t.Fatalf("final board: got %d %s, want 6 lines", r.Status, r.Body)
		}
		for i, l := range board.Lines {
			if l.Rank != i+1 || (i > 0 && l.Score > board.Lines[i-1].Score) {
				t.Errorf("line %d: %+v out of order", i, l)
			}
		}
		if board.Lines[0].Name != "玩家0" || strings.Contains(string(r.Body), "改名以后") {
			t.Errorf("rank 1 is %q, want 玩家0 (the name at the close): %s", board.Lines[0].Name, r.Body)
		}
		if !strings.Contains(string(r.Body), `"玩**"`) || strings.Contains(string(r.Body), "玩家5") {
			t.Errorf("the under-14's name is not masked: %s", r.Body)
		}
		html := string(anon.Do("GET", fmt.Sprintf("/campaigns/%d/final", f.id), nil).Body)
		if !strings.Contains(html, "玩家0") || strings.Contains(html, "改名以后") {
			t.Error("the final board page does not show the frozen names")
		}
	})

	t.Run("a winner's delivery details live until fulfilment", func(t *testing.T) {
		var mine struct {
			Prizes []struct {
				ID        int64
				PrizeName string `json:"prize_name"`
				Rank      *int
			}
		}
		clients[0].Do("GET", "/api/v1/me/prizes", nil).JSON(t, &mine)
		var award int64
		for _, p := range mine.Prizes {
			if p.PrizeName == "一等奖" && p.Rank != nil && *p.Rank == 1 {
				award = p.ID
			}
		}
		if award == 0 {
			t.Fatalf("rank 1's prizes: %+v, want 一等奖", mine.Prizes)
		}
		url := fmt.Sprintf("/api/v1/me/prizes/%d/delivery", award)
		if r := clients[0].Do("PUT", url, map[string]any{"name": "张三", "phone": "abc", "address": "湖南省常德市武陵区某路1号"}); r.Status != 400 || r.ErrorMessage() == "" {
			t.Errorf("a bad phone: got %d %s, want 400 with a message", r.Status, r.Body)
		}
		addr := "湖南省常德市武陵区朗州路 88 号"
		if r := clients[1].Do("PUT", url, map[string]any{"name": "李四", "phone": "13800000000", "address": addr}); r.Status != 404 {
			t.Errorf("someone else's prize: got %d, want 404", r.Status)
		}
		apptest.Expect(t, clients[0].Do("PUT", url, map[string]any{"name": "张三", "phone": "138 0000 0000", "address": addr}), 200, "delivery")
		csv := string(f.org.Do("GET", fmt.Sprintf("/api/v1/manage/campaigns/%d/winners.csv", f.id), nil).Body)
		if !strings.Contains(csv, addr) || !strings.Contains(csv, "纪念徽章") {
			t.Errorf("export: %s, want the address and the lottery prize", csv)
		}
		apptest.Expect(t, f.org.Do("POST", fmt.Sprintf("/api/v1/manage/campaigns/%d/winners/%d/fulfil", f.id, award), nil), 200, "fulfil")
		var kept int
		db.QueryRow(ctx, `SELECT count(*) FROM prize_deliveries WHERE award_id = $1`, award).Scan(&kept)
		if kept != 0 {
			t.Errorf("delivery rows after fulfilment: %d, want 0 (deleted)", kept)
		}
		var left int
		db.QueryRow(ctx, `SELECT count(*) FROM prize_deliveries d JOIN prize_awards w ON w.id = d.award_id
			WHERE w.id = $1 OR d.address = $2`, award, addr).Scan(&left)
		csv = string(f.org.Do("GET", fmt.Sprintf("/api/v1/manage/campaigns/%d/winners.csv", f.id), nil).Body)
		if left != 0 || strings.Contains(csv, addr) {
			t.Errorf("the address outlived the fulfilment: %d rows; export %s", left, csv)
		}
		if r := clients[0].Do("PUT", url, map[string]any{"name": "张三", "phone": "13800000000", "address": addr}); r.Status != 409 {
			t.Errorf("delivery after fulfilment: got %d, want 409", r.Status)
		}
		html := string(clients[0].Do("GET", "/me/prizes", nil).Body)
		if !strings.Contains(html, "一等奖") || strings.Contains(html, addr) {
			t.Error("my prizes page: want the prize without the deleted address")
		}
	})

	t.Run("a deleted account's delivery details are purged", func(t *testing.T) {
		var award, user int64
		db.QueryRow(ctx, `SELECT id, user_id FROM prize_awards WHERE campaign_id = $1 AND fulfilled_at IS NULL ORDER BY id LIMIT 1`, f.id).Scan(&award, &user)
		if _, err := db.Exec(ctx, `INSERT INTO prize_deliveries (award_id, name, phone, address) VALUES ($1, '王五', '13900000000', '常德市鼎城区某路 1 号')`, award); err != nil {
			t.Fatal(err)
		}
		db.Exec(ctx, `UPDATE users SET deleted_at = now() WHERE id = $1`, user) // as account.Delete leaves it
		if n, err := f.inst.App.Prizes.PurgeDeleted(ctx); err != nil || n != 1 {
			t.Errorf("purge: %d, %v; want the one row", n, err)
		}
	})

	t.Run("every step is audited", func(t *testing.T) {
		var actions []string
		db.QueryRow(ctx, `SELECT array_agg(DISTINCT action) FROM audit_log WHERE action LIKE 'prize.%' AND target = $1`,
			fmt.Sprintf("campaign:%d", f.id)).Scan(&actions)
		for _, a := range []string{"prize.commit", "prize.define", "prize.freeze", "prize.award", "prize.draw", "prize.reveal",
			"prize.claim", "prize.export", "prize.fulfil"} {
			if !strings.Contains(strings.Join(actions, " "), a) {
				t.Errorf("audit log: %v, missing %s", actions, a)
			}
		}
	})

	t.Run("a campaign past its end settles without a close", func(t *testing.T) {
		id := f.create(t, map[string]any{"title": "第二期", "starts_at": f.clock.Now().Add(-time.Hour),
			"ends_at": f.clock.Now().Add(time.Hour), "rules": map[string]any{"questions": 3}})
		apptest.Expect(t, f.org.Do("POST", fmt.Sprintf("/api/v1/manage/campaigns/%d/publish", id), nil), 200, "publish")
		f.clock.Add(2 * time.Hour)
		n, err := f.inst.App.Prizes.SettleDue(ctx)
		var frozen bool
		db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM campaign_boards_frozen WHERE campaign_id = $1)`, id).Scan(&frozen)
		if err != nil || n != 1 || !frozen {
			t.Errorf("settle due: %d, %v, frozen %v; want the ended campaign settled", n, err, frozen)
		}
	})
}
