package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

// insertLoadQuestions makes sure the bank holds n published single-choice
// load-test questions (seed_key loadtest-1 … loadtest-n; answer: option 2).
// It is idempotent.
func insertLoadQuestions(ctx context.Context, databaseURL string, n int) error {
	db, err := pgx.Connect(ctx, databaseURL)
	if err != nil {
		return fmt.Errorf("load questions: connect (--database-url): %w", err)
	}
	defer db.Close(ctx)
	for i := 1; i <= n; i++ {
		key := fmt.Sprintf("loadtest-%d", i)
		stem := fmt.Sprintf("负载测试题 %d：水在标准大气压下的沸点是多少？", i)
		_, err := db.Exec(ctx, `WITH q AS (
			INSERT INTO questions (owner_region_id, seed_key, status, type, category, dimension, difficulty, stem_norm)
			SELECT (SELECT id FROM regions ORDER BY id LIMIT 1), $1, 'published', 'single', 'life', 'knowledge', 2, $2
			ON CONFLICT (seed_key) DO NOTHING RETURNING id)
			INSERT INTO question_versions (question_id, version, type, stem, options, answer, explanation, category, dimension, difficulty)
			SELECT id, 1, 'single', $2, '["50 °C","100 °C","150 °C","200 °C"]', '{1}', '一个标准大气压下水在 100 °C 沸腾。', 'life', 'knowledge', 2 FROM q`,
			key, stem)
		if err != nil {
			return fmt.Errorf("load questions: insert %s: %w", key, err)
		}
	}
	return nil
}

// rssKB returns the resident memory of process pid in KiB (0 when pid is 0
// or unreadable).
func rssKB(pid int) int64 {
	if pid <= 0 {
		return 0
	}
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}
