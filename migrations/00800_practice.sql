-- +goose Up
-- Daily practice, points and streaks (internal/practice), the wrong-answer
-- notebook (internal/notebook) and the weekly practice boards' snapshots
-- (internal/practice/board.go). docs/learning.md describes them.

-- The points account: one row per award (or deduction). reason is a short
-- code ("practice", "pk", "streak" …) and ref what it was for ("" none; with
-- a ref, a second award of the same user, reason and ref is ignored:
-- practice.AddPoints is idempotent). week is the Monday of the award's
-- Asia/Shanghai week; region_id and school_id are the user's at the award
-- (the weekly boards count points where they were earned).
CREATE TABLE points_ledger (
    id         bigserial PRIMARY KEY,
    user_id    bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    delta      int NOT NULL CHECK (delta BETWEEN -100000 AND 100000),
    reason     text NOT NULL CHECK (reason ~ '^[a-z][a-z0-9_]{0,31}$'),
    ref        text NOT NULL DEFAULT '' CHECK (length(ref) <= 64),
    at         timestamptz NOT NULL,
    week       date NOT NULL,
    region_id  bigint REFERENCES regions(id) ON DELETE SET NULL,
    school_id  bigint REFERENCES schools(id) ON DELETE SET NULL
);
CREATE UNIQUE INDEX points_ledger_once ON points_ledger (user_id, reason, ref) WHERE ref <> '';
CREATE INDEX points_ledger_user ON points_ledger (user_id, at DESC, id DESC);
CREATE INDEX points_ledger_week ON points_ledger (week);

-- One person's daily practice of one Asia/Shanghai day (five questions).
-- region_id, school_id and age_band are the person's when the day started:
-- the dashboards count participation there.
CREATE TABLE practice_days (
    user_id     bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    day         date NOT NULL,
    started_at  timestamptz NOT NULL,
    finished_at timestamptz,
    questions   int NOT NULL CHECK (questions BETWEEN 1 AND 20),
    answered    int NOT NULL DEFAULT 0,
    correct     int NOT NULL DEFAULT 0,
    points      int NOT NULL DEFAULT 0,
    region_id   bigint REFERENCES regions(id) ON DELETE SET NULL,
    school_id   bigint REFERENCES schools(id) ON DELETE SET NULL,
    age_band    text,
    PRIMARY KEY (user_id, day)
);
CREATE INDEX practice_days_day ON practice_days (day);

-- The questions of a day's practice, in play order. perm: shown position i
-- is option perm[i]; served_at starts the question's clock (the server's);
-- choice is in authoring order; notebook: a due notebook question.
CREATE TABLE practice_questions (
    user_id             bigint NOT NULL,
    day                 date NOT NULL,
    seq                 int NOT NULL CHECK (seq >= 1),
    question_id         bigint NOT NULL REFERENCES questions(id),
    question_version_id bigint NOT NULL REFERENCES question_versions(id),
    perm                int[] NOT NULL,
    notebook            boolean NOT NULL DEFAULT false,
    served_at           timestamptz,
    answered_at         timestamptz,
    choice              int[],
    correct             boolean,
    timed_out           boolean,
    elapsed_ms          int,
    PRIMARY KEY (user_id, day, seq),
    FOREIGN KEY (user_id, day) REFERENCES practice_days(user_id, day) ON DELETE CASCADE
);
CREATE INDEX practice_questions_right ON practice_questions (user_id, answered_at) WHERE correct;

-- The wrong-answer notebook: one entry per person and question they got
-- wrong or ran out of time on (campaigns once closed, daily practice,
-- contests played logged in). choice (authoring order; empty: timed out)
-- and question_version_id are of the last wrong answer, source says where.
-- stage indexes the schedule 1, 3, 7 days: due_at is when the question is
-- next due. last_right_at is the last correct retry of the current run of
-- correct retries (rights); the entry leaves (left_at) at a correct retry
-- at least a day after that one.
CREATE TABLE notebook_entries (
    user_id             bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    question_id         bigint NOT NULL REFERENCES questions(id) ON DELETE CASCADE,
    question_version_id bigint NOT NULL REFERENCES question_versions(id),
    source              text NOT NULL CHECK (source IN ('campaign', 'practice', 'contest', 'notebook')),
    choice              int[] NOT NULL DEFAULT '{}',
    timed_out           boolean NOT NULL DEFAULT false,
    wrong_at            timestamptz NOT NULL,
    stage               int NOT NULL DEFAULT 0 CHECK (stage BETWEEN 0 AND 2),
    due_at              timestamptz NOT NULL,
    rights              int NOT NULL DEFAULT 0,
    last_right_at       timestamptz,
    retries             int NOT NULL DEFAULT 0,
    left_at             timestamptz,
    PRIMARY KEY (user_id, question_id)
);
CREATE INDEX notebook_entries_due ON notebook_entries (user_id, due_at) WHERE left_at IS NULL;

-- A retry from the notebook page being played: one at a time per person,
-- timed by the server like a campaign question.
CREATE TABLE notebook_retries (
    user_id             bigint PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    question_id         bigint NOT NULL,
    question_version_id bigint NOT NULL REFERENCES question_versions(id),
    perm                int[] NOT NULL,
    served_at           timestamptz NOT NULL
);

-- The weekly practice boards as they stood when the week ended (the boards
-- themselves are Redis sorted sets rebuilt from points_ledger): kind
-- 'district' or 'school', grp its id, the top entries in rank order.
CREATE TABLE practice_week_boards (
    week      date NOT NULL,
    kind      text NOT NULL CHECK (kind IN ('district', 'school')),
    grp       bigint NOT NULL,
    rank      int NOT NULL,
    user_id   bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    points    int NOT NULL,
    taken_at  timestamptz NOT NULL,
    PRIMARY KEY (week, kind, grp, rank)
);

-- +goose Down
DROP TABLE practice_week_boards;
DROP TABLE notebook_retries;
DROP TABLE notebook_entries;
DROP TABLE practice_questions;
DROP TABLE practice_days;
DROP TABLE points_ledger;
