package bank

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kepu/kepu/internal/kepu"
	"github.com/kepu/kepu/internal/postgres"
)

// Scoper is what the bank needs from internal/org: the regions an actor
// manages (nil: all) and whether one region is among them.
type Scoper interface {
	ScopeRegionIDs(ctx context.Context, a kepu.Actor) ([]int64, error)
	CheckRegion(ctx context.Context, a kepu.Actor, regionID int64) error
}

// Service is the question bank.
type Service struct {
	DB  *pgxpool.Pool
	Org Scoper
}

// Question is a question at its current version. Answer is the key: only
// organizers, admins and teachers ever receive it (teachers never of a
// private question).
type Question struct {
	ID            int64     `json:"id"`
	OwnerRegionID int64     `json:"owner_region_id"`
	SeedKey       string    `json:"seed_key,omitempty"`
	Status        string    `json:"status"`
	Version       int       `json:"version"`
	VersionID     int64     `json:"version_id"`
	TranslationID int64     `json:"translation_id,omitempty"` // the en version of a zh-CN question
	UpdatedAt     time.Time `json:"updated_at"`
	Input
}

// Version is one stored version of a question, exactly as it was shown
// (Input.TranslationOf is not filled in).
type Version struct {
	ID         int64     `json:"id"`
	QuestionID int64     `json:"question_id"`
	Version    int       `json:"version"`
	CreatedAt  time.Time `json:"created_at"`
	Input
}

// Filter selects questions. Empty fields match everything; Text is a
// case-insensitive substring of the stem (works for Chinese).
type Filter struct {
	Category   string
	Dimension  string
	Type       string
	Status     string
	Lang       string
	Difficulty int
	Text       string
	Limit      int // default 50, at most 500
	Offset     int

	noPrivate bool // leave out private questions (set by the read scope, never by callers)
}

// MaxListLimit caps one page of List.
const MaxListLimit = 500

const selectQuestion = `SELECT q.id, q.owner_region_id, coalesce(q.seed_key, ''), q.status, q.current_version, v.id,
	coalesce((SELECT t.id FROM questions t WHERE t.translation_of = q.id AND t.lang = 'en'), 0), q.updated_at,
	q.lang, coalesce(q.translation_of, 0), v.type, v.stem, v.options, v.answer, v.explanation, v.category,
	v.dimension, v.difficulty, v.tags, v.source, coalesce(v.image_id, 0), q.private
	FROM questions q JOIN question_versions v ON v.question_id = q.id AND v.version = q.current_version`

func scanQuestion(row pgx.CollectableRow) (Question, error) {
	var q Question
	err := row.Scan(&q.ID, &q.OwnerRegionID, &q.SeedKey, &q.Status, &q.Version, &q.VersionID, &q.TranslationID, &q.UpdatedAt,
		&q.Lang, &q.TranslationOf, &q.Type, &q.Stem, &q.Options, &q.Answer, &q.Explanation, &q.Category,
		&q.Dimension, &q.Difficulty, &q.Tags, &q.Source, &q.ImageID, &q.Private)
	return q, err
}

// readScope says what an actor may read: every question of regions (nil:
// all regions), or only published ones that are not private.
type readScope struct {
	regions       []int64
	publishedOnly bool // teachers: published questions only, never private ones
}

func (s *Service) readScope(ctx context.Context, a kepu.Actor) (readScope, error) {
	switch a.Role {
	case kepu.RoleAdmin:
		return readScope{}, nil
	case kepu.RoleOrganizer:
		ids, err := s.Org.ScopeRegionIDs(ctx, a)
		if err != nil {
			return readScope{}, fmt.Errorf("bank: scope: %w", err)
		}
		return readScope{regions: ids}, nil
	case kepu.RoleTeacher:
		return readScope{publishedOnly: true}, nil
	}
	return readScope{}, kepu.Forbidden
}

// CanEdit reports whether the actor edits banks at all (organizers, admins).
func CanEdit(a kepu.Actor) bool { return a.Is(kepu.RoleOrganizer, kepu.RoleAdmin) }

// List returns one page of the questions the actor may read that match f,
// newest first, and how many match in all. Organizers see their subtree's
// banks, admins everything, teachers published questions; participants get
// kepu.Forbidden.
func (s *Service) List(ctx context.Context, a kepu.Actor, f Filter) ([]Question, int, error) {
	sc, err := s.readScope(ctx, a)
	if err != nil {
		return nil, 0, err
	}
	if err := f.check(); err != nil {
		return nil, 0, err
	}
	if sc.publishedOnly {
		if f.Status != "" && f.Status != StatusPublished {
			return []Question{}, 0, nil
		}
		f.Status = StatusPublished
		f.noPrivate = true
	}
	where, args := f.where(sc.regions)
	rows, _ := s.DB.Query(ctx, `SELECT count(*) OVER (), `+strings.TrimPrefix(selectQuestion, "SELECT ")+where+`
		ORDER BY q.id DESC LIMIT `+fmt.Sprint(f.Limit)+` OFFSET `+fmt.Sprint(f.Offset), args...)
	total := 0
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Question, error) {
		var q Question
		err := row.Scan(&total, &q.ID, &q.OwnerRegionID, &q.SeedKey, &q.Status, &q.Version, &q.VersionID, &q.TranslationID, &q.UpdatedAt,
			&q.Lang, &q.TranslationOf, &q.Type, &q.Stem, &q.Options, &q.Answer, &q.Explanation, &q.Category,
			&q.Dimension, &q.Difficulty, &q.Tags, &q.Source, &q.ImageID, &q.Private)
		return q, err
	})
	if err != nil {
		return nil, 0, fmt.Errorf("bank: list: %w", err)
	}
	return out, total, nil
}

func (f *Filter) check() error {
	if f.Limit <= 0 {
		f.Limit = 50
	}
	if f.Limit > MaxListLimit {
		f.Limit = MaxListLimit
	}
	if f.Offset < 0 || f.Offset > 1_000_000 {
		f.Offset = 0
	}
	switch {
	case f.Category != "" && !slices.Contains(Categories, f.Category):
		return kepu.Invalid("category", "error.bank_category")
	case f.Dimension != "" && !slices.Contains(Dimensions, f.Dimension):
		return kepu.Invalid("dimension", "error.bank_dimension")
	case f.Type != "" && !slices.Contains(Types, f.Type):
		return kepu.Invalid("type", "error.bank_type")
	case f.Status != "" && !slices.Contains(Statuses, f.Status):
		return kepu.Invalid("status", "error.bank_status")
	case f.Lang != "" && !slices.Contains(Languages, f.Lang):
		return kepu.Invalid("lang", "error.bank_lang")
	case f.Difficulty < 0 || f.Difficulty > 5:
		return kepu.Invalid("difficulty", "error.bank_difficulty")
	case len(f.Text) > 200:
		return kepu.Invalid("q", "error.bank_search_long")
	}
	return nil
}

// where builds the WHERE clause of f; regions nil means every region.
func (f Filter) where(regions []int64) (string, []any) {
	var conds []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		conds = append(conds, strings.ReplaceAll(cond, "$?", fmt.Sprintf("$%d", len(args))))
	}
	if regions != nil {
		add("q.owner_region_id = ANY($?)", regions)
	}
	if f.noPrivate {
		conds = append(conds, "NOT q.private")
	}
	for _, c := range []struct{ col, v string }{{"q.category", f.Category}, {"q.dimension", f.Dimension},
		{"q.type", f.Type}, {"q.status", f.Status}, {"q.lang", f.Lang}} {
		if c.v != "" {
			add(c.col+" = $?", c.v)
		}
	}
	if f.Difficulty != 0 {
		add("q.difficulty = $?", f.Difficulty)
	}
	if t := strings.TrimSpace(f.Text); t != "" {
		add(`v.stem ILIKE '%' || $? || '%'`, postgres.LikeEscape(t))
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

// Statuses lists the statuses.
var Statuses = []string{StatusDraft, StatusPublished, StatusRetired}

// Get returns one question the actor may read (see List).
func (s *Service) Get(ctx context.Context, a kepu.Actor, id int64) (Question, error) {
	sc, err := s.readScope(ctx, a)
	if err != nil {
		return Question{}, err
	}
	q, err := s.get(ctx, s.DB, id)
	if err != nil {
		return Question{}, err
	}
	if sc.publishedOnly && (q.Status != StatusPublished || q.Private) {
		return Question{}, kepu.Forbidden
	}
	if sc.regions != nil && !slices.Contains(sc.regions, q.OwnerRegionID) {
		return Question{}, kepu.Forbidden
	}
	return q, nil
}

type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func (s *Service) get(ctx context.Context, db querier, id int64) (Question, error) {
	rows, _ := db.Query(ctx, selectQuestion+` WHERE q.id = $1`, id)
	q, err := pgx.CollectExactlyOneRow(rows, scanQuestion)
	if postgres.IsNotFound(err) {
		return Question{}, kepu.NotFound("error.bank_not_found")
	}
	if err != nil {
		return Question{}, fmt.Errorf("bank: get %d: %w", id, err)
	}
	return q, nil
}

// editable loads a question the actor may edit: an organizer's subtree or
// any for admins.
func (s *Service) editable(ctx context.Context, db querier, a kepu.Actor, id int64) (Question, error) {
	if !CanEdit(a) {
		return Question{}, kepu.Forbidden
	}
	q, err := s.get(ctx, db, id)
	if err != nil {
		return Question{}, err
	}
	if err := s.Org.CheckRegion(ctx, a, q.OwnerRegionID); err != nil {
		return Question{}, err
	}
	return q, nil
}

// OwnerFor is the bank new questions of the actor go to: an organizer's
// scope region, for an admin the root region (the city).
func (s *Service) OwnerFor(ctx context.Context, a kepu.Actor) (int64, error) {
	if !CanEdit(a) {
		return 0, kepu.Forbidden
	}
	if a.Role == kepu.RoleOrganizer {
		if a.ScopeRegionID == 0 {
			return 0, kepu.Forbidden
		}
		return a.ScopeRegionID, nil
	}
	var id int64
	err := s.DB.QueryRow(ctx, `SELECT id FROM regions WHERE parent_id IS NULL ORDER BY id LIMIT 1`).Scan(&id)
	if postgres.IsNotFound(err) {
		return 0, kepu.Invalid("owner", "error.bank_no_region")
	}
	if err != nil {
		return 0, fmt.Errorf("bank: owner: %w", err)
	}
	return id, nil
}

// Create validates in and stores it as a new draft in the actor's bank.
// Errors: EINVALID (the first rule broken), ECONFLICT for a duplicate stem
// or a second en version, kepu.Forbidden for teachers and participants.
func (s *Service) Create(ctx context.Context, a kepu.Actor, in Input) (Question, error) {
	owner, err := s.OwnerFor(ctx, a)
	if err != nil {
		return Question{}, err
	}
	if err := in.Validate(); err != nil {
		return Question{}, err
	}
	var id int64
	err = postgres.Tx(ctx, s.DB, func(tx pgx.Tx) error {
		if err := lockBank(ctx, tx, owner); err != nil {
			return err
		}
		if err := s.checkLinks(ctx, tx, a, owner, 0, in); err != nil {
			return err
		}
		id, err = insertQuestion(ctx, tx, owner, "", StatusDraft, in, a.UserID)
		return err
	})
	if err != nil {
		return Question{}, err
	}
	return s.get(ctx, s.DB, id)
}

// lockBank serializes the writers of one bank until the transaction ends,
// so that two concurrent saves or imports cannot both pass the duplicate
// check with the same stem.
func lockBank(ctx context.Context, tx pgx.Tx, owner int64) error {
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('kepu:bank'), $1::int)`, owner); err != nil {
		return fmt.Errorf("bank: lock bank %d: %w", owner, err)
	}
	return nil
}

// checkLinks checks what the content refers to: a unique stem in the bank
// and language, the zh-CN question an en version translates (in the same
// bank, not yet translated), the image.
func (s *Service) checkLinks(ctx context.Context, tx pgx.Tx, a kepu.Actor, owner, self int64, in Input) error {
	var dup int64
	err := tx.QueryRow(ctx, `SELECT id FROM questions WHERE owner_region_id = $1 AND lang = $2 AND stem_norm = $3 AND id <> $4 LIMIT 1`,
		owner, in.Lang, NormalizeStem(in.Stem), self).Scan(&dup)
	if err == nil {
		return kepu.Errorf(kepu.ECONFLICT, "error.bank_duplicate").With("id", dup).OnField("stem")
	}
	if !postgres.IsNotFound(err) {
		return fmt.Errorf("bank: duplicate check: %w", err)
	}
	if in.TranslationOf != 0 {
		var lang string
		var regionID, other int64
		err := tx.QueryRow(ctx, `SELECT lang, owner_region_id,
			coalesce((SELECT id FROM questions t WHERE t.translation_of = q.id AND t.lang = 'en' AND t.id <> $2), 0)
			FROM questions q WHERE id = $1`, in.TranslationOf, self).Scan(&lang, &regionID, &other)
		switch {
		case postgres.IsNotFound(err):
			return kepu.Invalid("translation_of", "error.bank_translation_missing")
		case err != nil:
			return fmt.Errorf("bank: translation check: %w", err)
		case lang != "zh-CN" || regionID != owner:
			return kepu.Invalid("translation_of", "error.bank_translation_missing")
		case other != 0:
			return kepu.Errorf(kepu.ECONFLICT, "error.bank_translation_taken").With("id", other).OnField("translation_of")
		}
	}
	if in.ImageID != 0 {
		var ok bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM images WHERE id = $1)`, in.ImageID).Scan(&ok); err != nil {
			return fmt.Errorf("bank: image check: %w", err)
		}
		if !ok {
			return kepu.Invalid("image_id", "error.bank_image_missing")
		}
	}
	return nil
}

func nullID(id int64) *int64 {
	if id == 0 {
		return nil
	}
	return &id
}

// insertQuestion stores a validated question with its first version.
func insertQuestion(ctx context.Context, tx pgx.Tx, owner int64, seedKey, status string, in Input, userID int64) (int64, error) {
	var key *string
	if seedKey != "" {
		key = &seedKey
	}
	var id int64
	// A translation of a private question is private too.
	err := tx.QueryRow(ctx, `INSERT INTO questions (owner_region_id, seed_key, lang, translation_of, status, current_version,
		type, category, dimension, difficulty, stem_norm, created_by, private)
		VALUES ($1, $2, $3, $4, $5, 1, $6, $7, $8, $9, $10, $11,
			$12 OR coalesce((SELECT o.private FROM questions o WHERE o.id = $4), false)) RETURNING id`,
		owner, key, in.Lang, nullID(in.TranslationOf), status, in.Type, in.Category, in.Dimension, in.Difficulty,
		NormalizeStem(in.Stem), nullID(userID), in.Private).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("bank: insert question: %w", err)
	}
	if err := insertVersion(ctx, tx, id, 1, in, userID); err != nil {
		return 0, err
	}
	return id, nil
}

func insertVersion(ctx context.Context, tx pgx.Tx, questionID int64, version int, in Input, userID int64) error {
	_, err := tx.Exec(ctx, `INSERT INTO question_versions (question_id, version, type, stem, options, answer, explanation,
		category, dimension, difficulty, tags, source, image_id, created_by)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
		questionID, version, in.Type, in.Stem, in.Options, in.Answer, in.Explanation, in.Category, in.Dimension,
		in.Difficulty, in.Tags, in.Source, nullID(in.ImageID), nullID(userID))
	if err != nil {
		return fmt.Errorf("bank: insert version: %w", err)
	}
	return nil
}

// Update saves new content for a question the actor may edit. Unchanged
// content changes nothing; otherwise a new version becomes current, and
// every earlier version stays as it was (attempts keep pointing at theirs).
// A question's language never changes.
func (s *Service) Update(ctx context.Context, a kepu.Actor, id int64, in Input) (Question, error) {
	err := postgres.Tx(ctx, s.DB, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT 1 FROM questions WHERE id = $1 FOR UPDATE`, id); err != nil {
			return fmt.Errorf("bank: lock: %w", err)
		}
		q, err := s.editable(ctx, tx, a, id)
		if err != nil {
			return err
		}
		in.Lang = q.Lang
		if err := in.Validate(); err != nil {
			return err
		}
		if in.Equal(q.Input) && in.TranslationOf == q.TranslationOf && in.Private == q.Private {
			return nil
		}
		if err := lockBank(ctx, tx, q.OwnerRegionID); err != nil {
			return err
		}
		if err := s.checkLinks(ctx, tx, a, q.OwnerRegionID, id, in); err != nil {
			return err
		}
		return updateQuestion(ctx, tx, q, in, a.UserID)
	})
	if err != nil {
		return Question{}, err
	}
	return s.get(ctx, s.DB, id)
}

func updateQuestion(ctx context.Context, tx pgx.Tx, q Question, in Input, userID int64) error {
	next := q.Version + 1
	if !in.Equal(q.Input) {
		if err := insertVersion(ctx, tx, q.ID, next, in, userID); err != nil {
			return err
		}
	} else {
		next = q.Version
	}
	// Privacy follows the original: a translation of a private question is
	// private, and an original's translations follow it.
	_, err := tx.Exec(ctx, `UPDATE questions SET current_version = $2, translation_of = $3, type = $4, category = $5,
		dimension = $6, difficulty = $7, stem_norm = $8, updated_at = now(),
		private = $9 OR coalesce((SELECT o.private FROM questions o WHERE o.id = $3), false) WHERE id = $1`,
		q.ID, next, nullID(in.TranslationOf), in.Type, in.Category, in.Dimension, in.Difficulty, NormalizeStem(in.Stem), in.Private)
	if err != nil {
		return fmt.Errorf("bank: update question %d: %w", q.ID, err)
	}
	if _, err := tx.Exec(ctx, `UPDATE questions SET private = $2, updated_at = now() WHERE translation_of = $1 AND private <> $2`,
		q.ID, in.Private); err != nil {
		return fmt.Errorf("bank: update question %d: translations: %w", q.ID, err)
	}
	return nil
}

// SetStatus moves the questions to status (publish, retire, back to
// draft) in one transaction and returns how many changed. Every id must be
// one the actor may edit, or nothing changes (kepu.Forbidden / ENOTFOUND).
// Retired questions keep their versions; they only leave new draws.
func (s *Service) SetStatus(ctx context.Context, a kepu.Actor, ids []int64, status string) (int, error) {
	if !slices.Contains(Statuses, status) {
		return 0, kepu.Invalid("status", "error.bank_status")
	}
	if len(ids) == 0 || len(ids) > MaxListLimit {
		return 0, kepu.Invalid("ids", "error.bank_ids").With("max", MaxListLimit)
	}
	n := 0
	err := postgres.Tx(ctx, s.DB, func(tx pgx.Tx) error {
		for _, id := range ids {
			if _, err := s.editable(ctx, tx, a, id); err != nil {
				return err
			}
		}
		tag, err := tx.Exec(ctx, `UPDATE questions SET status = $2, updated_at = now() WHERE id = ANY($1) AND status <> $2`, ids, status)
		if err != nil {
			return fmt.Errorf("bank: set status: %w", err)
		}
		n = int(tag.RowsAffected())
		return nil
	})
	return n, err
}

const selectVersion = `SELECT v.id, v.question_id, v.version, v.created_at, q.lang, v.type, v.stem, v.options, v.answer,
	v.explanation, v.category, v.dimension, v.difficulty, v.tags, v.source, coalesce(v.image_id, 0)
	FROM question_versions v JOIN questions q ON q.id = v.question_id`

func scanVersion(row pgx.CollectableRow) (Version, error) {
	var v Version
	err := row.Scan(&v.ID, &v.QuestionID, &v.Version, &v.CreatedAt, &v.Lang, &v.Type, &v.Stem, &v.Options, &v.Answer,
		&v.Explanation, &v.Category, &v.Dimension, &v.Difficulty, &v.Tags, &v.Source, &v.ImageID)
	return v, err
}

// History returns every version of a question the actor may read, newest
// first.
func (s *Service) History(ctx context.Context, a kepu.Actor, id int64) ([]Version, error) {
	if _, err := s.Get(ctx, a, id); err != nil {
		return nil, err
	}
	rows, _ := s.DB.Query(ctx, selectVersion+` WHERE v.question_id = $1 ORDER BY v.version DESC`, id)
	out, err := pgx.CollectRows(rows, scanVersion)
	if err != nil {
		return nil, fmt.Errorf("bank: history %d: %w", id, err)
	}
	return out, nil
}

// Version returns one exact version by question_versions.id, whatever the
// question's status now, for campaigns and contests that showed it. It
// holds the answer key: callers decide who may see it. ENOTFOUND when
// there is no such version.
func (s *Service) Version(ctx context.Context, versionID int64) (Version, error) {
	rows, _ := s.DB.Query(ctx, selectVersion+` WHERE v.id = $1`, versionID)
	v, err := pgx.CollectExactlyOneRow(rows, scanVersion)
	if postgres.IsNotFound(err) {
		return Version{}, kepu.NotFound("error.bank_not_found")
	}
	if err != nil {
		return Version{}, fmt.Errorf("bank: version %d: %w", versionID, err)
	}
	return v, nil
}

// Candidate is a published question that a draw may pick, at its current
// version.
type Candidate struct {
	QuestionID int64 `json:"question_id"`
	VersionID  int64 `json:"version_id"`
}

// Candidates lists the published questions matching f (Status is ignored,
// Limit/Offset too), in id order, with their current version ids. Banks are
// not filtered: every published question may be drawn, except private ones
// (only private-pool campaigns draw those).
func (s *Service) Candidates(ctx context.Context, f Filter) ([]Candidate, error) {
	f.Status = StatusPublished
	f.noPrivate = true
	f.Limit = 1
	if err := f.check(); err != nil {
		return nil, err
	}
	where, args := f.where(nil)
	rows, _ := s.DB.Query(ctx, `SELECT q.id, v.id FROM questions q
		JOIN question_versions v ON v.question_id = q.id AND v.version = q.current_version`+where+` ORDER BY q.id`, args...)
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[Candidate])
	if err != nil {
		return nil, fmt.Errorf("bank: candidates: %w", err)
	}
	return out, nil
}
