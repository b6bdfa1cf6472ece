-- +goose Up
-- A question is a stable identity; its text lives in versions. Editing makes
-- a new version; attempts and contests reference question_versions.id, so
-- they always show the exact version they showed. Retiring a question hides
-- it from new draws without touching history.
CREATE TABLE questions (
    id              bigserial PRIMARY KEY,
    owner_region_id bigint NOT NULL REFERENCES regions(id),  -- the organization whose bank holds it
    seed_key        text UNIQUE,                             -- stable key of shipped questions
    lang            text NOT NULL DEFAULT 'zh-CN' CHECK (lang IN ('zh-CN', 'en')),
    translation_of  bigint REFERENCES questions(id),          -- the zh-CN original of an en version
    status          text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'published', 'retired')),
    current_version int NOT NULL DEFAULT 1,
    -- denormalized from the current version, for filtering and draws:
    type            text NOT NULL CHECK (type IN ('single', 'multiple', 'truefalse')),
    category        text NOT NULL,
    dimension       text NOT NULL CHECK (dimension IN ('knowledge', 'method', 'spirit', 'application')),
    difficulty      int NOT NULL CHECK (difficulty BETWEEN 1 AND 5),
    stem_norm       text NOT NULL,                            -- normalized stem, for duplicate detection
    created_by      bigint REFERENCES users(id),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX questions_draw ON questions (status, lang, category, dimension, type);
CREATE INDEX questions_owner ON questions (owner_region_id);
CREATE UNIQUE INDEX questions_translation ON questions (translation_of, lang) WHERE translation_of IS NOT NULL;
CREATE INDEX questions_stem_norm ON questions (owner_region_id, lang, stem_norm);

CREATE TABLE question_versions (
    id          bigserial PRIMARY KEY,
    question_id bigint NOT NULL REFERENCES questions(id) ON DELETE CASCADE,
    version     int NOT NULL,
    type        text NOT NULL,
    stem        text NOT NULL,
    options     jsonb NOT NULL,          -- array of option texts, in authoring order
    answer      int[] NOT NULL,          -- zero-based indexes into options
    explanation text NOT NULL,
    category    text NOT NULL,
    dimension   text NOT NULL,
    difficulty  int NOT NULL,
    tags        text[] NOT NULL DEFAULT '{}',
    source      text NOT NULL DEFAULT '',
    image_id    bigint,
    created_by  bigint REFERENCES users(id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (question_id, version)
);

-- Uploaded question images, served by the app (size- and type-checked).
CREATE TABLE images (
    id         bigserial PRIMARY KEY,
    sha256     bytea NOT NULL UNIQUE,
    mime       text NOT NULL CHECK (mime IN ('image/png', 'image/jpeg', 'image/webp', 'image/gif')),
    data       bytea NOT NULL,
    width      int NOT NULL,
    height     int NOT NULL,
    created_by bigint REFERENCES users(id),
    created_at timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE question_versions ADD CONSTRAINT question_versions_image FOREIGN KEY (image_id) REFERENCES images(id);

-- +goose Down
DROP TABLE question_versions;
DROP TABLE images;
DROP TABLE questions;
