package bank

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kepu/kepu/internal/postgres"
)

//go:embed seed/*.json
var seedFiles embed.FS

// SeedQuestion is one entry of the shipped bank (internal/bank/seed/FORMAT.md).
type SeedQuestion struct {
	Key        string    `json:"key"`
	Type       string    `json:"type"`
	Category   string    `json:"category"`
	Dimension  string    `json:"dimension"`
	Difficulty int       `json:"difficulty"`
	Tags       []string  `json:"tags"`
	Answer     []int     `json:"answer"`
	Source     string    `json:"source"`
	Zh         SeedText  `json:"zh"`
	En         *SeedText `json:"en,omitempty"`
}

// SeedText is the language-specific part of a seed question.
type SeedText struct {
	Stem        string   `json:"stem"`
	Options     []string `json:"options"`
	Explanation string   `json:"explanation"`
}

// Input returns the question in lang ("zh-CN" or "en"; en only when the
// entry has an English version).
func (q SeedQuestion) Input(lang string) Input {
	t := q.Zh
	if lang == "en" && q.En != nil {
		t = *q.En
	}
	in := Input{Lang: lang, Type: q.Type, Stem: t.Stem, Options: slices.Clone(t.Options), Answer: slices.Clone(q.Answer),
		Explanation: t.Explanation, Category: q.Category, Dimension: q.Dimension, Difficulty: q.Difficulty,
		Tags: slices.Clone(q.Tags), Source: q.Source}
	in.Normalize()
	return in
}

// SeedBank returns the shipped questions of every seed file, by key order.
func SeedBank() ([]SeedQuestion, error) {
	files, err := fs.Glob(seedFiles, "seed/*.json")
	if err != nil {
		return nil, err
	}
	var out []SeedQuestion
	for _, f := range files {
		b, err := seedFiles.ReadFile(f)
		if err != nil {
			return nil, err
		}
		dec := json.NewDecoder(strings.NewReader(string(b)))
		dec.DisallowUnknownFields()
		var qs []SeedQuestion
		if err := dec.Decode(&qs); err != nil {
			return nil, fmt.Errorf("bank: seed file %s: %w", f, err)
		}
		out = append(out, qs...)
	}
	slices.SortFunc(out, func(a, b SeedQuestion) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}

// SeedResult counts what a seed run changed.
type SeedResult struct {
	Inserted, Updated, Unchanged int
}

// enKey is the seed_key of the en version of the seed question key.
func enKey(key string) string { return key + ".en" }

// Seed loads the shipped bank into the bank of ownerRegionID (the city):
// each zh-CN question and its linked en version, published. It is
// idempotent by seed_key: a question whose content changed gets a new
// version, others are left alone (their status too, so a retired seed
// question stays retired). Concurrent runs serialize on an advisory lock.
func Seed(ctx context.Context, db *pgxpool.Pool, ownerRegionID int64) (SeedResult, error) {
	var res SeedResult
	qs, err := SeedBank()
	if err != nil {
		return res, err
	}
	err = postgres.Tx(ctx, db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('kepu:bank:seed'))`); err != nil {
			return err
		}
		rows, _ := tx.Query(ctx, selectQuestion+` WHERE q.seed_key IS NOT NULL`)
		existing, err := pgx.CollectRows(rows, scanQuestion)
		if err != nil {
			return err
		}
		byKey := make(map[string]Question, len(existing))
		for _, q := range existing {
			byKey[q.SeedKey] = q
		}
		b := &pgx.Batch{}
		for _, sq := range qs {
			for _, lang := range []string{"zh-CN", "en"} {
				if lang == "en" && sq.En == nil {
					continue
				}
				key := sq.Key
				if lang == "en" {
					key = enKey(sq.Key)
				}
				in := sq.Input(lang)
				if p := in.Problems(); len(p) > 0 {
					return fmt.Errorf("seed question %s (%s): %s", sq.Key, lang, p[0].Key)
				}
				old, ok := byKey[key]
				switch {
				case !ok:
					res.Inserted++
					queueSeedInsert(b, ownerRegionID, key, sq.Key, in)
				case !old.Input.Equal(in):
					res.Updated++
					in.TranslationOf = old.TranslationOf
					if err := updateQuestion(ctx, tx, old, in, 0); err != nil {
						return err
					}
				default:
					res.Unchanged++
				}
			}
		}
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return res, fmt.Errorf("bank: seed: %w", err)
	}
	return res, nil
}

// EnsureSeedQuestion adds one published question of ownerRegionID with its
// first version under seedKey, unless a question with that seed key exists
// (then it does nothing). Generators of demo and volume data (internal/seed)
// use it; in is not validated.
func EnsureSeedQuestion(ctx context.Context, db *pgxpool.Pool, ownerRegionID int64, seedKey string, in Input) error {
	_, err := db.Exec(ctx, `WITH q AS (
		INSERT INTO questions (owner_region_id, seed_key, status, type, category, dimension, difficulty, stem_norm)
		VALUES ($1, $2, 'published', $3, $4, $5, $6, $7) ON CONFLICT (seed_key) DO NOTHING RETURNING id)
		INSERT INTO question_versions (question_id, version, type, stem, options, answer, explanation, category, dimension, difficulty)
		SELECT id, 1, $3, $8, $9, $10, $11, $4, $5, $6 FROM q`,
		ownerRegionID, seedKey, in.Type, in.Category, in.Dimension, in.Difficulty, NormalizeStem(in.Stem), in.Stem, in.Options, in.Answer, in.Explanation)
	if err != nil {
		return fmt.Errorf("bank: ensure seed question %s: %w", seedKey, err)
	}
	return nil
}

// queueSeedInsert queues one statement that inserts a published seed
// question with its first version (an en one linked to its zh-CN original).
func queueSeedInsert(b *pgx.Batch, owner int64, key, zhKey string, in Input) {
	b.Queue(`WITH q AS (
		INSERT INTO questions (owner_region_id, seed_key, lang, translation_of, status, current_version,
			type, category, dimension, difficulty, stem_norm)
		VALUES ($1, $2, $3, CASE WHEN $3 = 'en' THEN (SELECT id FROM questions WHERE seed_key = $4) END,
			'published', 1, $5, $6, $7, $8, $9) RETURNING id)
		INSERT INTO question_versions (question_id, version, type, stem, options, answer, explanation,
			category, dimension, difficulty, tags, source)
		SELECT q.id, 1, $5, $10, $11, $12, $13, $6, $7, $8, $14, $15 FROM q`,
		owner, key, in.Lang, zhKey, in.Type, in.Category, in.Dimension, in.Difficulty, NormalizeStem(in.Stem),
		in.Stem, in.Options, in.Answer, in.Explanation, in.Tags, in.Source)
}
