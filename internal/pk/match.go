package pk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
)

// Question is one question of a match (a question version: never changes).
type Question struct {
	Version     int64
	Type        string
	Stem        string
	Options     []string
	Answer      []int
	Explanation string
}

// Player is one seat of a match.
type Player struct {
	Seat   int
	UserID int64 // 0: the practice bot
	Bot    bool
	Nick   string
	Level  int
	Score  *int
	Place  *int
}

// Answer is one committed answer.
type Answer struct {
	Seat, Q         int
	Choice          []int
	Correct         bool
	Points          int
	RawMS, CreditMS int64
}

// Match is a match as Postgres has it.
type Match struct {
	ID                         int64
	Mode                       int
	Lang                       string
	Status                     string // waiting, playing, done
	Invite                     string
	CreatedBy                  int64
	Bot                        bool
	StartMS                    int64 // 0 while waiting
	RoundMS, RevealMS, GraceMS int64
	Questions                  []Question
	Players                    []Player
	Answers                    []Answer
}

// SeatOf returns the seat of userID, or -1.
func (m *Match) SeatOf(userID int64) int {
	for _, p := range m.Players {
		if !p.Bot && p.UserID == userID {
			return p.Seat
		}
	}
	return -1
}

// answer returns seat's answer to q, or nil.
func (m *Match) answer(seat, q int) *Answer {
	for i := range m.Answers {
		if m.Answers[i].Seat == seat && m.Answers[i].Q == q {
			return &m.Answers[i]
		}
	}
	return nil
}

// Add adds committed answer a (a poke's: PokedAnswer) to m unless m has
// it already or it fits no seat and question of m; it reports whether m
// changed. A match kept in memory this way may lack an answer whose poke
// was lost: read it again (Load) before deciding anything by it.
func (m *Match) Add(a Answer) bool {
	if a.Seat < 0 || a.Seat >= len(m.Players) || a.Q < 0 || a.Q >= len(m.Questions) || m.answer(a.Seat, a.Q) != nil {
		return false
	}
	m.Answers = append(m.Answers, a)
	return true
}

// Load reads match id (ErrNotFound) in one round trip.
func (s *Service) Load(ctx context.Context, id int64) (*Match, error) {
	b := &pgx.Batch{}
	m := &Match{ID: id}
	var versions []int64
	var invite *string
	var createdBy, start *int64
	found := false
	b.Queue(`SELECT mode, lang, status, invite_code, created_by, bot, versions, round_ms, reveal_ms, grace_ms, start_ms
		FROM pk_matches WHERE id = $1`, id).QueryRow(func(row pgx.Row) error {
		err := row.Scan(&m.Mode, &m.Lang, &m.Status, &invite, &createdBy, &m.Bot, &versions, &m.RoundMS, &m.RevealMS, &m.GraceMS, &start)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		found = err == nil
		return err
	})
	b.Queue(`SELECT seat, coalesce(user_id, 0), bot, nick, level, score, place FROM pk_players WHERE match_id = $1 ORDER BY seat`, id).
		Query(func(rows pgx.Rows) error {
			var p Player
			_, err := pgx.ForEachRow(rows, []any{&p.Seat, &p.UserID, &p.Bot, &p.Nick, &p.Level, &p.Score, &p.Place}, func() error {
				m.Players = append(m.Players, p)
				return nil
			})
			return err
		})
	b.Queue(`SELECT seat, q, choice, correct, points, raw_ms, ms FROM pk_answers WHERE match_id = $1 ORDER BY q, seat`, id).
		Query(func(rows pgx.Rows) error {
			var a Answer
			_, err := pgx.ForEachRow(rows, []any{&a.Seat, &a.Q, &a.Choice, &a.Correct, &a.Points, &a.RawMS, &a.CreditMS}, func() error {
				a.Choice = slices.Clone(a.Choice)
				m.Answers = append(m.Answers, a)
				return nil
			})
			return err
		})
	if err := s.DB.SendBatch(ctx, b).Close(); err != nil {
		return nil, fmt.Errorf("pk: load match %d: %w", id, err)
	}
	if !found {
		return nil, ErrNotFound
	}
	if invite != nil {
		m.Invite = *invite
	}
	if createdBy != nil {
		m.CreatedBy = *createdBy
	}
	if start != nil {
		m.StartMS = *start
	}
	qs, err := s.versions(ctx, versions)
	if err != nil {
		return nil, err
	}
	m.Questions = qs
	return m, nil
}

// versions returns the questions of version ids, from memory when it has
// them (a version never changes).
func (s *Service) versions(ctx context.Context, ids []int64) ([]Question, error) {
	out := make([]Question, len(ids))
	var missing []int64
	for i, id := range ids {
		if q, ok := s.questions.Load(id); ok {
			out[i] = q.(Question)
		} else {
			missing = append(missing, id)
		}
	}
	if len(missing) == 0 {
		return out, nil
	}
	rows, err := s.DB.Query(ctx, `SELECT id, type, stem, options, answer, explanation FROM question_versions WHERE id = ANY($1)`, missing)
	if err != nil {
		return nil, fmt.Errorf("pk: load questions: %w", err)
	}
	var q Question
	var opts []byte
	_, err = pgx.ForEachRow(rows, []any{&q.Version, &q.Type, &q.Stem, &opts, &q.Answer, &q.Explanation}, func() error {
		qq := q
		qq.Answer = slices.Clone(q.Answer)
		slices.Sort(qq.Answer)
		if err := json.Unmarshal(opts, &qq.Options); err != nil {
			return err
		}
		s.questions.Store(qq.Version, qq)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("pk: load questions: %w", err)
	}
	for i, id := range ids {
		q, ok := s.questions.Load(id)
		if !ok {
			return nil, fmt.Errorf("pk: question version %d is gone", id)
		}
		out[i] = q.(Question)
	}
	return out, nil
}

// Active returns the match userID is seated in that has not ended (by its
// schedule), or 0: a player who comes back is sent to it.
func (s *Service) Active(ctx context.Context, userID int64) (int64, error) {
	var id int64
	err := s.DB.QueryRow(ctx, `
		SELECT m.id FROM pk_players p JOIN pk_matches m ON m.id = p.match_id
		WHERE p.user_id = $1 AND m.status <> 'done'
		  AND (m.start_ms IS NULL AND m.created_at > now() - interval '10 minutes'
		       OR m.start_ms + cardinality(m.versions) * (m.round_ms + m.grace_ms + m.reveal_ms) > $2)
		ORDER BY m.id DESC LIMIT 1`, userID, s.nowMS()).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("pk: active match: %w", err)
	}
	return id, nil
}
