-- +goose Up
-- A session started by scanning a join card remembers the card (the hash
-- of its token), so that withdrawing or replacing the card ends the
-- sessions it started (docs/security.md "Join cards with a QR login").
ALTER TABLE sessions ADD COLUMN card_hash bytea;
CREATE INDEX sessions_card ON sessions (card_hash) WHERE card_hash IS NOT NULL;

-- +goose Down
DROP INDEX sessions_card;
ALTER TABLE sessions DROP COLUMN card_hash;
