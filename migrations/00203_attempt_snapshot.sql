-- +goose Up
-- An attempt belongs to the district, school and class its participant had
-- when it started (internal/campaign Start writes them with the attempt):
-- leaderboards (internal/leaderboard) and dashboards (internal/dashboard)
-- group attempts by these columns, never by the user's current profile, so
-- moving to another district after playing cannot carry a score onto the
-- new district's board. No foreign keys: they are history, and a school or
-- class may later be removed. NULL: none at the time.
ALTER TABLE campaign_attempts
    ADD COLUMN region_id bigint,
    ADD COLUMN school_id bigint,
    ADD COLUMN class_id  bigint,
    -- A certificate shows what was true when it was issued (at finish):
    -- the nickname and the campaign's title then. Score, tier and date are
    -- the attempt's own (score, max_score, tier, finished_at), which never
    -- change after finish. NULL when the attempt has no certificate.
    ADD COLUMN cert_nickname text,
    ADD COLUMN cert_campaign text;

-- Existing attempts: the best we know is the profile of today.
UPDATE campaign_attempts t SET region_id = u.region_id, school_id = u.school_id, class_id = u.class_id
FROM users u WHERE u.id = t.user_id;
UPDATE campaign_attempts t SET cert_nickname = u.nickname, cert_campaign = c.title
FROM users u, campaigns c WHERE u.id = t.user_id AND c.id = t.campaign_id AND t.cert_code IS NOT NULL;

-- When the user last changed their district (region_id) through their
-- profile (internal/account UpdateProfile): at most one change is allowed
-- after their first attempt in a campaign that is still open. NULL: never.
ALTER TABLE users ADD COLUMN region_changed_at timestamptz;

-- +goose Down
ALTER TABLE users DROP COLUMN region_changed_at;
ALTER TABLE campaign_attempts
    DROP COLUMN cert_campaign,
    DROP COLUMN cert_nickname,
    DROP COLUMN class_id,
    DROP COLUMN school_id,
    DROP COLUMN region_id;
