-- +goose Up
-- Item calibration (internal/calibrate, docs/measurement.md "Item
-- calibration"): each run fits the 2PL item response model to the
-- campaign answers and keeps its estimates; runs are never overwritten, so
-- the parameters of every question version have a history. The latest run
-- (highest id) is the one pages and parallel forms use.
CREATE TABLE calibration_runs (
    id             bigserial PRIMARY KEY,
    started_at     timestamptz NOT NULL DEFAULT now(),
    finished_at    timestamptz NOT NULL DEFAULT now(),
    source         text NOT NULL CHECK (source IN ('cli', 'job')),
    method         text NOT NULL,                 -- e.g. '2pl-mml-em'
    min_responses  int NOT NULL,                  -- items with fewer answers were left out
    answers_through bigint NOT NULL DEFAULT 0,    -- highest campaign_answers.id read
    persons        int NOT NULL,
    items          int NOT NULL,
    responses      bigint NOT NULL,
    iterations     int NOT NULL,
    converged      boolean NOT NULL,
    log_likelihood double precision NOT NULL
);

-- One question version's estimates in one run. b is the difficulty and a
-- the discrimination on the N(0,1) ability scale; p_value the classical
-- share right among the answers used; fit_* the grouped chi-square misfit
-- statistic (internal/irt.ItemFit), misfit its verdict.
CREATE TABLE item_parameters (
    run_id              bigint NOT NULL REFERENCES calibration_runs(id) ON DELETE CASCADE,
    question_version_id bigint NOT NULL REFERENCES question_versions(id),
    a                   double precision NOT NULL,
    b                   double precision NOT NULL,
    se_a                double precision NOT NULL,
    se_b                double precision NOT NULL,
    responses           int NOT NULL,
    p_value             double precision NOT NULL,
    fit_x2              double precision NOT NULL,
    fit_df              int NOT NULL,
    fit_p               double precision NOT NULL,
    fit_rmsea           double precision NOT NULL,
    misfit              boolean NOT NULL,
    PRIMARY KEY (run_id, question_version_id)
);
CREATE INDEX item_parameters_version ON item_parameters (question_version_id, run_id DESC);

-- +goose Down
DROP TABLE item_parameters;
DROP TABLE calibration_runs;
