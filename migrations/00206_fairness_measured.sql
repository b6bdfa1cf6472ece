-- +goose Up
-- Server-measured latency and server-side bot signals (docs/fairness.md).
--
-- seen_at: when the page acknowledged receiving a served question
-- (POST /api/v1/attempts/{id}/seen, first acknowledgment only). The
-- round trip the server measures is seen_at - served_at; the latency
-- credit is the smaller of that and the page's own rtt_ms.
ALTER TABLE campaign_attempt_questions ADD COLUMN seen_at timestamptz;
-- Who started an attempt from where, for the "many accounts from one
-- device/address" signal: keyed hashes (HMAC under the server's secret,
-- 64 bits), never the address or the cookie itself. NULL: not recorded.
ALTER TABLE campaign_attempts ADD COLUMN device_hash text, ADD COLUMN addr_hash text;
CREATE INDEX campaign_attempts_device ON campaign_attempts (campaign_id, device_hash) WHERE device_hash IS NOT NULL;
CREATE INDEX campaign_attempts_addr ON campaign_attempts (campaign_id, addr_hash) WHERE addr_hash IS NOT NULL;

-- +goose Down
DROP INDEX campaign_attempts_addr;
DROP INDEX campaign_attempts_device;
ALTER TABLE campaign_attempts DROP COLUMN device_hash, DROP COLUMN addr_hash;
ALTER TABLE campaign_attempt_questions DROP COLUMN seen_at;
