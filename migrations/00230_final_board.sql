-- +goose Up
-- The frozen final board of a closed campaign (docs/campaigns.md): written
-- once when the campaign closes, per division, with the names as they were
-- shown then (masked for minors), so later changes to nicknames, schools or
-- accounts do not alter it. Rank prizes and the online-to-live final read it.
-- Ties are broken as on the live board: score, then time used, then who
-- reached the score first.
CREATE TABLE campaign_boards_frozen (
    campaign_id bigint PRIMARY KEY REFERENCES campaigns(id),
    frozen_at   timestamptz NOT NULL DEFAULT now(),
    entries     int NOT NULL DEFAULT 0
);
CREATE TABLE campaign_final_board (
    campaign_id  bigint NOT NULL REFERENCES campaign_boards_frozen(campaign_id),
    division     text NOT NULL DEFAULT '',
    rank         int NOT NULL CHECK (rank >= 1),
    user_id      bigint NOT NULL REFERENCES users(id),
    attempt_id   bigint REFERENCES campaign_attempts(id),  -- the attempt that counted (best/latest); NULL for "sum"
    display_name text NOT NULL,                            -- as shown publicly at freezing (masked for minors)
    district_id  bigint REFERENCES regions(id),
    school_id    bigint REFERENCES schools(id),
    score        int NOT NULL,
    time_ms      bigint NOT NULL,
    reached_at   timestamptz NOT NULL,
    PRIMARY KEY (campaign_id, division, rank),
    UNIQUE (campaign_id, division, user_id)
);
CREATE INDEX campaign_final_board_user ON campaign_final_board (user_id);

-- +goose Down
DROP TABLE campaign_final_board;
DROP TABLE campaign_boards_frozen;
