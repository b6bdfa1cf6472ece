package org

import (
	"testing"

	"github.com/kepu/kepu/internal/kepu"
)

func TestParseNetwork(t *testing.T) {
	for _, tt := range []struct {
		in, want string // want "" for refused
		key      string
	}{
		{"203.0.113.7", "203.0.113.7/32", ""},
		{" 203.0.113.7/28 ", "203.0.113.0/28", ""},
		{"198.51.100.0/20", "198.51.96.0/20", ""},
		{"10.1.2.0/24", "10.1.2.0/24", ""}, // education intranets use private space
		{"2001:db8::1", "2001:db8::1/128", ""},
		{"2001:db8:1::/48", "2001:db8:1::/48", ""},
		{"::ffff:203.0.113.7", "203.0.113.7/32", ""},
		{"::ffff:203.0.113.0/124", "203.0.113.0/28", ""},
		{"::ffff:1.2.3.4/90", "", "error.network_invalid"},
		{"198.51.0.0/19", "", "error.network_too_large"},
		{"0.0.0.0/0", "", "error.network_invalid"},
		{"2001:db8::/47", "", "error.network_too_large"},
		{"127.0.0.1", "", "error.network_invalid"},
		{"::1", "", "error.network_invalid"},
		{"169.254.1.1", "", "error.network_invalid"},
		{"fe80::1%eth0", "", "error.network_invalid"},
		{"224.0.0.1", "", "error.network_invalid"},
		{"999.1.1.1", "", "error.network_invalid"},
		{"203.0.113.7/33", "", "error.network_invalid"},
		{"school.example", "", "error.network_invalid"},
		{"", "", "error.network_invalid"},
	} {
		t.Run(tt.in, func(t *testing.T) {
			p, err := ParseNetwork(tt.in)
			if tt.want != "" {
				if err != nil || p.String() != tt.want {
					t.Errorf("got %v, %v; want %s", p, err, tt.want)
				}
				return
			}
			ke, ok := err.(*kepu.Error)
			if !ok || ke.Key != tt.key || ke.Field != "networks" {
				t.Errorf("got %v, %v; want error %s on networks", p, err, tt.key)
			}
		})
	}
}

// FuzzParseNetwork: whatever the input, an accepted network is canonical
// (parsing its text gives it back), masked and within the size bounds.
func FuzzParseNetwork(f *testing.F) {
	for _, s := range []string{"203.0.113.7", "203.0.113.0/28", "2001:db8::/48", "::ffff:1.2.3.4/120", "x", "1.2.3.4/0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseNetwork(s)
		if err != nil {
			if _, ok := err.(*kepu.Error); !ok {
				t.Fatalf("%q: error %v is not a *kepu.Error", s, err)
			}
			return
		}
		if p != p.Masked() || !p.IsValid() {
			t.Fatalf("%q: got %v, not canonical", s, p)
		}
		if q, err := ParseNetwork(p.String()); err != nil || q != p {
			t.Fatalf("%q: %v re-parses as %v, %v", s, p, q, err)
		}
		if (p.Addr().Is4() && p.Bits() < minPrefixV4) || (p.Addr().Is6() && p.Bits() < minPrefixV6) || p.Addr().Is4In6() {
			t.Fatalf("%q: %v too large or mapped", s, p)
		}
	})
}
