package contest

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/kepu/kepu/internal/kepu"
	"github.com/kepu/kepu/internal/postgres"
)

// Phases of a room.
const (
	PhaseLobby    = "lobby"    // players join
	PhaseQuestion = "question" // a question is open for answers
	PhaseClosed   = "closed"   // answers stopped; the reveal is being computed
	PhaseReveal   = "reveal"   // distribution, correct answer, explanation
	PhaseBoard    = "board"    // top 5 with who moved up
	PhaseFinished = "finished" // podium and full ranking
)

// Run is one live game of a contest.
type Run struct {
	ID        int64     `json:"id"`
	ContestID int64     `json:"contest_id"`
	Title     string    `json:"title"`
	PIN       string    `json:"pin"`
	Status    string    `json:"status"`
	Players   int       `json:"players"`
	CreatedAt time.Time `json:"created_at"`
}

// state is a room hash as Go sees it.
type state struct {
	ID        int64
	Phase     string
	Q, NQ     int
	Ver       string
	Epoch     int64
	Host      int64
	Title     string
	PIN       string
	OpenedAt  int64 // ms: when the current question opened (shifted by pauses)
	Deadline  int64 // ms: end of the current question's time
	CloseAt   int64 // ms: Deadline + grace; answers after it are rejected
	DueAt     int64 // ms: next timed transition (0: none)
	Paused    bool
	Remaining int64 // ms left when paused
	PausedAt  int64
	Locked    bool
	Answered  int
	Persisted bool
	Settings  Settings
	VType     string
	View      string
}

func atoi64(s string) int64 { n, _ := strconv.ParseInt(s, 10, 64); return n }
func atoi(s string) int     { n, _ := strconv.Atoi(s); return n }

func parseState(id int64, m map[string]string) (*state, error) {
	if len(m) == 0 || m["phase"] == "" {
		return nil, nil
	}
	st := &state{ID: id, Phase: m["phase"], Q: atoi(m["q"]), NQ: atoi(m["nq"]), Ver: m["ver"],
		Epoch: atoi64(m["epoch"]), Host: atoi64(m["host"]), Title: m["title"], PIN: m["pin"],
		OpenedAt: atoi64(m["opened_at"]), Deadline: atoi64(m["deadline"]), CloseAt: atoi64(m["close_at"]),
		DueAt: atoi64(m["due_at"]), Paused: m["paused"] == "1", Remaining: atoi64(m["remaining"]),
		PausedAt: atoi64(m["paused_at"]), Locked: m["locked"] == "1", Answered: atoi(m["answered"]),
		Persisted: m["persisted"] == "1", VType: m["vtype"], View: m["view"]}
	if err := json.Unmarshal([]byte(m["settings"]), &st.Settings); err != nil {
		return nil, fmt.Errorf("contest: room %d settings: %w", id, err)
	}
	return st, nil
}

// load reads a room's state; nil when the room is gone.
func (s *Service) load(ctx context.Context, id int64) (*state, error) {
	m, err := s.Redis.HGetAll(ctx, s.room(id).hash()).Result()
	if err != nil {
		return nil, fmt.Errorf("contest: load room %d: %w", id, err)
	}
	return parseState(id, m)
}

// roomQuestions returns a run's questions (with answers).
func (s *Service) roomQuestions(ctx context.Context, id int64) ([]Question, error) {
	if q, ok := s.cache.get(id); ok {
		return q, nil
	}
	b, err := s.Redis.Get(ctx, s.room(id).questions()).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, errRoomGone
	}
	if err != nil {
		return nil, fmt.Errorf("contest: questions of room %d: %w", id, err)
	}
	var qs []Question
	if err := json.Unmarshal(b, &qs); err != nil {
		return nil, fmt.Errorf("contest: questions of room %d: %w", id, err)
	}
	s.cache.put(id, qs)
	return qs, nil
}

var (
	errRoomGone = kepu.Errorf(kepu.EGONE, "error.contest_room_gone")
	errBusy     = kepu.Errorf(kepu.ECONFLICT, "error.contest_busy")
	errPhase    = kepu.Errorf(kepu.ECONFLICT, "error.contest_wrong_phase")
)

func randomPIN() string {
	n, _ := rand.Int(rand.Reader, big.NewInt(900000))
	return strconv.FormatInt(n.Int64()+100000, 10)
}

// CreateRun opens a lobby for a contest the actor owns and returns the run
// with its PIN.
func (s *Service) CreateRun(ctx context.Context, a kepu.Actor, contestID int64) (Run, error) {
	c, err := s.Get(ctx, a, contestID)
	if err != nil {
		return Run{}, err
	}
	if len(c.Questions) == 0 {
		return Run{}, kepu.Invalid("contest", "error.contest_no_questions")
	}
	setJSON, _ := json.Marshal(c.Settings)
	qJSON, _ := json.Marshal(c.Questions)
	run := Run{ContestID: c.ID, Title: c.Title, Status: "lobby"}
	// Reserve a PIN no live room holds (nor a live run whose room Redis
	// lost and will rebuild).
	for i := 0; ; i++ {
		if i == 20 {
			return Run{}, fmt.Errorf("contest: no free PIN")
		}
		run.PIN = randomPIN()
		ok, err := s.Redis.SetNX(ctx, s.pinKey(run.PIN), "0", s.RoomTTL).Result()
		if err != nil {
			return Run{}, fmt.Errorf("contest: reserve pin: %w", err)
		}
		if !ok {
			continue
		}
		var taken bool
		if err := s.DB.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM contest_runs WHERE pin = $1 AND status IN ('lobby', 'playing')
			AND created_at > now() - make_interval(secs => $2))`, run.PIN, s.RoomTTL.Seconds()).Scan(&taken); err != nil {
			s.Redis.Del(ctx, s.pinKey(run.PIN))
			return Run{}, fmt.Errorf("contest: reserve pin: %w", err)
		}
		if !taken {
			break
		}
	}
	epoch := s.nowMS()
	err = s.DB.QueryRow(ctx, `INSERT INTO contest_runs (contest_id, host_id, pin, settings, questions, epoch, ver)
		VALUES ($1, $2, $3, $4, $5, $6, 1) RETURNING id, created_at`, c.ID, a.UserID, run.PIN, setJSON, qJSON, epoch).
		Scan(&run.ID, &run.CreatedAt)
	if err != nil {
		s.Redis.Del(ctx, s.pinKey(run.PIN))
		return Run{}, fmt.Errorf("contest: create run: %w", err)
	}
	k := s.room(run.ID)
	late := "0"
	if c.Settings.LateJoin {
		late = "1"
	}
	// The room's keys in one transaction; the PIN (not a key of the room)
	// after it.
	_, err = s.Redis.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, k.hash(), "phase", PhaseLobby, "q", -1, "nq", len(c.Questions), "ver", 1, "rev", 0,
			"epoch", epoch, "host", a.UserID, "title", c.Title, "pin", run.PIN, "settings", string(setJSON),
			"late", late, "locked", 0, "answered", 0, "pids", 0)
		p.Set(ctx, k.questions(), qJSON, s.RoomTTL)
		p.Expire(ctx, k.hash(), s.RoomTTL)
		return nil
	})
	if err == nil {
		err = s.Redis.Set(ctx, s.pinKey(run.PIN), run.ID, s.RoomTTL).Err()
	}
	if err != nil {
		return Run{}, fmt.Errorf("contest: open room: %w", err)
	}
	s.cache.put(run.ID, c.Questions)
	return run, nil
}

// hostRoom loads a live room the actor hosts.
func (s *Service) hostRoom(ctx context.Context, a kepu.Actor, runID int64) (*state, error) {
	st, err := s.load(ctx, runID)
	if err != nil {
		return nil, err
	}
	if st == nil { // gone from Redis: rebuilt if the run is live
		if err := s.ensure(ctx, runID); err != nil && !errors.Is(err, errRoomGone) {
			return nil, err
		}
		if st, err = s.load(ctx, runID); err != nil {
			return nil, err
		}
	}
	if st == nil {
		var host int64
		err := s.DB.QueryRow(ctx, `SELECT host_id FROM contest_runs WHERE id = $1`, runID).Scan(&host)
		if postgres.IsNotFound(err) {
			return nil, kepu.NotFound("error.contest_run_not_found")
		}
		if err != nil {
			return nil, fmt.Errorf("contest: run %d: %w", runID, err)
		}
		if host != a.UserID && !a.IsAdmin() {
			return nil, kepu.Forbidden
		}
		return nil, errRoomGone
	}
	if st.Host != a.UserID && !a.IsAdmin() {
		return nil, kepu.Forbidden
	}
	return st, nil
}

// CheckHost returns nil if the actor hosts the live room runID.
func (s *Service) CheckHost(ctx context.Context, a kepu.Actor, runID int64) error {
	_, err := s.hostRoom(ctx, a, runID)
	return err
}

// RunInfo is what the host page needs to start.
type RunInfo struct {
	Run
	Phase    string   `json:"phase"`
	Settings Settings `json:"settings"`
	Count    int      `json:"question_count"`
}

// Info returns a live or finished run the actor hosts.
func (s *Service) Info(ctx context.Context, a kepu.Actor, runID int64) (RunInfo, error) {
	var ri RunInfo
	var host int64
	err := s.DB.QueryRow(ctx, `SELECT r.id, r.contest_id, c.title, r.pin, r.status, r.created_at, r.host_id, r.settings,
		coalesce(jsonb_array_length(r.questions), (SELECT count(*) FROM contest_questions q WHERE q.contest_id = r.contest_id)),
		(SELECT count(*) FROM contest_players p WHERE p.run_id = r.id)
		FROM contest_runs r JOIN contests c ON c.id = r.contest_id WHERE r.id = $1`, runID).
		Scan(&ri.ID, &ri.ContestID, &ri.Title, &ri.PIN, &ri.Status, &ri.CreatedAt, &host, &ri.Settings, &ri.Count, &ri.Players)
	if postgres.IsNotFound(err) {
		return ri, kepu.NotFound("error.contest_run_not_found")
	}
	if err != nil {
		return ri, fmt.Errorf("contest: run info %d: %w", runID, err)
	}
	if host != a.UserID && !a.IsAdmin() {
		return ri, kepu.Forbidden
	}
	ri.Phase = PhaseFinished
	if ri.Status == "lobby" || ri.Status == "playing" {
		if err := s.ensure(ctx, runID); err != nil && !errors.Is(err, errRoomGone) {
			return ri, err
		}
	}
	if st, err := s.load(ctx, runID); err != nil {
		return ri, err
	} else if st != nil {
		ri.Phase = st.Phase
		n, _ := s.Redis.HLen(ctx, s.room(runID).players()).Result()
		ri.Players = int(n)
	} else if ri.Status != "finished" {
		ri.Status = "aborted"
	}
	return ri, nil
}

// Runs lists the actor's runs (admins: all), newest first: the history.
func (s *Service) Runs(ctx context.Context, a kepu.Actor) ([]Run, error) {
	if !CanHost(a) {
		return nil, kepu.Forbidden
	}
	rows, _ := s.DB.Query(ctx, `SELECT r.id, r.contest_id, c.title, r.pin, r.status,
		(SELECT count(*) FROM contest_players p WHERE p.run_id = r.id), r.created_at
		FROM contest_runs r JOIN contests c ON c.id = r.contest_id
		WHERE r.host_id = $1 OR $2 ORDER BY r.created_at DESC, r.id DESC LIMIT 200`, a.UserID, a.IsAdmin())
	var out []Run
	var r Run
	_, err := pgxForEach(rows, []any{&r.ID, &r.ContestID, &r.Title, &r.PIN, &r.Status, &r.Players, &r.CreatedAt}, func() { out = append(out, r) })
	if err != nil {
		return nil, fmt.Errorf("contest: runs: %w", err)
	}
	// A run whose room expired before it finished was abandoned (a younger
	// one whose room Redis lost is rebuilt when someone comes back to it).
	pl := s.Redis.Pipeline()
	live := map[int]*redis.IntCmd{}
	for i, r := range out {
		if (r.Status == "lobby" || r.Status == "playing") && time.Since(r.CreatedAt) > s.RoomTTL {
			live[i] = pl.Exists(ctx, s.room(r.ID).hash())
		}
	}
	if len(live) > 0 {
		if _, err := pl.Exec(ctx); err != nil {
			return nil, fmt.Errorf("contest: runs: %w", err)
		}
		for i, c := range live {
			if c.Val() == 0 {
				out[i].Status = "aborted"
			}
		}
	}
	return out, nil
}
