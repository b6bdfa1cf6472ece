package contest

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/xuri/excelize/v2"

	"github.com/kepu/kepu/internal/kepu"
)

// ResultRow is one player's stored result.
type ResultRow struct {
	Rank     int    `json:"rank"`
	Nickname string `json:"nickname"`
	UserID   int64  `json:"user_id,omitempty"`
	Class    string `json:"class,omitempty"`
	Score    int    `json:"score"`
	Correct  int    `json:"correct"`
}

// Results are a finished run as stored in Postgres.
type Results struct {
	Run       RunInfo        `json:"run"`
	Ranking   []ResultRow    `json:"ranking"`
	Questions []QuestionStat `json:"questions"`
}

// Results returns the stored results of a run the actor hosted.
func (s *Service) Results(ctx context.Context, a kepu.Actor, runID int64) (Results, error) {
	info, err := s.Info(ctx, a, runID)
	if err != nil {
		return Results{}, err
	}
	if info.Status != "finished" {
		return Results{}, kepu.Errorf(kepu.ECONFLICT, "error.contest_not_finished")
	}
	r := Results{Run: info, Ranking: []ResultRow{}}
	rows, _ := s.DB.Query(ctx, `SELECT p.rank, p.nickname, coalesce(p.user_id, 0), coalesce(c.name, ''), p.score, p.correct
		FROM contest_players p LEFT JOIN classes c ON c.id = p.class_id
		WHERE p.run_id = $1 ORDER BY p.rank`, runID)
	if r.Ranking, err = pgx.CollectRows(rows, pgx.RowToStructByPos[ResultRow]); err != nil {
		return Results{}, fmt.Errorf("contest: results %d: %w", runID, err)
	}
	players := len(r.Ranking)
	// The questions the run played: its own snapshot, so that a contest
	// edited or reordered since does not change a played run's results
	// (runs older than the snapshot: the contest's questions).
	var played []Question
	if err := s.DB.QueryRow(ctx, `SELECT coalesce(r.questions, (SELECT jsonb_agg(jsonb_build_object('stem', v.stem) ORDER BY cq.position)
		FROM contest_questions cq JOIN question_versions v ON v.id = cq.question_version_id WHERE cq.contest_id = r.contest_id), '[]')
		FROM contest_runs r WHERE r.id = $1`, runID).Scan(&played); err != nil {
		return Results{}, fmt.Errorf("contest: questions of run %d: %w", runID, err)
	}
	r.Questions = make([]QuestionStat, len(played))
	for i, q := range played {
		r.Questions[i] = QuestionStat{Q: i, Stem: q.Stem}
	}
	rows, _ = s.DB.Query(ctx, `SELECT position, count(*), count(*) FILTER (WHERE correct), avg(elapsed_ms)::int
		FROM contest_answers WHERE run_id = $1 GROUP BY position`, runID)
	var pos, answered, correct, avgMS int
	_, err = pgxForEach(rows, []any{&pos, &answered, &correct, &avgMS}, func() {
		if pos >= 0 && pos < len(r.Questions) {
			q := &r.Questions[pos]
			q.Answered, q.Correct, q.AvgMS = answered, correct, avgMS
			if players > 0 {
				q.Accuracy = float64(correct) / float64(players)
			}
		}
	})
	if err != nil {
		return Results{}, fmt.Errorf("contest: question stats %d: %w", runID, err)
	}
	return r, nil
}

// SafeCell neutralizes text a spreadsheet would run as a formula: a cell
// starting with = + - @ (or a tab or carriage return) gets a leading quote.
func SafeCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// Labels are the localized column headers of an export.
type Labels struct {
	Rank, Nickname, Class, Score, Correct, Question, Stem, Answered, Accuracy, AvgTime, Ranking, Questions string
}

func (r Results) rankingRows(l Labels) [][]string {
	out := [][]string{{l.Rank, l.Nickname, l.Class, l.Score, l.Correct}}
	for _, p := range r.Ranking {
		out = append(out, []string{strconv.Itoa(p.Rank), SafeCell(p.Nickname), SafeCell(p.Class),
			strconv.Itoa(p.Score), strconv.Itoa(p.Correct)})
	}
	return out
}

func (r Results) questionRows(l Labels) [][]string {
	out := [][]string{{l.Question, l.Stem, l.Answered, l.Correct, l.Accuracy, l.AvgTime}}
	for _, q := range r.Questions {
		out = append(out, []string{strconv.Itoa(q.Q + 1), SafeCell(q.Stem), strconv.Itoa(q.Answered),
			strconv.Itoa(q.Correct), fmt.Sprintf("%.0f%%", q.Accuracy*100), fmt.Sprintf("%.1f", float64(q.AvgMS)/1000)})
	}
	return out
}

// WriteCSV writes the ranking, a blank line and the question statistics
// as UTF-8 CSV with a byte-order mark (so spreadsheet programs read the
// Chinese right).
func (r Results) WriteCSV(w io.Writer, l Labels) error {
	if _, err := w.Write([]byte("\xEF\xBB\xBF")); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	rows := r.rankingRows(l)
	rows = append(rows, []string{})
	rows = append(rows, r.questionRows(l)...)
	if err := cw.WriteAll(rows); err != nil {
		return fmt.Errorf("contest: csv: %w", err)
	}
	return nil
}

// WriteXLSX writes the ranking and the question statistics as two sheets.
func (r Results) WriteXLSX(w io.Writer, l Labels) error {
	f := excelize.NewFile()
	defer f.Close()
	sheets := []struct {
		name string
		rows [][]string
	}{{l.Ranking, r.rankingRows(l)}, {l.Questions, r.questionRows(l)}}
	for i, sh := range sheets {
		name := sh.name
		if i == 0 {
			if err := f.SetSheetName("Sheet1", name); err != nil {
				return fmt.Errorf("contest: xlsx: %w", err)
			}
		} else if _, err := f.NewSheet(name); err != nil {
			return fmt.Errorf("contest: xlsx: %w", err)
		}
		for y, row := range sh.rows {
			for x, v := range row {
				cell, _ := excelize.CoordinatesToCellName(x+1, y+1)
				// Every value is written as a string: never parsed as a formula.
				if err := f.SetCellStr(name, cell, v); err != nil {
					return fmt.Errorf("contest: xlsx: %w", err)
				}
			}
		}
	}
	if err := f.Write(w); err != nil {
		return fmt.Errorf("contest: xlsx: %w", err)
	}
	return nil
}

// ExportUser returns a user's contest results for their data export
// (account.Service.Exporters).
func (s *Service) ExportUser(ctx context.Context, userID int64) (string, any, error) {
	type row struct {
		Contest  string `json:"contest"`
		Played   string `json:"played"`
		Nickname string `json:"nickname"`
		Score    int    `json:"score"`
		Correct  int    `json:"correct"`
		Rank     int    `json:"rank"`
	}
	rows, _ := s.DB.Query(ctx, `SELECT c.title, to_char(r.created_at, 'YYYY-MM-DD HH24:MI'), p.nickname, p.score, p.correct, p.rank
		FROM contest_players p JOIN contest_runs r ON r.id = p.run_id JOIN contests c ON c.id = r.contest_id
		WHERE p.user_id = $1 ORDER BY r.created_at`, userID)
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[row])
	if err != nil {
		return "", nil, fmt.Errorf("contest: export user %d: %w", userID, err)
	}
	return "contests", out, nil
}
