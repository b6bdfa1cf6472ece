-- +goose Up
-- Invitations (docs/campaigns.md "邀请 / Invitations"), owned by
-- internal/invite.
--
-- invite_codes: a personal code (inviter_id: one per participant per
-- campaign) or a school's (inviter_id NULL: one per school per campaign).
-- The code is 80 random bits; district_id and school_id are whom the reach
-- report credits (a personal code: the inviter's at creation).
CREATE TABLE invite_codes (
    code        text PRIMARY KEY CHECK (length(code) BETWEEN 8 AND 32),
    campaign_id bigint NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
    inviter_id  bigint REFERENCES users(id) ON DELETE CASCADE,
    school_id   bigint REFERENCES schools(id) ON DELETE CASCADE,
    district_id bigint REFERENCES regions(id) ON DELETE SET NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (inviter_id IS NOT NULL OR school_id IS NOT NULL)
);
CREATE UNIQUE INDEX invite_codes_personal ON invite_codes (campaign_id, inviter_id) WHERE inviter_id IS NOT NULL;
CREATE UNIQUE INDEX invite_codes_school ON invite_codes (campaign_id, school_id) WHERE inviter_id IS NULL;

-- invite_opens: one row per code, Beijing-time day and visitor (a hash of
-- the visitor's device cookie): an open is counted once a day per visitor,
-- and at most invite.MaxOpensPerDay per code and day.
CREATE TABLE invite_opens (
    code    text NOT NULL REFERENCES invite_codes(code) ON DELETE CASCADE,
    day     date NOT NULL,
    visitor text NOT NULL CHECK (length(visitor) <= 128),
    PRIMARY KEY (code, day, visitor)
);

-- invite_credits: who brought whom, once per invitee and campaign (the
-- first invitation wins; never the inviter themself). registered: the
-- account was created after opening the invitation; participated_at: the
-- invitee's first finished formal attempt after the attribution.
CREATE TABLE invite_credits (
    campaign_id     bigint NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
    user_id         bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code            text NOT NULL REFERENCES invite_codes(code) ON DELETE CASCADE,
    attributed_at   timestamptz NOT NULL DEFAULT now(),
    registered      boolean NOT NULL DEFAULT false,
    participated_at timestamptz,
    PRIMARY KEY (campaign_id, user_id)
);
CREATE INDEX invite_credits_code ON invite_credits (code);

-- +goose Down
DROP TABLE invite_credits;
DROP TABLE invite_opens;
DROP TABLE invite_codes;
