-- +goose Up
-- Staff practice and private question pools (docs/security-h4.md).
--
-- campaign_attempts.staff_practice: the attempt was started by an account
-- that can read the campaign's answer keys in the bank (teachers for
-- campaigns drawn from the published bank; organizers and admins always).
-- Such an attempt is played and scored like any other but never ranked on
-- a leaderboard (live or rebuilt), never given a certificate, and left out
-- of the dashboards' figures. Set once, at the start.
ALTER TABLE campaign_attempts ADD COLUMN staff_practice boolean NOT NULL DEFAULT false;
-- Attempts made before this migration by accounts that are staff now are
-- marked too (the best evidence there is); their certificates stop
-- verifying. Run `kepu leaderboard rebuild` after migrating.
UPDATE campaign_attempts SET staff_practice = true
    WHERE user_id IN (SELECT id FROM users WHERE role IN ('teacher', 'organizer', 'admin'));

-- questions.private: a question of a campaign's private pool. Only admins
-- and organizers whose scope holds the owning region read it (stem and
-- key); teachers and hosts of live contests never see it, and only
-- campaigns whose rules ask for the private pool (rules.pool = "private")
-- draw it — those campaigns draw nothing else.
ALTER TABLE questions ADD COLUMN private boolean NOT NULL DEFAULT false;
-- Serving an image asks whether only private questions use it.
CREATE INDEX question_versions_image_id ON question_versions (image_id) WHERE image_id IS NOT NULL;

-- +goose Down
DROP INDEX question_versions_image_id;
ALTER TABLE questions DROP COLUMN private;
ALTER TABLE campaign_attempts DROP COLUMN staff_practice;
