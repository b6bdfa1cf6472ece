package campaign

import (
	"context"
	"fmt"

	"github.com/kepu/kepu/internal/kepu"
)

// PoolPrivate is Rules.Pool for a campaign that draws only from the
// private pool: private published questions (bank Input.Private) of banks
// in the campaign's region subtree, which teachers cannot read.
const PoolPrivate = "private"

// StaffPractice reports whether an attempt the actor starts at c is staff
// practice: the actor can read c's answer keys in the bank, so the attempt
// is never ranked, never certified and left out of dashboards.
//
//   - admins read every question, private ones too;
//   - organizers read their subtree's banks, and every published question
//     through the contest builder (a host sees the right answers), so they
//     are staff everywhere — also on a private-pool campaign of another
//     region, which is stricter than needed and keeps the rule simple;
//   - teachers read every published question except private ones: staff on
//     campaigns drawn from the published bank, ranked participants on a
//     private-pool campaign;
//   - participants and guests read no keys.
//
// Whoever can read a key can share it; that is outside what the server can
// see (docs/security.md, residual risks).
func StaffPractice(a kepu.Actor, c Campaign) bool {
	switch a.Role {
	case kepu.RoleAdmin, kepu.RoleOrganizer:
		return true
	case kepu.RoleTeacher:
		return c.Rules.Pool != PoolPrivate
	}
	return false
}

// ShownImage reports whether the user was shown (served) a question of
// one of their attempts that has image imageID: such a participant may
// fetch the image even when only private questions use it.
func (s *Service) ShownImage(ctx context.Context, userID, imageID int64) (bool, error) {
	var ok bool
	err := s.DB.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM campaign_attempts t
		JOIN campaign_attempt_questions q ON q.attempt_id = t.id AND q.served_at IS NOT NULL
		JOIN question_versions v ON v.id = q.question_version_id
		WHERE t.user_id = $1 AND v.image_id = $2)`, userID, imageID).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("campaign: shown image: %w", err)
	}
	return ok, nil
}
