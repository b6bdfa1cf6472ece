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
