package server

import (
	"context"
	"strings"

	"github.com/kepu/kepu/internal/campaign"
)

// audienceTexts says, in lang, whom each campaign is for: its districts
// (in the city's order), schools and classes by name ("参与范围：武陵区；
// 学校：常德市第一中学。"), or everyone in its region when it names none.
// The campaign page, the organizer's list and the campaign form show it.
// Class names are not people's names: the text may appear on public pages.
func (s *Server) audienceTexts(ctx context.Context, lang string, camps []campaign.Campaign) ([]string, error) {
	regions, err := s.org.Regions(ctx)
	if err != nil {
		return nil, err
	}
	var schools, classes []int64
	for _, c := range camps {
		schools = append(schools, c.Rules.Schools...)
		classes = append(classes, c.Rules.Classes...)
	}
	_, schoolNames, classNames, err := s.org.Names(ctx, nil, schools, classes)
	if err != nil {
		return nil, err
	}
	t := func(key string, kv ...any) string {
		params := map[string]any{}
		for i := 0; i+1 < len(kv); i += 2 {
			params[kv[i].(string)] = kv[i+1]
		}
		return s.i18n.T(lang, key, params)
	}
	sep := t("organize.list_sep")
	out := make([]string, len(camps))
	for i, c := range camps {
		var parts []string
		var ds []string
		for _, r := range regions {
			if r.ID == c.RegionID && len(c.Audience)+len(c.Rules.Schools)+len(c.Rules.Classes) == 0 {
				out[i] = t("organize.aud_all", "region", r.Name)
			}
			for _, id := range c.Audience {
				if r.ID == id {
					ds = append(ds, r.Name)
				}
			}
		}
		if out[i] != "" {
			continue
		}
		if len(ds) > 0 {
			parts = append(parts, t("organize.aud_districts", "names", strings.Join(ds, sep)))
		}
		for _, g := range []struct {
			key   string
			ids   []int64
			names map[int64]string
		}{{"organize.aud_schools", c.Rules.Schools, schoolNames}, {"organize.aud_classes", c.Rules.Classes, classNames}} {
			var ns []string
			for _, id := range g.ids {
				if n, ok := g.names[id]; ok {
					ns = append(ns, n)
				}
			}
			if len(ns) > 0 {
				parts = append(parts, t(g.key, "names", strings.Join(ns, sep)))
			}
		}
		if len(parts) == 0 { // everything it named is gone
			out[i] = t("organize.aud_all", "region", "")
			continue
		}
		out[i] = t("organize.aud_some", "list", strings.Join(parts, t("organize.part_sep")))
	}
	return out, nil
}
