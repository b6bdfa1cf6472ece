-- +goose Up
-- Regions form the city tree: city -> district/county -> township/street.
-- path is the materialized path of ids, e.g. '/1/4/', so a subtree is
-- path LIKE '/1/4/%'.
CREATE TABLE regions (
    id         bigserial PRIMARY KEY,
    parent_id  bigint REFERENCES regions(id),
    kind       text NOT NULL CHECK (kind IN ('city', 'district', 'township')),
    name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
    code       text NOT NULL UNIQUE,
    path       text NOT NULL DEFAULT '',
    sort       int NOT NULL DEFAULT 0
);
CREATE INDEX regions_parent ON regions(parent_id);
CREATE INDEX regions_path ON regions(path text_pattern_ops);

CREATE TABLE schools (
    id         bigserial PRIMARY KEY,
    region_id  bigint NOT NULL REFERENCES regions(id),
    name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 80),
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (region_id, name)
);

CREATE TABLE users (
    id                 bigserial PRIMARY KEY,
    username           text NOT NULL,
    password_hash      text,
    role               text NOT NULL DEFAULT 'participant'
                       CHECK (role IN ('participant', 'teacher', 'organizer', 'admin')),
    nickname           text NOT NULL CHECK (length(nickname) BETWEEN 1 AND 64),
    region_id          bigint REFERENCES regions(id),
    age_band           text,
    occupation         text,
    school_id          bigint REFERENCES schools(id),
    class_id           bigint,
    scope_region_id    bigint REFERENCES regions(id),
    guardian_consent_at timestamptz,
    managed_by         bigint REFERENCES users(id),
    lang               text NOT NULL DEFAULT 'zh-CN',
    disabled_at        timestamptz,
    deleted_at         timestamptz,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_username ON users (lower(username));
CREATE INDEX users_role ON users(role);

CREATE TABLE classes (
    id         bigserial PRIMARY KEY,
    school_id  bigint NOT NULL REFERENCES schools(id),
    name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 40),
    grade      int,
    teacher_id bigint REFERENCES users(id),
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (school_id, name)
);
CREATE INDEX classes_teacher ON classes(teacher_id);
ALTER TABLE users ADD CONSTRAINT users_class FOREIGN KEY (class_id) REFERENCES classes(id);

-- Sessions are server-side; the cookie holds a random token and the table
-- holds its SHA-256, so a database leak does not leak live sessions.
CREATE TABLE sessions (
    token_hash   bytea PRIMARY KEY,
    user_id      bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    ip           text NOT NULL DEFAULT '',
    user_agent   text NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions(user_id);
CREATE INDEX sessions_expires ON sessions(expires_at);

CREATE TABLE audit_log (
    id         bigserial PRIMARY KEY,
    at         timestamptz NOT NULL DEFAULT now(),
    actor_id   bigint REFERENCES users(id),
    action     text NOT NULL,
    target     text NOT NULL DEFAULT '',
    detail     jsonb NOT NULL DEFAULT '{}',
    ip         text NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_at ON audit_log(at DESC);

-- +goose Down
DROP TABLE audit_log;
DROP TABLE sessions;
ALTER TABLE users DROP CONSTRAINT users_class;
DROP TABLE classes;
DROP TABLE users;
DROP TABLE schools;
DROP TABLE regions;
