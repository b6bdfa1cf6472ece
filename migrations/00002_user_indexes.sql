-- +goose Up
-- Rosters and dashboards look pupils up by class and school.
CREATE INDEX users_class ON users (class_id) WHERE class_id IS NOT NULL;
CREATE INDEX users_school ON users (school_id) WHERE school_id IS NOT NULL;
CREATE INDEX users_region ON users (region_id);

-- +goose Down
DROP INDEX users_region;
DROP INDEX users_school;
DROP INDEX users_class;
