// Package seed loads Kepu's demo data: the real districts and counties of
// Changde (常德市), a few demo schools and classes, one demo account per role,
// and (through the feature packages) the question bank and a campaign.
// Running it twice changes nothing but the demo passwords, which it resets
// and returns so that `make run` can print them.
//
// It is also the one generator of benchmark and load-test volume
// (Volume, volume.go and ranked.go): feature packages write only their own
// tables and make no generated data themselves.
package seed

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kepu/kepu/internal/account"
	"github.com/kepu/kepu/internal/bank"
	"github.com/kepu/kepu/internal/org"
)

// District is one district or county of the city.
type District struct {
	Code, Name string
}

// CityCode and CityName name the demo city.
const (
	CityCode = "430700"
	CityName = "常德市"
)

// Districts are Changde's districts, county-level city, counties and its
// development and management zones, in official order.
var Districts = []District{
	{"430702", "武陵区"},
	{"430703", "鼎城区"},
	{"430781", "津市市"},
	{"430721", "安乡县"},
	{"430722", "汉寿县"},
	{"430723", "澧县"},
	{"430724", "临澧县"},
	{"430725", "桃源县"},
	{"430726", "石门县"},
	{"430700-jkq", "常德经济技术开发区"},
	{"430700-gxq", "常德高新技术产业开发区"},
	{"430700-lyh", "柳叶湖旅游度假区"},
	{"430700-xh", "西湖管理区"},
	{"430700-xdt", "西洞庭管理区"},
	{"430700-thy", "桃花源旅游管理区"},
}

// DemoAccount is one seeded login.
type DemoAccount struct {
	Role, Username, Password, Nickname string
}

// Result is what a seed run made.
type Result struct {
	CityID      int64
	DistrictIDs map[string]int64 // by code
	SchoolIDs   []int64
	ClassIDs    []int64
	Accounts    []DemoAccount
}

type school struct {
	district string
	name     string
	classes  []string
	grade    int
}

var schools = []school{
	{"430702", "武陵区演示实验小学", []string{"五年级(1)班", "五年级(2)班"}, 5},
	{"430703", "鼎城区演示中学", []string{"初一(3)班"}, 7},
	{"430725", "桃源县演示中学", []string{"初二(1)班"}, 8},
}

// Foundation seeds regions, schools, classes and the demo accounts.
func Foundation(ctx context.Context, db *pgxpool.Pool, accounts *account.Service, orgs *org.Service) (Result, error) {
	res := Result{DistrictIDs: map[string]int64{}}
	var err error
	if res.CityID, err = orgs.EnsureRegion(ctx, 0, "city", CityCode, CityName, 0); err != nil {
		return res, fmt.Errorf("seed: %w", err)
	}
	for i, d := range Districts {
		id, err := orgs.EnsureRegion(ctx, res.CityID, "district", d.Code, d.Name, i+1)
		if err != nil {
			return res, fmt.Errorf("seed: %w", err)
		}
		res.DistrictIDs[d.Code] = id
	}
	for i, t := range []struct{ code, name string }{{"430702-dy", "丹阳街道"}, {"430702-bmh", "白马湖街道"}} {
		if _, err := orgs.EnsureRegion(ctx, res.DistrictIDs["430702"], "township", t.code, t.name, i+1); err != nil {
			return res, fmt.Errorf("seed: %w", err)
		}
	}

	wuling := res.DistrictIDs["430702"]
	demo := []struct {
		role, username, nickname string
		region                   int64
		scope                    int64
		age                      string
	}{
		{"admin", "demo-admin", "平台管理员", wuling, 0, "30_39"},
		{"organizer", "demo-organizer", "市科协组织者", wuling, res.CityID, "40_49"},
		{"teacher", "demo-teacher", "王老师", wuling, 0, "30_39"},
		{"participant", "demo-citizen", "科学爱好者", wuling, 0, "18_29"},
	}
	ids := map[string]int64{}
	for _, d := range demo {
		pw := account.RandomPassword(10)
		id, err := accounts.EnsureUser(ctx, account.NewUser{
			Username: d.username, Password: pw, Role: d.role, Nickname: d.nickname,
			RegionID: d.region, AgeBand: d.age, ScopeRegionID: d.scope,
		})
		if err != nil {
			return res, fmt.Errorf("seed: demo %s: %w", d.role, err)
		}
		ids[d.role] = id
		res.Accounts = append(res.Accounts, DemoAccount{Role: d.role, Username: d.username, Password: pw, Nickname: d.nickname})
	}

	for _, s := range schools {
		var sid int64
		err := db.QueryRow(ctx, `INSERT INTO schools (region_id, name) VALUES ($1, $2)
			ON CONFLICT (region_id, name) DO UPDATE SET name = EXCLUDED.name RETURNING id`,
			res.DistrictIDs[s.district], s.name).Scan(&sid)
		if err != nil {
			return res, fmt.Errorf("seed: school %s: %w", s.name, err)
		}
		res.SchoolIDs = append(res.SchoolIDs, sid)
		for _, c := range s.classes {
			var teacher *int64
			if s.district == "430702" && c == "五年级(1)班" {
				t := ids["teacher"]
				teacher = &t
			}
			var cid int64
			err := db.QueryRow(ctx, `INSERT INTO classes (school_id, name, grade, teacher_id) VALUES ($1, $2, $3, $4)
				ON CONFLICT (school_id, name) DO UPDATE SET teacher_id = coalesce(EXCLUDED.teacher_id, classes.teacher_id)
				RETURNING id`, sid, c, s.grade, teacher).Scan(&cid)
			if err != nil {
				return res, fmt.Errorf("seed: class %s: %w", c, err)
			}
			res.ClassIDs = append(res.ClassIDs, cid)
		}
	}
	return res, nil
}

// Bank loads the shipped question bank (internal/bank/seed) into the city's
// bank, published, with linked en versions; idempotent (see bank.Seed).
func Bank(ctx context.Context, db *pgxpool.Pool, cityID int64) (bank.SeedResult, error) {
	res, err := bank.Seed(ctx, db, cityID)
	if err != nil {
		return res, fmt.Errorf("seed: %w", err)
	}
	return res, nil
}
