-- +goose Up
-- Guests (internal/account/guest.go): visitors who take a campaign whose
-- rules allow guests (campaign.Rules.Guests) without registering. A guest
-- is a users row with role 'guest', a nickname, optionally a district, no
-- password (nobody can log in as one) and a session like any login.
ALTER TABLE users DROP CONSTRAINT users_role_check;
ALTER TABLE users ADD CONSTRAINT users_role_check
    CHECK (role IN ('participant', 'teacher', 'organizer', 'admin', 'guest'));

-- +goose Down
-- Guests become disabled participants: their attempts and standings stay.
DELETE FROM sessions WHERE user_id IN (SELECT id FROM users WHERE role = 'guest');
UPDATE users SET role = 'participant', disabled_at = coalesce(disabled_at, now()) WHERE role = 'guest';
ALTER TABLE users DROP CONSTRAINT users_role_check;
ALTER TABLE users ADD CONSTRAINT users_role_check
    CHECK (role IN ('participant', 'teacher', 'organizer', 'admin'));
