// Package org owns the organization tree (city → district/county →
// township/street), schools and classes, and the scope rules that decide
// which of them an actor may see or manage:
//
//   - an admin sees everything;
//   - an organizer sees the region subtree rooted at their scope region;
//   - a teacher sees the classes they teach (and their schools, read-only);
//   - a participant sees only public lists (regions, schools for sign-up).
package org

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kepu/kepu/internal/audit"
	"github.com/kepu/kepu/internal/kepu"
	"github.com/kepu/kepu/internal/postgres"
)

// Region is one node of the tree.
type Region struct {
	ID       int64  `json:"id"`
	ParentID int64  `json:"parent_id,omitempty"`
	Kind     string `json:"kind"`
	Name     string `json:"name"`
	Code     string `json:"code"`
	Path     string `json:"-"`
}

// School belongs to a district.
type School struct {
	ID         int64  `json:"id"`
	RegionID   int64  `json:"region_id"`
	RegionName string `json:"region_name"`
	Name       string `json:"name"`
}

// Class belongs to a school and has (at most) one teacher.
type Class struct {
	ID          int64  `json:"id"`
	SchoolID    int64  `json:"school_id"`
	SchoolName  string `json:"school_name"`
	RegionID    int64  `json:"region_id"`
	Name        string `json:"name"`
	Grade       int    `json:"grade,omitempty"`
	TeacherID   int64  `json:"teacher_id,omitempty"`
	TeacherName string `json:"teacher_name,omitempty"`
	Pupils      int    `json:"pupils"`
}

// Service is the organization service.
type Service struct{ DB *pgxpool.Pool }

// Regions returns the whole tree in display order: the city's official
// order (regions.sort, migrations/00210_region_order.sql), each district
// followed by its townships.
func (s *Service) Regions(ctx context.Context) ([]Region, error) {
	rows, _ := s.DB.Query(ctx, `SELECT id, coalesce(parent_id, 0), kind, name, code, path FROM regions ORDER BY region_order(path), id`)
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[Region])
	if err != nil {
		return nil, fmt.Errorf("org: regions: %w", err)
	}
	return out, nil
}

// Region returns one region.
func (s *Service) Region(ctx context.Context, id int64) (Region, error) {
	var r Region
	err := s.DB.QueryRow(ctx, `SELECT id, coalesce(parent_id, 0), kind, name, code, path FROM regions WHERE id = $1`, id).
		Scan(&r.ID, &r.ParentID, &r.Kind, &r.Name, &r.Code, &r.Path)
	if postgres.IsNotFound(err) {
		return Region{}, kepu.NotFound("error.region_not_found")
	}
	if err != nil {
		return Region{}, fmt.Errorf("org: region %d: %w", id, err)
	}
	return r, nil
}

// EnsureRegion creates or updates the region with code (used by seed) and
// returns its id.
func (s *Service) EnsureRegion(ctx context.Context, parentID int64, kind, code, name string, sort int) (int64, error) {
	var id int64
	err := postgres.Tx(ctx, s.DB, func(tx pgx.Tx) error {
		var parent *int64
		parentPath := "/"
		if parentID != 0 {
			parent = &parentID
			if err := tx.QueryRow(ctx, `SELECT path FROM regions WHERE id = $1`, parentID).Scan(&parentPath); err != nil {
				return fmt.Errorf("parent: %w", err)
			}
		}
		err := tx.QueryRow(ctx, `INSERT INTO regions (parent_id, kind, code, name, sort) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, kind = EXCLUDED.kind, sort = EXCLUDED.sort
			RETURNING id`, parent, kind, code, name, sort).Scan(&id)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE regions SET path = $2 WHERE id = $1`, id, parentPath+strconv.FormatInt(id, 10)+"/")
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("org: ensure region %s: %w", code, err)
	}
	return id, nil
}

// EnsureSchool creates the school name in regionID unless it exists (used
// by seed and its volume generator; no actor, no audit) and returns its id.
func (s *Service) EnsureSchool(ctx context.Context, regionID int64, name string) (int64, error) {
	var id int64
	err := s.DB.QueryRow(ctx, `INSERT INTO schools (region_id, name) VALUES ($1, $2)
		ON CONFLICT (region_id, name) DO UPDATE SET name = EXCLUDED.name RETURNING id`, regionID, name).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("org: ensure school %s: %w", name, err)
	}
	return id, nil
}

// EnsureClass creates the class name of grade in schoolID, or sets the
// grade of the one that exists (used by seed's volume generator; no actor,
// no audit), and returns its id.
func (s *Service) EnsureClass(ctx context.Context, schoolID int64, name string, grade int) (int64, error) {
	var id int64
	err := s.DB.QueryRow(ctx, `INSERT INTO classes (school_id, name, grade) VALUES ($1, $2, $3)
		ON CONFLICT (school_id, name) DO UPDATE SET grade = EXCLUDED.grade RETURNING id`, schoolID, name, grade).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("org: ensure class %s: %w", name, err)
	}
	return id, nil
}

// inScope reports whether the region with path lies in the organizer's subtree.
func (s *Service) inScope(ctx context.Context, a kepu.Actor, regionID int64) (bool, error) {
	if a.IsAdmin() {
		return true, nil
	}
	if a.Role != kepu.RoleOrganizer || a.ScopeRegionID == 0 {
		return false, nil
	}
	var ok bool
	err := s.DB.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM regions r, regions root
		WHERE r.id = $1 AND root.id = $2 AND r.path LIKE root.path || '%')`, regionID, a.ScopeRegionID).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("org: scope: %w", err)
	}
	return ok, nil
}

// CheckRegion returns kepu.Forbidden unless the actor may manage the region.
func (s *Service) CheckRegion(ctx context.Context, a kepu.Actor, regionID int64) error {
	ok, err := s.inScope(ctx, a, regionID)
	if err != nil {
		return err
	}
	if !ok {
		return kepu.Forbidden
	}
	return nil
}

// ScopeRegionIDs returns the ids of every region the actor may manage, or
// nil for an admin (everything).
func (s *Service) ScopeRegionIDs(ctx context.Context, a kepu.Actor) ([]int64, error) {
	if a.IsAdmin() {
		return nil, nil
	}
	if a.Role != kepu.RoleOrganizer || a.ScopeRegionID == 0 {
		return []int64{}, nil
	}
	rows, _ := s.DB.Query(ctx, `SELECT r.id FROM regions r, regions root
		WHERE root.id = $1 AND r.path LIKE root.path || '%'`, a.ScopeRegionID)
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("org: scope regions: %w", err)
	}
	return ids, nil
}

func cleanName(field, s string, max int) (string, error) {
	s = strings.Join(strings.Fields(s), " ")
	if n := utf8.RuneCountInString(s); n < 1 || n > max {
		return "", kepu.Invalid(field, "error.name_length").With("max", max)
	}
	return s, nil
}

// Schools lists the schools the actor may see: all for admins and for
// participants choosing theirs, the subtree's for organizers, the schools of
// their classes for teachers. regionID filters when non-zero.
func (s *Service) Schools(ctx context.Context, a kepu.Actor, regionID int64) ([]School, error) {
	q := `SELECT s.id, s.region_id, r.name, s.name FROM schools s JOIN regions r ON r.id = s.region_id WHERE ($1::bigint = 0 OR s.region_id = $1)`
	args := []any{regionID}
	switch {
	case a.Role == kepu.RoleOrganizer:
		q += ` AND r.path LIKE (SELECT path FROM regions WHERE id = $2) || '%'`
		args = append(args, a.ScopeRegionID)
	case a.Role == kepu.RoleTeacher:
		q += ` AND s.id IN (SELECT school_id FROM classes WHERE teacher_id = $2)`
		args = append(args, a.UserID)
	}
	rows, _ := s.DB.Query(ctx, q+` ORDER BY region_order(r.path), s.name`, args...)
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[School])
	if err != nil {
		return nil, fmt.Errorf("org: schools: %w", err)
	}
	return out, nil
}

// School returns one school (no scope check: school names are public).
func (s *Service) School(ctx context.Context, id int64) (School, error) {
	var sc School
	err := s.DB.QueryRow(ctx, `SELECT s.id, s.region_id, r.name, s.name FROM schools s JOIN regions r ON r.id = s.region_id WHERE s.id = $1`, id).
		Scan(&sc.ID, &sc.RegionID, &sc.RegionName, &sc.Name)
	if postgres.IsNotFound(err) {
		return School{}, kepu.NotFound("error.school_not_found")
	}
	if err != nil {
		return School{}, fmt.Errorf("org: school %d: %w", id, err)
	}
	return sc, nil
}

// CreateSchool adds a school to a district in the actor's scope.
func (s *Service) CreateSchool(ctx context.Context, a kepu.Actor, regionID int64, name string) (School, error) {
	name, err := cleanName("name", name, 80)
	if err != nil {
		return School{}, err
	}
	r, err := s.Region(ctx, regionID)
	if err != nil {
		return School{}, err
	}
	if r.Kind == "city" {
		return School{}, kepu.Invalid("region_id", "error.region_required")
	}
	if err := s.CheckRegion(ctx, a, regionID); err != nil {
		return School{}, err
	}
	var id int64
	err = postgres.Tx(ctx, s.DB, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `INSERT INTO schools (region_id, name) VALUES ($1, $2) RETURNING id`, regionID, name).Scan(&id)
		if postgres.IsUniqueViolation(err, "") {
			return kepu.Errorf(kepu.ECONFLICT, "error.school_exists").OnField("name")
		}
		if err != nil {
			return fmt.Errorf("org: create school: %w", err)
		}
		return audit.Record(ctx, tx, a.UserID, "school.create", SchoolTarget(id),
			map[string]any{"name": name, "region_id": regionID}, a.IP)
	})
	if err != nil {
		return School{}, err
	}
	return s.School(ctx, id)
}

const classSelect = `SELECT c.id, c.school_id, s.name, s.region_id, c.name, coalesce(c.grade, 0), coalesce(c.teacher_id, 0),
	coalesce(t.nickname, ''), (SELECT count(*) FROM users p WHERE p.class_id = c.id AND p.deleted_at IS NULL AND p.role = 'participant')::int
	FROM classes c JOIN schools s ON s.id = c.school_id JOIN regions r ON r.id = s.region_id LEFT JOIN users t ON t.id = c.teacher_id`

// Classes lists the classes the actor may manage: a teacher's own, an
// organizer's subtree, everything for admins. schoolID filters when non-zero.
func (s *Service) Classes(ctx context.Context, a kepu.Actor, schoolID int64) ([]Class, error) {
	return s.classes(ctx, a, `($1::bigint = 0 OR c.school_id = $1)`, schoolID)
}

// ClassesByID returns those of the classes with ids that the actor may
// manage (the others are left out), ordered as Classes orders them.
func (s *Service) ClassesByID(ctx context.Context, a kepu.Actor, ids []int64) ([]Class, error) {
	if ids == nil {
		ids = []int64{}
	}
	return s.classes(ctx, a, `c.id = ANY($1)`, ids)
}

// classes lists the classes matching filter (on $1 = arg) that the actor may manage.
func (s *Service) classes(ctx context.Context, a kepu.Actor, filter string, arg any) ([]Class, error) {
	q := classSelect + ` WHERE ` + filter
	args := []any{arg}
	switch a.Role {
	case kepu.RoleAdmin:
	case kepu.RoleOrganizer:
		q += ` AND r.path LIKE (SELECT path FROM regions WHERE id = $2) || '%'`
		args = append(args, a.ScopeRegionID)
	case kepu.RoleTeacher:
		q += ` AND c.teacher_id = $2`
		args = append(args, a.UserID)
	default:
		return nil, kepu.Forbidden
	}
	rows, _ := s.DB.Query(ctx, q+` ORDER BY s.name, c.grade, c.name`, args...)
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[Class])
	if err != nil {
		return nil, fmt.Errorf("org: classes: %w", err)
	}
	return out, nil
}

// Class returns one class if the actor may manage it, kepu.Forbidden otherwise.
func (s *Service) Class(ctx context.Context, a kepu.Actor, id int64) (Class, error) {
	var c Class
	err := s.DB.QueryRow(ctx, classSelect+` WHERE c.id = $1`, id).Scan(&c.ID, &c.SchoolID, &c.SchoolName, &c.RegionID,
		&c.Name, &c.Grade, &c.TeacherID, &c.TeacherName, &c.Pupils)
	if postgres.IsNotFound(err) {
		return Class{}, kepu.NotFound("error.class_not_found")
	}
	if err != nil {
		return Class{}, fmt.Errorf("org: class %d: %w", id, err)
	}
	if err := s.CheckClass(ctx, a, c); err != nil {
		return Class{}, err
	}
	return c, nil
}

// CheckClass returns kepu.Forbidden unless the actor may manage the class.
func (s *Service) CheckClass(ctx context.Context, a kepu.Actor, c Class) error {
	switch a.Role {
	case kepu.RoleAdmin:
		return nil
	case kepu.RoleTeacher:
		if c.TeacherID == a.UserID {
			return nil
		}
		return kepu.Forbidden
	case kepu.RoleOrganizer:
		return s.CheckRegion(ctx, a, c.RegionID)
	}
	return kepu.Forbidden
}

// ClassInput creates or edits a class.
type ClassInput struct {
	SchoolID  int64  `json:"school_id"`
	Name      string `json:"name"`
	Grade     int    `json:"grade"`
	TeacherID int64  `json:"teacher_id"`
}

// CreateClass adds a class to a school in the organizer's scope. A teacher
// may create a class in a school where they already teach, as its teacher.
func (s *Service) CreateClass(ctx context.Context, a kepu.Actor, in ClassInput) (Class, error) {
	name, err := cleanName("name", in.Name, 40)
	if err != nil {
		return Class{}, err
	}
	if in.Grade < 0 || in.Grade > 12 {
		return Class{}, kepu.Invalid("grade", "error.grade")
	}
	sc, err := s.School(ctx, in.SchoolID)
	if err != nil {
		return Class{}, err
	}
	switch a.Role {
	case kepu.RoleTeacher:
		in.TeacherID = a.UserID
		var ok bool
		if err := s.DB.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM classes WHERE school_id = $1 AND teacher_id = $2)`,
			sc.ID, a.UserID).Scan(&ok); err != nil {
			return Class{}, fmt.Errorf("org: create class: %w", err)
		}
		if !ok {
			return Class{}, kepu.Forbidden
		}
	default:
		if err := s.CheckRegion(ctx, a, sc.RegionID); err != nil {
			return Class{}, err
		}
	}
	if in.TeacherID != 0 {
		var role string
		err := s.DB.QueryRow(ctx, `SELECT role FROM users WHERE id = $1 AND deleted_at IS NULL`, in.TeacherID).Scan(&role)
		if postgres.IsNotFound(err) || (err == nil && role != "teacher") {
			return Class{}, kepu.Invalid("teacher_id", "error.teacher_invalid")
		}
		if err != nil {
			return Class{}, fmt.Errorf("org: create class: teacher: %w", err)
		}
	}
	var id int64
	err = postgres.Tx(ctx, s.DB, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `INSERT INTO classes (school_id, name, grade, teacher_id) VALUES ($1, $2, nullif($3, 0), nullif($4, 0)) RETURNING id`,
			sc.ID, name, in.Grade, in.TeacherID).Scan(&id)
		if postgres.IsUniqueViolation(err, "") {
			return kepu.Errorf(kepu.ECONFLICT, "error.class_exists").OnField("name")
		}
		if err != nil {
			return fmt.Errorf("org: create class: %w", err)
		}
		return audit.Record(ctx, tx, a.UserID, "class.create", ClassTarget(id),
			map[string]any{"name": name, "school_id": sc.ID, "grade": in.Grade, "teacher_id": in.TeacherID}, a.IP)
	})
	if err != nil {
		return Class{}, err
	}
	return s.Class(ctx, a, id)
}

// SetTeacher assigns a class to a teacher (organizers and admins).
func (s *Service) SetTeacher(ctx context.Context, a kepu.Actor, classID, teacherID int64) (Class, error) {
	c, err := s.Class(ctx, a, classID)
	if err != nil {
		return Class{}, err
	}
	if a.Role == kepu.RoleTeacher {
		return Class{}, kepu.Forbidden
	}
	var role string
	err = s.DB.QueryRow(ctx, `SELECT role FROM users WHERE id = $1 AND deleted_at IS NULL`, teacherID).Scan(&role)
	if postgres.IsNotFound(err) || (err == nil && role != "teacher") {
		return Class{}, kepu.Invalid("teacher_id", "error.teacher_invalid")
	}
	if err != nil {
		return Class{}, fmt.Errorf("org: set teacher: %w", err)
	}
	err = postgres.Tx(ctx, s.DB, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE classes SET teacher_id = $2 WHERE id = $1`, c.ID, teacherID); err != nil {
			return fmt.Errorf("org: set teacher: %w", err)
		}
		return audit.Record(ctx, tx, a.UserID, "class.teacher", ClassTarget(c.ID),
			map[string]any{"from": c.TeacherID, "to": teacherID}, a.IP)
	})
	if err != nil {
		return Class{}, err
	}
	return s.Class(ctx, a, c.ID)
}

// SchoolTarget names a school in the audit log.
func SchoolTarget(id int64) string { return "school:" + strconv.FormatInt(id, 10) }

// ClassTarget names a class in the audit log.
func ClassTarget(id int64) string { return "class:" + strconv.FormatInt(id, 10) }

// CheckClassViewer returns kepu.Forbidden unless the actor may see who is
// in the class (its leaderboard): a member (the actor's class), its
// teacher, an organizer whose scope holds its school, or an admin. An
// unknown class is kepu.Forbidden too, so ids reveal nothing.
func (s *Service) CheckClassViewer(ctx context.Context, a kepu.Actor, classID int64) error {
	if a.IsAdmin() || (a.ClassID != 0 && a.ClassID == classID) {
		return nil
	}
	var teacher, region int64
	err := s.DB.QueryRow(ctx, `SELECT coalesce(c.teacher_id, 0), sc.region_id FROM classes c JOIN schools sc ON sc.id = c.school_id
		WHERE c.id = $1`, classID).Scan(&teacher, &region)
	if postgres.IsNotFound(err) {
		return kepu.Forbidden
	}
	if err != nil {
		return fmt.Errorf("org: class viewer: %w", err)
	}
	if a.Role == kepu.RoleTeacher && teacher == a.UserID {
		return nil
	}
	return s.CheckRegion(ctx, a, region)
}

// CheckSchoolViewer is CheckClassViewer for a whole school: its members,
// the teachers of its classes, organizers in scope and admins.
func (s *Service) CheckSchoolViewer(ctx context.Context, a kepu.Actor, schoolID int64) error {
	if a.IsAdmin() || (a.SchoolID != 0 && a.SchoolID == schoolID) {
		return nil
	}
	var region int64
	var teaches bool
	err := s.DB.QueryRow(ctx, `SELECT sc.region_id, EXISTS (SELECT 1 FROM classes c WHERE c.school_id = sc.id AND c.teacher_id = $2)
		FROM schools sc WHERE sc.id = $1`, schoolID, a.UserID).Scan(&region, &teaches)
	if postgres.IsNotFound(err) {
		return kepu.Forbidden
	}
	if err != nil {
		return fmt.Errorf("org: school viewer: %w", err)
	}
	if a.Role == kepu.RoleTeacher && teaches {
		return nil
	}
	return s.CheckRegion(ctx, a, region)
}

// Names returns the names of the given regions, schools and classes (a
// class as "school class"), by id; ids that name nothing are left out.
// It reads only: for pages that name a campaign's audience.
func (s *Service) Names(ctx context.Context, regions, schools, classes []int64) (map[int64]string, map[int64]string, map[int64]string, error) {
	out := [3]map[int64]string{{}, {}, {}}
	queries := [3]string{
		`SELECT id, name FROM regions WHERE id = ANY($1)`,
		`SELECT id, name FROM schools WHERE id = ANY($1)`,
		`SELECT c.id, s.name || ' ' || c.name FROM classes c JOIN schools s ON s.id = c.school_id WHERE c.id = ANY($1)`,
	}
	for i, ids := range [3][]int64{regions, schools, classes} {
		if len(ids) == 0 {
			continue
		}
		rows, _ := s.DB.Query(ctx, queries[i], ids)
		var id int64
		var name string
		if _, err := pgx.ForEachRow(rows, []any{&id, &name}, func() error { out[i][id] = name; return nil }); err != nil {
			return nil, nil, nil, fmt.Errorf("org: names: %w", err)
		}
	}
	return out[0], out[1], out[2], nil
}
