package kepu

import "time"

// Shanghai is Kepu's one time zone (Asia/Shanghai): campaign days, "today"
// on leaderboards, participation charts and every time shown on a page.
// When the system has no zone database it falls back to a fixed UTC+8,
// which is the same (China has no daylight saving time).
var Shanghai = func() *time.Location {
	l, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		return time.FixedZone("CST", 8*3600)
	}
	return l
}()
