-- +goose Up
-- Saved contests can be edited, duplicated and deleted (issue 14). A deleted
-- contest leaves the host's list but stays in the table while runs of it
-- exist, so the contest history (titles, results, exports) keeps working:
-- runs reference their contest, and a run's questions are its own snapshot
-- (contest_runs.questions), so editing or reordering a contest never changes
-- a played run's results.
ALTER TABLE contests ADD COLUMN deleted_at timestamptz;
DROP INDEX contests_owner;
CREATE INDEX contests_owner ON contests (owner_id, created_at DESC) WHERE deleted_at IS NULL;

-- +goose Down
DROP INDEX contests_owner;
CREATE INDEX contests_owner ON contests (owner_id, created_at DESC);
ALTER TABLE contests DROP COLUMN deleted_at;
