-- +goose Up
-- One-time recovery codes (internal/account/recovery.go): a forgotten
-- password is reset with the username, one unused code and a new password,
-- without a phone number or an e-mail address. Only the SHA-256 of each
-- code is kept (a code carries about 79 random bits, so a fast hash is
-- enough, as for session tokens). Regenerating replaces the whole set;
-- a used code keeps its row (used_at) until then.
CREATE TABLE recovery_codes (
    user_id    bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash  bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    used_at    timestamptz,
    PRIMARY KEY (user_id, code_hash)
);

-- +goose Down
DROP TABLE recovery_codes;
