-- +goose Up
-- The first question a contest player could answer (0 when they joined in
-- the lobby; the open question, or the next one, when they joined late),
-- so that the questions they let run out reach their wrong-answer
-- notebook (internal/notebook). NULL for players of older runs: their
-- timeouts are not known.
ALTER TABLE contest_players ADD COLUMN from_q int;

-- +goose Down
ALTER TABLE contest_players DROP COLUMN from_q;
