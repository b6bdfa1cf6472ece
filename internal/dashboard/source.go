package dashboard

// This file is the one place that reads the campaign engineer's tables
// (internal/campaign, migrations 002xx): attempts and their answers. If
// their schema changes, only these statements change.
//
// srcAttempts yields one row per attempt: id, campaign_id, user_id,
// started_at, finished_at (NULL while in progress), pct (score in percent,
// NULL while in progress), passed, tier (assessments: the literacy tier
// the campaign gave it) and at_region, at_school, at_class: the groups the
// participant had when the attempt started (0: none), which is where the
// attempt counts, whatever the profile says now. Staff-practice attempts
// (players who could read the keys) are left out of every figure.
const srcAttempts = `SELECT t.id, t.campaign_id, t.user_id, t.started_at, t.finished_at,
	CASE WHEN t.finished_at IS NULL THEN NULL ELSE 100.0 * t.score / greatest(t.max_score, 1) END AS pct,
	coalesce(t.passed, false) AS passed, t.tier,
	coalesce(t.region_id, 0) AS at_region, coalesce(t.school_id, 0) AS at_school, coalesce(t.class_id, 0) AS at_class
	FROM campaign_attempts t WHERE NOT t.staff_practice AND NOT t.practice`

// srcAnswers yields one row per answer: id, attempt_id, question_version_id,
// choice (int[]), correct, elapsed_ms and at (when the server accepted it).
const srcAnswers = `SELECT a.id, a.attempt_id, a.question_version_id, a.choice, a.correct, a.elapsed_ms, a.answered_at AS at
	FROM campaign_answers a`

// profileCols yields the groups an attempt t (a row of srcAttempts) is
// counted in: region, school and class from the attempt's snapshot, age
// band and occupation from the profile u.
const profileCols = `t.at_region AS region_id, t.at_school AS school_id,
	t.at_class AS class_id, coalesce(u.age_band, '') AS age_band, coalesce(u.occupation, '') AS occupation`

// sqlStartedBound: the highest attempt id among the next $2 attempts past $1
// begun more than $3 ago.
const sqlStartedBound = `SELECT coalesce(max(id), $1) FROM (SELECT id FROM campaign_attempts
	WHERE id > $1 AND started_at < now() - $3::interval ORDER BY id LIMIT $2) x`

// sqlFoldStarted counts attempts ($1, $2] as begun: per hour and per participant.
const sqlFoldStarted = `WITH b AS (
	SELECT t.id, t.campaign_id, t.user_id, t.started_at, ` + profileCols + `
	FROM (` + srcAttempts + `) t JOIN users u ON u.id = t.user_id
	WHERE t.id > $1 AND t.id <= $2
), h AS (
	INSERT INTO dash_hourly (campaign_id, hour, region_id, school_id, started)
	SELECT campaign_id, date_trunc('hour', started_at), region_id, school_id, count(*) FROM b GROUP BY 1, 2, 3, 4
	ON CONFLICT (campaign_id, hour, region_id, school_id) DO UPDATE SET started = dash_hourly.started + EXCLUDED.started
), p AS (
	INSERT INTO dash_participants (campaign_id, user_id, region_id, school_id, class_id, age_band, occupation, attempts, first_at)
	SELECT campaign_id, user_id, (array_agg(region_id ORDER BY started_at, id))[1], (array_agg(school_id ORDER BY started_at, id))[1],
		(array_agg(class_id ORDER BY started_at, id))[1], min(age_band), min(occupation), count(*), min(started_at)
	FROM b GROUP BY campaign_id, user_id
	ON CONFLICT (campaign_id, user_id) DO UPDATE SET attempts = dash_participants.attempts + EXCLUDED.attempts,
		first_at = least(dash_participants.first_at, EXCLUDED.first_at)
)
SELECT count(*) FROM b`

// sqlAnswersBound: the highest answer id among the next $2 answers past $1
// accepted more than $3 ago.
const sqlAnswersBound = `SELECT coalesce(max(id), $1) FROM (SELECT id FROM campaign_answers
	WHERE id > $1 AND answered_at < now() - $3::interval ORDER BY id LIMIT $2) x`

// sqlFoldAnswers folds answers ($1, $2] into the hourly, per-minute,
// participant, item, option and category rollups.
const sqlFoldAnswers = `WITH b AS (
	SELECT a.id, t.campaign_id, t.user_id, a.question_version_id AS qv, a.choice, a.correct, a.elapsed_ms, a.at, ` + profileCols + `
	FROM (` + srcAnswers + `) a JOIN (` + srcAttempts + `) t ON t.id = a.attempt_id JOIN users u ON u.id = t.user_id
	WHERE a.id > $1 AND a.id <= $2
), h AS (
	INSERT INTO dash_hourly (campaign_id, hour, region_id, school_id, answers, correct)
	SELECT campaign_id, date_trunc('hour', at), region_id, school_id, count(*), count(*) FILTER (WHERE correct)
	FROM b GROUP BY 1, 2, 3, 4
	ON CONFLICT (campaign_id, hour, region_id, school_id) DO UPDATE
	SET answers = dash_hourly.answers + EXCLUDED.answers, correct = dash_hourly.correct + EXCLUDED.correct
), m AS (
	INSERT INTO dash_minute (campaign_id, minute, answers)
	SELECT campaign_id, date_trunc('minute', at), count(*) FROM b WHERE at > now() - interval '1 day' GROUP BY 1, 2
	ON CONFLICT (campaign_id, minute) DO UPDATE SET answers = dash_minute.answers + EXCLUDED.answers
), p AS (
	INSERT INTO dash_participants (campaign_id, user_id, region_id, school_id, class_id, age_band, occupation, answers, first_at)
	SELECT campaign_id, user_id, (array_agg(region_id ORDER BY at, id))[1], (array_agg(school_id ORDER BY at, id))[1],
		(array_agg(class_id ORDER BY at, id))[1], min(age_band), min(occupation), count(*), min(at)
	FROM b GROUP BY campaign_id, user_id
	ON CONFLICT (campaign_id, user_id) DO UPDATE SET answers = dash_participants.answers + EXCLUDED.answers
), i AS (
	INSERT INTO dash_items (campaign_id, question_version_id, answers, correct, sum_ms)
	SELECT campaign_id, qv, count(*), count(*) FILTER (WHERE correct), sum(elapsed_ms) FROM b GROUP BY 1, 2
	ON CONFLICT (campaign_id, question_version_id) DO UPDATE SET answers = dash_items.answers + EXCLUDED.answers,
		correct = dash_items.correct + EXCLUDED.correct, sum_ms = dash_items.sum_ms + EXCLUDED.sum_ms
), o AS (
	INSERT INTO dash_item_options (campaign_id, question_version_id, option, chosen)
	SELECT campaign_id, qv, opt, count(*) FROM b, unnest(b.choice) AS opt GROUP BY 1, 2, 3
	ON CONFLICT (campaign_id, question_version_id, option) DO UPDATE SET chosen = dash_item_options.chosen + EXCLUDED.chosen
), c AS (
	INSERT INTO dash_categories (campaign_id, category, dimension, answers, correct)
	SELECT b.campaign_id, v.category, v.dimension, count(*), count(*) FILTER (WHERE b.correct)
	FROM b JOIN question_versions v ON v.id = b.qv GROUP BY 1, 2, 3
	ON CONFLICT (campaign_id, category, dimension) DO UPDATE
	SET answers = dash_categories.answers + EXCLUDED.answers, correct = dash_categories.correct + EXCLUDED.correct
)
SELECT count(*) FROM b`

// FinishedLookBack is how far behind its watermark the refresher looks for
// completed attempts (their transactions may commit late, and completion
// times come from the clock of whichever instance completed them).
const FinishedLookBack = "10 minutes"

// sqlFinishedBound: the completion time bounding the next batch of
// attempts finished after $1 and more than $3 ago (about $2 attempts; all
// attempts at the bound's instant are included).
const sqlFinishedBound = `SELECT max(finished_at) FROM (SELECT finished_at FROM campaign_attempts
	WHERE finished_at > $1 AND finished_at < now() - $3::interval ORDER BY finished_at LIMIT $2) x`

// sqlFoldFinished folds attempts completed in ($1 − FinishedLookBack, $2]
// and not folded before (dash_folded_attempts): participants' results,
// hourly completions, the item moments and score cells.
const sqlFoldFinished = `WITH f AS (
	INSERT INTO dash_folded_attempts (attempt_id)
	SELECT id FROM campaign_attempts WHERE finished_at > $1::timestamptz - interval '` + FinishedLookBack + `' AND finished_at <= $2
	ON CONFLICT DO NOTHING RETURNING attempt_id
), t AS (
	SELECT t.*, ` + profileCols + ` FROM (` + srcAttempts + `) t JOIN f ON f.attempt_id = t.id JOIN users u ON u.id = t.user_id
), h AS (
	INSERT INTO dash_hourly (campaign_id, hour, region_id, school_id, finished, passed, sum_pct)
	SELECT campaign_id, date_trunc('hour', finished_at), region_id, school_id, count(*), count(*) FILTER (WHERE passed), sum(pct)
	FROM t GROUP BY 1, 2, 3, 4
	ON CONFLICT (campaign_id, hour, region_id, school_id) DO UPDATE SET finished = dash_hourly.finished + EXCLUDED.finished,
		passed = dash_hourly.passed + EXCLUDED.passed, sum_pct = dash_hourly.sum_pct + EXCLUDED.sum_pct
), p AS (
	INSERT INTO dash_participants (campaign_id, user_id, region_id, school_id, class_id, age_band, occupation,
		finished, passes, sum_pct, best_pct, tier, passed, first_at)
	SELECT campaign_id, user_id, (array_agg(region_id ORDER BY started_at, id))[1], (array_agg(school_id ORDER BY started_at, id))[1],
		(array_agg(class_id ORDER BY started_at, id))[1], min(age_band), min(occupation),
		count(*), count(*) FILTER (WHERE passed), sum(pct), max(pct), (array_agg(tier ORDER BY pct DESC))[1],
		bool_or(passed), min(started_at)
	FROM t GROUP BY campaign_id, user_id
	ON CONFLICT (campaign_id, user_id) DO UPDATE SET finished = dash_participants.finished + EXCLUDED.finished,
		tier = CASE WHEN dash_participants.best_pct IS NULL OR EXCLUDED.best_pct > dash_participants.best_pct
			THEN EXCLUDED.tier ELSE dash_participants.tier END,
		passes = dash_participants.passes + EXCLUDED.passes, sum_pct = dash_participants.sum_pct + EXCLUDED.sum_pct,
		best_pct = greatest(dash_participants.best_pct, EXCLUDED.best_pct), passed = dash_participants.passed OR EXCLUDED.passed
), a AS (
	SELECT t.campaign_id, x.question_version_id AS qv, x.correct, t.pct
	FROM t JOIN (` + srcAnswers + `) x ON x.attempt_id = t.id
), i AS (
	INSERT INTO dash_items (campaign_id, question_version_id, m_n, m_correct, m_sum, m_sumsq, m_sum_right)
	SELECT campaign_id, qv, count(*), count(*) FILTER (WHERE correct), sum(pct), sum(pct * pct), coalesce(sum(pct) FILTER (WHERE correct), 0)
	FROM a GROUP BY 1, 2
	ON CONFLICT (campaign_id, question_version_id) DO UPDATE SET m_n = dash_items.m_n + EXCLUDED.m_n,
		m_correct = dash_items.m_correct + EXCLUDED.m_correct, m_sum = dash_items.m_sum + EXCLUDED.m_sum,
		m_sumsq = dash_items.m_sumsq + EXCLUDED.m_sumsq, m_sum_right = dash_items.m_sum_right + EXCLUDED.m_sum_right
), s AS (
	INSERT INTO dash_item_scores (campaign_id, question_version_id, score, n, correct)
	SELECT campaign_id, qv, round(pct)::smallint, count(*), count(*) FILTER (WHERE correct) FROM a GROUP BY 1, 2, 3
	ON CONFLICT (campaign_id, question_version_id, score) DO UPDATE SET n = dash_item_scores.n + EXCLUDED.n,
		correct = dash_item_scores.correct + EXCLUDED.correct
)
SELECT count(*) FROM t`

// sqlCampaign: id, title, region_id, assessment, starts_at, ends_at of campaign $1.
const sqlCampaign = `SELECT c.id, c.title, coalesce(c.region_id, 0), c.kind = 'assessment', c.starts_at, c.ends_at
	FROM campaigns c WHERE c.id = $1`

// sqlInProgress: attempts of campaign $1 running now (in_progress) started
// in scope ($2 regions, $3 classes: the attempt's snapshot).
const sqlInProgress = `SELECT count(*) FROM campaign_attempts t
	WHERE t.campaign_id = $1 AND t.in_progress AND t.finished_at IS NULL AND NOT t.staff_practice AND NOT t.practice
	AND ($2::bigint[] IS NULL OR t.region_id = ANY($2)) AND ($3::bigint[] IS NULL OR t.class_id = ANY($3))`
