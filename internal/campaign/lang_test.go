package campaign_test

import (
	"context"
	"testing"

	"github.com/kepu/kepu/internal/apptest"
	"github.com/kepu/kepu/internal/campaign"
	"github.com/kepu/kepu/internal/kepu"
)

// langOfDraw counts the drawn versions by language and fails when a Chinese
// one was served although its question has a published English
// translation (wantEN) or an English one was served at all (!wantEN).
func langOfDraw(t *testing.T, inst *apptest.Instance, versions []int64, wantEN bool) (zh, en int) {
	t.Helper()
	rows, err := inst.DB.Pool.Query(context.Background(), `SELECT q.lang,
			EXISTS (SELECT 1 FROM questions t WHERE t.translation_of = q.id AND t.lang = 'en' AND t.status = 'published')
		FROM question_versions v JOIN questions q ON q.id = v.question_id WHERE v.id = ANY($1)`, versions)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var lang string
		var translated bool
		if err := rows.Scan(&lang, &translated); err != nil {
			t.Fatal(err)
		}
		switch {
		case lang == "en":
			en++
			if !wantEN {
				t.Errorf("an English question was served to a Chinese reader")
			}
		case translated && wantEN:
			t.Errorf("a Chinese question was served to an English reader although it has a translation")
		default:
			zh++
		}
	}
	return zh, en
}

// TestBilingualDraw: a campaign whose question language is "both" draws
// the Chinese originals; a participant whose language is English gets the
// English translation of every question that has one and the original of
// the rest, a Chinese participant only originals. The seeded bank has 500
// questions, 150 of them translated. Validate accepts "both" and nothing
// else new.
func TestBilingualDraw(t *testing.T) {
	inst := apptest.Start(t)
	ctx := context.Background()
	for _, tt := range []struct {
		lang, reader string
		wantEN       bool
	}{{"both", "en", true}, {"both", "zh-CN", false}, {"zh-CN", "en", false}} {
		tx, err := inst.DB.Pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got, err := campaign.Draw(ctx, tx, campaign.Rules{Lang: tt.lang, Questions: 100}, 0, tt.reader)
		tx.Rollback(ctx)
		if err != nil || len(got) != 100 {
			t.Fatalf("%s for %s: got %d questions, %v", tt.lang, tt.reader, len(got), err)
		}
		ids := make([]int64, len(got))
		for i, d := range got {
			ids[i] = d.VersionID
		}
		zh, en := langOfDraw(t, inst, ids, tt.wantEN)
		if tt.wantEN && (en == 0 || zh == 0) {
			t.Errorf("%s for %s: got %d Chinese and %d English, want both kinds", tt.lang, tt.reader, zh, en)
		}
		if zh+en != 100 {
			t.Errorf("%s for %s: %d distinct versions, want 100", tt.lang, tt.reader, zh+en)
		}
	}

	// Through Start: the participant's saved language decides.
	svc := inst.App.Campaigns
	id, _, err := svc.SeedDemo(ctx, inst.Seed.CityID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := inst.DB.Pool.Exec(ctx, `UPDATE campaigns SET settings = jsonb_set(settings, '{lang}', '"both"') WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	for _, reader := range []string{"en", "zh-CN"} {
		uid, _ := inst.CreateUser("reader-"+reader, "participant")
		if _, err := inst.DB.Pool.Exec(ctx, `UPDATE users SET lang = $2 WHERE id = $1`, uid, reader); err != nil {
			t.Fatal(err)
		}
		att, _, err := svc.Start(ctx, kepu.Actor{UserID: uid, Role: kepu.RoleParticipant}, id)
		if err != nil {
			t.Fatalf("start (%s): %v", reader, err)
		}
		var ids []int64
		rows, _ := inst.DB.Pool.Query(ctx, `SELECT question_version_id FROM campaign_attempt_questions WHERE attempt_id = $1`, att.ID)
		for rows.Next() {
			var v int64
			rows.Scan(&v)
			ids = append(ids, v)
		}
		if len(ids) != 20 {
			t.Fatalf("start (%s): %d questions, want 20", reader, len(ids))
		}
		langOfDraw(t, inst, ids, reader == "en")
	}

	for lang, ok := range map[string]bool{"both": true, "en": true, "zh-CN": true, "fr": false, "zh": false} {
		in := campaign.Input{Title: "t", StartsAt: svc.Now(), EndsAt: svc.Now().Add(3600e9), Rules: campaign.Rules{Lang: lang}}
		if err := in.Validate(); (err == nil) != ok {
			t.Errorf("validate lang %q: got %v, want ok %v", lang, err, ok)
		}
	}
}
