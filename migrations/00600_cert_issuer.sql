-- +goose Up
-- The organization that issues certificates (internal/certificate/issuer.go):
-- its name and its seal image, set by an admin; one row. Every certificate
-- (page, image, verification page, share card) names it. The seal is kept
-- here, not on disk, so every instance serves the same one.
CREATE TABLE cert_issuer (
    id         int PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    name       text NOT NULL DEFAULT '' CHECK (length(name) <= 40),
    seal       bytea CHECK (octet_length(seal) <= 524288),
    seal_type  text CHECK (seal_type IN ('image/png', 'image/jpeg')),
    version    int NOT NULL DEFAULT 0,                  -- grows with every change (cache busting)
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by bigint REFERENCES users(id),
    CHECK ((seal IS NULL) = (seal_type IS NULL))
);
INSERT INTO cert_issuer (id) VALUES (1);

-- +goose Down
DROP TABLE cert_issuer;
