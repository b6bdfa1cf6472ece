package dashboard

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// DistrictCount is one district of the city with how many people took
// part in its public campaigns. Only counts: no person is named.
type DistrictCount struct {
	ID           int64  `json:"id"`
	Name         string `json:"name"`
	Participants int64  `json:"participants"`
}

// Participation is the public figures of the home page, from the
// rollups (as fresh as the Refresher keeps them): the participants of
// each of campaigns, and every district of the city with the people of
// it who took part in any public campaign (published, paused or closed),
// most first, ties in the city's official order (region_order). A
// participant living in a township counts for its district.
func (s *Service) Participation(ctx context.Context, campaigns []int64) (map[int64]int64, []DistrictCount, error) {
	per := make(map[int64]int64, len(campaigns))
	if len(campaigns) > 0 {
		rows, _ := s.read().Query(ctx, `SELECT campaign_id, count(*) FROM dash_participants
			WHERE campaign_id = ANY($1) GROUP BY 1`, campaigns)
		var id, n int64
		if _, err := pgx.ForEachRow(rows, []any{&id, &n}, func() error { per[id] = n; return nil }); err != nil {
			return nil, nil, fmt.Errorf("dashboard: participation: %w", err)
		}
	}
	rows, _ := s.read().Query(ctx, `SELECT d.id, d.name, count(DISTINCT p.user_id)
		FROM regions d
		LEFT JOIN regions r ON left(r.path, length(d.path)) = d.path
		LEFT JOIN dash_participants p ON p.region_id = r.id
			AND p.campaign_id IN (SELECT id FROM campaigns WHERE status IN ('published', 'paused', 'closed'))
		WHERE d.kind = 'district'
		GROUP BY d.id, d.name, d.path ORDER BY 3 DESC, region_order(d.path) LIMIT 100`)
	districts, err := pgx.CollectRows(rows, pgx.RowToStructByPos[DistrictCount])
	if err != nil {
		return nil, nil, fmt.Errorf("dashboard: participation by district: %w", err)
	}
	return per, districts, nil
}
