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

// The layouts of times shown to people, always in Shanghai (FormatTime).
const (
	LayoutDate   = "2006-01-02"
	LayoutMinute = "2006-01-02 15:04"
	LayoutSecond = "2006-01-02 15:04:05"
	LayoutClock  = "15:04:05"
)

// FormatTime is the one formatter of times for people: pages, reports,
// CSV and XLSX exports and the audit log show t as Asia/Shanghai wall time
// in layout, whatever zone t carries (pgx returns UTC). Pages label it
// 北京时间 / Beijing time (server.Page.When); its twin in the browser is
// web/static/js/time.js.
func FormatTime(t time.Time, layout string) string { return t.In(Shanghai).Format(layout) }

// ISOTime is t in Shanghai as RFC 3339 with its +08:00 offset, for
// <time datetime> attributes.
func ISOTime(t time.Time) string { return t.In(Shanghai).Format(time.RFC3339) }
