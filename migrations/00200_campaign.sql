-- +goose Up
-- Timed quiz campaigns (internal/campaign). Postgres is the source of truth;
-- the Redis leaderboards (internal/leaderboard) are rebuilt from these
-- tables. internal/dashboard reads campaigns, campaign_attempts and
-- campaign_answers (internal/dashboard/source.go): keep those columns.

-- A campaign: its rules live in settings (campaign.Rules as JSON); kind is
-- 'assessment' when the rules score a literacy assessment (tiers).
CREATE TABLE campaigns (
    id           bigserial PRIMARY KEY,
    title        text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    description  text NOT NULL DEFAULT '',
    region_id    bigint REFERENCES regions(id),             -- the owning region (organizer scope)
    kind         text NOT NULL DEFAULT 'quiz' CHECK (kind IN ('quiz', 'assessment')),
    status       text NOT NULL DEFAULT 'draft'
                 CHECK (status IN ('draft', 'published', 'paused', 'closed', 'archived')),
    starts_at    timestamptz NOT NULL,
    ends_at      timestamptz NOT NULL,
    audience     bigint[] NOT NULL DEFAULT '{}',            -- district ids; empty: the owning region's whole subtree
    settings     jsonb NOT NULL DEFAULT '{}',
    created_by   bigint REFERENCES users(id),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CHECK (ends_at > starts_at)
);
CREATE INDEX campaigns_status ON campaigns (status, ends_at);

-- One attempt of one user. in_progress is true only while the service runs
-- the attempt (the partial unique index allows one per user and campaign);
-- rows bulk-loaded by generators leave it false. day is the Asia/Shanghai
-- calendar day of the start (per-day limits).
CREATE TABLE campaign_attempts (
    id           bigserial PRIMARY KEY,
    campaign_id  bigint NOT NULL REFERENCES campaigns(id),
    user_id      bigint NOT NULL REFERENCES users(id),
    started_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz,                    -- NULL while in progress
    score        int NOT NULL DEFAULT 0,
    max_score    int NOT NULL DEFAULT 0,
    passed       boolean,                        -- NULL while in progress
    in_progress  boolean NOT NULL DEFAULT false,
    day          date NOT NULL DEFAULT (now() AT TIME ZONE 'Asia/Shanghai')::date,
    questions    int NOT NULL DEFAULT 0,          -- how many were drawn
    answered     int NOT NULL DEFAULT 0,          -- how many are locked (answered or timed out)
    time_ms      bigint NOT NULL DEFAULT 0,       -- time used: the sum of the locked questions' elapsed_ms
    tier         text,                            -- literacy tier (assessments), set at finish
    cert_code    text UNIQUE                      -- verification code of a passing result
);
CREATE UNIQUE INDEX campaign_attempts_one_live ON campaign_attempts (campaign_id, user_id) WHERE in_progress;
CREATE INDEX campaign_attempts_user ON campaign_attempts (user_id, campaign_id, day);
CREATE INDEX campaign_attempts_campaign ON campaign_attempts (campaign_id) WHERE finished_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS campaign_attempts_finished ON campaign_attempts (finished_at);
CREATE INDEX IF NOT EXISTS campaign_attempts_open ON campaign_attempts (campaign_id) WHERE finished_at IS NULL;

-- The questions drawn for an attempt, in play order (seq from 1). perm is
-- the shuffle: the option shown at position i is options[perm[i]].
-- served_at is set by the server when the question is first shown; the
-- deadline is served_at + the campaign's time limit.
CREATE TABLE campaign_attempt_questions (
    attempt_id          bigint NOT NULL REFERENCES campaign_attempts(id) ON DELETE CASCADE,
    seq                 int NOT NULL,
    question_version_id bigint NOT NULL REFERENCES question_versions(id),
    perm                int[] NOT NULL,
    points              int NOT NULL,        -- the most this question can earn
    served_at           timestamptz,
    PRIMARY KEY (attempt_id, seq)
);

-- One locked question: answered, or timed out (choice empty). choice holds
-- option indexes in authoring order (not shown order). seq is NULL only in
-- rows bulk-loaded by generators.
CREATE TABLE campaign_answers (
    id                  bigserial PRIMARY KEY,
    attempt_id          bigint NOT NULL REFERENCES campaign_attempts(id) ON DELETE CASCADE,
    seq                 int,
    question_version_id bigint NOT NULL REFERENCES question_versions(id),
    choice              int[] NOT NULL DEFAULT '{}',
    correct             boolean NOT NULL,
    points              int NOT NULL DEFAULT 0,
    elapsed_ms          int NOT NULL,
    timed_out           boolean NOT NULL DEFAULT false,
    answered_at         timestamptz NOT NULL DEFAULT now(),
    UNIQUE (attempt_id, seq)
);
CREATE INDEX IF NOT EXISTS campaign_answers_attempt ON campaign_answers (attempt_id);

-- Fairness signals, recorded and never used to fail an attempt: answers
-- faster than reading time ('fast'), page-visibility changes reported by
-- the client ('hidden').
CREATE TABLE campaign_signals (
    id         bigserial PRIMARY KEY,
    attempt_id bigint NOT NULL REFERENCES campaign_attempts(id) ON DELETE CASCADE,
    kind       text NOT NULL CHECK (kind IN ('fast', 'hidden', 'visible')),
    seq        int,
    at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX campaign_signals_attempt ON campaign_signals (attempt_id);

-- +goose Down
DROP TABLE campaign_signals;
DROP TABLE campaign_answers;
DROP TABLE campaign_attempt_questions;
DROP TABLE campaign_attempts;
DROP TABLE campaigns;
