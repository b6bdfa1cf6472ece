package campaign

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/kepu/kepu/internal/kepu"
)

// ErrStaffCertificate refuses the certificate of a staff-practice attempt
// (403): its player could read the answer keys.
var ErrStaffCertificate = kepu.Errorf(kepu.EFORBIDDEN, "error.campaign_cert_staff")

// AttemptCertificate returns the certificate of a finished, passing
// attempt to its owner, or to an organizer or admin who manages the
// attempt's campaign. Anyone else gets kepu.NotFound for the attempt (as the
// attempt's pages answer); the owner of an unfinished or failing attempt
// gets kepu.NotFound for the certificate, a staff-practice attempt
// ErrStaffCertificate.
func (s *Service) AttemptCertificate(ctx context.Context, a kepu.Actor, attemptID int64) (Certificate, error) {
	var owner, region int64
	var code string
	var staff bool
	err := s.DB.QueryRow(ctx, `SELECT t.user_id, coalesce(c.region_id, 0),
			CASE WHEN t.finished_at IS NOT NULL AND t.passed THEN coalesce(t.cert_code, '') ELSE '' END, t.staff_practice
		FROM campaign_attempts t JOIN campaigns c ON c.id = t.campaign_id WHERE t.id = $1`, attemptID).
		Scan(&owner, &region, &code, &staff)
	if errors.Is(err, pgx.ErrNoRows) {
		return Certificate{}, kepu.NotFound("error.campaign_attempt_not_found")
	}
	if err != nil {
		return Certificate{}, fmt.Errorf("campaign: attempt certificate %d: %w", attemptID, err)
	}
	if owner != a.UserID {
		if !a.Is(kepu.RoleOrganizer, kepu.RoleAdmin) {
			return Certificate{}, kepu.NotFound("error.campaign_attempt_not_found")
		}
		if err := s.Scope.CheckRegion(ctx, a, region); errors.Is(err, kepu.Forbidden) {
			return Certificate{}, kepu.NotFound("error.campaign_attempt_not_found")
		} else if err != nil {
			return Certificate{}, fmt.Errorf("campaign: attempt certificate %d: %w", attemptID, err)
		}
	}
	if staff {
		return Certificate{}, ErrStaffCertificate
	}
	if code == "" {
		return Certificate{}, kepu.NotFound("error.campaign_cert_not_found")
	}
	return s.CertificateByCode(ctx, code)
}
