-- +goose Up
-- A live contest is durable (issue #13): Redis still runs the room, but
-- Postgres holds enough to rebuild it when Redis loses its data.
--
-- contest_players: a row is written when a player joins (the token is kept
-- only as its SHA-256, with the team and the device key MaxPerDevice counts),
-- so that the player's token works in a rebuilt room; score, correct and rank
-- are 0 until the podium writes them.
ALTER TABLE contest_players
    ALTER COLUMN score SET DEFAULT 0,
    ALTER COLUMN correct SET DEFAULT 0,
    ALTER COLUMN rank SET DEFAULT 0,
    ADD COLUMN team       bigint NOT NULL DEFAULT 0,   -- class id of the player's team (team mode), 0: none
    ADD COLUMN token_hash text,                        -- hex SHA-256 of the player's room token
    ADD COLUMN device     text NOT NULL DEFAULT '';    -- hash of the device cookie ('' none)

-- contest_runs: the questions the run plays (a snapshot, so a rebuild plays
-- what the room played even if the contest was edited) and the room's state,
-- written on every transition. Times are Unix ms of the contest clock.
ALTER TABLE contest_runs
    ADD COLUMN questions jsonb,                        -- NULL for runs older than this migration
    ADD COLUMN phase     text NOT NULL DEFAULT 'lobby',
    ADD COLUMN q         int NOT NULL DEFAULT -1,      -- current question (-1: none yet)
    ADD COLUMN opened_at bigint NOT NULL DEFAULT 0,
    ADD COLUMN deadline  bigint NOT NULL DEFAULT 0,
    ADD COLUMN close_at  bigint NOT NULL DEFAULT 0,
    ADD COLUMN due_at    bigint NOT NULL DEFAULT 0,    -- next timed transition (0: none)
    ADD COLUMN paused    boolean NOT NULL DEFAULT false,
    ADD COLUMN remaining bigint NOT NULL DEFAULT 0,    -- ms left when paused
    ADD COLUMN paused_at bigint NOT NULL DEFAULT 0,
    ADD COLUMN locked    boolean NOT NULL DEFAULT false,
    ADD COLUMN epoch     bigint NOT NULL DEFAULT 0,
    ADD COLUMN seq       bigint NOT NULL DEFAULT 0,    -- seq of the room's last event
    ADD COLUMN ver       bigint NOT NULL DEFAULT 0,    -- the room's compare-and-set version
    ADD COLUMN rev       bigint NOT NULL DEFAULT 0,    -- transitions so far: a write never replaces a newer state
    ADD COLUMN pids      int NOT NULL DEFAULT 0,       -- highest player id handed out
    ADD COLUMN vtype     text NOT NULL DEFAULT '',     -- type of the last screen-setting event
    ADD COLUMN view      text NOT NULL DEFAULT '';     -- its data (JSON), for snapshots

-- The live runs, for the PIN lookup of a rebuilt room and the timer's sweep.
CREATE INDEX contest_runs_live ON contest_runs (pin) WHERE status IN ('lobby', 'playing');

-- +goose Down
DROP INDEX contest_runs_live;
ALTER TABLE contest_runs
    DROP COLUMN questions, DROP COLUMN phase, DROP COLUMN q, DROP COLUMN opened_at, DROP COLUMN deadline,
    DROP COLUMN close_at, DROP COLUMN due_at, DROP COLUMN paused, DROP COLUMN remaining, DROP COLUMN paused_at,
    DROP COLUMN locked, DROP COLUMN epoch, DROP COLUMN seq, DROP COLUMN ver, DROP COLUMN rev, DROP COLUMN pids,
    DROP COLUMN vtype, DROP COLUMN view;
ALTER TABLE contest_players DROP COLUMN team, DROP COLUMN token_hash, DROP COLUMN device,
    ALTER COLUMN score DROP DEFAULT, ALTER COLUMN correct DROP DEFAULT, ALTER COLUMN rank DROP DEFAULT;
