-- +goose Up
-- Dashboard rollups, kept up to date by internal/dashboard's refresher so
-- that no page view scans the answers table. Every count here can be
-- rebuilt from the campaign tables (TRUNCATE the dash_* tables and reset
-- dash_watermarks). school_id/class_id 0 and region_id 0 mean "none".

-- How far the refresher got: the last answer id folded in, the last
-- attempt id folded in (started), the last attempt completion time
-- folded in (finished).
CREATE TABLE dash_watermarks (
    name    text PRIMARY KEY,
    last_id bigint NOT NULL DEFAULT 0,
    last_at timestamptz NOT NULL DEFAULT 'epoch'
);
INSERT INTO dash_watermarks (name) VALUES ('answers'), ('started'), ('finished');

-- Answers per campaign × hour × district × school.
CREATE TABLE dash_hourly (
    campaign_id bigint NOT NULL,
    hour        timestamptz NOT NULL,
    region_id   bigint NOT NULL,
    school_id   bigint NOT NULL,
    answers     bigint NOT NULL DEFAULT 0,
    correct     bigint NOT NULL DEFAULT 0,
    started     bigint NOT NULL DEFAULT 0,  -- attempts begun in the hour
    finished    bigint NOT NULL DEFAULT 0,  -- attempts completed in the hour
    passed      bigint NOT NULL DEFAULT 0,  -- of those, passed
    sum_pct     double precision NOT NULL DEFAULT 0,  -- their scores in percent
    PRIMARY KEY (campaign_id, hour, region_id, school_id)
);

-- Answers per campaign × minute (the live answers-per-minute figure); rows
-- older than a day are deleted by the refresher.
CREATE TABLE dash_minute (
    campaign_id bigint NOT NULL,
    minute      timestamptz NOT NULL,
    answers     bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (campaign_id, minute)
);

-- One row per participant of a campaign, with the groups they belong to
-- (copied from their profile when first seen) and their results over
-- completed attempts. Breakdowns group these rows.
CREATE TABLE dash_participants (
    campaign_id bigint NOT NULL,
    user_id     bigint NOT NULL,
    region_id   bigint NOT NULL,
    school_id   bigint NOT NULL,
    class_id    bigint NOT NULL,
    age_band    text NOT NULL,
    occupation  text NOT NULL,
    answers     int NOT NULL DEFAULT 0,
    attempts    int NOT NULL DEFAULT 0,      -- attempts begun
    finished    int NOT NULL DEFAULT 0,      -- completed attempts
    passes      int NOT NULL DEFAULT 0,      -- completed attempts that passed
    sum_pct     double precision NOT NULL DEFAULT 0,  -- over completed attempts
    best_pct    double precision,            -- NULL until one completes
    passed      boolean NOT NULL DEFAULT false,
    first_at    timestamptz NOT NULL,
    PRIMARY KEY (campaign_id, user_id)
);
CREATE INDEX dash_participants_school ON dash_participants (campaign_id, school_id);
CREATE INDEX dash_participants_class ON dash_participants (class_id) WHERE class_id <> 0;

-- Item analysis: per campaign × question version, answers and correct
-- answers as they arrive, and (m_*) the point-biserial moments over
-- completed attempts.
CREATE TABLE dash_items (
    campaign_id         bigint NOT NULL,
    question_version_id bigint NOT NULL,
    answers             bigint NOT NULL DEFAULT 0,
    correct             bigint NOT NULL DEFAULT 0,
    sum_ms              bigint NOT NULL DEFAULT 0,
    m_n                 bigint NOT NULL DEFAULT 0,
    m_correct           bigint NOT NULL DEFAULT 0,
    m_sum               double precision NOT NULL DEFAULT 0,
    m_sumsq             double precision NOT NULL DEFAULT 0,
    m_sum_right         double precision NOT NULL DEFAULT 0,
    PRIMARY KEY (campaign_id, question_version_id)
);

-- How often each option was chosen.
CREATE TABLE dash_item_options (
    campaign_id         bigint NOT NULL,
    question_version_id bigint NOT NULL,
    option              smallint NOT NULL,
    chosen              bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (campaign_id, question_version_id, option)
);

-- Per item × attempt score (whole percent): attempts and how many got the
-- item right (upper-minus-lower discrimination).
CREATE TABLE dash_item_scores (
    campaign_id         bigint NOT NULL,
    question_version_id bigint NOT NULL,
    score               smallint NOT NULL,
    n                   bigint NOT NULL DEFAULT 0,
    correct             bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (campaign_id, question_version_id, score)
);

-- Answers per campaign × category × literacy dimension.
CREATE TABLE dash_categories (
    campaign_id bigint NOT NULL,
    category    text NOT NULL,
    dimension   text NOT NULL,
    answers     bigint NOT NULL DEFAULT 0,
    correct     bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (campaign_id, category, dimension)
);

-- +goose Down
DROP TABLE dash_categories;
DROP TABLE dash_item_scores;
DROP TABLE dash_item_options;
DROP TABLE dash_items;
DROP TABLE dash_participants;
DROP TABLE dash_minute;
DROP TABLE dash_hourly;
DROP TABLE dash_watermarks;
