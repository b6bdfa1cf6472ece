package account

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"fmt"
	"strings"

	"github.com/kepu/kepu/internal/kepu"
)

// Guest is what a visitor gives to take a campaign without an account
// (campaigns whose rules allow guests).
type Guest struct {
	Nickname string `json:"nickname"`
	RegionID int64  `json:"region_id"` // optional: their district (0: not given)
}

// guestPrefix begins every guest's generated username; registration
// refuses usernames that begin with it.
const guestPrefix = "guest-"

// CreateGuest makes a guest user (kepu.RoleGuest): the nickname checked as
// every nickname is (CleanNickname; shown escaped like any other), the
// district if given checked as a profile's, a random username and no
// password, so nobody can log in as a guest: the session the caller starts
// (StartSession) is the guest's only key. Whether the guest may give that
// district for a campaign is the campaign's business.
func (s *Service) CreateGuest(ctx context.Context, g Guest, lang string) (User, error) {
	nick, err := CleanNickname(g.Nickname)
	if err != nil {
		return User{}, err
	}
	if g.RegionID != 0 {
		if err := s.checkRegion(ctx, g.RegionID); err != nil {
			return User{}, err
		}
	}
	if lang != "en" {
		lang = "zh-CN"
	}
	b := make([]byte, 15)
	if _, err := rand.Read(b); err != nil {
		return User{}, fmt.Errorf("account: guest name: %w", err)
	}
	username := guestPrefix + strings.ToLower(base32.StdEncoding.EncodeToString(b)) // 6 + 24 characters
	u, err := scanUser(s.DB.QueryRow(ctx, `INSERT INTO users AS u (username, role, nickname, region_id, lang)
		VALUES ($1, $2, $3, nullif($4, 0), $5) RETURNING `+userColumns, username, kepu.RoleGuest, nick, g.RegionID, lang))
	if err != nil {
		return User{}, fmt.Errorf("account: create guest: %w", err)
	}
	return u, nil
}

// IsGuest reports whether the user is a guest (no account, no password).
func (u User) IsGuest() bool { return u.Role == kepu.RoleGuest }
