-- +goose Up
-- Prizes of a campaign (internal/prize, docs/campaigns.md): rank prizes
-- awarded from the frozen final board (00230) and lottery prizes drawn
-- by the verifiable lottery (internal/lottery).

-- A prize definition: kind 'rank' (the top ranks of a division's frozen
-- board, in position order: the first rank prize takes ranks 1..count,
-- the next the following ones) or 'lottery' (drawn among the division's
-- eligible entries). Editable until the campaign closes.
CREATE TABLE prizes (
    id          bigserial PRIMARY KEY,
    campaign_id bigint NOT NULL REFERENCES campaigns(id),
    position    int NOT NULL CHECK (position >= 0),
    kind        text NOT NULL CHECK (kind IN ('rank', 'lottery')),
    division    text NOT NULL DEFAULT '' CHECK (length(division) <= 32),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 60),
    count       int NOT NULL CHECK (count BETWEEN 1 AND 10000),
    UNIQUE (campaign_id, position)
);

-- Who may enter a division's lottery: basis 'right' (right answers) or
-- 'score' at least min_value in one attempt; per 'person' (one entry,
-- their first qualifying attempt) or 'attempt' (one entry per qualifying
-- attempt). Division '' is the rule of every division without its own.
CREATE TABLE prize_eligibility (
    campaign_id bigint NOT NULL REFERENCES campaigns(id),
    division    text NOT NULL DEFAULT '' CHECK (length(division) <= 32),
    basis       text NOT NULL CHECK (basis IN ('right', 'score')),
    min_value   int NOT NULL CHECK (min_value BETWEEN 0 AND 1000000),
    per         text NOT NULL CHECK (per IN ('person', 'attempt')),
    PRIMARY KEY (campaign_id, division)
);

-- The lottery of a campaign: the secret seed and its public commitment
-- (lowercase hex SHA-256 of the seed), made once (at publication or when
-- the first prize is saved) and never changed; published is the
-- document of the draw (entries, prizes, seed, winners), written once
-- after the close. The trigger refuses any change to the seed or the
-- commitment and any second draw.
CREATE TABLE prize_lottery (
    campaign_id  bigint PRIMARY KEY REFERENCES campaigns(id),
    seed         bytea NOT NULL CHECK (length(seed) = 32),
    commitment   text NOT NULL CHECK (length(commitment) = 64),
    committed_at timestamptz NOT NULL DEFAULT now(),
    drawn_at     timestamptz,
    published    jsonb
);
-- +goose StatementBegin
CREATE FUNCTION prize_lottery_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.seed <> OLD.seed OR NEW.commitment <> OLD.commitment OR NEW.committed_at <> OLD.committed_at
       OR (OLD.drawn_at IS NOT NULL AND (NEW.drawn_at IS DISTINCT FROM OLD.drawn_at OR NEW.published IS DISTINCT FROM OLD.published)) THEN
        RAISE EXCEPTION 'prize_lottery: the commitment and a draw are final' USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;
-- +goose StatementEnd
CREATE TRIGGER prize_lottery_frozen BEFORE UPDATE ON prize_lottery FOR EACH ROW EXECUTE FUNCTION prize_lottery_frozen();

-- A prize won: by rank (rank set) or by the draw (entry set).
CREATE TABLE prize_awards (
    id           bigserial PRIMARY KEY,
    prize_id     bigint NOT NULL REFERENCES prizes(id),
    campaign_id  bigint NOT NULL REFERENCES campaigns(id),
    user_id      bigint NOT NULL REFERENCES users(id),
    rank         int,
    entry        text,
    awarded_at   timestamptz NOT NULL DEFAULT now(),
    fulfilled_at timestamptz,
    fulfilled_by bigint REFERENCES users(id),
    UNIQUE (prize_id, user_id)
);
CREATE INDEX prize_awards_user ON prize_awards (user_id);
CREATE INDEX prize_awards_campaign ON prize_awards (campaign_id);

-- The winner's delivery details, kept only until the organizer marks the
-- prize fulfilled (then the row is deleted: PIPL minimization).
CREATE TABLE prize_deliveries (
    award_id   bigint PRIMARY KEY REFERENCES prize_awards(id) ON DELETE CASCADE,
    name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 40),
    phone      text NOT NULL CHECK (length(phone) BETWEEN 5 AND 20),
    address    text NOT NULL CHECK (length(address) BETWEEN 5 AND 200),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE prize_deliveries;
DROP TABLE prize_awards;
DROP TABLE prize_lottery;
DROP FUNCTION prize_lottery_frozen();
DROP TABLE prize_eligibility;
DROP TABLE prizes;
