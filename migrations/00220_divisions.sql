-- +goose Up
-- Divisions and the practice round (docs/campaigns.md), shared by every
-- campaign feature that reads attempts.
--
-- campaign_attempts.division: the key of the campaign's division
-- (rules.divisions[].key) the attempt was played in, fixed when it starts;
-- '' for a campaign without divisions. Boards, pass marks, certificates,
-- prizes and the final are per division.
--
-- campaign_attempts.practice: an attempt of the campaign's practice round:
-- feedback after every question, never ranked, never eligible for a prize
-- and left out of the dashboards' campaign figures (shown separately).
ALTER TABLE campaign_attempts ADD COLUMN division text NOT NULL DEFAULT ''
    CHECK (length(division) <= 32);
ALTER TABLE campaign_attempts ADD COLUMN practice boolean NOT NULL DEFAULT false;

-- +goose Down
ALTER TABLE campaign_attempts DROP COLUMN practice;
ALTER TABLE campaign_attempts DROP COLUMN division;
