package server

import "testing"

// TestSafeNext: the one check of redirect targets keeps same-site paths and
// turns everything else into "/".
func TestSafeNext(t *testing.T) {
	t.Parallel()
	long := "/"
	for len(long) <= maxNext {
		long += "a"
	}
	tests := []struct{ next, want string }{
		{"/", "/"},
		{"/campaigns/3", "/campaigns/3"},
		{"/bank?q=%E4%B8%AD&page=2", "/bank?q=%E4%B8%AD&page=2"},
		{"/campaigns/3/leaderboard#me", "/campaigns/3/leaderboard#me"},
		{"", "/"},
		{"campaigns", "/"},
		{"https://evil.example/", "/"},
		{"//evil.example", "/"},
		{"/\\evil.example", "/"},
		{"/a\\b", "/"},
		{"/%5Cevil.example", "/"},
		{"/%5cevil.example", "/"},
		{"/%255Cevil.example", "/"},
		{"/\r\nSet-Cookie: kepu_session=x; Path=/", "/"},
		{"/\nSet-Cookie: kepu_session=x", "/"},
		{"/\rX: y", "/"},
		{"/%0d%0aSet-Cookie:%20kepu_session=x", "/"},
		{"/%0aSet-Cookie:x", "/"},
		{"/%250d%250aSet-Cookie:x", "/"},
		{"/%25250aSet-Cookie:x", "/"},
		{"/\t/evil.example", "/"},
		{"/%09/evil.example", "/"},
		{"/\x00", "/"},
		{"/\x7f", "/"},
		{"/%7f", "/"},
		{"/%00", "/"},
		{"/ /evil.example", "/"},
		{"/caf\u00e9", "/"},
		{"/%zz", "/"},
		{"/%2F/evil.example", "/"},
		{"/%2f%2fevil.example", "/"},
		{long, "/"},
		{long[:maxNext], long[:maxNext]},
	}
	for _, tt := range tests {
		if got := safeNext(tt.next); got != tt.want {
			t.Errorf("safeNext(%q): got %q, want %q", tt.next, got, tt.want)
		}
	}
}

// FuzzSafeNext: whatever comes in, what goes out is a same-site path
// without bytes that could end a header line or leave the site.
func FuzzSafeNext(f *testing.F) {
	for _, s := range []string{"/", "/%0d%0aX:y", "//x", "/\\x", "/%5C", "/a?b=c#d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := safeNext(s)
		if got != "/" && got != s {
			t.Fatalf("safeNext(%q) = %q: neither the input nor /", s, got)
		}
		if !sameSitePath(got, true) || len(got) > maxNext {
			t.Fatalf("safeNext(%q) = %q: not a plain same-site path", s, got)
		}
	})
}
