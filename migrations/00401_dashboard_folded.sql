-- +goose Up
-- Completed attempts already folded into the rollups. The refresher looks
-- back a while behind its watermark (an attempt whose transaction commits
-- late is still found) and folds only attempts not listed here.
CREATE TABLE dash_folded_attempts (
    attempt_id bigint PRIMARY KEY
);

-- +goose Down
DROP TABLE dash_folded_attempts;
