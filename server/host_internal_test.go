package server

import "testing"

func TestHostGuard(t *testing.T) {
	tests := []struct {
		name    string
		token   string
		allowed []string
		host    string
		want    bool
	}{
		{name: "loopback ip", host: "127.0.0.1:8080", want: true},
		{name: "loopback range", host: "127.8.9.10", want: true},
		{name: "localhost any port", host: "localhost:1", want: true},
		{name: "localhost upper case", host: "LOCALHOST", want: true},
		{name: "ipv6 loopback", host: "[::1]:8080", want: true},
		{name: "ipv6 loopback no port", host: "[::1]", want: true},
		{name: "empty host", host: "", want: false},
		{name: "attacker", host: "rebind.attacker.example:8080", want: false},
		{name: "localhost subdomain", host: "a.localhost", want: false},
		{name: "localhost as prefix", host: "localhost.attacker.example", want: false},
		{name: "private address", host: "192.168.1.5:8080", want: false},
		{name: "unspecified", host: "0.0.0.0:8080", want: false},
		{name: "token, no list: any", token: "t", host: "anything.example", want: true},
		{name: "token, list: listed", token: "t", allowed: []string{"sync.example"}, host: "Sync.Example:443", want: true},
		{name: "token, list: other", token: "t", allowed: []string{"sync.example"}, host: "other.example", want: false},
		{name: "token, list: loopback", token: "t", allowed: []string{"sync.example"}, host: "127.0.0.1:9", want: true},
		{name: "token, list: empty host", token: "t", allowed: []string{"sync.example"}, host: "", want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := newHostGuard(tt.token, tt.allowed).allows(tt.host); got != tt.want {
				t.Errorf("allows(%q) = %v, want %v", tt.host, got, tt.want)
			}
		})
	}
}
