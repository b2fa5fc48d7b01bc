package server

import (
	"net/http"
	"testing"
)

func TestClientIP(t *testing.T) {
	proxies, err := ParseTrustedProxies([]string{"10.0.0.0/8", "192.0.2.7", "::1"})
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{cfg: Config{TrustedProxies: proxies}}
	for _, tc := range []struct {
		name, peer string
		xff        []string
		want       string
	}{
		{"no proxy configured for this peer", "203.0.113.9:5555", []string{"198.51.100.1"}, "203.0.113.9"},
		{"behind the load balancer", "10.1.2.3:5555", []string{"198.51.100.1"}, "198.51.100.1"},
		{"a client's own X-Forwarded-For is not believed", "10.1.2.3:5555", []string{"1.1.1.1, 198.51.100.1"}, "198.51.100.1"},
		{"two trusted hops", "10.1.2.3:5555", []string{"198.51.100.1, 192.0.2.7"}, "198.51.100.1"},
		{"headers repeated", "10.1.2.3:5555", []string{"1.1.1.1", "198.51.100.1"}, "198.51.100.1"},
		{"only proxies: the left-most proxy", "10.1.2.3:5555", []string{"10.9.9.9"}, "10.9.9.9"},
		{"no header: the proxy itself", "10.1.2.3:5555", nil, "10.1.2.3"},
		{"malformed hop", "10.1.2.3:5555", []string{"1.1.1.1, not-an-ip"}, "10.1.2.3"},
		{"IPv6 proxy", "[::1]:5555", []string{"2001:db8::1"}, "2001:db8::1"},
		{"v4-mapped client", "10.1.2.3:5555", []string{"::ffff:198.51.100.1"}, "198.51.100.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &http.Request{RemoteAddr: tc.peer, Header: http.Header{}}
			for _, v := range tc.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := s.clientIP(r); got != tc.want {
				t.Fatalf("clientIP = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestLimitKey(t *testing.T) {
	for _, tc := range []struct{ ip, want string }{
		{"203.0.113.9", "203.0.113.9"},
		{"2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"},
		{"2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"},
		{"2001:db8:1:3::1", "2001:db8:1:3::/64"},
		{"::1", "::/64"},
		{"::ffff:198.51.100.1", "::ffff:198.51.100.1"},
		{"not-an-ip", "not-an-ip"},
	} {
		if got := limitKey(tc.ip); got != tc.want {
			t.Errorf("limitKey(%q) = %q, want %q", tc.ip, got, tc.want)
		}
	}
}

func TestParseTrustedProxiesRefuses(t *testing.T) {
	for _, v := range []string{"10.0.0.0/33", "proxy.example", "10.0.0"} {
		if _, err := ParseTrustedProxies([]string{v}); err == nil {
			t.Errorf("%q accepted", v)
		}
	}
}
