-- +goose Up
-- An attempt its player gave up (POST /attempts/:id/finish with questions
-- left): with no points it never counts on the leaderboards (sqlStandings),
-- so it never ranks above a finished attempt.
ALTER TABLE campaign_attempts ADD COLUMN abandoned boolean NOT NULL DEFAULT false;

-- +goose Down
ALTER TABLE campaign_attempts DROP COLUMN abandoned;
