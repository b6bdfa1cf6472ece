package server

import (
	"context"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/kepu/kepu/internal/campaign"
	"github.com/kepu/kepu/internal/dashboard"
	"github.com/kepu/kepu/internal/kepu"
)

// The home page is the portal of the city's campaigns: the campaigns open
// now (with a countdown to their end and their participants so far) and
// the next ones, the districts ranked by participation, and for a
// participant their streak and latest result. Everything comes from
// Postgres; the public part (campaigns and counts) is cached per instance
// for portalTTL, so a crowd opening the page costs a few queries a
// minute. Without Redis the page still works and says what does not.

// portalTTL is how long an instance keeps the home page's public figures.
const portalTTL = 15 * time.Second

// redisCheckTTL is how long an instance trusts its last Redis ping.
const redisCheckTTL = 3 * time.Second

// portalUpcoming is how many upcoming campaigns the home page lists.
const portalUpcoming = 3

// portalCache holds the home page's public part and the last Redis check.
type portalCache struct {
	mu     sync.Mutex // held while the public part is read again
	at     time.Time
	public portalPublic

	rmu     sync.Mutex // held while Redis is pinged
	redisAt time.Time
	redisUp bool
}

// portalPublic is what every visitor of the home page sees.
type portalPublic struct {
	Campaigns    []campaign.Campaign // public campaigns not yet ended, soonest end first
	Participants map[int64]int64
	Districts    []dashboard.DistrictCount
}

// portalCard is a campaign on the home page.
type portalCard struct {
	campaignView
	Participants int64
	EndsUnix     int64 // for the countdown (seconds since the epoch)
	Playable     bool  // open and not paused
	Left         countdown
}

// countdown is the time left until a campaign ends, in whole units (what
// the page shows before its script ticks it).
type countdown struct{ D, H, M, S int64 }

func countdownTo(now, end time.Time) countdown {
	left := int64(max(end.Sub(now), 0) / time.Second)
	return countdown{D: left / 86400, H: left % 86400 / 3600, M: left % 3600 / 60, S: left % 60}
}

// portalData is the home page's template data.
type portalData struct {
	Open, Upcoming []portalCard
	Districts      []dashboard.DistrictCount
	MaxDistrict    int64 // the largest district count (the bars' scale; at least 1)
	Progress       *campaign.Progress
	LastFinished   string
	RedisDown      bool
}

func (s *Server) homePage(c *fiber.Ctx) error {
	ctx := c.UserContext()
	pub, err := s.portalPublic(ctx)
	if err != nil {
		return err
	}
	var a *kepu.Actor
	if u := currentUser(c); u != nil {
		act := u.Actor()
		a = &act
	}
	now := s.campaigns.Now()
	visible, err := s.campaigns.ForViewer(ctx, a, pub.Campaigns)
	if err != nil {
		return err
	}
	d := portalData{Districts: pub.Districts, RedisDown: !s.redisUp(ctx), MaxDistrict: 1}
	for _, x := range pub.Districts {
		d.MaxDistrict = max(d.MaxDistrict, x.Participants)
	}
	for _, x := range visible {
		card := portalCard{campaignView: s.campaignView(x), Participants: pub.Participants[x.ID],
			EndsUnix: x.EndsAt.Unix(), Playable: x.Open(now), Left: countdownTo(now, x.EndsAt)}
		switch card.Phase {
		case "open":
			d.Open = append(d.Open, card)
		case "upcoming":
			if len(d.Upcoming) < portalUpcoming {
				d.Upcoming = append(d.Upcoming, card)
			}
		}
	}
	if a != nil {
		p, err := s.campaigns.ProgressOf(ctx, *a)
		if err != nil {
			return err
		}
		d.Progress = &p
		if p.Last != nil && p.Last.FinishedAt != nil {
			d.LastFinished = shTime(*p.Last.FinishedAt)
		}
	}
	return s.render(c, "home", "app.name", d, "portal.js")
}

// portalPublic returns the cached public part of the home page, reading
// it again from Postgres when it is older than portalTTL. Upcoming
// campaigns come soonest start first after the open ones.
func (s *Server) portalPublic(ctx context.Context) (portalPublic, error) {
	s.portal.mu.Lock()
	defer s.portal.mu.Unlock() // one reader per instance; the others wait for its answer
	if time.Since(s.portal.at) < portalTTL {
		return s.portal.public, nil
	}
	list, err := s.campaigns.ListPublic(ctx)
	if err != nil {
		return portalPublic{}, err
	}
	now := s.campaigns.Now()
	var live []campaign.Campaign
	var ids []int64
	for _, c := range list {
		if c.Phase(now) != "ended" {
			live = append(live, c)
			ids = append(ids, c.ID)
		}
	}
	// ListPublic is newest start first: the home page wants the soonest
	// end (open) and the soonest start (upcoming) first.
	for i, j := 0, len(live)-1; i < j; i, j = i+1, j-1 {
		live[i], live[j] = live[j], live[i]
	}
	per, districts, err := s.dash.Participation(ctx, ids)
	if err != nil {
		return portalPublic{}, err
	}
	s.portal.public = portalPublic{Campaigns: live, Participants: per, Districts: districts}
	s.portal.at = time.Now()
	return s.portal.public, nil
}

// redisUp reports whether Redis answered a ping within 300 ms, checked at
// most every redisCheckTTL per instance.
func (s *Server) redisUp(ctx context.Context) bool {
	s.portal.rmu.Lock()
	defer s.portal.rmu.Unlock()
	if time.Since(s.portal.redisAt) < redisCheckTTL {
		return s.portal.redisUp
	}
	ctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	s.portal.redisUp = s.redis.Ping(ctx).Err() == nil
	s.portal.redisAt = time.Now()
	return s.portal.redisUp
}
