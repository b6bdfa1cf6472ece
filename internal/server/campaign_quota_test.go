package server_test

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestCampaignShortQuotaNamedInUsersLanguage: publishing a campaign whose
// bank cannot fill a quota names the quota by its category, dimension and
// type labels in the reader's language (never the raw keys), and points at
// the quota's row; the questions outside the quotas are named as such.
func TestCampaignShortQuotaNamedInUsersLanguage(t *testing.T) {
	t.Parallel()
	f := newCampaign(t, nil) // the bank: 6 health/knowledge/single, 3 safety/method/multiple
	create := func(rules map[string]any) int64 {
		t.Helper()
		return f.create(t, map[string]any{"title": "配额不足", "starts_at": time.Now().Add(time.Hour), "ends_at": time.Now().Add(48 * time.Hour), "rules": rules})
	}
	quota := create(map[string]any{"questions": 6, "quotas": []map[string]any{
		{"category": "health", "count": 1}, {"category": "safety", "dimension": "method", "type": "multiple", "count": 4}}})
	rest := create(map[string]any{"questions": 12, "quotas": []map[string]any{{"type": "single", "count": 2}}})
	tests := []struct {
		name, lang string
		id         int64
		field      string
		wants      []string
	}{
		{"quota zh-CN", "zh-CN", quota, "rules.quotas.1", []string{"第 2 条配额", "安全与应急", "科学方法", "多选题", "4", "3"}},
		{"quota en", "en", quota, "rules.quotas.1", []string{"quota 2", "Safety and emergencies", "Scientific methods", "Multiple choice", "4", "3"}},
		{"rest zh-CN", "zh-CN", rest, "rules.questions", []string{"配额之外", "10", "7"}},
		{"rest en", "en", rest, "rules.questions", []string{"outside the quotas", "10", "7"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.org.Do("GET", "/lang/"+tt.lang+"?next=/", nil) // the organizer's language (saved with the account)
			res := f.org.Do("POST", fmt.Sprintf("/api/v1/manage/campaigns/%d/publish", tt.id), nil)
			var e struct {
				Error struct{ Code, Message, Field string }
			}
			res.JSON(t, &e)
			if res.Status != 400 || e.Error.Field != tt.field {
				t.Fatalf("publish: got %d field %q, want 400 on %q: %s", res.Status, e.Error.Field, tt.field, res.Body)
			}
			for _, w := range tt.wants {
				if !strings.Contains(e.Error.Message, w) {
					t.Errorf("message %q lacks %q", e.Error.Message, w)
				}
			}
			for _, raw := range []string{"safety", "multiple", "/", "*"} {
				if strings.Contains(e.Error.Message, raw) {
					t.Errorf("message %q shows the raw key %q", e.Error.Message, raw)
				}
			}
		})
	}
}
