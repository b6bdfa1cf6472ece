package campaign

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/kepu/kepu/internal/kepu"
)

// Guests: a campaign whose rules set Guests lets visitors without an
// account take it. The visitor gives a nickname and, optionally, their
// district; internal/account makes a guest user (kepu.RoleGuest) with a
// session, and from then on the guest starts, plays and reviews attempts
// like anyone else. Start refuses guests on every other campaign.

// District is a district a guest may name as theirs.
type District struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// GuestDistricts lists the districts a guest of c may give: the chosen
// districts when the campaign has an audience, else every district of the
// campaign's region (the region itself when it is a district).
func (s *Service) GuestDistricts(ctx context.Context, c Campaign) ([]District, error) {
	rows, err := s.DB.Query(ctx, `SELECT r.id, r.name FROM regions r, regions root
		WHERE root.id = $1 AND r.path LIKE root.path || '%'
		AND CASE WHEN $2::bigint[] = '{}' THEN r.kind = 'district' ELSE r.id = ANY($2) END
		ORDER BY region_order(r.path), r.id`, c.RegionID, nonNil(c.Audience))
	if err != nil {
		return nil, fmt.Errorf("campaign: guest districts: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[District])
	if err != nil {
		return nil, fmt.Errorf("campaign: guest districts: %w", err)
	}
	return out, nil
}

// CheckGuest decides whether a visitor may join c as a guest giving
// regionID as their district (0: none): kepu.EFORBIDDEN when c does not
// allow guests, kepu.ECONFLICT when it is not open, kepu.EINVALID on
// region_id when the district is not one of GuestDistricts (a campaign
// with chosen districts requires one).
func (s *Service) CheckGuest(ctx context.Context, c Campaign, regionID int64) error {
	if !c.Rules.Guests {
		return kepu.Errorf(kepu.EFORBIDDEN, "error.campaign_guest_refused")
	}
	if !c.Open(s.now()) {
		return kepu.Errorf(kepu.ECONFLICT, "error.campaign_not_open")
	}
	if regionID == 0 {
		if len(c.Audience) > 0 {
			return kepu.Invalid("region_id", "error.campaign_guest_district")
		}
		return nil
	}
	ds, err := s.GuestDistricts(ctx, c)
	if err != nil {
		return err
	}
	for _, d := range ds {
		if d.ID == regionID {
			return nil
		}
	}
	return kepu.Invalid("region_id", "error.campaign_guest_district")
}
