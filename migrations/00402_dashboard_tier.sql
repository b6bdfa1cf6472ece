-- +goose Up
-- The literacy tier of each participant's best completed attempt, as the
-- campaign scored it (campaign_attempts.tier; assessments only).
ALTER TABLE dash_participants ADD COLUMN tier text;

-- +goose Down
ALTER TABLE dash_participants DROP COLUMN tier;
