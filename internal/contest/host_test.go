package contest

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/kepu/kepu/internal/kepu"
)

// A host who ends a room nobody joined gets a podium event whose lists are
// empty lists, never null (the projector draws them), for the host and the
// phones alike; the stored results are empty too.
func TestEndEmptyRoomPodium(t *testing.T) {
	s, a, run := newTestRun(t)
	ctx := context.Background()
	if err := s.End(ctx, a, run.ID); err != nil {
		t.Fatalf("end the empty lobby: %v", err)
	}
	snap, err := s.Snapshot(ctx, run.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if snap.Phase != PhaseFinished || snap.ViewType != "podium" {
		t.Fatalf("after End: phase %q view %q, want finished podium", snap.Phase, snap.ViewType)
	}
	var view map[string]json.RawMessage
	if err := json.Unmarshal(snap.View, &view); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"podium", "ranking", "questions"} {
		if got := string(view[f]); got != "[]" {
			t.Errorf("podium event %s: got %s, want []", f, got)
		}
	}
	events, err := s.Redis.LRange(ctx, s.room(run.ID).events(), 0, -1).Result()
	if err != nil {
		t.Fatal(err)
	}
	var podium string
	for _, e := range events {
		if h, _ := ParseHead([]byte(e)); h.Type == "podium" {
			podium = e
		}
	}
	if podium == "" {
		t.Fatalf("no podium event among %d events", len(events))
	}
	if phone := string(ForPlayers("podium", []byte(podium))); !strings.Contains(phone, `"podium":[]`) {
		t.Errorf("the phones' podium: got %s, want an empty podium list", phone)
	}
	res, err := s.Results(ctx, a, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := json.Marshal(res.Ranking); string(b) != "[]" {
		t.Errorf("stored ranking: got %s, want []", b)
	}
}

// A kicked player stays out of the run: their token is refused as kicked,
// and a join from their device or with their nickname is refused, also
// after Redis lost the room and it was rebuilt from Postgres (on another
// instance, with no memory of the room). Others still join.
func TestKickKeepsPlayerOut(t *testing.T) {
	s, a, run := newTestRun(t)
	ctx := context.Background()
	j, err := s.Join(ctx, JoinInput{PIN: run.PIN, Nickname: "Ann", Device: "dev-ann"})
	if err != nil {
		t.Fatal(err)
	}
	mustJoin(t, s, run.PIN, "Bob")
	if err := s.Kick(ctx, a, run.ID, j.Player); err != nil {
		t.Fatalf("kick Ann: %v", err)
	}
	check := func(t *testing.T, s *Service, when string) {
		t.Helper()
		if _, err := s.PlayerByToken(ctx, run.ID, j.Token); !errors.Is(err, ErrKicked) {
			t.Errorf("%s: Ann's token: %v, want kicked", when, err)
		}
		for _, tt := range []struct {
			name string
			in   JoinInput
		}{
			{"same nickname, another device", JoinInput{PIN: run.PIN, Nickname: "ann", Device: "dev-other"}},
			{"same device, another nickname", JoinInput{PIN: run.PIN, Nickname: "Anna", Device: "dev-ann"}},
		} {
			_, err := s.Join(ctx, tt.in)
			if !errors.Is(err, ErrKicked) || kepu.ErrorCode(err) != kepu.EFORBIDDEN {
				t.Errorf("%s: rejoin with %s: %v, want %v (403)", when, tt.name, err, ErrKicked)
			}
		}
	}
	check(t, s, "in the room")
	mustJoin(t, s, run.PIN, "Cat")

	loseRedis(t, s)
	other := NewService(s.DB, s.Redis, s.Keys, s.Org)
	check(t, other, "in the rebuilt room")
	mustJoin(t, other, run.PIN, "Dan")
	rank, _, err := other.ranking(ctx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	var nicks []string
	for _, p := range rank {
		nicks = append(nicks, p.Nick)
	}
	if got := strings.Join(nicks, ","); got != "Bob,Cat,Dan" {
		t.Errorf("players of the rebuilt room: %s, want Bob,Cat,Dan", got)
	}
}
