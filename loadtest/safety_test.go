package main

import "testing"

func TestCheckTarget(t *testing.T) {
	tests := []struct {
		url    string
		remote bool
		ok     bool
	}{
		{"http://127.0.0.1:8080", false, true},
		{"http://localhost:8080", false, true},
		{"http://[::1]:8080", false, true},
		{"http://127.9.9.9:8080", false, true},
		{"http://10.0.0.5:8080", false, false},
		{"http://192.168.1.2", false, false},
		{"https://kepu.example.org", false, false},
		{"https://kepu.example.org", true, true},
		{"ftp://127.0.0.1", false, false},
	}
	for _, tt := range tests {
		err := checkTarget(tt.url, tt.remote)
		if (err == nil) != tt.ok {
			t.Errorf("checkTarget(%q, %v) = %v, want ok=%v", tt.url, tt.remote, err, tt.ok)
		}
	}
}
