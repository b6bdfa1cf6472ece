package pk

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kepu/kepu/internal/leaderboard"
	"github.com/kepu/kepu/internal/scoring"
)

// seatIn is a seat of a match being created.
type seatIn struct {
	who   Who
	level int
	bot   bool
}

// create writes a match with seats (humans first) and, for bot seats,
// their answers; status "waiting" (start 0) for an invitation, else it
// starts after the countdown. It returns the match id.
func (s *Service) create(ctx context.Context, mode int, lang string, seats []seatIn, invite string, createdBy int64) (int64, error) {
	tx, err := s.DB.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("pk: create match: %w", err)
	}
	defer tx.Rollback(ctx)
	versions, err := s.draw(ctx, lang)
	if err != nil {
		return 0, err
	}
	qs, err := s.versions(ctx, versions)
	if err != nil {
		return 0, err
	}
	var start *int64
	status := "waiting"
	var code *string
	if invite != "" {
		code = &invite
	} else {
		t := s.nowMS() + s.Ready.Milliseconds()
		start, status = &t, "playing"
	}
	if err := s.nicks(ctx, tx, seats); err != nil {
		return 0, err
	}
	var cb *int64
	if createdBy != 0 {
		cb = &createdBy
	}
	hasBot := false
	for _, st := range seats {
		hasBot = hasBot || st.bot
	}
	var id int64
	if err := tx.QueryRow(ctx, `
		INSERT INTO pk_matches (mode, lang, status, invite_code, created_by, bot, versions, round_ms, reveal_ms, grace_ms, start_ms)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id`,
		mode, lang, status, code, cb, hasBot, versions, s.Round.Milliseconds(), s.Reveal.Milliseconds(), s.Grace.Milliseconds(), start).Scan(&id); err != nil {
		return 0, fmt.Errorf("pk: create match: %w", err)
	}
	b := &pgx.Batch{}
	for seat, st := range seats {
		var uid *int64
		if !st.bot {
			uid = &st.who.UserID
		}
		b.Queue(`INSERT INTO pk_players (match_id, seat, user_id, bot, nick, level) VALUES ($1, $2, $3, $4, $5, $6)`,
			id, seat, uid, st.bot, st.who.Nick, st.level)
		if st.bot {
			for q, qq := range qs {
				a := botAnswer(qq, st.level, s.Round.Milliseconds())
				b.Queue(`INSERT INTO pk_answers (match_id, seat, q, choice, correct, points, raw_ms, ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)`,
					id, seat, q, a.Choice, a.Correct, a.Points, a.RawMS)
			}
		}
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return 0, fmt.Errorf("pk: create match: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("pk: create match: %w", err)
	}
	return id, nil
}

// poolTTL is how long an instance draws from its list of a language's
// questions before reading it again (a question published meanwhile waits
// that long; one retired is still drawn that long).
const poolTTL = time.Minute

type questionPool struct {
	ids []int64
	at  time.Time
}

// draw returns Questions distinct question versions (current versions of
// published single-answer and true/false questions of lang) at random.
func (s *Service) draw(ctx context.Context, lang string) ([]int64, error) {
	s.poolMu.Lock()
	p := s.pools[lang]
	s.poolMu.Unlock()
	if p.at.IsZero() || time.Since(p.at) > poolTTL {
		rows, err := s.DB.Query(ctx, `
			SELECT v.id FROM questions q
			JOIN question_versions v ON v.question_id = q.id AND v.version = q.current_version
			WHERE q.status = 'published' AND q.lang = $1 AND q.type IN ('single', 'truefalse')`, lang)
		if err != nil {
			return nil, fmt.Errorf("pk: draw questions: %w", err)
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return nil, fmt.Errorf("pk: draw questions: %w", err)
		}
		p = questionPool{ids: ids, at: time.Now()}
		s.poolMu.Lock()
		if s.pools == nil {
			s.pools = map[string]questionPool{}
		}
		s.pools[lang] = p
		s.poolMu.Unlock()
	}
	if len(p.ids) < Questions {
		return nil, ErrNoBank
	}
	out := make([]int64, 0, Questions)
	for _, i := range rand.Perm(len(p.ids))[:Questions] {
		out = append(out, p.ids[i])
	}
	return out, nil
}

// nicks fills in the nickname of each human seat as opponents see it: a
// minor's masked (leaderboard.MaskNickname).
func (s *Service) nicks(ctx context.Context, tx pgx.Tx, seats []seatIn) error {
	var ids []int64
	for _, st := range seats {
		if !st.bot {
			ids = append(ids, st.who.UserID)
		}
	}
	rows, err := tx.Query(ctx, `SELECT id, nickname, coalesce(age_band, '') FROM users WHERE id = ANY($1)`, ids)
	if err != nil {
		return fmt.Errorf("pk: nicknames: %w", err)
	}
	names := map[int64]string{}
	var id int64
	var nick, band string
	if _, err := pgx.ForEachRow(rows, []any{&id, &nick, &band}, func() error {
		if band == "u14" {
			nick = leaderboard.MaskNickname(nick)
		}
		names[id] = nick
		return nil
	}); err != nil {
		return fmt.Errorf("pk: nicknames: %w", err)
	}
	for i := range seats {
		if !seats[i].bot {
			n, ok := names[seats[i].who.UserID]
			if !ok {
				return ErrNotFound
			}
			seats[i].who.Nick = n
		}
	}
	return nil
}

// botAnswer is the practice bot's answer to qq: right more often at a
// higher level (55% at level 1, up to 85%), given after 30–85% of the
// round.
func botAnswer(qq Question, level int, roundMS int64) Answer {
	p := min(0.55+0.03*float64(level-1), 0.85)
	raw := roundMS*30/100 + rand.Int64N(roundMS*55/100+1)
	choice := slices.Clone(qq.Answer)
	correct := rand.Float64() < p
	if !correct {
		wrong := rand.IntN(len(qq.Options))
		if slices.Contains(qq.Answer, wrong) {
			wrong = (wrong + 1) % len(qq.Options)
		}
		choice = []int{wrong}
		correct = slices.Equal(choice, qq.Answer)
	}
	return Answer{Choice: choice, Correct: correct, RawMS: raw,
		Points: scoring.ContestPoints(correct, BasePoints, raw, roundMS)}
}

// Ack is the answer to an answer: the outcome only (never whether it was
// right: that waits for the round to close).
type Ack struct {
	Q       int    `json:"q"`
	Outcome string `json:"outcome"`
}

// Answer records userID's answer choice to question q of match id, by the
// contest engine's rules: once per player and question, only while q is
// open by the server's clock, speed points from the server's times. It
// returns only after the answer's row is committed (or refused).
func (s *Service) Answer(ctx context.Context, id, userID int64, q int, choice []int) (Ack, error) {
	ack := Ack{Q: q, Outcome: AnswerClosed}
	now := s.nowMS()
	m, err := s.Load(ctx, id)
	if err != nil {
		return ack, err
	}
	seat := m.SeatOf(userID)
	if seat < 0 {
		return ack, ErrNotPlayer
	}
	phase, cur, _ := m.PhaseAt(now)
	if phase != PhaseQuestion || cur != q {
		return ack, nil
	}
	qq := m.Questions[q]
	if !scoring.ValidChoice(qq.Type, len(qq.Options), choice) {
		ack.Outcome = AnswerInvalid
		return ack, nil
	}
	if m.answer(seat, q) != nil {
		ack.Outcome = AnswerDuplicate
		return ack, nil
	}
	r := m.Rounds()[q]
	raw := now - r.Open
	elapsed := scoring.CreditedElapsed(raw, 0)
	if elapsed > m.RoundMS {
		return ack, nil
	}
	sorted := slices.Clone(choice)
	slices.Sort(sorted)
	correct := slices.Equal(sorted, qq.Answer)
	points := scoring.ContestPoints(correct, BasePoints, elapsed, m.RoundMS)
	tx, err := s.DB.Begin(ctx)
	if err != nil {
		return ack, fmt.Errorf("pk: answer: %w", err)
	}
	defer tx.Rollback(ctx)
	tag, err := tx.Exec(ctx, `INSERT INTO pk_answers (match_id, seat, q, choice, correct, points, raw_ms, ms)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING`, id, seat, q, sorted, correct, points, raw, elapsed)
	if err != nil {
		return ack, fmt.Errorf("pk: answer: %w", err)
	}
	if tag.RowsAffected() == 0 {
		ack.Outcome = AnswerDuplicate
		return ack, nil
	}
	// The round must still be open when the row commits: a round's end,
	// once seen, never moves (schedule.go).
	if s.nowMS() > r.Deadline+m.GraceMS {
		return ack, nil
	}
	if err := tx.Commit(ctx); err != nil {
		return ack, fmt.Errorf("pk: answer: %w", err)
	}
	ack.Outcome = AnswerOK
	s.poke(ctx, id, pokeMsg(Answer{Seat: seat, Q: q, Choice: sorted, Correct: correct, Points: points, RawMS: raw, CreditMS: elapsed}))
	return ack, nil
}

// Poke tells the match's sockets on every instance to look again (best
// effort: they also look by the clock).
func (s *Service) Poke(ctx context.Context, id int64) { s.poke(ctx, id, "1") }

func (s *Service) poke(ctx context.Context, id int64, msg string) {
	if err := s.Redis.Publish(ctx, s.Keys.PKMatchChannel(id), msg).Err(); err != nil {
		s.log().Warn("pk: poke", "match", id, "err", err)
	}
}

// pokeWire is an answer as a poke carries it (between instances only: it
// holds whether the answer was right).
type pokeWire struct {
	Seat    int   `json:"s"`
	Q       int   `json:"q"`
	Choice  []int `json:"c"`
	Correct bool  `json:"ok"`
	Points  int   `json:"p"`
	RawMS   int64 `json:"raw"`
	MS      int64 `json:"ms"`
}

func pokeMsg(a Answer) string {
	b, _ := json.Marshal(pokeWire{a.Seat, a.Q, a.Choice, a.Correct, a.Points, a.RawMS, a.CreditMS})
	return string(b)
}

// PokedAnswer returns the committed answer a poke of a match carries, if
// it carries one (an answer's poke does; a join's does not: the match
// must be read again).
func PokedAnswer(msg []byte) (Answer, bool) {
	var w pokeWire
	if len(msg) == 0 || msg[0] != '{' || json.Unmarshal(msg, &w) != nil {
		return Answer{}, false
	}
	return Answer{Seat: w.Seat, Q: w.Q, Choice: w.Choice, Correct: w.Correct, Points: w.Points, RawMS: w.RawMS, CreditMS: w.MS}, true
}

// Finish records a match whose schedule has ended (once, whoever sees it
// first): status done, each seat's score and place, and the points of each
// person through Levels.
func (s *Service) Finish(ctx context.Context, m *Match) error {
	if m.Status != "playing" {
		return nil
	}
	now := s.nowMS()
	if phase, _, _ := m.PhaseAt(now); phase != PhaseDone {
		return nil
	}
	v := m.ViewFor(0, now)
	tx, err := s.DB.Begin(ctx)
	if err != nil {
		return fmt.Errorf("pk: finish: %w", err)
	}
	defer tx.Rollback(ctx)
	tag, err := tx.Exec(ctx, `UPDATE pk_matches SET status = 'done', finished_at = now() WHERE id = $1 AND status = 'playing'`, m.ID)
	if err != nil {
		return fmt.Errorf("pk: finish: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return nil
	}
	for _, p := range v.Players {
		if _, err := tx.Exec(ctx, `UPDATE pk_players SET score = $3, place = $4 WHERE match_id = $1 AND seat = $2`,
			m.ID, p.Seat, p.Score, p.Place); err != nil {
			return fmt.Errorf("pk: finish: %w", err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("pk: finish: %w", err)
	}
	m.Status = "done"
	for i, p := range v.Players {
		if m.Players[i].Bot || p.Score == 0 {
			continue
		}
		if err := s.Levels.AddPoints(ctx, m.Players[i].UserID, p.Score/100, "pk", m.ID); err != nil {
			s.log().Warn("pk: add points", "match", m.ID, "user", m.Players[i].UserID, "err", err)
		}
	}
	return nil
}

// State loads match id for userID (ErrNotPlayer unless seated), records
// it as finished if its schedule has ended, and returns it.
func (s *Service) State(ctx context.Context, id, userID int64) (*Match, int, error) {
	m, err := s.Load(ctx, id)
	if err != nil {
		return nil, -1, err
	}
	seat := m.SeatOf(userID)
	if seat < 0 {
		return nil, -1, ErrNotPlayer
	}
	if err := s.Finish(ctx, m); err != nil {
		return nil, -1, err
	}
	return m, seat, nil
}
