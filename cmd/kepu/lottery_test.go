package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kepu/kepu/internal/lottery"
)

// `kepu lottery verify` recomputes a published draw from the file alone,
// needs no configuration, and fails on a changed seed, a changed entry
// list or a commitment other than the one seen before the close.
func TestLotteryVerifyCommand(t *testing.T) {
	t.Setenv("KEPU_DATABASE_URL", "postgres://nobody@127.0.0.1:1/none?sslmode=disable") // never reached
	seed := bytes.Repeat([]byte{9}, lottery.SeedSize)
	entries := []lottery.Entry{{ID: "A1", Person: "p1", Nickname: "张**"}, {ID: "A2", Person: "p2", Nickname: "李**"},
		{ID: "A3", Person: "p3", Nickname: "王**"}}
	prizes := []lottery.Prize{{Name: "纪念徽章", Count: 2}}
	winners, _ := lottery.Draw(seed, entries, prizes)
	eh, _ := lottery.EntriesHash(entries)
	doc := lottery.Published{Algorithm: lottery.AlgorithmV1, CampaignID: 7, Title: "测试", Commitment: lottery.Commitment(seed),
		Seed: hex.EncodeToString(seed), EntriesHash: hex.EncodeToString(eh), Prizes: prizes, Entries: entries, Winners: winners}
	write := func(p lottery.Published) string {
		f := filepath.Join(t.TempDir(), "published.json")
		b, _ := json.Marshal(p)
		os.WriteFile(f, b, 0o600)
		return f
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"lottery", "verify", "--file", write(doc), "--commitment", doc.Commitment}, &out, &out); err != nil {
		t.Fatalf("a good document: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "2 winners recomputed") || !strings.Contains(out.String(), winners[0].Entry) {
		t.Errorf("output: %s", out.String())
	}
	other := doc
	other.Seed = hex.EncodeToString(bytes.Repeat([]byte{8}, lottery.SeedSize))
	moved := doc
	moved.Entries = append([]lottery.Entry{}, doc.Entries[1:]...)
	for name, tc := range map[string]struct {
		p    lottery.Published
		want error
	}{"a changed seed": {other, lottery.ErrCommitment}, "a changed entry list": {moved, lottery.ErrEntriesHash}} {
		out.Reset()
		err := run(context.Background(), []string{"lottery", "verify", "--file", write(tc.p)}, &out, &out)
		if !errors.Is(err, tc.want) || !strings.Contains(out.String(), "MISMATCH") {
			t.Errorf("%s: got %v %q, want %v", name, err, out.String(), tc.want)
		}
	}
	if err := run(context.Background(), []string{"lottery", "verify", "--file", write(doc), "--commitment", strings.Repeat("0", 64)}, &out, &out); !errors.Is(err, lottery.ErrOldCommitment) {
		t.Errorf("another commitment: got %v, want ErrOldCommitment", err)
	}
	var ue usageError
	if err := run(context.Background(), []string{"lottery", "verify"}, &out, &out); !errors.As(err, &ue) {
		t.Errorf("no --file or --url: got %v, want a usage error", err)
	}
}
