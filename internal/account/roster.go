package account

// Class rosters: a teacher (or an organizer or admin in scope) creates pupil
// accounts for a class in bulk from a list of names, lists them and resets
// their passwords. Pupils are participants under 14 (age band u14) managed
// by the class teacher; they join through their class and need no guardian
// consent step of their own. Who may manage a class is decided by
// internal/org (Service.Classes).

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kepu/kepu/internal/audit"
	"github.com/kepu/kepu/internal/kepu"
	"github.com/kepu/kepu/internal/org"
	"github.com/kepu/kepu/internal/postgres"
)

// ClassScope is what accounts need from internal/org: the class, if the
// actor may manage it (kepu.Forbidden or a not-found error otherwise), for
// rosters; and the regions an actor manages (nil: all, for an admin), for
// the teacher list (Teachers).
type ClassScope interface {
	Class(ctx context.Context, a kepu.Actor, id int64) (org.Class, error)
	ScopeRegionIDs(ctx context.Context, a kepu.Actor) ([]int64, error)
}

// Pupil is one account of a class roster.
type Pupil struct {
	ID        int64     `json:"id"`
	Username  string    `json:"username"`
	Nickname  string    `json:"nickname"`
	Disabled  bool      `json:"disabled"`
	CreatedAt time.Time `json:"created_at"`
	// CardIssuedAt is when the pupil's live join card was printed (cards.go);
	// nil when there is none.
	CardIssuedAt *time.Time `json:"card_issued_at,omitempty"`
}

// NewPupil is a pupil just created, with the password shown once.
type NewPupil struct {
	Pupil
	Password string `json:"password"`
}

// MaxRosterBatch is the most pupils created by one request.
const MaxRosterBatch = 60

func (s *Service) class(ctx context.Context, a kepu.Actor, classID int64) (org.Class, error) {
	if s.Classes == nil {
		return org.Class{}, fmt.Errorf("account: roster: no class scope configured")
	}
	return s.Classes.Class(ctx, a, classID)
}

// Roster lists the pupils of a class the actor may manage.
func (s *Service) Roster(ctx context.Context, a kepu.Actor, classID int64) ([]Pupil, error) {
	c, err := s.class(ctx, a, classID)
	if err != nil {
		return nil, err
	}
	rows, err := s.DB.Query(ctx, `SELECT u.id, u.username, u.nickname, u.disabled_at IS NOT NULL, u.created_at, t.created_at
		FROM users u LEFT JOIN login_tokens t ON t.user_id = u.id AND t.revoked_at IS NULL
		WHERE u.class_id = $1 AND u.role = 'participant' AND u.deleted_at IS NULL ORDER BY u.username`, c.ID)
	if err != nil {
		return nil, fmt.Errorf("account: roster %d: %w", c.ID, err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[Pupil])
	if err != nil {
		return nil, fmt.Errorf("account: roster %d: %w", c.ID, err)
	}
	return out, nil
}

// CleanNames turns a pasted list into nicknames: one per entry, blank
// entries dropped, each checked like a nickname. The error names the line.
func CleanNames(names []string) ([]string, error) {
	var out []string
	for i, n := range names {
		if strings.TrimSpace(n) == "" {
			continue
		}
		if len(out) == MaxRosterBatch {
			return nil, kepu.Invalid("names", "error.roster_too_many").With("max", MaxRosterBatch)
		}
		c, err := CleanNickname(n)
		if err != nil {
			return nil, kepu.Invalid("names", "error.roster_line").With("line", i+1).With("max", MaxNickname)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, kepu.Invalid("names", "error.roster_empty")
	}
	return out, nil
}

// pupilPrefix is the start of the generated usernames of a class: c<id>-.
func pupilPrefix(classID int64) string { return "c" + strconv.FormatInt(classID, 10) + "-" }

// CreatePupils creates one account per name in the class: generated
// usernames (c<class>-01, c<class>-02, …) and passwords, which are returned
// once and never stored in clear.
func (s *Service) CreatePupils(ctx context.Context, a kepu.Actor, classID int64, names []string) ([]NewPupil, error) {
	names, err := CleanNames(names)
	if err != nil {
		return nil, err
	}
	c, err := s.class(ctx, a, classID)
	if err != nil {
		return nil, err
	}
	out := make([]NewPupil, len(names))
	hashes := make([]string, len(names))
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i := range names {
		out[i].Nickname = names[i]
		out[i].Password = RandomPassword(TempPasswordLen)
		wg.Add(1)
		go func() {
			defer wg.Done()
			hashes[i], errs[i] = s.Hasher.Hash(ctx, out[i].Password)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	manager := c.TeacherID
	if manager == 0 {
		manager = a.UserID
	}
	prefix := pupilPrefix(c.ID)
	err = postgres.Tx(ctx, s.DB, func(tx pgx.Tx) error {
		// The class row lock serializes concurrent batches of one class, so
		// the numbering below cannot collide.
		if _, err := tx.Exec(ctx, `SELECT 1 FROM classes WHERE id = $1 FOR UPDATE`, c.ID); err != nil {
			return fmt.Errorf("lock class: %w", err)
		}
		rows, err := tx.Query(ctx, `SELECT lower(username) FROM users WHERE lower(username) LIKE $1 || '%'`, prefix)
		if err != nil {
			return fmt.Errorf("usernames: %w", err)
		}
		taken, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return fmt.Errorf("usernames: %w", err)
		}
		used := map[string]bool{}
		for _, u := range taken {
			used[u] = true
		}
		n := 0
		usernames := make([]string, 0, len(out))
		for i := range out {
			for {
				n++
				name := fmt.Sprintf("%s%02d", prefix, n)
				if !used[name] {
					out[i].Username = name
					break
				}
			}
			err := tx.QueryRow(ctx, `INSERT INTO users (username, password_hash, role, nickname, region_id, age_band,
					occupation, school_id, class_id, managed_by)
				VALUES ($1, $2, 'participant', $3, $4, 'u14', 'student', $5, $6, $7)
				RETURNING id, created_at`, out[i].Username, hashes[i], out[i].Nickname, c.RegionID, c.SchoolID, c.ID, manager).
				Scan(&out[i].ID, &out[i].CreatedAt)
			if postgres.IsUniqueViolation(err, "users_username") {
				return ErrUsernameTaken
			}
			if err != nil {
				return fmt.Errorf("insert pupil: %w", err)
			}
			usernames = append(usernames, out[i].Username)
		}
		return audit.Record(ctx, tx, a.UserID, "roster.create", org.ClassTarget(c.ID),
			map[string]any{"count": len(out), "usernames": usernames}, a.IP)
	})
	if err != nil {
		return nil, fmt.Errorf("account: create pupils in class %d: %w", c.ID, err)
	}
	return out, nil
}

// ErrNotInClass is returned when the user is not a pupil of the class.
var ErrNotInClass = kepu.NotFound("error.pupil_not_found")

// ResetPupilPassword gives a pupil of the class a new password, ends their
// sessions and returns the password (shown once).
func (s *Service) ResetPupilPassword(ctx context.Context, a kepu.Actor, classID, userID int64) (string, error) {
	c, err := s.class(ctx, a, classID)
	if err != nil {
		return "", err
	}
	return s.resetPassword(ctx, a, userID, "roster.password_reset", func(_ pgx.Tx, u User) error {
		if u.ClassID != c.ID || u.Role != kepu.RoleParticipant {
			return ErrNotInClass
		}
		return nil
	})
}
