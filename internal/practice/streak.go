package practice

import (
	"context"
	"fmt"
	"time"
)

// Streak is a person's daily-practice streak: consecutive Asia/Shanghai
// days with a finished daily practice. Current counts the run that ends
// today or yesterday (alive until today ends; a missed day resets it to
// 0), Best the longest run ever; Today is whether today's is done.
type Streak struct {
	Current int  `json:"current"`
	Best    int  `json:"best"`
	Today   bool `json:"today"`
}

// sqlStreak groups user $1's days with a finished practice into runs of
// consecutive days (gaps and islands): one row per run, its last day and
// its length.
const sqlStreak = `SELECT max(day), count(*) FROM (
	SELECT day, day - (row_number() OVER (ORDER BY day))::int AS grp
	FROM practice_days WHERE user_id = $1 AND finished_at IS NOT NULL
) x GROUP BY grp`

// Streak returns user userID's streak at the service's clock.
func (s *Service) Streak(ctx context.Context, userID int64) (Streak, error) {
	var st Streak
	today := DayOf(s.now())
	rows, err := s.DB.Query(ctx, sqlStreak, userID)
	if err != nil {
		return st, fmt.Errorf("practice: streak: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var last time.Time
		var n int
		if err := rows.Scan(&last, &n); err != nil {
			return st, fmt.Errorf("practice: streak: %w", err)
		}
		st.Best = max(st.Best, n)
		if last.Equal(today) || last.Equal(today.AddDate(0, 0, -1)) {
			st.Current = n
			st.Today = last.Equal(today)
		}
	}
	if err := rows.Err(); err != nil {
		return st, fmt.Errorf("practice: streak: %w", err)
	}
	return st, nil
}
