-- +goose Up
-- The audit log filters by action and by actor, newest first (audit.List).
CREATE INDEX audit_log_action ON audit_log (action, id DESC);
CREATE INDEX audit_log_actor ON audit_log (actor_id, id DESC);

-- +goose Down
DROP INDEX audit_log_actor;
DROP INDEX audit_log_action;
