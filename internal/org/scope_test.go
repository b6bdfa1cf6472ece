package org

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/kepu/kepu/internal/kepu"
	"github.com/kepu/kepu/internal/testenv"
)

// scopeFixture is a city with 25 districts (so that one district's id is a
// prefix of another's: /c/2/ and /c/23/), a township under the first, and
// a school with one class in the township and one in the last district.
type scopeFixture struct {
	svc                  *Service
	city, first, last    int64
	township             int64
	schoolIn, schoolOut  int64
	classIn, classOut    int64
	teacher, otherTeach  int64
	prefixOf, prefixedBy int64 // two districts whose ids share a leading digit string
}

func newScopeFixture(t *testing.T) *scopeFixture {
	t.Helper()
	db := testenv.NewDB(t)
	ctx := context.Background()
	f := &scopeFixture{svc: &Service{DB: db.Pool}}
	must := func(id int64, err error) int64 {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	f.city = must(f.svc.EnsureRegion(ctx, 0, "city", "t-city", "测试市", 0))
	byID := map[string]int64{}
	var districts []int64
	for i := range 25 {
		id := must(f.svc.EnsureRegion(ctx, f.city, "district", fmt.Sprintf("t-d%02d", i), fmt.Sprintf("区%d", i), i))
		districts = append(districts, id)
		byID[fmt.Sprint(id)] = id
	}
	for _, id := range districts {
		if longer, ok := byID[fmt.Sprint(id)+"3"]; ok {
			f.prefixOf, f.prefixedBy = id, longer
			break
		}
	}
	if f.prefixOf == 0 {
		t.Fatal("fixture: no two district ids where one is a prefix of the other")
	}
	f.first, f.last = districts[0], districts[len(districts)-1]
	f.township = must(f.svc.EnsureRegion(ctx, f.first, "township", "t-town", "镇", 0))
	f.schoolIn = must(f.svc.EnsureSchool(ctx, f.township, "镇中心小学"))
	f.schoolOut = must(f.svc.EnsureSchool(ctx, f.last, "远处小学"))
	f.classIn = must(f.svc.EnsureClass(ctx, f.schoolIn, "一班", 1))
	f.classOut = must(f.svc.EnsureClass(ctx, f.schoolOut, "二班", 2))
	user := func(name, role string) int64 {
		var id int64
		if err := db.Pool.QueryRow(ctx, `INSERT INTO users (username, role, nickname) VALUES ($1, $2, $1) RETURNING id`, name, role).Scan(&id); err != nil {
			t.Fatal(err)
		}
		return id
	}
	f.teacher, f.otherTeach = user("t-teacher", "teacher"), user("t-other", "teacher")
	if _, err := db.Pool.Exec(ctx, `UPDATE classes SET teacher_id = $1 WHERE id = $2`, f.teacher, f.classIn); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestScopeRules(t *testing.T) {
	f := newScopeFixture(t)
	ctx := context.Background()
	admin := kepu.Actor{UserID: 1, Role: kepu.RoleAdmin}
	cityOrg := kepu.Actor{UserID: 2, Role: kepu.RoleOrganizer, ScopeRegionID: f.city}
	firstOrg := kepu.Actor{UserID: 3, Role: kepu.RoleOrganizer, ScopeRegionID: f.first}
	prefixOrg := kepu.Actor{UserID: 4, Role: kepu.RoleOrganizer, ScopeRegionID: f.prefixOf}
	noScopeOrg := kepu.Actor{UserID: 5, Role: kepu.RoleOrganizer}
	teacher := kepu.Actor{UserID: f.teacher, Role: kepu.RoleTeacher}
	other := kepu.Actor{UserID: f.otherTeach, Role: kepu.RoleTeacher}
	pupilIn := kepu.Actor{UserID: 99, Role: kepu.RoleParticipant, SchoolID: f.schoolIn, ClassID: f.classIn}
	stranger := kepu.Actor{UserID: 98, Role: kepu.RoleParticipant}

	allowed := func(err error) bool {
		if err != nil && !errors.Is(err, kepu.Forbidden) {
			t.Fatalf("unexpected error: %v", err)
		}
		return err == nil
	}
	t.Run("regions", func(t *testing.T) {
		for _, tt := range []struct {
			name   string
			a      kepu.Actor
			region int64
			want   bool
		}{
			{"admin anywhere", admin, f.last, true},
			{"city organizer, a district", cityOrg, f.last, true},
			{"city organizer, a township", cityOrg, f.township, true},
			{"district organizer, own district", firstOrg, f.first, true},
			{"district organizer, its township", firstOrg, f.township, true},
			{"district organizer, the city above", firstOrg, f.city, false},
			{"district organizer, another district", firstOrg, f.last, false},
			{"district organizer, a district whose id extends its own", prefixOrg, f.prefixedBy, false},
			{"organizer without scope", noScopeOrg, f.first, false},
			{"teacher", teacher, f.first, false},
			{"participant", stranger, f.first, false},
		} {
			if got := allowed(f.svc.CheckRegion(ctx, tt.a, tt.region)); got != tt.want {
				t.Errorf("%s: CheckRegion got %v, want %v", tt.name, got, tt.want)
			}
		}
	})
	t.Run("scope ids", func(t *testing.T) {
		if ids, err := f.svc.ScopeRegionIDs(ctx, admin); err != nil || ids != nil {
			t.Errorf("admin: got %v, %v; want nil (everything)", ids, err)
		}
		ids, err := f.svc.ScopeRegionIDs(ctx, firstOrg)
		if err != nil || len(ids) != 2 || !(ids[0] == f.first && ids[1] == f.township || ids[1] == f.first && ids[0] == f.township) {
			t.Errorf("district organizer: got %v, %v; want [%d %d]", ids, err, f.first, f.township)
		}
		for _, a := range []kepu.Actor{noScopeOrg, teacher, stranger} {
			if ids, err := f.svc.ScopeRegionIDs(ctx, a); err != nil || ids == nil || len(ids) != 0 {
				t.Errorf("%s: got %v, %v; want none", a.Role, ids, err)
			}
		}
	})
	t.Run("classes", func(t *testing.T) {
		for _, tt := range []struct {
			name  string
			a     kepu.Actor
			class int64
			want  bool
		}{
			{"admin", admin, f.classOut, true},
			{"its teacher", teacher, f.classIn, true},
			{"another teacher", other, f.classIn, false},
			{"its teacher, another class", teacher, f.classOut, false},
			{"district organizer, class in its township", firstOrg, f.classIn, true},
			{"district organizer, class elsewhere", firstOrg, f.classOut, false},
			{"a pupil of the class manages nothing", pupilIn, f.classIn, false},
		} {
			_, err := f.svc.Class(ctx, tt.a, tt.class)
			if got := allowed(err); got != tt.want {
				t.Errorf("%s: Class got %v, want %v", tt.name, got, tt.want)
			}
		}
	})
	t.Run("viewers", func(t *testing.T) {
		for _, tt := range []struct {
			name          string
			a             kepu.Actor
			class, school int64
			want          bool
		}{
			{"pupil of the class", pupilIn, f.classIn, f.schoolIn, true},
			{"pupil, another class and school", pupilIn, f.classOut, f.schoolOut, false},
			{"its teacher", teacher, f.classIn, f.schoolIn, true},
			{"another teacher", other, f.classIn, f.schoolIn, false},
			{"district organizer in scope", firstOrg, f.classIn, f.schoolIn, true},
			{"district organizer out of scope", firstOrg, f.classOut, f.schoolOut, false},
			{"stranger", stranger, f.classIn, f.schoolIn, false},
			{"admin", admin, f.classOut, f.schoolOut, true},
			{"unknown ids reveal nothing", firstOrg, 1 << 30, 1 << 30, false},
		} {
			if got := allowed(f.svc.CheckClassViewer(ctx, tt.a, tt.class)); got != tt.want {
				t.Errorf("%s: CheckClassViewer got %v, want %v", tt.name, got, tt.want)
			}
			if got := allowed(f.svc.CheckSchoolViewer(ctx, tt.a, tt.school)); got != tt.want {
				t.Errorf("%s: CheckSchoolViewer got %v, want %v", tt.name, got, tt.want)
			}
		}
	})
}
