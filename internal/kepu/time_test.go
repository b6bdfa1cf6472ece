package kepu

import (
	"testing"
	"time"
)

// FormatTime shows Beijing wall time whatever zone the time carries: 23:30
// UTC is 07:30 the next day.
func TestFormatTime(t *testing.T) {
	utc := time.Date(2026, 1, 1, 23, 30, 0, 0, time.UTC)
	tests := []struct {
		in     time.Time
		layout string
		want   string
	}{
		{utc, LayoutSecond, "2026-01-02 07:30:00"},
		{utc, LayoutMinute, "2026-01-02 07:30"},
		{utc, LayoutDate, "2026-01-02"},
		{utc.In(time.FixedZone("PST", -8*3600)), LayoutMinute, "2026-01-02 07:30"},
		{time.Date(2026, 1, 1, 15, 59, 0, 0, time.UTC), LayoutDate, "2026-01-01"},
	}
	for _, tt := range tests {
		if got := FormatTime(tt.in, tt.layout); got != tt.want {
			t.Errorf("FormatTime(%v, %q): got %q, want %q", tt.in, tt.layout, got, tt.want)
		}
	}
	if got := ISOTime(utc); got != "2026-01-02T07:30:00+08:00" {
		t.Errorf("ISOTime: got %q, want 2026-01-02T07:30:00+08:00", got)
	}
}
