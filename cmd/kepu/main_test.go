package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/kepu/kepu/internal/calibrate/calibtest"
	"github.com/kepu/kepu/internal/irt"
	"github.com/kepu/kepu/internal/seed"
	"github.com/kepu/kepu/internal/testenv"
)

// Bad command lines are usage errors (exit status 2) that print the usage,
// before any database is opened; help prints the usage and succeeds.
func TestRunUsage(t *testing.T) {
	t.Setenv("KEPU_DATABASE_URL", "postgres://nobody@127.0.0.1:1/none?sslmode=disable") // never reached
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "missing command"},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"user"}, "want: kepu user create"},
		{[]string{"user", "delete"}, "want: kepu user create"},
		{[]string{"user", "create"}, "--username is required"},
		{[]string{"user", "create", "--bogus"}, "flag provided but not defined"},
		{[]string{"leaderboard"}, "want: kepu leaderboard rebuild"},
		{[]string{"leaderboard", "rebuild", "x"}, `bad campaign id "x"`},
		{[]string{"leaderboard", "rebuild", "1", "2"}, "want: kepu leaderboard rebuild"},
		{[]string{"calibrate", "--min-responses", "10"}, "want: kepu calibrate"},
		{[]string{"calibrate", "now"}, "want: kepu calibrate"},
	} {
		var out, errOut bytes.Buffer
		err := run(context.Background(), tc.args, &out, &errOut)
		var ue usageError
		if !errors.As(err, &ue) {
			t.Errorf("%q: got %v, want a usage error", tc.args, err)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "Usage:") {
			t.Errorf("%q: got %q, want %q and the usage", tc.args, err, tc.want)
		}
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"help"}, &out, &out); err != nil || !strings.Contains(out.String(), "kepu user create") {
		t.Errorf("help: got %v %q, want the usage", err, out.String())
	}
}

// cliEnv points the commands at a fresh database and Redis prefix.
func cliEnv(t *testing.T) *testenv.DB {
	db := testenv.NewDB(t)
	rd := testenv.NewRedis(t)
	t.Setenv("KEPU_DATABASE_URL", db.URL)
	t.Setenv("KEPU_REDIS_URL", testenv.RedisURL())
	t.Setenv("KEPU_REDIS_PREFIX", rd.Prefix)
	t.Setenv("KEPU_LOG_LEVEL", "error")
	return db
}

// `kepu user create` makes an account on the configured database, prints a
// generated password, and run again with --password resets it.
func TestRunUserCreate(t *testing.T) {
	db := cliEnv(t)
	ctx := context.Background()
	if _, err := db.Pool.Exec(ctx, `INSERT INTO regions (kind, name, code) VALUES ('district', '武陵区', '430702')`); err != nil {
		t.Fatal(err)
	}
	hash := func() (role, nick, h string) {
		t.Helper()
		if err := db.Pool.QueryRow(ctx, `SELECT role, nickname, password_hash FROM users WHERE username = 'teach1'`).Scan(&role, &nick, &h); err != nil {
			t.Fatal(err)
		}
		return
	}

	var out bytes.Buffer
	if err := run(ctx, []string{"user", "create", "--username", "teach1", "--role", "teacher", "--nickname", "王老师"}, &out, &out); err != nil {
		t.Fatalf("user create: %v (%s)", err, out.String())
	}
	if !strings.Contains(out.String(), "teach1 (teacher) ready") || !strings.Contains(out.String(), "password: ") {
		t.Errorf("output: got %q, want the account and a generated password", out.String())
	}
	role, nick, h1 := hash()
	if role != "teacher" || nick != "王老师" || !strings.HasPrefix(h1, "$argon2id$") {
		t.Errorf("user row: got %s %s %.10s, want teacher 王老师 with an argon2id hash", role, nick, h1)
	}

	out.Reset()
	if err := run(ctx, []string{"user", "create", "--username", "teach1", "--role", "teacher", "--password", "Another-pass-42"}, &out, &out); err != nil {
		t.Fatalf("user create again: %v (%s)", err, out.String())
	}
	if strings.Contains(out.String(), "password: ") {
		t.Errorf("output with --password: got %q, want no password printed", out.String())
	}
	if _, _, h2 := hash(); h2 == h1 {
		t.Error("the password was not reset")
	}
	var n int
	db.Pool.QueryRow(ctx, `SELECT count(*) FROM users WHERE username = 'teach1'`).Scan(&n)
	if n != 1 {
		t.Errorf("got %d accounts named teach1, want 1", n)
	}

	out.Reset()
	err := run(ctx, []string{"user", "create", "--username", "org1", "--role", "organizer", "--scope", "999999"}, &out, &out)
	if err == nil || !strings.Contains(err.Error(), `region "999999" not found`) {
		t.Errorf("unknown scope: got %v, want region not found", err)
	}
}

// `kepu calibrate` says when there is nothing to calibrate, then fits the
// answers, stores a run and names the questions to review: here one whose
// key is wrong (the better people are, the likelier they answer "wrong").
func TestRunCalibrate(t *testing.T) {
	db := cliEnv(t)
	ctx := context.Background()
	var city int64
	if err := db.Pool.QueryRow(ctx, `INSERT INTO regions (kind, name, code) VALUES ('city', '常德市', '430700') RETURNING id`).Scan(&city); err != nil {
		t.Fatal(err)
	}
	if _, err := seed.Bank(ctx, db.Pool, city); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run(ctx, []string{"calibrate"}, &out, &out); err != nil || !strings.Contains(out.String(), "No question has 200 answers yet") {
		t.Fatalf("empty: got %v %q, want nothing calibrated", err, out.String())
	}
	vs, err := calibtest.Versions(ctx, db.Pool, "zh-CN", 6)
	if err != nil {
		t.Fatal(err)
	}
	truth := []irt.Item{{A: 1, B: -1}, {A: 1.5, B: -0.5}, {A: 1.2, B: 0}, {A: 0.9, B: 0.5}, {A: 1.3, B: 1}, {A: -1.5, B: 0}}
	if _, err := calibtest.Insert(ctx, db.Pool, calibtest.Answers{RegionID: city, Versions: vs, Truth: truth, Persons: 400, Seed: 7}); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := run(ctx, []string{"calibrate"}, &out, &out); err != nil {
		t.Fatalf("calibrate: %v (%s)", err, out.String())
	}
	var qid int64
	db.Pool.QueryRow(ctx, `SELECT question_id FROM question_versions WHERE id = $1`, vs[5]).Scan(&qid)
	for _, want := range []string{"Calibration run 1: 6 questions from 2400 answers of 400 people",
		"1 question(s) to review", fmt.Sprintf("question %d (version %d)", qid, vs[5]), "negative_a"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output: got %q, want %q", out.String(), want)
		}
	}
	var runs, params int
	db.Pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM calibration_runs WHERE source = 'cli'), (SELECT count(*) FROM item_parameters)`).Scan(&runs, &params)
	if runs != 1 || params != 6 {
		t.Errorf("stored: %d runs, %d item parameters; want 1 and 6", runs, params)
	}
}
