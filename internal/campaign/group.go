package campaign

// Group commit of the hot path's writes. Every answer must be durable
// (committed, WAL flushed: synchronous_commit stays on) before it is
// acknowledged, and at thousands of answers a second the commits — one
// WAL flush each, plus a transaction's start and end — and the per
// statement work cost more than the rows. So the requests of concurrent
// participants are written together (postgres.Group): while fewer than
// groupRunning flushes of a kind are in flight a request is written at
// once (no waiting window, no added latency at low load); otherwise
// requests queue, and the next flush writes up to groupMax of them as ONE
// multi-row statement — a CTE over unnest() arrays, one array per
// parameter, with the request's ordinal in the batch — in one
// transaction: one round trip, one statement (with a generic plan,
// flushRows), one commit. Each row the
// statement returns carries its ordinal, so each request gets its own
// result, and only after the commit (the flush returns after Postgres
// answered the batch's Sync).
//
// The statements keep every rule of the single-row ones they replace: each
// request's attempt, user, seq, campaign version and round trip are
// checked on the locked row; a request a statement does not take (another
// request of the same attempt in the same batch — a duplicate — included)
// gets no row and goes the slow path. A failed statement is written again
// request by request (postgres.Group), so one request's error is never
// another's. Each statement locks its attempts first, by primary key in
// ascending order (ORDER BY id FOR UPDATE), and touches only those
// attempts' rows: concurrent batches, and the slow path's transactions,
// which lock one attempt first too, cannot deadlock.

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kepu/kepu/internal/postgres"
)

// Group commit limits, per kind of statement.
const (
	groupRunning = 4                // flushes of answers in flight (each holds one pool connection)
	groupMax     = 128              // requests per statement
	groupTimeout = 10 * time.Second // one flush, including its commit
)

// hotGroups are a service's group commits, one per hot statement.
type hotGroups struct {
	answers  postgres.Group[*answerJob]
	currents postgres.Group[*currentJob]
	seens    postgres.Group[*seenJob]
}

// groups returns the service's group commits, made on first use.
func (s *Service) groups() *hotGroups {
	s.hot.groupOnce.Do(func() {
		db := s.DB
		g := &hotGroups{}
		g.answers = postgres.Group[*answerJob]{Flush: func(ctx context.Context, jobs []*answerJob) error {
			return writeAnswers(ctx, db, jobs)
		}, MaxBatch: groupMax, Running: groupRunning, Timeout: groupTimeout}
		// A question GET and an acknowledgment come once per attempt (the
		// answers serve the rest): fewer flushes in flight.
		g.currents = postgres.Group[*currentJob]{Flush: func(ctx context.Context, jobs []*currentJob) error {
			return flushCurrents(ctx, db, jobs)
		}, MaxBatch: groupMax, Running: 2, Timeout: groupTimeout}
		g.seens = postgres.Group[*seenJob]{Flush: func(ctx context.Context, jobs []*seenJob) error {
			return flushSeens(ctx, db, jobs)
		}, MaxBatch: groupMax, Running: 2, Timeout: groupTimeout}
		s.hot.groups = g
	})
	return s.hot.groups
}

// flushRows runs one multi-row statement and hands each returned row to
// each; it returns after the commit. On the pool (db is not a pgx.Tx) the
// statement is its own transaction; in a transaction, part of it.
//
// The statement runs with a generic plan (SET LOCAL plan_cache_mode): on
// its own, Postgres plans a statement over unnest() arrays again at
// every execution (the plan for the arrays' actual lengths always looks
// cheaper than the generic one), and planning these CTEs costs more than
// executing them for a few rows. BEGIN, SET LOCAL, the statement and
// COMMIT go in one pgx batch: one round trip.
func flushRows(ctx context.Context, db sender, sql string, args []any, each func(pgx.Rows) error) error {
	_, inTx := db.(pgx.Tx)
	b := &pgx.Batch{}
	if !inTx {
		b.Queue("BEGIN")
	}
	b.Queue("SET LOCAL plan_cache_mode = force_generic_plan")
	b.Queue(sql, args...).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			if err := each(rows); err != nil {
				return err
			}
		}
		return rows.Err()
	})
	if !inTx {
		b.Queue("COMMIT")
	}
	// Close returns the first error, after Postgres answered the Sync:
	// after the commit (a failed statement makes the COMMIT a rollback).
	return db.SendBatch(ctx, b).Close()
}

// sender is the pool or a transaction.
type sender interface {
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// jobAt is the request of 1-based ordinal ord in jobs.
func jobAt[J any](jobs []J, ord int64) (J, error) {
	if ord < 1 || ord > int64(len(jobs)) {
		var zero J
		return zero, fmt.Errorf("campaign: group commit: ordinal %d of %d", ord, len(jobs))
	}
	return jobs[ord-1], nil
}

// intArray is a Postgres int[] literal: a request's choice, sent as one
// element of a text[] (unnest() cannot take ragged rows).
func intArray(xs []int) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, x := range xs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(x))
	}
	b.WriteByte('}')
	return b.String()
}
