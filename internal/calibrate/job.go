package calibrate

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Job recalibrates periodically. Every instance runs one; the advisory
// lock lets one calibrate at a time, and a run happens only when the last
// job run began at least most of Every ago and answers have arrived since,
// so a cluster calibrates about once per Every, not once per instance.
type Job struct {
	Service *Service
	Every   time.Duration // KEPU_CALIBRATE_EVERY; 0 or less: never
	// First is how long after start the first check comes (default 1 minute:
	// not while every instance of a deployment is starting).
	First time.Duration
}

// Run checks every j.Every until ctx ends.
func (j *Job) Run(ctx context.Context) {
	if j.Every <= 0 {
		return
	}
	first := j.First
	if first <= 0 {
		first = time.Minute
	}
	t := time.NewTimer(first)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := j.Once(ctx); err != nil && ctx.Err() == nil && j.Service.Log != nil {
			j.Service.Log.Warn("calibration", "err", err)
		}
		t.Reset(j.Every)
	}
}

// Once calibrates if it is due and reports whether it did. Not due, busy
// elsewhere and no items yet are not errors.
func (j *Job) Once(ctx context.Context) (bool, error) {
	due, err := j.due(ctx)
	if err != nil || !due {
		return false, err
	}
	_, err = j.Service.Calibrate(ctx, "job")
	switch {
	case errors.Is(err, ErrBusy), errors.Is(err, ErrNoItems):
		return false, nil
	case err != nil:
		return false, err
	}
	return true, nil
}

// due: no job run began within 90% of Every, and there are answers the
// latest run (of either source) has not read.
func (j *Job) due(ctx context.Context) (bool, error) {
	var due bool
	err := j.Service.DB.QueryRow(ctx, `SELECT
		NOT EXISTS (SELECT 1 FROM calibration_runs WHERE source = 'job' AND started_at > now() - $1::interval)
		AND (SELECT coalesce(max(id), 0) FROM campaign_answers) > (SELECT coalesce(max(answers_through), 0) FROM calibration_runs)`,
		fmt.Sprintf("%d milliseconds", (j.Every*9/10).Milliseconds())).Scan(&due)
	if err != nil {
		return false, fmt.Errorf("calibrate: due: %w", err)
	}
	return due, nil
}
