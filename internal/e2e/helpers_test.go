package e2e_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/kepu/kepu/internal/apptest"
	"github.com/kepu/kepu/internal/campaign"
	"github.com/kepu/kepu/internal/e2e"
)

// login signs in through the login page (same as b.Login).
func login(b *e2e.Browser, username, password string) { b.Login(username, password) }

// demoPassword returns the password the seed gave a demo account.

// campaignOf makes the bank hold only n single-choice questions whose
// answer is 乙 (explanation 因为乙是对的) and adds a campaign of the city
// with rules (validated), open from an hour ago for a day, in status.
func campaignOf(t *testing.T, b *e2e.Browser, title, description, status string, n int, rules campaign.Rules) int64 {
	t.Helper()
	ctx := context.Background()
	db := b.Inst.DB.Pool
	if _, err := db.Exec(ctx, `UPDATE questions SET status = 'retired' WHERE seed_key IS NOT NULL`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, `
		WITH q AS (
			INSERT INTO questions (owner_region_id, status, type, category, dimension, difficulty, stem_norm)
			SELECT $1, 'published', 'single', 'life', 'knowledge', 2, 'camp-e2e' || i FROM generate_series(1, $2) i RETURNING id)
		INSERT INTO question_versions (question_id, version, type, stem, options, answer, explanation, category, dimension, difficulty)
		SELECT id, 1, 'single', '活动题' || id || '：哪一项正确？', '["甲","乙","丙","丁"]', '{1}', '因为乙是对的', 'life', 'knowledge', 2 FROM q`,
		b.Inst.Seed.CityID, n); err != nil {
		t.Fatalf("insert questions: %v", err)
	}
	in := campaign.Input{Title: title, Description: description, StartsAt: time.Now().Add(-time.Hour),
		EndsAt: time.Now().Add(24 * time.Hour), Rules: rules}
	if err := in.Validate(); err != nil {
		t.Fatal(err)
	}
	var id int64
	if err := db.QueryRow(ctx, `INSERT INTO campaigns (title, description, region_id, status, starts_at, ends_at, settings)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`, in.Title, in.Description, b.Inst.Seed.CityID, status,
		in.StartsAt, in.EndsAt, in.Rules).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

// rightChoices returns the shown positions of the right options of every
// question of attempt att, by seq (from the database).
func rightChoices(t testing.TB, inst *apptest.Instance, att int64) map[int][]int {
	t.Helper()
	rows, err := inst.DB.Pool.Query(context.Background(), `SELECT s.seq, s.perm, v.answer FROM campaign_attempt_questions s
		JOIN question_versions v ON v.id = s.question_version_id WHERE s.attempt_id = $1`, att)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[int][]int{}
	for rows.Next() {
		var seq int
		var perm, key []int
		if err := rows.Scan(&seq, &perm, &key); err != nil {
			t.Fatal(err)
		}
		out[seq] = []int{}
		for pos, o := range perm {
			if slices.Contains(key, o) {
				out[seq] = append(out[seq], pos)
			}
		}
	}
	return out
}
