-- +goose Up
-- The practice round's figures on a campaign's dashboard (shown apart from
-- its campaign figures, docs/campaigns.md) count only practice attempts:
-- this index keeps that count off the campaign's formal attempts.
CREATE INDEX campaign_attempts_practice ON campaign_attempts (campaign_id) WHERE practice;

-- +goose Down
DROP INDEX campaign_attempts_practice;
