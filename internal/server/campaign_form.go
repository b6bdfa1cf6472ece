package server

import (
	"context"

	"github.com/kepu/kepu/internal/campaign"
	"github.com/kepu/kepu/internal/kepu"
	"github.com/kepu/kepu/internal/org"
)

// audSchool is a school as the organizer's audience picker lists it.
type audSchool struct {
	ID         int64  `json:"id"`
	Name       string `json:"name"`
	DistrictID int64  `json:"district_id"`
	District   string `json:"district"`
}

// audPick is a chosen school or class, named for its chip in the form.
type audPick struct {
	ID   int64
	Name string
}

// audiencePicker fills the form's districts, the schools of the actor's
// scope (the picker lists them; their classes come from GET
// /api/v1/classes?school_id=) and the schools and classes camp has chosen.
func (s *Server) audiencePicker(ctx context.Context, a kepu.Actor, f *manageForm, camp *campaign.Campaign) error {
	regions, err := s.org.Regions(ctx)
	if err != nil {
		return err
	}
	byID := make(map[int64]org.Region, len(regions))
	for _, r := range regions {
		byID[r.ID] = r
		if r.Kind != "district" {
			continue
		}
		if err := s.org.CheckRegion(ctx, a, r.ID); err == nil {
			f.Districts = append(f.Districts, r)
		}
	}
	district := func(id int64) org.Region {
		for r, ok := byID[id]; ok; r, ok = byID[r.ParentID] {
			if r.Kind == "district" {
				return r
			}
		}
		return org.Region{}
	}
	schools, err := s.org.Schools(ctx, a, 0)
	if err != nil {
		return err
	}
	f.Schools = make([]audSchool, 0, len(schools))
	names := map[int64]string{}
	for _, sc := range schools {
		d := district(sc.RegionID)
		f.Schools = append(f.Schools, audSchool{ID: sc.ID, Name: sc.Name, DistrictID: d.ID, District: d.Name})
		names[sc.ID] = sc.Name
	}
	if camp == nil {
		return nil
	}
	for _, id := range camp.Rules.Schools {
		name, ok := names[id]
		if !ok { // chosen, but no longer in the actor's scope list
			sc, err := s.org.School(ctx, id)
			if err != nil {
				continue
			}
			name = sc.Name
		}
		f.PickedSchools = append(f.PickedSchools, audPick{ID: id, Name: name})
	}
	classes, err := s.org.ClassesByID(ctx, a, camp.Rules.Classes)
	if err != nil {
		return err
	}
	for _, cl := range classes {
		f.PickedClasses = append(f.PickedClasses, audPick{ID: cl.ID, Name: cl.SchoolName + " · " + cl.Name})
	}
	return nil
}
