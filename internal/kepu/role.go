package kepu

// Role is what a user may do. Roles are ordered: each includes nothing of the
// others by itself; scope checks live in internal/org.
type Role string

const (
	RoleParticipant Role = "participant"
	RoleTeacher     Role = "teacher"
	RoleOrganizer   Role = "organizer"
	RoleAdmin       Role = "admin"
)

// RoleGuest is a visitor without an account who takes a campaign that
// allows guests: a nickname and a session, no password. It is not one of
// Roles (no one is given it) and grants nothing beyond playing such
// campaigns and seeing one's own attempts.
const RoleGuest Role = "guest"

// Roles lists every role, lowest first.
var Roles = []Role{RoleParticipant, RoleTeacher, RoleOrganizer, RoleAdmin}

// Valid reports whether r is one of Roles.
func (r Role) Valid() bool {
	for _, x := range Roles {
		if r == x {
			return true
		}
	}
	return false
}

// AgeBands lists the age bands a profile may carry. "u14" is under 14: such
// users join through their class or with a guardian's consent.
var AgeBands = []string{"u14", "14_17", "18_29", "30_39", "40_49", "50_59", "60p"}

// Occupations lists the optional occupation groups.
var Occupations = []string{"student", "teacher", "civil_servant", "worker", "farmer",
	"business", "medical", "tech", "retired", "other"}

// Contains reports whether s is in list.
func Contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Actor is who is asking: the logged-in user as scope checks see them.
// ScopeRegionID is the root of an organizer's region subtree (0: none).
// IP is the client address (as the server trusts it), for the audit log.
type Actor struct {
	UserID        int64
	Role          Role
	ScopeRegionID int64
	SchoolID      int64
	ClassID       int64
	IP            string
}

// IsAdmin reports whether the actor is an admin.
func (a Actor) IsAdmin() bool { return a.Role == RoleAdmin }

// Is reports whether the actor's role is one of roles.
func (a Actor) Is(roles ...Role) bool {
	for _, r := range roles {
		if a.Role == r {
			return true
		}
	}
	return false
}
