package campaign_test

import (
	"errors"
	"testing"
	"time"

	"github.com/kepu/kepu/internal/campaign"
	"github.com/kepu/kepu/internal/kepu"
)

// Validate keeps a positive cover id for the store to check, reads 0 as no
// cover and refuses a negative id on the cover_image_id field.
func TestCampaignCoverValidate(t *testing.T) {
	id := func(v int64) *int64 { return &v }
	tests := []struct {
		name  string
		cover *int64
		want  *int64 // after Validate
		field string // of the error, "" for none
	}{
		{"none", nil, nil, ""},
		{"zero is none", id(0), nil, ""},
		{"an id", id(7), id(7), ""},
		{"negative", id(-1), nil, "cover_image_id"},
	}
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := campaign.Input{Title: "封面", StartsAt: start, EndsAt: start.Add(time.Hour), CoverImageID: tt.cover}
			err := in.Validate()
			var e *kepu.Error
			switch {
			case tt.field != "":
				if !errors.As(err, &e) || e.Code != kepu.EINVALID || e.Field != tt.field || e.Key != "error.campaign_cover_missing" {
					t.Fatalf("got %v, want EINVALID error.campaign_cover_missing on %s", err, tt.field)
				}
			case err != nil:
				t.Fatalf("got %v, want no error", err)
			case (in.CoverImageID == nil) != (tt.want == nil) || (tt.want != nil && *in.CoverImageID != *tt.want):
				t.Fatalf("cover after Validate: got %v, want %v", in.CoverImageID, tt.want)
			}
		})
	}
}
