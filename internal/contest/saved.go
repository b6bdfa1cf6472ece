package contest

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kepu/kepu/internal/kepu"
	"github.com/kepu/kepu/internal/postgres"
)

// Saved contests are edited, duplicated and deleted by their owner (and
// admins). A run never depends on its contest's questions as they are now:
// it plays (and its results show) the snapshot taken when its room opened
// (contest_runs.questions), so none of these changes a run, live or played.

// EditQuestion is one question of an edited contest, in its new order.
type EditQuestion struct {
	QuestionID int64 `json:"question_id"`
	Practice   bool  `json:"practice"`
}

// EditContest replaces a saved contest's title, settings and questions.
// A question the contest already holds keeps the version it was saved
// with (the host reorders what they reviewed); a new one takes the bank's
// current published version.
type EditContest struct {
	Title     string         `json:"title"`
	Settings  SettingsInput  `json:"settings"`
	Questions []EditQuestion `json:"questions"`
}

// owned locks contest id for an edit by the actor: not found when it does
// not exist or was deleted, Forbidden unless the actor owns it or is an
// admin.
func owned(ctx context.Context, tx pgx.Tx, a kepu.Actor, id int64) error {
	if !CanHost(a) {
		return kepu.Forbidden
	}
	var owner int64
	err := tx.QueryRow(ctx, `SELECT owner_id FROM contests WHERE id = $1 AND deleted_at IS NULL FOR UPDATE`, id).Scan(&owner)
	if postgres.IsNotFound(err) {
		return kepu.NotFound("error.contest_not_found")
	}
	if err != nil {
		return err
	}
	if owner != a.UserID && !a.IsAdmin() {
		return kepu.Forbidden
	}
	return nil
}

// Update saves an edit of contest id: reordering its questions is an
// edit with the same questions in another order.
func (s *Service) Update(ctx context.Context, a kepu.Actor, id int64, in EditContest) (Contest, error) {
	if !CanHost(a) {
		return Contest{}, kepu.Forbidden
	}
	title, set, err := s.head(ctx, a, in.Title, in.Settings)
	if err != nil {
		return Contest{}, err
	}
	if len(in.Questions) == 0 {
		return Contest{}, kepu.Invalid("questions", "error.contest_no_questions")
	}
	ids := make([]int64, len(in.Questions))
	for i, q := range in.Questions {
		ids[i] = q.QuestionID
	}
	if len(ids) > MaxQuestions {
		return Contest{}, kepu.Invalid("questions", "error.contest_too_many").With("max", MaxQuestions)
	}
	err = postgres.Tx(ctx, s.DB, func(tx pgx.Tx) error {
		if err := owned(ctx, tx, a, id); err != nil {
			return err
		}
		// The versions the contest holds, by bank question.
		kept := map[int64]int64{}
		rows, _ := tx.Query(ctx, `SELECT v.question_id, v.id FROM contest_questions cq
			JOIN question_versions v ON v.id = cq.question_version_id WHERE cq.contest_id = $1`, id)
		var qid, vid int64
		if _, err := pgxForEach(rows, []any{&qid, &vid}, func() { kept[qid] = vid }); err != nil {
			return err
		}
		var fresh []int64
		for _, q := range ids {
			if _, ok := kept[q]; !ok {
				fresh = append(fresh, q)
			}
		}
		seen := map[int64]bool{}
		for _, q := range ids {
			if seen[q] {
				return kepu.Invalid("questions", "error.contest_duplicate_question")
			}
			seen[q] = true
		}
		if len(fresh) > 0 {
			vs, err := s.currentVersions(ctx, fresh)
			if err != nil {
				return err
			}
			for i, q := range fresh {
				kept[q] = vs[i]
			}
		}
		// The invited accounts of a final are not the host's to edit.
		if err := tx.QueryRow(ctx, `SELECT coalesce(settings->'invited', 'null') FROM contests WHERE id = $1`, id).Scan(&set.Invited); err != nil {
			return err
		}
		setJSON, _ := json.Marshal(set)
		if _, err := tx.Exec(ctx, `UPDATE contests SET title = $2, settings = $3, updated_at = now() WHERE id = $1`,
			id, title, setJSON); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM contest_questions WHERE contest_id = $1`, id); err != nil {
			return err
		}
		versions, practice := make([]int64, len(ids)), make([]bool, len(ids))
		for i, q := range in.Questions {
			versions[i], practice[i] = kept[q.QuestionID], q.Practice
		}
		_, err := tx.Exec(ctx, `INSERT INTO contest_questions (contest_id, position, question_version_id, practice)
			SELECT $1, t.ord - 1, t.v, t.p FROM unnest($2::bigint[], $3::boolean[]) WITH ORDINALITY AS t(v, p, ord)`,
			id, versions, practice)
		return err
	})
	if err != nil {
		return Contest{}, fmt.Errorf("contest: update %d: %w", id, err)
	}
	return s.Get(ctx, a, id)
}

// Duplicate saves a copy of contest id, owned by the actor, under title
// (the caller words "copy of …" in the host's language).
func (s *Service) Duplicate(ctx context.Context, a kepu.Actor, id int64, title string) (Contest, error) {
	title, err := cleanTitle(title)
	if err != nil {
		return Contest{}, err
	}
	var c Contest
	err = postgres.Tx(ctx, s.DB, func(tx pgx.Tx) error {
		if err := owned(ctx, tx, a, id); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `INSERT INTO contests (owner_id, title, settings)
			SELECT $2, $3, settings FROM contests WHERE id = $1 RETURNING id`, id, a.UserID, title).Scan(&c.ID); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO contest_questions (contest_id, position, question_version_id, practice)
			SELECT $2, position, question_version_id, practice FROM contest_questions WHERE contest_id = $1`, id, c.ID)
		return err
	})
	if err != nil {
		return Contest{}, fmt.Errorf("contest: duplicate %d: %w", id, err)
	}
	return s.Get(ctx, a, c.ID)
}

// Deleted says what Delete did.
type Deleted struct {
	// Runs is how many runs of the contest stay in the history (0: the
	// contest itself is gone).
	Runs int `json:"runs"`
}

// Delete removes contest id from its owner's list. A contest that was
// played stays in the database, marked deleted, so that its runs keep
// their history (results, exports, dashboards) and a live run goes on; one
// never played is deleted with its questions.
func (s *Service) Delete(ctx context.Context, a kepu.Actor, id int64) (Deleted, error) {
	var d Deleted
	err := postgres.Tx(ctx, s.DB, func(tx pgx.Tx) error {
		if err := owned(ctx, tx, a, id); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM contest_runs WHERE contest_id = $1`, id).Scan(&d.Runs); err != nil {
			return err
		}
		if d.Runs == 0 {
			_, err := tx.Exec(ctx, `DELETE FROM contests WHERE id = $1`, id)
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE contests SET deleted_at = $2 WHERE id = $1`, id, time.Now())
		return err
	})
	if err != nil {
		return Deleted{}, fmt.Errorf("contest: delete %d: %w", id, err)
	}
	return d, nil
}
