-- +goose Up
-- PK battles (internal/pk): 1-vs-1 and 4-player matches of a few questions.
-- Postgres is the truth of a match: its schedule is a pure function of
-- started_at, the round times and the answers (internal/pk/schedule.go),
-- so any instance computes the same state and Redis holds only the
-- matchmaking queue and pub/sub pokes.
CREATE TABLE pk_matches (
    id          bigserial PRIMARY KEY,
    mode        int NOT NULL CHECK (mode IN (2, 4)),
    lang        text NOT NULL CHECK (lang IN ('zh-CN', 'en')),
    status      text NOT NULL DEFAULT 'playing' CHECK (status IN ('waiting', 'playing', 'done')),
    invite_code text UNIQUE,                   -- a private match a friend joins by link/QR
    created_by  bigint REFERENCES users(id) ON DELETE SET NULL,
    bot         bool NOT NULL DEFAULT false,   -- has a practice bot seat
    versions    bigint[] NOT NULL,             -- question_versions ids, in order
    round_ms    int NOT NULL CHECK (round_ms BETWEEN 1000 AND 120000),
    reveal_ms   int NOT NULL CHECK (reveal_ms BETWEEN 0 AND 60000),
    grace_ms    int NOT NULL CHECK (grace_ms BETWEEN 0 AND 5000),
    start_ms    bigint,                        -- server ms (Unix) when question 0 opens; NULL while waiting
    created_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz
);
CREATE INDEX pk_matches_open ON pk_matches (status) WHERE status <> 'done';

CREATE TABLE pk_players (
    match_id bigint NOT NULL REFERENCES pk_matches(id) ON DELETE CASCADE,
    seat     int NOT NULL CHECK (seat BETWEEN 0 AND 3),
    user_id  bigint REFERENCES users(id) ON DELETE SET NULL, -- NULL: the practice bot
    bot      bool NOT NULL DEFAULT false,
    nick     text NOT NULL,
    level    int NOT NULL DEFAULT 1,
    score    int,                                            -- set when the match is done
    place    int,
    PRIMARY KEY (match_id, seat),
    UNIQUE (match_id, user_id)
);
CREATE INDEX pk_players_user ON pk_players (user_id, match_id DESC);

-- One answer per seat and question (the contest engine's once-only rule,
-- enforced here by the primary key); raw_ms is when it reached the server
-- after the question opened, ms the time credited for points.
CREATE TABLE pk_answers (
    match_id bigint NOT NULL REFERENCES pk_matches(id) ON DELETE CASCADE,
    seat     int NOT NULL,
    q        int NOT NULL CHECK (q BETWEEN 0 AND 19),
    choice   int[] NOT NULL,
    correct  bool NOT NULL,
    points   int NOT NULL,
    raw_ms   int NOT NULL,
    ms       int NOT NULL,
    PRIMARY KEY (match_id, seat, q),
    FOREIGN KEY (match_id, seat) REFERENCES pk_players(match_id, seat) ON DELETE CASCADE
);

-- +goose Down
DROP TABLE pk_answers;
DROP TABLE pk_players;
DROP TABLE pk_matches;
