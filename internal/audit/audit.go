// Package audit records administrative actions (role changes, account
// disabling, password resets, rosters, schools, classes, campaigns) in the
// audit_log table and lists them for the admins' audit log, filtered.
package audit

import (
	"context"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kepu/kepu/internal/kepu"
	"github.com/kepu/kepu/internal/postgres"
)

// Execer is what Record needs: a pool or a transaction, so that an action
// and its audit entry commit together.
type Execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// Entry is one audited action. ActorName is the actor's username and
// ActorNick their nickname ("" without an actor: the system); TargetName
// names the target (a user's nickname, a school's, class's or campaign's
// name; "" when it has none or is gone).
type Entry struct {
	ID         int64          `json:"id"`
	At         time.Time      `json:"at"`
	ActorID    int64          `json:"actor_id"`
	ActorName  string         `json:"actor_name"`
	ActorNick  string         `json:"actor_nickname"`
	Action     string         `json:"action"`
	Target     string         `json:"target"`
	TargetName string         `json:"target_name"`
	Detail     map[string]any `json:"detail"`
	IP         string         `json:"ip"`
}

// Record writes one entry. detail must not hold secrets (passwords, tokens).
func Record(ctx context.Context, db Execer, actorID int64, action, target string, detail map[string]any, ip string) error {
	if detail == nil {
		detail = map[string]any{}
	}
	var actor *int64
	if actorID != 0 {
		actor = &actorID
	}
	if _, err := db.Exec(ctx, `INSERT INTO audit_log (actor_id, action, target, detail, ip) VALUES ($1, $2, $3, $4, $5)`,
		actor, action, target, detail, ip); err != nil {
		return fmt.Errorf("audit: record %s: %w", action, err)
	}
	return nil
}

// Actions are the actions Kepu records, in the order the audit log's
// filter lists them. Record takes others too; List's filter takes only these.
var Actions = []string{
	"campaign.create", "campaign.update", "campaign.publish", "campaign.pause", "campaign.close", "campaign.archive",
	"school.create", "school.networks", "class.create", "class.teacher",
	"roster.create", "roster.password_reset", "roster.cards_issue", "roster.cards_revoke",
	"user.role", "user.disable", "user.enable", "user.password_reset", "account.delete",
	"question.retire",
	"prize.define", "prize.commit", "prize.freeze", "prize.award", "prize.draw", "prize.reveal", "prize.claim", "prize.fulfil", "prize.export",
}

// Limits of a Filter: the longest actor text and the widest date range.
const (
	MaxActorLen = 64
	MaxDays     = 366
	MaxLimit    = 200
)

// Filter selects entries for List. Actor matches the actor's username or
// nickname (case-insensitive, part of it); Action is one of Actions; From
// and To are Beijing dates (the first and the last day shown, either may
// be zero); Before pages: only entries older than that id.
type Filter struct {
	Actor    string
	Action   string
	From, To time.Time
	Before   int64
	Limit    int
}

// Check validates f: kepu.EINVALID naming the field at fault.
func (f Filter) Check() error {
	switch {
	case utf8.RuneCountInString(f.Actor) > MaxActorLen:
		return kepu.Invalid("actor", "error.organize_audit_actor")
	case f.Action != "" && !kepu.Contains(Actions, f.Action):
		return kepu.Invalid("action", "error.organize_audit_action")
	case !f.From.IsZero() && !f.To.IsZero() && f.To.Before(f.From):
		return kepu.Invalid("to", "error.organize_audit_range")
	case !f.From.IsZero() && !f.To.IsZero() && f.To.Sub(f.From) > MaxDays*24*time.Hour:
		return kepu.Invalid("to", "error.organize_audit_range")
	}
	return nil
}

// List returns the entries f selects, newest first, at most f.Limit
// (1..MaxLimit, default 50). An invalid filter is kepu.EINVALID.
func List(ctx context.Context, db *pgxpool.Pool, f Filter) ([]Entry, error) {
	if err := f.Check(); err != nil {
		return nil, err
	}
	if f.Limit <= 0 || f.Limit > MaxLimit {
		f.Limit = 50
	}
	var from, to *time.Time
	if !f.From.IsZero() {
		d := day(f.From)
		from = &d
	}
	if !f.To.IsZero() {
		d := day(f.To).AddDate(0, 0, 1)
		to = &d
	}
	actor := ""
	if f.Actor != "" {
		actor = "%" + postgres.LikeEscape(f.Actor) + "%"
	}
	rows, _ := db.Query(ctx, `SELECT a.id, a.at, coalesce(a.actor_id, 0), coalesce(u.username, ''), coalesce(u.nickname, ''),
			a.action, a.target, coalesce(CASE WHEN a.target ~ '^[a-z_]+:[0-9]{1,18}$' THEN
				CASE split_part(a.target, ':', 1)
				WHEN 'user' THEN (SELECT coalesce(nullif(t.nickname, ''), t.username) FROM users t WHERE t.id = split_part(a.target, ':', 2)::bigint)
				WHEN 'school' THEN (SELECT t.name FROM schools t WHERE t.id = split_part(a.target, ':', 2)::bigint)
				WHEN 'class' THEN (SELECT s.name || ' ' || t.name FROM classes t JOIN schools s ON s.id = t.school_id WHERE t.id = split_part(a.target, ':', 2)::bigint)
				WHEN 'campaign' THEN (SELECT t.title FROM campaigns t WHERE t.id = split_part(a.target, ':', 2)::bigint)
				END END, ''),
			a.detail, a.ip
		FROM audit_log a LEFT JOIN users u ON u.id = a.actor_id
		WHERE ($1::bigint = 0 OR a.id < $1)
			AND ($2 = '' OR u.username ILIKE $2 ESCAPE '\' OR u.nickname ILIKE $2 ESCAPE '\')
			AND ($3 = '' OR a.action = $3)
			AND ($4::timestamptz IS NULL OR a.at >= $4)
			AND ($5::timestamptz IS NULL OR a.at < $5)
		ORDER BY a.id DESC LIMIT $6`, f.Before, actor, f.Action, from, to, f.Limit)
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[Entry])
	if err != nil {
		return nil, fmt.Errorf("audit: list: %w", err)
	}
	return out, nil
}

// day is the Beijing midnight starting t's Beijing date.
func day(t time.Time) time.Time {
	y, m, d := t.In(kepu.Shanghai).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, kepu.Shanghai)
}
