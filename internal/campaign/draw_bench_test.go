package campaign_test

import (
	"context"
	"testing"

	"github.com/kepu/kepu/internal/apptest"
	"github.com/kepu/kepu/internal/campaign"
)

// BenchmarkDraw draws the demo campaign's 20 questions (7 true/false,
// 7 single, 6 multiple) from the 500-question seeded bank, one
// transaction per draw, as Start does.
func BenchmarkDraw(b *testing.B) {
	inst := apptest.Start(b)
	ctx := context.Background()
	r := campaign.Rules{Questions: 20, Lang: "zh-CN", Quotas: []campaign.Quota{
		{Type: "truefalse", Count: 7}, {Type: "single", Count: 7}, {Type: "multiple", Count: 6}}}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tx, err := inst.DB.Pool.Begin(ctx)
		if err != nil {
			b.Fatal(err)
		}
		got, err := campaign.Draw(ctx, tx, r, 0, "")
		tx.Rollback(ctx)
		if err != nil || len(got) != 20 {
			b.Fatalf("draw: got %d questions, err %v; want 20", len(got), err)
		}
	}
}
