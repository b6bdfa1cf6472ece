-- +goose Up
-- A contest is a saved, reusable set of questions and options; a run is one
-- live game of it (a lobby with a PIN, played once). Live state lives in
-- Redis while a run is played; when it ends the results are written here.
CREATE TABLE contests (
    id         bigserial PRIMARY KEY,
    owner_id   bigint NOT NULL REFERENCES users(id),
    title      text NOT NULL CHECK (length(title) BETWEEN 1 AND 80),
    settings   jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX contests_owner ON contests (owner_id, created_at DESC);

CREATE TABLE contest_questions (
    contest_id          bigint NOT NULL REFERENCES contests(id) ON DELETE CASCADE,
    position            int NOT NULL CHECK (position >= 0),
    question_version_id bigint NOT NULL REFERENCES question_versions(id),
    practice            boolean NOT NULL DEFAULT false,  -- a practice question scores 0
    PRIMARY KEY (contest_id, position)
);

CREATE TABLE contest_runs (
    id          bigserial PRIMARY KEY,
    contest_id  bigint NOT NULL REFERENCES contests(id) ON DELETE CASCADE,
    host_id     bigint NOT NULL REFERENCES users(id),
    pin         text NOT NULL,
    status      text NOT NULL DEFAULT 'lobby' CHECK (status IN ('lobby', 'playing', 'finished', 'aborted')),
    settings    jsonb NOT NULL,        -- the contest's settings when the run began
    created_at  timestamptz NOT NULL DEFAULT now(),
    started_at  timestamptz,
    ended_at    timestamptz
);
CREATE INDEX contest_runs_host ON contest_runs (host_id, created_at DESC);
CREATE INDEX contest_runs_contest ON contest_runs (contest_id);

CREATE TABLE contest_players (
    run_id     bigint NOT NULL REFERENCES contest_runs(id) ON DELETE CASCADE,
    player_id  int NOT NULL,               -- the player's number in the room
    nickname   text NOT NULL,
    user_id    bigint REFERENCES users(id) ON DELETE SET NULL,
    class_id   bigint REFERENCES classes(id) ON DELETE SET NULL,
    score      int NOT NULL,
    correct    int NOT NULL,
    rank       int NOT NULL,
    PRIMARY KEY (run_id, player_id)
);
CREATE INDEX contest_players_user ON contest_players (user_id) WHERE user_id IS NOT NULL;

CREATE TABLE contest_answers (
    run_id     bigint NOT NULL REFERENCES contest_runs(id) ON DELETE CASCADE,
    player_id  int NOT NULL,
    position   int NOT NULL,
    choice     int[] NOT NULL,
    correct    boolean NOT NULL,
    points     int NOT NULL,
    elapsed_ms int NOT NULL,
    PRIMARY KEY (run_id, player_id, position)
);

-- +goose Down
DROP TABLE contest_answers;
DROP TABLE contest_players;
DROP TABLE contest_runs;
DROP TABLE contest_questions;
DROP TABLE contests;
