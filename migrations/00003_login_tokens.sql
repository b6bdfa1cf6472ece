-- +goose Up
-- Join-card login tokens (docs/security.md "Join cards with a QR login"):
-- the QR code on a pupil's printed card holds a random 128-bit token; only
-- its SHA-256 is stored. A pupil has at most one live token: printing a new
-- card revokes the old one (revoked_at), and the teacher can revoke a card
-- or a whole class's cards.
CREATE TABLE login_tokens (
    token_hash bytea PRIMARY KEY CHECK (length(token_hash) = 32),
    user_id    bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_by bigint REFERENCES users(id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
);
CREATE UNIQUE INDEX login_tokens_live ON login_tokens (user_id) WHERE revoked_at IS NULL;

-- +goose Down
DROP TABLE login_tokens;
