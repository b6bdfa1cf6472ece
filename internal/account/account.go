// Package account owns users, their passwords and their server-side
// sessions: registration, login, logout, profiles, administration of
// accounts, data export and deletion.
package account

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kepu/kepu/internal/audit"
	"github.com/kepu/kepu/internal/kepu"
	"github.com/kepu/kepu/internal/postgres"
)

// User is an account as the rest of Kepu sees it. It never carries the
// password hash.
type User struct {
	ID              int64     `json:"id"`
	Username        string    `json:"username"`
	Role            kepu.Role `json:"role"`
	Nickname        string    `json:"nickname"`
	RegionID        int64     `json:"region_id,omitempty"`
	AgeBand         string    `json:"age_band,omitempty"`
	Occupation      string    `json:"occupation,omitempty"`
	SchoolID        int64     `json:"school_id,omitempty"`
	ClassID         int64     `json:"class_id,omitempty"`
	ScopeRegionID   int64     `json:"scope_region_id,omitempty"`
	GuardianConsent bool      `json:"guardian_consent"`
	ManagedBy       int64     `json:"managed_by,omitempty"`
	Lang            string    `json:"lang"`
	Disabled        bool      `json:"disabled"`
	CreatedAt       time.Time `json:"created_at"`
}

// Actor returns the user as scope checks see them.
func (u User) Actor() kepu.Actor {
	return kepu.Actor{UserID: u.ID, Role: u.Role, ScopeRegionID: u.ScopeRegionID, SchoolID: u.SchoolID, ClassID: u.ClassID}
}

// Minor reports whether the user is under 14.
func (u User) Minor() bool { return u.AgeBand == "u14" }

// Service is the account service. Clock is injectable for tests.
type Service struct {
	DB          *pgxpool.Pool
	Hasher      *Hasher
	Now         func() time.Time
	SessionIdle time.Duration
	SessionMax  time.Duration
	// Exporters add feature data (attempts, contest results) to a user's
	// data export; each returns a section name and its data.
	Exporters []func(ctx context.Context, userID int64) (string, any, error)
	// Classes decides who may manage a class roster (internal/org).
	Classes ClassScope
	// Attempts tells when the user first played a campaign that is still
	// open (internal/campaign), for the rule on district changes
	// (region.go). Nil: no rule.
	Attempts AttemptChecker
	// Guests moves a guest's attempts to the account they register or log
	// in to (MergeGuest; internal/campaign). Nil: nothing is merged.
	Guests GuestMover
	// Sessions caches resolved sessions for a few seconds (nil: none).
	// Every method that ends sessions or changes what SessionUser returns
	// revokes the user's cached sessions on every instance after it commits.
	Sessions *SessionCache
}

// NewService returns a service with the given session timeouts.
func NewService(db *pgxpool.Pool, hasher *Hasher, idle, max time.Duration) *Service {
	return &Service{DB: db, Hasher: hasher, Now: time.Now, SessionIdle: idle, SessionMax: max}
}

// userColumns are the columns scanUser reads, from a table aliased u.
const userColumns = `u.id, u.username, u.role, u.nickname, coalesce(u.region_id, 0), coalesce(u.age_band, ''),
	coalesce(u.occupation, ''), coalesce(u.school_id, 0), coalesce(u.class_id, 0), coalesce(u.scope_region_id, 0),
	u.guardian_consent_at IS NOT NULL, coalesce(u.managed_by, 0), u.lang, u.disabled_at IS NOT NULL, u.created_at`

func scanUser(row pgx.Row) (User, error) {
	var u User
	err := row.Scan(&u.ID, &u.Username, &u.Role, &u.Nickname, &u.RegionID, &u.AgeBand, &u.Occupation,
		&u.SchoolID, &u.ClassID, &u.ScopeRegionID, &u.GuardianConsent, &u.ManagedBy, &u.Lang, &u.Disabled, &u.CreatedAt)
	return u, err
}

// ErrUserNotFound is returned when no (undeleted) user has the id.
var ErrUserNotFound = kepu.NotFound("error.user_not_found")

// Get returns the user with id.
func (s *Service) Get(ctx context.Context, id int64) (User, error) {
	u, err := scanUser(s.DB.QueryRow(ctx, `SELECT `+userColumns+` FROM users u WHERE u.id = $1 AND u.deleted_at IS NULL`, id))
	if postgres.IsNotFound(err) {
		return User{}, ErrUserNotFound
	}
	if err != nil {
		return User{}, fmt.Errorf("account: get %d: %w", id, err)
	}
	return u, nil
}

// Limits on profile text.
const (
	MaxUsername = 32
	MinUsername = 3
	MaxNickname = 20
	MinPassword = 8
	MaxPassword = 128
)

// CleanUsername trims and checks a login name: 3–32 letters, digits, '_', '.', '-'.
func CleanUsername(s string) (string, error) {
	s = strings.TrimSpace(s)
	n := utf8.RuneCountInString(s)
	if n < MinUsername || n > MaxUsername {
		return "", kepu.Invalid("username", "error.username_length").With("min", MinUsername).With("max", MaxUsername)
	}
	for _, r := range s {
		if !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' || r == '.' || r == '-') {
			return "", kepu.Invalid("username", "error.username_chars")
		}
	}
	return s, nil
}

// CleanNickname trims a display name and checks its length (1–20 characters)
// and that it has no control or invisible format characters. Markup is kept as text: every page
// renders it escaped.
func CleanNickname(s string) (string, error) {
	s = strings.Join(strings.Fields(s), " ")
	n := utf8.RuneCountInString(s)
	if n < 1 || n > MaxNickname {
		return "", kepu.Invalid("nickname", "error.nickname_length").With("max", MaxNickname)
	}
	for _, r := range s {
		// Format characters (bidi overrides, invisible marks) could make one
		// name look like another; the emoji joiner U+200D stays allowed.
		if unicode.IsControl(r) || r == utf8.RuneError || (unicode.Is(unicode.Cf, r) && r != '\u200d') {
			return "", kepu.Invalid("nickname", "error.nickname_chars")
		}
	}
	return s, nil
}

// CheckPassword checks a new password's length.
func CheckPassword(pw string) error {
	n := utf8.RuneCountInString(pw)
	if n < MinPassword || n > MaxPassword {
		return kepu.Invalid("password", "error.password_length").With("min", MinPassword).With("max", MaxPassword)
	}
	return nil
}

// Profile is the part of a user that the user edits.
type Profile struct {
	Nickname        string `json:"nickname"`
	RegionID        int64  `json:"region_id"`
	AgeBand         string `json:"age_band"`
	Occupation      string `json:"occupation"`
	GuardianConsent bool   `json:"guardian_consent"`
	Lang            string `json:"lang"`
}

func (s *Service) cleanProfile(ctx context.Context, p *Profile) error {
	var err error
	if p.Nickname, err = CleanNickname(p.Nickname); err != nil {
		return err
	}
	if p.AgeBand == "" || !kepu.Contains(kepu.AgeBands, p.AgeBand) {
		return kepu.Invalid("age_band", "error.age_band")
	}
	if p.Occupation != "" && !kepu.Contains(kepu.Occupations, p.Occupation) {
		return kepu.Invalid("occupation", "error.occupation")
	}
	if p.Lang == "" {
		p.Lang = "zh-CN"
	}
	if p.Lang != "zh-CN" && p.Lang != "en" {
		return kepu.Invalid("lang", "error.lang")
	}
	return s.checkRegion(ctx, p.RegionID)
}

// checkRegion requires a district or township (not the city) as where a
// user lives.
func (s *Service) checkRegion(ctx context.Context, id int64) error {
	if id == 0 {
		return kepu.Invalid("region_id", "error.region_required")
	}
	var kind string
	err := s.DB.QueryRow(ctx, `SELECT kind FROM regions WHERE id = $1`, id).Scan(&kind)
	if postgres.IsNotFound(err) || (err == nil && kind == "city") {
		return kepu.Invalid("region_id", "error.region_required")
	}
	if err != nil {
		return fmt.Errorf("account: check region: %w", err)
	}
	return nil
}

// Registration is what a person gives to create their own account.
type Registration struct {
	Username string `json:"username"`
	Password string `json:"password"`
	Profile
}

// ErrUsernameTaken is returned when a username is not available. Its message
// is the same as for a reserved name.
var ErrUsernameTaken = kepu.Errorf(kepu.ECONFLICT, "error.username_unavailable").OnField("username")

// Register creates a participant account. Children under 14 may register
// themselves only with a guardian's consent; otherwise their teacher creates
// their account through the class roster.
func (s *Service) Register(ctx context.Context, r Registration) (User, error) {
	var err error
	if r.Username, err = CleanUsername(r.Username); err != nil {
		return User{}, err
	}
	if err := CheckPassword(r.Password); err != nil {
		return User{}, err
	}
	if err := s.cleanProfile(ctx, &r.Profile); err != nil {
		return User{}, err
	}
	if r.AgeBand == "u14" && !r.GuardianConsent {
		return User{}, kepu.Invalid("guardian_consent", "error.guardian_consent")
	}
	if reserved(r.Username) {
		return User{}, ErrUsernameTaken
	}
	hash, err := s.Hasher.Hash(ctx, r.Password)
	if err != nil {
		return User{}, err
	}
	var consent *time.Time
	if r.GuardianConsent && r.AgeBand == "u14" {
		now := s.Now()
		consent = &now
	}
	u, err := scanUser(s.DB.QueryRow(ctx, `
		INSERT INTO users AS u (username, password_hash, role, nickname, region_id, age_band, occupation, guardian_consent_at, lang)
		VALUES ($1, $2, 'participant', $3, $4, $5, nullif($6, ''), $7, $8)
		RETURNING `+userColumns,
		r.Username, hash, r.Nickname, r.RegionID, r.AgeBand, r.Occupation, consent, r.Lang))
	if postgres.IsUniqueViolation(err, "users_username") {
		return User{}, ErrUsernameTaken
	}
	if err != nil {
		return User{}, fmt.Errorf("account: register: %w", err)
	}
	return u, nil
}

func reserved(name string) bool {
	name = strings.ToLower(name)
	switch name {
	case "admin", "root", "kepu", "system", "support", "api", "null":
		return true
	}
	return strings.HasPrefix(name, guestPrefix)
}

// errManagedField refuses a pupil's own change of a field their teacher
// manages (district, age band): 403 on that field.
func errManagedField(field string) error {
	return kepu.Errorf(kepu.EFORBIDDEN, "error.profile_managed").OnField(field)
}

// UpdateProfile changes the user's own profile fields. Every check comes
// before the write, inside the transaction that holds the user's row: an
// under-14 without a guardian's consent (and not managed by a teacher) is
// kepu.EINVALID on guardian_consent, and a pupil (managed_by set: a class
// roster account) changing their district or age band is kepu.EFORBIDDEN
// on that field — their teacher's roster decides those; a second change
// of district during an open campaign is ErrRegionLocked (region.go).
// Nothing is saved when the answer is an error.
func (s *Service) UpdateProfile(ctx context.Context, id int64, p Profile) (User, error) {
	if err := s.cleanProfile(ctx, &p); err != nil {
		return User{}, err
	}
	lockedSince, err := s.regionLockedSince(ctx, id)
	if err != nil {
		return User{}, err
	}
	var u User
	err = postgres.Tx(ctx, s.DB, func(tx pgx.Tx) error {
		old, err := lockUser(ctx, tx, id)
		if err != nil {
			return err
		}
		if old.ManagedBy != 0 {
			if p.RegionID != old.RegionID {
				return errManagedField("region_id")
			}
			if p.AgeBand != old.AgeBand {
				return errManagedField("age_band")
			}
		}
		consented := p.GuardianConsent || old.GuardianConsent // kept while the age band stays u14
		if p.AgeBand == "u14" && !consented && old.ManagedBy == 0 {
			return kepu.Invalid("guardian_consent", "error.guardian_consent")
		}
		u, err = scanUser(tx.QueryRow(ctx, `
			UPDATE users u SET nickname = $2, region_id = $3, age_band = $4, occupation = nullif($5, ''), lang = $6,
				guardian_consent_at = CASE WHEN $4 <> 'u14' THEN NULL
				                           WHEN $7 THEN coalesce(u.guardian_consent_at, now())
				                           ELSE u.guardian_consent_at END,
				region_changed_at = CASE WHEN u.region_id IS DISTINCT FROM $3 THEN $9::timestamptz ELSE u.region_changed_at END,
				updated_at = now()
			WHERE u.id = $1 AND u.deleted_at IS NULL AND `+sqlRegionChangeAllowed+`
			RETURNING `+userColumns,
			id, p.Nickname, p.RegionID, p.AgeBand, p.Occupation, p.Lang, p.GuardianConsent, lockedSince, s.Now()))
		if postgres.IsNotFound(err) {
			return s.profileNotUpdated(ctx, id) // the rule on district changes refused it (region.go)
		}
		if err != nil {
			return fmt.Errorf("account: update profile: %w", err)
		}
		return nil
	})
	if err != nil {
		return User{}, err
	}
	s.Sessions.RevokeUser(ctx, id)
	return u, nil
}

// ErrBadCredentials is the one answer to a failed login, whether the account
// exists or not.
var ErrBadCredentials = kepu.Errorf(kepu.EUNAUTHORIZED, "error.bad_credentials")

// ErrDisabled is returned at login to a disabled account whose password is right.
var ErrDisabled = kepu.Errorf(kepu.ELOCKED, "error.account_disabled")

// Authenticate checks a username and password. It takes the same time
// whether or not the user exists.
func (s *Service) Authenticate(ctx context.Context, username, password string) (User, error) {
	if err := s.Hasher.acquire(ctx); err != nil {
		return User{}, err
	}
	slot := &Slot{h: s.Hasher}
	defer slot.Release()
	return s.AuthenticateIn(ctx, slot, username, password)
}

// AuthenticateIn is Authenticate in a hash slot the caller took with
// Hasher.Acquire (and releases): the login path, which must not queue.
func (s *Service) AuthenticateIn(ctx context.Context, slot *Slot, username, password string) (User, error) {
	username = strings.TrimSpace(username)
	if len(username) > 4*MaxUsername || len(password) > 4*MaxPassword {
		return User{}, ErrBadCredentials
	}
	var u User
	var hash *string
	err := s.DB.QueryRow(ctx, `SELECT `+userColumns+`, u.password_hash FROM users u
		WHERE lower(u.username) = lower($1) AND u.deleted_at IS NULL`, username).Scan(
		&u.ID, &u.Username, &u.Role, &u.Nickname, &u.RegionID, &u.AgeBand, &u.Occupation,
		&u.SchoolID, &u.ClassID, &u.ScopeRegionID, &u.GuardianConsent, &u.ManagedBy, &u.Lang, &u.Disabled, &u.CreatedAt, &hash)
	if err != nil && !postgres.IsNotFound(err) {
		return User{}, fmt.Errorf("account: authenticate: %w", err)
	}
	stored := ""
	if hash != nil {
		stored = *hash
	}
	if !s.Hasher.VerifyIn(slot, stored, password) || u.ID == 0 {
		return User{}, ErrBadCredentials
	}
	if u.Disabled {
		return User{}, ErrDisabled
	}
	return u, nil
}

// ChangePassword sets a new password after checking the old one, and ends
// every other session of the user.
func (s *Service) ChangePassword(ctx context.Context, u User, old, new string, keepToken string) error {
	if _, err := s.Authenticate(ctx, u.Username, old); err != nil {
		return kepu.Invalid("old_password", "error.bad_password")
	}
	if err := CheckPassword(new); err != nil {
		return err
	}
	hash, err := s.Hasher.Hash(ctx, new)
	if err != nil {
		return err
	}
	err = postgres.Tx(ctx, s.DB, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE users SET password_hash = $2, updated_at = now() WHERE id = $1`, u.ID, hash); err != nil {
			return fmt.Errorf("account: change password: %w", err)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2`, u.ID, hashToken(keepToken)); err != nil {
			return fmt.Errorf("account: change password: end sessions: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.Sessions.RevokeUser(ctx, u.ID)
	return nil
}

// SetLang saves the user's interface language.
func (s *Service) SetLang(ctx context.Context, id int64, lang string) error {
	if lang != "zh-CN" && lang != "en" {
		return kepu.Invalid("lang", "error.lang")
	}
	if _, err := s.DB.Exec(ctx, `UPDATE users SET lang = $2 WHERE id = $1`, id, lang); err != nil {
		return fmt.Errorf("account: set lang: %w", err)
	}
	s.Sessions.RevokeUser(ctx, id)
	return nil
}

// Export returns everything Kepu keeps about the user, for download.
func (s *Service) Export(ctx context.Context, id int64) (map[string]any, error) {
	u, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	type sessionInfo struct {
		CreatedAt  time.Time `json:"created_at"`
		LastSeenAt time.Time `json:"last_seen_at"`
		IP         string    `json:"ip"`
		UserAgent  string    `json:"user_agent"`
	}
	rows, _ := s.DB.Query(ctx, `SELECT created_at, last_seen_at, ip, user_agent FROM sessions WHERE user_id = $1 ORDER BY created_at`, id)
	sessions, err := pgx.CollectRows(rows, pgx.RowToStructByPos[sessionInfo])
	if err != nil {
		return nil, fmt.Errorf("account: export sessions: %w", err)
	}
	out := map[string]any{"exported_at": s.Now().UTC(), "profile": u, "sessions": sessions}
	for _, x := range s.Exporters {
		name, data, err := x(ctx, id)
		if err != nil {
			return nil, err
		}
		out[name] = data
	}
	return out, nil
}

// Delete removes the actor's own account: personal fields are erased,
// sessions ended, and the row kept only so that anonymous aggregates
// (district, age band) of past answers still add up. The audit entry
// commits with the deletion.
func (s *Service) Delete(ctx context.Context, a kepu.Actor) error {
	id := a.UserID
	err := postgres.Tx(ctx, s.DB, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE users SET username = 'deleted-' || id, nickname = '—', password_hash = NULL,
			class_id = NULL, scope_region_id = NULL, guardian_consent_at = NULL, managed_by = NULL,
			deleted_at = now(), updated_at = now() WHERE id = $1 AND deleted_at IS NULL`, id)
		if err != nil {
			return fmt.Errorf("account: delete %d: %w", id, err)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM sessions WHERE user_id = $1`, id); err != nil {
			return fmt.Errorf("account: delete %d: sessions: %w", id, err)
		}
		return audit.Record(ctx, tx, id, "account.delete", UserTarget(id), nil, a.IP)
	})
	if err != nil {
		return err
	}
	s.Sessions.RevokeUser(ctx, id)
	return nil
}

// NewUser is an account made by an administrator, a teacher or the seed,
// not by self-registration.
type NewUser struct {
	Username      string
	Password      string
	Role          string
	Nickname      string
	RegionID      int64
	AgeBand       string
	Occupation    string
	ScopeRegionID int64
	SchoolID      int64
	ClassID       int64
	ManagedBy     int64
}

// EnsureUser creates the account, or when the username exists resets its
// password, role and profile to the given values. It returns the user id.
func (s *Service) EnsureUser(ctx context.Context, n NewUser) (int64, error) {
	var err error
	if n.Username, err = CleanUsername(n.Username); err != nil {
		return 0, err
	}
	if n.Nickname, err = CleanNickname(n.Nickname); err != nil {
		return 0, err
	}
	if err := CheckPassword(n.Password); err != nil {
		return 0, err
	}
	if !kepu.Role(n.Role).Valid() {
		return 0, kepu.Invalid("role", "error.role")
	}
	if n.AgeBand != "" && !kepu.Contains(kepu.AgeBands, n.AgeBand) {
		return 0, kepu.Invalid("age_band", "error.age_band")
	}
	hash, err := s.Hasher.Hash(ctx, n.Password)
	if err != nil {
		return 0, err
	}
	var id int64
	err = s.DB.QueryRow(ctx, `
		INSERT INTO users (username, password_hash, role, nickname, region_id, age_band, occupation,
			scope_region_id, school_id, class_id, managed_by)
		VALUES ($1, $2, $3, $4, nullif($5, 0), nullif($6, ''), nullif($7, ''), nullif($8, 0), nullif($9, 0), nullif($10, 0), nullif($11, 0))
		ON CONFLICT (lower(username)) DO UPDATE SET password_hash = EXCLUDED.password_hash, role = EXCLUDED.role,
			nickname = EXCLUDED.nickname, region_id = EXCLUDED.region_id, age_band = EXCLUDED.age_band,
			scope_region_id = EXCLUDED.scope_region_id, disabled_at = NULL, deleted_at = NULL, updated_at = now()
		RETURNING id`,
		n.Username, hash, n.Role, n.Nickname, n.RegionID, n.AgeBand, n.Occupation, n.ScopeRegionID,
		n.SchoolID, n.ClassID, n.ManagedBy).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("account: ensure user %s: %w", n.Username, err)
	}
	s.Sessions.RevokeUser(ctx, id) // an existing user's role or profile may have changed
	return id, nil
}
