package dashboard

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kepu/kepu/internal/kepu"
	"github.com/kepu/kepu/internal/postgres"
)

// ContestInfo is the contest a report is about.
type ContestInfo struct {
	ID      int64     `json:"id"`
	Title   string    `json:"title"`
	OwnerID int64     `json:"owner_id"`
	Created time.Time `json:"created_at"`
	Own     bool      `json:"own"` // the actor owns (hosts) it
}

// Contest returns the contest if the actor may see its reports: its owner,
// an admin, or an organizer whose subtree holds the owner's region.
func (s *Service) Contest(ctx context.Context, a kepu.Actor, id int64) (ContestInfo, error) {
	if !a.Is(kepu.RoleTeacher, kepu.RoleOrganizer, kepu.RoleAdmin) {
		return ContestInfo{}, kepu.Forbidden
	}
	var c ContestInfo
	var region int64
	err := s.DB.QueryRow(ctx, `SELECT c.id, c.title, c.owner_id, c.created_at, coalesce(u.region_id, 0)
		FROM contests c JOIN users u ON u.id = c.owner_id WHERE c.id = $1`, id).Scan(&c.ID, &c.Title, &c.OwnerID, &c.Created, &region)
	if postgres.IsNotFound(err) {
		return ContestInfo{}, kepu.NotFound("error.dash_contest_not_found")
	}
	if err != nil {
		return ContestInfo{}, fmt.Errorf("dashboard: contest %d: %w", id, err)
	}
	c.Own = c.OwnerID == a.UserID
	switch {
	case c.Own, a.IsAdmin():
	case a.Role == kepu.RoleOrganizer && region != 0:
		if err := s.Org.CheckRegion(ctx, a, region); err != nil {
			return ContestInfo{}, err
		}
	default:
		return ContestInfo{}, kepu.Forbidden
	}
	return c, nil
}

// ContestViews lists the tables of a contest report.
var ContestViews = []string{"runs", "players", "questions"}

// sqlContestQuestions is contest $1's per-question report: one row per
// question version, in the contest's order now, then versions only earlier
// runs played. An answer counts for the version its run played at that
// position (the run's snapshot, contest_runs.questions; runs older than
// the snapshot played the contest's questions), so reordering or editing a
// contest between runs never mixes two questions' answers. Columns:
// position (NULL for a version no longer in the contest), stem, key,
// options, answers, right answers, mean ms, and the chosen options with
// their counts.
const sqlContestQuestions = `WITH played AS (
		SELECT r.id AS run_id, (e.ord - 1)::int AS position, (e.q->>'version_id')::bigint AS version_id
		FROM contest_runs r CROSS JOIN LATERAL jsonb_array_elements(r.questions) WITH ORDINALITY AS e(q, ord)
		WHERE r.contest_id = $1 AND jsonb_typeof(r.questions) = 'array'
		UNION ALL
		SELECT r.id, cq.position, cq.question_version_id FROM contest_runs r JOIN contest_questions cq ON cq.contest_id = r.contest_id
		WHERE r.contest_id = $1 AND r.questions IS NULL
	), ans AS (
		SELECT p.version_id, a.choice, a.correct, a.elapsed_ms
		FROM contest_answers a JOIN played p ON p.run_id = a.run_id AND p.position = a.position
	), items AS (
		SELECT question_version_id AS version_id, position FROM contest_questions WHERE contest_id = $1
		UNION ALL
		SELECT DISTINCT version_id, NULL::int FROM played
		WHERE version_id NOT IN (SELECT question_version_id FROM contest_questions WHERE contest_id = $1)
	)
	SELECT i.position, v.stem, v.answer, jsonb_array_length(v.options),
		count(a.version_id), count(a.version_id) FILTER (WHERE a.correct), coalesce(avg(a.elapsed_ms), 0),
		coalesce((SELECT array_agg(n ORDER BY o) FROM (SELECT o, count(*) n FROM ans a2, unnest(a2.choice) o
			WHERE a2.version_id = i.version_id GROUP BY o) x), '{}')::bigint[],
		coalesce((SELECT array_agg(DISTINCT o ORDER BY o) FROM ans a2, unnest(a2.choice) o WHERE a2.version_id = i.version_id), '{}')::int[]
	FROM items i JOIN question_versions v ON v.id = i.version_id
	LEFT JOIN ans a ON a.version_id = i.version_id
	GROUP BY i.version_id, i.position, v.stem, v.answer, v.options
	ORDER BY i.position NULLS LAST, i.version_id`

// ContestView returns one table of the contest report. The players table
// shows full nicknames: the report is not public (Contest admits only the
// host, admins and organizers over the host's region), and a teacher needs
// to know which pupil played; masking belongs on public pages
// (docs/leaderboards.md).
func (s *Service) ContestView(ctx context.Context, c ContestInfo, name string) (Table, error) {
	switch name {
	case "runs":
		t := Table{Name: "runs", Columns: []string{"dash.col.run", "dash.col.started", "dash.col.status",
			"dash.col.players", "dash.col.avg_points", "dash.col.avg_correct"}}
		rows, _ := s.read().Query(ctx, `SELECT r.id, r.started_at, r.status, count(p.player_id), coalesce(avg(p.score), 0), coalesce(avg(p.correct), 0)
			FROM contest_runs r LEFT JOIN contest_players p ON p.run_id = r.id WHERE r.contest_id = $1
			GROUP BY r.id ORDER BY r.id DESC LIMIT 500`, c.ID)
		var id, n int64
		var started *time.Time
		var status string
		var avgScore, avgCorrect float64
		_, err := pgx.ForEachRow(rows, []any{&id, &started, &status, &n, &avgScore, &avgCorrect}, func() error {
			when := ""
			if started != nil {
				when = kepu.FormatTime(*started, kepu.LayoutMinute)
			}
			t.Rows = append(t.Rows, []any{id, when, Key("dash.run." + status), n, round1(avgScore), round1(avgCorrect)})
			return nil
		})
		if err != nil {
			return t, fmt.Errorf("dashboard: contest runs: %w", err)
		}
		return t, nil
	case "players":
		t := Table{Name: "players", Columns: []string{"dash.col.run", "dash.col.rank", "dash.col.nickname",
			"dash.col.class", "dash.col.points", "dash.col.correct"}}
		rows, _ := s.read().Query(ctx, `SELECT p.run_id, p.rank, p.nickname, coalesce(cl.name, ''), p.score, p.correct
			FROM contest_players p JOIN contest_runs r ON r.id = p.run_id LEFT JOIN classes cl ON cl.id = p.class_id
			WHERE r.contest_id = $1 ORDER BY p.run_id DESC, p.rank LIMIT 5000`, c.ID)
		var run, rank, score, correct int64
		var nick, class string
		_, err := pgx.ForEachRow(rows, []any{&run, &rank, &nick, &class, &score, &correct}, func() error {
			t.Rows = append(t.Rows, []any{run, rank, nick, class, score, correct})
			return nil
		})
		if err != nil {
			return t, fmt.Errorf("dashboard: contest players: %w", err)
		}
		return t, nil
	case "questions":
		t := Table{Name: "questions", Columns: []string{"dash.col.position", "dash.col.stem", "dash.col.answers",
			"dash.col.facility", "dash.col.avg_seconds", "dash.col.wrong_options"}}
		rows, _ := s.read().Query(ctx, sqlContestQuestions, c.ID)
		var pos *int
		var nopt int
		var stem string
		var key, opts []int32
		var n, ok int64
		var ms float64
		var counts []int64
		_, err := pgx.ForEachRow(rows, []any{&pos, &stem, &key, &nopt, &n, &ok, &ms, &counts, &opts}, func() error {
			byOpt := make([]int64, nopt)
			for k, o := range opts {
				if int(o) >= 0 && int(o) < nopt && k < len(counts) {
					byOpt[o] = counts[k]
				}
			}
			keys := make([]int, len(key))
			for i, k := range key {
				keys[i] = int(k)
			}
			var position any // a question no longer in the contest has none
			if pos != nil {
				position = int64(*pos + 1)
			}
			t.Rows = append(t.Rows, []any{position, stem, n, pct(ok, n), round1(ms / 1000), wrongOptions(byOpt, keys)})
			return nil
		})
		if err != nil {
			return t, fmt.Errorf("dashboard: contest questions: %w", err)
		}
		return t, nil
	}
	return Table{}, kepu.NotFound("error.dash_view_not_found")
}
