-- +goose Up
-- The online-to-live final (docs/campaigns.md "线上到现场决赛 /
-- Online-to-live final"), owned by internal/invite: a closed campaign's
-- top N per division (campaign_final_board) invited to a live contest that
-- only they may join.
CREATE TABLE invite_finals (
    id          bigserial PRIMARY KEY,
    campaign_id bigint NOT NULL UNIQUE REFERENCES campaigns(id) ON DELETE CASCADE,
    contest_id  bigint NOT NULL REFERENCES contests(id) ON DELETE CASCADE,
    top_n       int NOT NULL CHECK (top_n BETWEEN 1 AND 100),
    starts_at   timestamptz NOT NULL,
    place       text NOT NULL DEFAULT '' CHECK (length(place) <= 400),
    created_by  bigint REFERENCES users(id) ON DELETE SET NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- invite_final_invitees: the invited, with their division, frozen rank and
-- the name the frozen board showed (masked for minors); checked_in_at: the
-- host checked them in at the door.
CREATE TABLE invite_final_invitees (
    final_id      bigint NOT NULL REFERENCES invite_finals(id) ON DELETE CASCADE,
    user_id       bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    division      text NOT NULL DEFAULT '',
    rank          int NOT NULL,
    display_name  text NOT NULL,
    checked_in_at timestamptz,
    PRIMARY KEY (final_id, user_id)
);
CREATE INDEX invite_final_invitees_user ON invite_final_invitees (user_id);

-- +goose Down
DROP TABLE invite_final_invitees;
DROP TABLE invite_finals;
