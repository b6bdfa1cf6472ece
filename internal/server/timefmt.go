package server

import (
	"time"

	"github.com/kepu/kepu/internal/kepu"
)

// When is t as Beijing time to the minute, labelled in the page's
// language ("2026-01-02 07:30（北京时间）"); every time a page shows goes
// through it or through kepu.FormatTime under a labelled heading.
func (p Page) When(t time.Time) string {
	return p.T("organize.at_bj", "time", kepu.FormatTime(t, kepu.LayoutMinute))
}

// Day is t's Beijing date, labelled like When.
func (p Page) Day(t time.Time) string {
	return p.T("organize.at_bj", "time", kepu.FormatTime(t, kepu.LayoutDate))
}

// Labelled labels a time already formatted by kepu.FormatTime (a view's
// Started, Finished …) as Beijing time.
func (p Page) Labelled(s string) string { return p.T("organize.at_bj", "time", s) }
