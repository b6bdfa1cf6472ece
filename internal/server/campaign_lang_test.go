package server_test

import (
	"fmt"
	"strings"
	"testing"
)

// TestCampaignLangRule: an organizer sets the question language to "both"
// (the manage form offers it), and the rules on the campaign page say it,
// in each language.
func TestCampaignLangRule(t *testing.T) {
	t.Parallel()
	f := newCampaign(t, map[string]any{"lang": "both"})
	if body := string(f.org.Do("GET", fmt.Sprintf("/manage/campaigns/%d", f.id), nil).Body); !strings.Contains(body, `<option value="both">中英双语（按参与者的语言）</option>`) {
		t.Errorf("manage form: no bilingual option")
	}
	for lang, want := range map[string]string{"zh-CN": "题目中英双语", "en": "Questions in Chinese and English"} {
		c := f.inst.Client()
		c.Lang = lang
		res := c.Do("GET", fmt.Sprintf("/campaigns/%d", f.id), nil)
		if res.Status != 200 || !strings.Contains(string(res.Body), want) {
			t.Errorf("campaign page (%s): got %d, want the rule %q", lang, res.Status, want)
		}
	}
	bad := f.org.Do("POST", "/api/v1/manage/campaigns", map[string]any{"title": "x", "starts_at": f.clock.Now(), "ends_at": f.clock.Now().Add(3600e9),
		"rules": map[string]any{"lang": "fr"}})
	if bad.Status != 400 || !strings.Contains(bad.ErrorMessage(), "中英双语") {
		t.Errorf("lang fr: got %d %s, want 400 naming the choices", bad.Status, bad.Body)
	}
}
