package leaderboard

// SetAfterRead makes every rebuild of s call f after it has read Postgres
// and before it writes Redis (tests pause a rebuild there).
func SetAfterRead(s *Service, f func()) { s.state.rebuild.afterRead = f }
