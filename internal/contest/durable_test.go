package contest

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kepu/kepu/internal/kepu"
	"github.com/kepu/kepu/internal/testenv"
)

// loseRedis deletes every key of the service's prefix: what FLUSHALL or a
// Redis restart without persistence does to a live room (the shared test
// Redis is not flushed: other tests use it). Instances keep their memory.
func loseRedis(t *testing.T, s *Service) {
	t.Helper()
	if err := testenv.DeletePrefix(context.Background(), s.Redis, s.Keys.Prefix); err != nil {
		t.Fatal(err)
	}
}

func countRows(t *testing.T, s *Service, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := s.DB.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// mustJoin joins nick to the room of pin: the player and their token.
func mustJoin(t *testing.T, s *Service, pin, nick string) (Player, string) {
	t.Helper()
	j, err := s.Join(context.Background(), JoinInput{PIN: pin, Nickname: nick})
	if err != nil {
		t.Fatalf("join %s: %v", nick, err)
	}
	return Player{Room: j.Room, ID: j.Player, Nick: j.Nickname}, j.Token
}

func mustAnswer(t *testing.T, s *Service, p Player, q int, want string) {
	t.Helper()
	res, err := s.Answer(context.Background(), p, q, []int{0}, 0)
	if err != nil || res != want {
		t.Fatalf("%s answers question %d: %q, %v; want %q", p.Nick, q, res, err, want)
	}
}

func phaseOf(t *testing.T, s *Service, id int64) *state {
	t.Helper()
	st, err := s.load(context.Background(), id)
	if err != nil || st == nil {
		t.Fatalf("room %d: %v, %v", id, st, err)
	}
	return st
}

// A player is in contest_players from the moment they join, and an answer
// is in contest_answers when the player is told it counts, long before the
// podium.
func TestAnswerStoredBeforeAck(t *testing.T) {
	s, a, run := newTestRun(t)
	ctx := context.Background()
	ann, token := mustJoin(t, s, run.PIN, "Ann")
	mustJoin(t, s, run.PIN, "Bob")
	if n := countRows(t, s, `SELECT count(*) FROM contest_players WHERE run_id = $1 AND player_id = $2 AND token_hash = $3`,
		run.ID, ann.ID, hashToken(token)); n != 1 {
		t.Errorf("after the join: %d rows of Ann with her token's hash, want 1", n)
	}
	if err := s.Next(ctx, a, run.ID, ""); err != nil {
		t.Fatal(err)
	}
	mustAnswer(t, s, ann, 0, AnswerOK)
	if n := countRows(t, s, `SELECT count(*) FROM contest_answers WHERE run_id = $1 AND player_id = $2 AND position = 0
		AND correct AND points > 0 AND choice = '{0}'`, run.ID, ann.ID); n != 1 {
		t.Errorf("right after the ack: %d stored answers of Ann, want 1", n)
	}
	var phase string
	var q int
	s.DB.QueryRow(ctx, `SELECT phase, q FROM contest_runs WHERE id = $1`, run.ID).Scan(&phase, &q)
	if phase != PhaseQuestion || q != 0 {
		t.Errorf("stored state: %s %d, want question 0", phase, q)
	}
}

// Redis loses the room twice, in the lobby and while a question is open:
// the room is rebuilt from Postgres and the game goes on to the podium.
// Joins by PIN work, players keep their tokens, their scores and answers,
// the host's next works, a question whose time ran out meanwhile closes,
// and every acknowledged answer is in the results.
func TestRoomRebuiltAfterRedisLoss(t *testing.T) {
	s, a, run := newTestRun(t)
	ctx := context.Background()
	annP, annToken := mustJoin(t, s, run.PIN, "Ann")
	bob, _ := mustJoin(t, s, run.PIN, "Bob")
	epoch0 := phaseOf(t, s, run.ID).Epoch

	loseRedis(t, s)
	cat, _ := mustJoin(t, s, run.PIN, "Cat") // the PIN is known again
	if cat.ID != 3 {
		t.Errorf("Cat joined the rebuilt lobby as player %d, want 3", cat.ID)
	}
	if _, err := s.Join(ctx, JoinInput{PIN: run.PIN, Nickname: "bob"}); kepu.ErrorCode(err) != kepu.ECONFLICT {
		t.Errorf("a second Bob in the rebuilt lobby: %v, want nickname taken", err)
	}
	if err := s.Next(ctx, a, run.ID, "lobby"); err != nil {
		t.Fatalf("host starts the rebuilt room: %v", err)
	}
	mustAnswer(t, s, annP, 0, AnswerOK)
	before, err := s.MeOf(ctx, annP, 0)
	if err != nil || before.Score == 0 {
		t.Fatalf("Ann's score: %+v, %v", before, err)
	}

	// Mid-question; another instance (no memory of the room) notices.
	loseRedis(t, s)
	other := NewService(s.DB, s.Redis, s.Keys, s.Org)
	p, err := other.PlayerByToken(ctx, run.ID, annToken)
	if err != nil || p.ID != annP.ID {
		t.Fatalf("Ann's token after the loss: %+v, %v", p, err)
	}
	st := phaseOf(t, s, run.ID)
	if st.Phase != PhaseQuestion || st.Q != 0 || st.Epoch <= epoch0 || st.Answered != 1 {
		t.Errorf("rebuilt room: phase %s q %d epoch %d (was %d) answered %d; want question 0, a newer epoch, 1 answered",
			st.Phase, st.Q, st.Epoch, epoch0, st.Answered)
	}
	mustAnswer(t, s, annP, 0, AnswerDuplicate) // her answer is known
	if after, _ := s.MeOf(ctx, annP, 0); after.Score != before.Score || after.Streak != 1 {
		t.Errorf("Ann after the rebuild: score %d streak %d, want %d and 1", after.Score, after.Streak, before.Score)
	}
	mustAnswer(t, other, bob, 0, AnswerOK)
	// Cat never answers; the time runs out and the round closes.
	s.Clock.Advance(6 * time.Second)
	if err := s.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if st := phaseOf(t, s, run.ID); st.Phase != PhaseReveal {
		t.Fatalf("after the deadline: phase %s, want reveal", st.Phase)
	}
	acked := 2
	for q := 1; q < 3; q++ {
		if err := other.Next(ctx, a, run.ID, PhaseReveal); err != nil {
			t.Fatal(err)
		}
		if err := s.Next(ctx, a, run.ID, PhaseBoard); err != nil {
			t.Fatal(err)
		}
		for _, p := range []Player{annP, bob, cat} {
			mustAnswer(t, s, p, q, AnswerOK)
			acked++
		}
		if q == 2 {
			break
		}
		if err := s.Next(ctx, a, run.ID, PhaseQuestion); err != nil && kepu.ErrorCode(err) != kepu.ECONFLICT {
			t.Fatal(err) // everyone answered: the tick may have closed it first
		}
		waitPhase(t, s, run.ID, PhaseReveal)
	}
	waitPhase(t, s, run.ID, PhaseReveal)
	if err := s.Next(ctx, a, run.ID, PhaseReveal); err != nil {
		t.Fatal(err)
	}
	if err := s.Next(ctx, a, run.ID, PhaseBoard); err != nil {
		t.Fatal(err)
	}
	res, err := s.Results(ctx, a, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Ranking) != 3 {
		t.Fatalf("results: %d players, want 3", len(res.Ranking))
	}
	if n := countRows(t, s, `SELECT count(*) FROM contest_answers WHERE run_id = $1`, run.ID); n != acked {
		t.Errorf("stored answers: %d, want the %d acknowledged", n, acked)
	}
	var sum int
	for _, r := range res.Ranking {
		sum += r.Score
	}
	if n := countRows(t, s, `SELECT coalesce(sum(points), 0)::int FROM contest_answers WHERE run_id = $1`, run.ID); n != sum {
		t.Errorf("ranking scores add up to %d, stored answers' points to %d", sum, n)
	}
}

// waitPhase ticks s until room id is in phase.
func waitPhase(t *testing.T, s *Service, id int64, phase string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if err := s.Tick(context.Background()); err != nil {
			t.Fatal(err)
		}
		if st := phaseOf(t, s, id); st.Phase == phase {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("room %d: phase %s, want %s", id, phaseOf(t, s, id).Phase, phase)
		}
	}
}

// When Postgres refuses an answer the player is not told it counts; sent
// again, it is stored and reported as already answered. A join Postgres
// refuses is undone (the nickname is free again).
func TestAnswerNotAckedWhenPostgresFails(t *testing.T) {
	s, a, run := newTestRun(t)
	ctx := context.Background()
	refuse := func(table string, on bool) {
		t.Helper()
		sql := `DROP TRIGGER refuse ON ` + table
		if on {
			sql = `CREATE OR REPLACE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused'; END $$;
				CREATE TRIGGER refuse BEFORE INSERT ON ` + table + ` FOR EACH ROW EXECUTE FUNCTION refuse()`
		}
		if _, err := s.DB.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	refuse("contest_players", true)
	if _, err := s.Join(ctx, JoinInput{PIN: run.PIN, Nickname: "Ann"}); err == nil || kepu.ErrorCode(err) != kepu.EINTERNAL {
		t.Fatalf("join while Postgres refuses: %v, want an internal error", err)
	}
	refuse("contest_players", false)
	ann, _ := mustJoin(t, s, run.PIN, "Ann")
	if err := s.Next(ctx, a, run.ID, ""); err != nil {
		t.Fatal(err)
	}
	refuse("contest_answers", true)
	if res, err := s.Answer(ctx, ann, 0, []int{0}, 0); err == nil {
		t.Fatalf("answer while Postgres refuses: %q, want an error", res)
	}
	if n := countRows(t, s, `SELECT count(*) FROM contest_answers WHERE run_id = $1`, run.ID); n != 0 {
		t.Fatalf("%d answers stored", n)
	}
	refuse("contest_answers", false)
	mustAnswer(t, s, ann, 0, AnswerDuplicate)
	if n := countRows(t, s, `SELECT count(*) FROM contest_answers WHERE run_id = $1 AND correct`, run.ID); n != 1 {
		t.Errorf("after the retry: %d answers stored, want 1", n)
	}
}

// Four instances notice the lost room at once (a player's hello, the
// host, a join by PIN, the timer's sweep): the room is rebuilt once.
func TestLostRoomRebuiltOnce(t *testing.T) {
	s, a, run := newTestRun(t)
	ctx := context.Background()
	_, token := mustJoin(t, s, run.PIN, "Ann")
	if err := s.Next(ctx, a, run.ID, ""); err != nil {
		t.Fatal(err)
	}
	loseRedis(t, s)
	var insts []*Service
	for i := 0; i < 4; i++ {
		insts = append(insts, NewService(s.DB, s.Redis, s.Keys, s.Org))
	}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i, o := range insts {
		for n := 0; n < 4; n++ {
			wg.Go(func() {
				var err error
				switch (i + n) % 4 {
				case 0:
					_, err = o.Greet(ctx, Hello{Room: run.ID, Token: token}, nil)
				case 1:
					_, err = o.Greet(ctx, Hello{Room: run.ID}, &a)
				case 2:
					_, err = o.RoomOfPIN(ctx, run.PIN)
				case 3:
					err = o.sweep(ctx)
				}
				errs <- err
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	var rebuilds float64
	for _, o := range insts {
		rebuilds += testenv.Counted(o.RoomRebuilds)
	}
	evs, _ := s.Redis.LRange(ctx, s.room(run.ID).events(), 0, -1).Result()
	if n := strings.Count(strings.Join(evs, ""), `"type":"resync"`); rebuilds != 1 || n != 1 {
		t.Errorf("%v rebuilds, %d resync events; want 1 and 1", rebuilds, n)
	}
}

// The due set alone is lost: the timer's sweep adds the open question's
// close again from Postgres, and the round closes on time.
func TestDueSetReseeded(t *testing.T) {
	s, a, run := newTestRun(t)
	ctx := context.Background()
	mustJoin(t, s, run.PIN, "Ann")
	if err := s.Next(ctx, a, run.ID, ""); err != nil {
		t.Fatal(err)
	}
	if err := s.Redis.Del(ctx, s.dueKey()).Err(); err != nil {
		t.Fatal(err)
	}
	s.Clock.Advance(6 * time.Second)
	if err := s.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if st := phaseOf(t, s, run.ID); st.Phase != PhaseReveal {
		t.Errorf("after the deadline with the due set lost: phase %s, want reveal", st.Phase)
	}
}
