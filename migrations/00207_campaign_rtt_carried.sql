-- +goose Up
-- One request per question (docs/fairness.md, "Latency credit"): the
-- answer's response serves the next question, so the page no longer
-- acknowledges each question. rtt_ms is the round trip the server measured
-- that applies to this question, in ms: set by the acknowledgment of a
-- question a GET delivered (seen_at - served_at), or copied from the
-- answered question by the statement that serves this one in the answer's
-- response. NULL: nothing measured, no latency credit.
ALTER TABLE campaign_attempt_questions ADD COLUMN rtt_ms integer;
-- Questions being played now keep the credit their acknowledgment earned.
UPDATE campaign_attempt_questions q
SET rtt_ms = least(greatest(floor(extract(epoch FROM q.seen_at - q.served_at) * 1000), 0), 60000)::int
FROM campaign_attempts a
WHERE a.id = q.attempt_id AND a.in_progress AND q.seen_at IS NOT NULL AND q.served_at IS NOT NULL;

-- +goose Down
ALTER TABLE campaign_attempt_questions DROP COLUMN rtt_ms;
