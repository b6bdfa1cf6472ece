-- +goose Up
-- Population margins for weighting the literacy share (internal/literacy,
-- docs/measurement.md): the current population of each district by age
-- band, and optionally by occupation group, as an organizer uploaded it
-- from a statistics bureau's census tables. A row has an age band or an
-- occupation, never both. An upload replaces every row of the districts
-- it names; literacy_margin_uploads keeps who uploaded what and when.
CREATE TABLE literacy_margin_uploads (
    id          bigserial PRIMARY KEY,
    uploaded_by bigint REFERENCES users(id) ON DELETE SET NULL,
    uploaded_at timestamptz NOT NULL DEFAULT now(),
    source      text NOT NULL DEFAULT '' CHECK (length(source) <= 200),
    rows        int NOT NULL,
    districts   bigint[] NOT NULL
);

CREATE TABLE literacy_margins (
    district_id bigint NOT NULL REFERENCES regions(id) ON DELETE CASCADE,
    age_band    text NOT NULL DEFAULT '',
    occupation  text NOT NULL DEFAULT '',
    population  bigint NOT NULL CHECK (population >= 0),
    upload_id   bigint NOT NULL REFERENCES literacy_margin_uploads(id) ON DELETE CASCADE,
    CHECK ((age_band = '') <> (occupation = '')),
    PRIMARY KEY (district_id, age_band, occupation)
);

-- +goose Down
DROP TABLE literacy_margins;
DROP TABLE literacy_margin_uploads;
