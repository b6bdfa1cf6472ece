package campaign

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kepu/kepu/internal/kepu"
)

// MaxSignalRows is the most attempts one signal report lists.
const MaxSignalRows = 500

// Thresholds of the signals the server computes from Postgres rows when
// the report is read (docs/fairness.md, "Signals"):
const (
	// ReadingCharsPerSec is the reading-speed floor: an answer sooner than
	// the stem's characters / 15 seconds was given without reading it —
	// 15 characters a second (900 a minute) is about twice a fluent adult's
	// silent reading of Chinese (300–500 a minute), so only skipping is
	// faster. BelowReadingFlag such answers flag an attempt.
	ReadingCharsPerSec = 15
	BelowReadingFlag   = 3
	// UniformMinAnswers answers whose server-measured times spread less
	// than UniformMaxCV of their mean (coefficient of variation) look
	// scripted: people take seconds longer on long or hard questions.
	UniformMinAnswers = 5
	UniformMaxCV      = 0.1
	// DeviceAccountsFlag accounts starting attempts of one campaign from one
	// device (kepu_did cookie) flag each of them (a family may share one
	// tablet; three accounts on one device is worth a look).
	DeviceAccountsFlag = 3
	// AddressAccountsFlag accounts from one address: weak on its own — a
	// school behind one NAT shows up here — so it ranks below every other
	// signal.
	AddressAccountsFlag = 50
)

// SignalRow is one attempt that has fairness signals, as the organizers of
// its campaign see it. Signals never fail an attempt: they point organizers
// at attempts worth a look (docs/fairness.md).
type SignalRow struct {
	AttemptID int64     `json:"attempt_id"`
	Nickname  string    `json:"nickname"`
	District  string    `json:"district"`
	School    string    `json:"school"`
	StartedAt time.Time `json:"started_at"`
	Finished  bool      `json:"finished"`
	Score     int       `json:"score"`
	MaxScore  int       `json:"max_score"`
	Fast      int       `json:"fast"`      // answers faster than the question could be read
	Hidden    int       `json:"hidden"`    // times the page was hidden mid-attempt
	FastSeqs  []int     `json:"fast_seqs"` // which questions (first 20)
	// Computed by the server from the answer rows:
	BelowReading   int  `json:"below_reading"`    // answers sooner than stem chars / ReadingCharsPerSec
	Uniform        bool `json:"uniform_times"`    // answer times spread less than UniformMaxCV of their mean
	TimeSpreadMS   int  `json:"time_spread_ms"`   // standard deviation of the answer times
	DeviceAccounts int  `json:"device_accounts"`  // accounts in this campaign from this attempt's device
	AddressAccts   int  `json:"address_accounts"` // accounts in this campaign from this attempt's address
}

// SignalReport is a campaign's attempts with signals, most signals first.
type SignalReport struct {
	Attempts int64       `json:"attempts"` // attempts started in the campaign
	Flagged  int64       `json:"flagged"`  // of which with at least one signal
	Rows     []SignalRow `json:"rows"`
}

const sqlSignalTotals = `SELECT count(*) FROM campaign_attempts a WHERE a.campaign_id = $1`

// sqlSignalRows: the page-reported and "fast" signals (campaign_signals),
// and per attempt the server's own: answer times (answered_at - served_at,
// both the server's clock) below the reading floor and their spread, and
// how many accounts of the campaign share the attempt's device and address.
// $1 campaign, $2 row limit, $3 chars/s, $4 below-reading flag, $5 uniform
// minimum answers, $6 uniform CV, $7 device flag, $8 address flag.
const sqlSignalRows = `
WITH att AS (
    SELECT id, user_id, device_hash, addr_hash FROM campaign_attempts WHERE campaign_id = $1
), cs AS (
    SELECT s.attempt_id,
           count(*) FILTER (WHERE s.kind = 'fast') AS fast,
           count(*) FILTER (WHERE s.kind = 'hidden') AS hidden,
           (array_agg(s.seq ORDER BY s.seq) FILTER (WHERE s.kind = 'fast' AND s.seq IS NOT NULL))[1:20] AS fast_seqs
    FROM campaign_signals s JOIN att ON att.id = s.attempt_id
    WHERE s.kind IN ('fast', 'hidden')
    GROUP BY s.attempt_id
), tm AS (
    SELECT ans.attempt_id, count(*) AS n, avg(m.ms) AS mean, coalesce(stddev_samp(m.ms), 0) AS sd,
           count(*) FILTER (WHERE m.ms * $3 < char_length(v.stem) * 1000) AS below
    FROM att
    JOIN campaign_answers ans ON ans.attempt_id = att.id AND NOT ans.timed_out
    JOIN campaign_attempt_questions q ON q.attempt_id = ans.attempt_id AND q.seq = ans.seq
    JOIN question_versions v ON v.id = ans.question_version_id
    CROSS JOIN LATERAL (SELECT extract(epoch FROM ans.answered_at - q.served_at)::float8 * 1000 AS ms) m
    WHERE q.served_at IS NOT NULL
    GROUP BY ans.attempt_id
), dev AS (
    SELECT device_hash, count(DISTINCT user_id) AS users FROM att WHERE device_hash IS NOT NULL GROUP BY device_hash
), addr AS (
    SELECT addr_hash, count(DISTINCT user_id) AS users FROM att WHERE addr_hash IS NOT NULL GROUP BY addr_hash
), x AS (
    SELECT att.id, coalesce(cs.fast, 0) AS fast, coalesce(cs.hidden, 0) AS hidden, coalesce(cs.fast_seqs, '{}') AS fast_seqs,
           coalesce(tm.below, 0) AS below, coalesce(tm.n >= $5 AND tm.sd < $6 * tm.mean, false) AS uniform,
           coalesce(tm.sd, 0) AS sd, coalesce(dev.users, 0) AS dev_users, coalesce(addr.users, 0) AS addr_users
    FROM att
    LEFT JOIN cs ON cs.attempt_id = att.id
    LEFT JOIN tm ON tm.attempt_id = att.id
    LEFT JOIN dev ON dev.device_hash = att.device_hash
    LEFT JOIN addr ON addr.addr_hash = att.addr_hash
), f AS (
    SELECT x.*, fast + hidden + CASE WHEN below >= $4 THEN below ELSE 0 END + CASE WHEN uniform THEN 5 ELSE 0 END
                + CASE WHEN dev_users >= $7 THEN dev_users ELSE 0 END AS weight
    FROM x
    WHERE fast > 0 OR hidden > 0 OR below >= $4 OR uniform OR dev_users >= $7 OR addr_users >= $8
)
SELECT count(*) OVER (), a.id, u.nickname, coalesce(r.name, ''), coalesce(sc.name, ''), a.started_at,
       a.finished_at IS NOT NULL, a.score, a.max_score, f.fast, f.hidden, f.fast_seqs,
       f.below, f.uniform, round(f.sd)::int, f.dev_users, f.addr_users
FROM f
JOIN campaign_attempts a ON a.id = f.id
JOIN users u ON u.id = a.user_id
LEFT JOIN regions r ON r.id = a.region_id  -- where the attempt started (its snapshot)
LEFT JOIN schools sc ON sc.id = a.school_id
ORDER BY f.weight DESC, f.addr_users DESC, a.id
LIMIT $2`

// Signals reports the attempts of a campaign the actor manages that have
// fairness signals — answers faster than reading time, page-visibility
// changes, and the server's own: answers below the reading-speed floor,
// uniform answer times, many accounts from one device or address — at most
// MaxSignalRows attempts, strongest signals first.
func (s *Service) Signals(ctx context.Context, a kepu.Actor, campaignID int64) (SignalReport, error) {
	var rep SignalReport
	if _, err := s.Manage(ctx, a, campaignID); err != nil {
		return rep, err
	}
	if err := s.DB.QueryRow(ctx, sqlSignalTotals, campaignID).Scan(&rep.Attempts); err != nil {
		return rep, fmt.Errorf("campaign: signal totals: %w", err)
	}
	rows, err := s.DB.Query(ctx, sqlSignalRows, campaignID, MaxSignalRows, ReadingCharsPerSec, BelowReadingFlag,
		UniformMinAnswers, UniformMaxCV, DeviceAccountsFlag, AddressAccountsFlag)
	if err != nil {
		return rep, fmt.Errorf("campaign: signals: %w", err)
	}
	rep.Rows, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (SignalRow, error) {
		var x SignalRow
		err := r.Scan(&rep.Flagged, &x.AttemptID, &x.Nickname, &x.District, &x.School, &x.StartedAt,
			&x.Finished, &x.Score, &x.MaxScore, &x.Fast, &x.Hidden, &x.FastSeqs,
			&x.BelowReading, &x.Uniform, &x.TimeSpreadMS, &x.DeviceAccounts, &x.AddressAccts)
		return x, err
	})
	if err != nil {
		return rep, fmt.Errorf("campaign: signals: %w", err)
	}
	return rep, nil
}

// MarkClient records where attempt id (the actor's, just started) comes
// from: keyed hashes of its device cookie and address (never the values
// themselves), for the shared-device and shared-address signals. Only the
// first mark counts.
func (s *Service) MarkClient(ctx context.Context, a kepu.Actor, id int64, deviceHash, addrHash string) error {
	if _, err := s.DB.Exec(ctx, `UPDATE campaign_attempts SET device_hash = $3, addr_hash = $4
		WHERE id = $1 AND user_id = $2 AND device_hash IS NULL AND addr_hash IS NULL`, id, a.UserID, deviceHash, addrHash); err != nil {
		return fmt.Errorf("campaign: mark client: %w", err)
	}
	return nil
}
