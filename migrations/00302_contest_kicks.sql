-- +goose Up
-- Who the host removed from a run (issue 14): a kicked player stays out of
-- that run, also when Redis loses the room and it is rebuilt from Postgres
-- (their contest_players row is deleted with the kick). One row per key the
-- join checks: 'd:{device hash}', 'u:{user id}', 'n:{lowercased nickname}',
-- and 't:{token hash}' (so that the kicked phone is told why it is out).
CREATE TABLE contest_kicks (
    run_id     bigint NOT NULL REFERENCES contest_runs(id) ON DELETE CASCADE,
    key        text NOT NULL,
    player_id  int NOT NULL,             -- the player removed
    kicked_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (run_id, key)
);

-- +goose Down
DROP TABLE contest_kicks;
