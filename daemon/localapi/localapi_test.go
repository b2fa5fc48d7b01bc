package localapi

import (
	"strings"
	"testing"
	"time"
)

func TestUUIDRules(t *testing.T) {
	s := newUUIDStore(120 * time.Second)
	now := time.Now()
	s.now = func() time.Time { return now }
	b := binding{appID: "wx1", redirectURI: "https://rp.example/cb", origin: "https://idp.example"}
	t.Run("single use", func(t *testing.T) {
		id := s.Mint(b)
		if !s.Consume(id, b) || s.Consume(id, b) {
			t.Fatal("a uuid must work exactly once")
		}
	})
	t.Run("bound", func(t *testing.T) {
		for _, other := range []binding{{"wx2", b.redirectURI, b.origin}, {b.appID, "https://rp.example/x", b.origin}, {b.appID, b.redirectURI, "https://evil.example"}} {
			id := s.Mint(b)
			if s.Consume(id, other) {
				t.Fatalf("uuid for %+v accepted for %+v", b, other)
			}
			if s.Consume(id, b) {
				t.Fatal("a uuid tried with the wrong binding must be spent")
			}
		}
	})
	t.Run("expires", func(t *testing.T) {
		id, fresh := s.Mint(b), s.Mint(b)
		now = now.Add(119 * time.Second)
		if !s.Consume(fresh, b) {
			t.Fatal("uuid refused before its 120 s were up")
		}
		now = now.Add(time.Second)
		if s.Consume(id, b) {
			t.Fatal("uuid accepted after 120 s")
		}
	})
	t.Run("bounded", func(t *testing.T) {
		big := newUUIDStore(time.Minute)
		first := big.Mint(b)
		for range maxUUIDs + 10 {
			big.Mint(b)
		}
		if len(big.m) > maxUUIDs || big.Consume(first, b) {
			t.Fatalf("store grew to %d or kept the oldest", len(big.m))
		}
	})
	t.Run("random", func(t *testing.T) {
		seen := map[string]bool{}
		for range 1000 {
			id := newUUID()
			if len(id) != 16 || strings.Trim(id, uuidAlphabet) != "" || seen[id] {
				t.Fatalf("bad or repeated uuid %q", id)
			}
			seen[id] = true
		}
	})
}

func TestNormalizeOrigin(t *testing.T) {
	good := map[string]string{
		"https://Login.Example.com":     "https://login.example.com",
		"https://login.example.com:443": "https://login.example.com",
		"http://idp.localhost:8080/":    "http://idp.localhost:8080",
		"http://[::1]:8080":             "http://[::1]:8080",
	}
	for in, want := range good {
		if got, err := NormalizeOrigin(in); err != nil || got != want {
			t.Errorf("NormalizeOrigin(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "login.example.com", "https://login.example.com/path", "ftp://x", "https://u@x", "https://x?q"} {
		if _, err := NormalizeOrigin(bad); err == nil {
			t.Errorf("NormalizeOrigin(%q) accepted", bad)
		}
	}
}
