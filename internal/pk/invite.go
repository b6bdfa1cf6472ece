package pk

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// InviteCodeLen is the length of an invitation code (letters and digits
// that cannot be mistaken for one another).
const InviteCodeLen = 8

const inviteAlphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"

// ValidInviteCode reports whether c has the shape of an invitation code.
func ValidInviteCode(c string) bool {
	if len(c) != InviteCodeLen {
		return false
	}
	for i := range len(c) {
		ok := false
		for j := range len(inviteAlphabet) {
			ok = ok || c[i] == inviteAlphabet[j]
		}
		if !ok {
			return false
		}
	}
	return true
}

func newInviteCode() string {
	b := make([]byte, InviteCodeLen)
	rand.Read(b)
	for i := range b {
		b[i] = inviteAlphabet[int(b[i])%len(inviteAlphabet)]
	}
	return string(b)
}

// Invite starts a private 1-vs-1 match of who, waiting for a friend who
// opens its link (or scans its QR code). It returns the match and its code.
func (s *Service) Invite(ctx context.Context, who Who) (int64, string, error) {
	level, err := s.Levels.LevelOf(ctx, who.UserID)
	if err != nil {
		return 0, "", fmt.Errorf("pk: level: %w", err)
	}
	code := newInviteCode()
	id, err := s.create(ctx, Duel, who.Lang, []seatIn{{who: who, level: level}}, code, who.UserID)
	return id, code, err
}

// Invitation returns the match of an invitation code (ErrNotFound).
func (s *Service) Invitation(ctx context.Context, code string) (int64, error) {
	if !ValidInviteCode(code) {
		return 0, ErrNotFound
	}
	var id int64
	err := s.DB.QueryRow(ctx, `SELECT id FROM pk_matches WHERE invite_code = $1`, code).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, ErrNotFound
	}
	if err != nil {
		return 0, fmt.Errorf("pk: invitation: %w", err)
	}
	return id, nil
}

// JoinInvite seats who in the match of code and starts it (after the
// countdown). The inviter and a player already seated get the match back;
// a match already taken or over is ErrFull.
func (s *Service) JoinInvite(ctx context.Context, who Who, code string) (int64, error) {
	id, err := s.Invitation(ctx, code)
	if err != nil {
		return 0, err
	}
	tx, err := s.DB.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("pk: join: %w", err)
	}
	defer tx.Rollback(ctx)
	var status string
	var stale bool
	if err := tx.QueryRow(ctx, `SELECT status, created_at < now() - interval '10 minutes' FROM pk_matches WHERE id = $1 FOR UPDATE`, id).
		Scan(&status, &stale); err != nil {
		return 0, fmt.Errorf("pk: join: %w", err)
	}
	var seated bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pk_players WHERE match_id = $1 AND user_id = $2)`, id, who.UserID).Scan(&seated); err != nil {
		return 0, fmt.Errorf("pk: join: %w", err)
	}
	if seated {
		return id, nil
	}
	if status != "waiting" || stale {
		return 0, ErrFull
	}
	level, err := s.Levels.LevelOf(ctx, who.UserID)
	if err != nil {
		return 0, fmt.Errorf("pk: level: %w", err)
	}
	seats := []seatIn{{who: who, level: level}}
	if err := s.nicks(ctx, tx, seats); err != nil {
		return 0, err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO pk_players (match_id, seat, user_id, nick, level) VALUES ($1, 1, $2, $3, $4)`,
		id, who.UserID, seats[0].who.Nick, level); err != nil {
		return 0, fmt.Errorf("pk: join: %w", err)
	}
	if _, err := tx.Exec(ctx, `UPDATE pk_matches SET status = 'playing', start_ms = $2 WHERE id = $1`,
		id, s.nowMS()+s.Ready.Milliseconds()); err != nil {
		return 0, fmt.Errorf("pk: join: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("pk: join: %w", err)
	}
	s.Poke(ctx, id)
	return id, nil
}
