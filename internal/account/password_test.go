package account

import (
	"context"
	"strings"
	"testing"
)

func TestHashVerify(t *testing.T) {
	h := NewHasher(2)
	ctx := context.Background()
	hash, err := h.Hash(ctx, "正确的密码 horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hash, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("hash %q does not carry the OWASP parameters", hash)
	}
	tests := []struct {
		hash, pw string
		want     bool
	}{
		{hash, "正确的密码 horse", true},
		{hash, "正确的密码 horsE", false},
		{"", "anything", false},
		{"$argon2id$v=19$m=x$y$z", "anything", false},
	}
	for _, tt := range tests {
		got, err := h.Verify(ctx, tt.hash, tt.pw)
		if err != nil || got != tt.want {
			t.Errorf("Verify(%q, %q) = %v, %v; want %v", tt.hash, tt.pw, got, err, tt.want)
		}
	}
}

// A hash made at a lower cost (as the test servers make them) carries its
// cost and verifies with a hasher at the default one, and the other way.
func TestHashCostTravelsWithTheHash(t *testing.T) {
	ctx := context.Background()
	cheap, full := NewHasher(1), NewHasher(1)
	cheap.Memory, cheap.Time = 64, 1
	hash, err := cheap.Hash(ctx, "pw")
	if err != nil || !strings.HasPrefix(hash, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("cheap hash %q %v: want m=64,t=1", hash, err)
	}
	if ok, err := full.Verify(ctx, hash, "pw"); !ok || err != nil {
		t.Errorf("the default hasher rejects a cheap hash: %v %v", ok, err)
	}
	strong, err := full.Hash(ctx, "pw")
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := cheap.Verify(ctx, strong, "pw"); !ok || err != nil {
		t.Errorf("a cheap hasher rejects a default hash: %v %v", ok, err)
	}
}
