package rules

import (
	"strings"
	"testing"

	"github.com/scanfree/scanfree/backend/storage"
)

func TestRedirectURL(t *testing.T) {
	tests := []struct{ uri, code, state, want string }{
		{"https://rp.example/cb", "C", "S", "https://rp.example/cb?code=C&state=S"},
		{"https://rp.example/cb?a=1", "C", "S", "https://rp.example/cb?a=1&code=C&state=S"},
		{"https://rp.example/cb?", "C", "S", "https://rp.example/cb?code=C&state=S"},
		{"https://rp.example/cb?a=1&", "C", "S", "https://rp.example/cb?a=1&code=C&state=S"},
		{"https://rp.example/cb#frag", "C", "S", "https://rp.example/cb?code=C&state=S#frag"},
		{"https://rp.example/cb?x=%2F", "C", "a b&c=d", "https://rp.example/cb?x=%2F&code=C&state=a+b%26c%3Dd"},
		{"https://rp.example/cb", "C", "", "https://rp.example/cb?code=C&state="},
	}
	for _, tt := range tests {
		if got := RedirectURL(tt.uri, tt.code, tt.state); got != tt.want {
			t.Errorf("RedirectURL(%q, %q, %q) = %q, want %q", tt.uri, tt.code, tt.state, got, tt.want)
		}
	}
}

func TestRedirectURI(t *testing.T) {
	app := storage.App{
		RedirectURIs: []string{"https://rp.example/cb", "https://rp.example/app/", "https://rp.example/q?x=1", "http://localhost:8081/callback"},
		Domains:      []string{"shop.example", "dev.localhost:8081"},
	}
	long := "https://rp.example/cb?x=" + strings.Repeat("a", MaxRedirectURILen)
	for _, tt := range []struct {
		uri string
		ok  bool
	}{
		{"https://rp.example/cb", true},
		{"https://rp.example/app/", true},
		{"https://rp.example/app/orders/1", true},
		{"https://rp.example/app", false}, // above the registered path
		{"https://rp.example/application", false},
		{"https://rp.example/cb/more", true},
		{"https://rp.example/cbx", false},
		{"https://rp.example:8443/cb", false}, // another port
		{"http://rp.example/cb", false},       // another scheme
		{"https://rp.example/q?x=1", true},
		{"https://rp.example/q?x=2", false}, // a registered query admits only itself
		{"https://rp.example/app/../admin", false},
		{"https://rp.example/app/%2e%2e/admin", false},
		{"https://rp.example/app//evil.example", false},
		{"https://rp.example/app/%2fevil", false},
		{"https://shop.example/any/path", true},
		{"https://shop.example:443/any", true},
		{"https://shop.example:8443/any", false}, // the domain names no port: the default only
		{`https://shop.example/\evil.com`, false},
		{"https://shop.example/a b", false},
		{"https://sub.shop.example/", false},
		{"http://shop.example/", false}, // plain http off loopback
		{"http://dev.localhost:8081/cb", true},
		{"http://dev.localhost:9999/cb", false}, // another local server
		{"https://rp.example/cb?code=attacker", false},
		{"https://shop.example/cb?state=x", false},
		{"https://shop.example/cb?x=1&code=1", false},
		{long, false},
		{"", false},
		{"https://user@rp.example/cb", false},
		{"https://rp.example/cb#frag", false},
	} {
		t.Run(tt.uri, func(t *testing.T) {
			if err := RedirectURI(app, tt.uri); (err == nil) != tt.ok {
				t.Fatalf("RedirectURI(%q) = %v, want ok=%v", tt.uri, err, tt.ok)
			}
		})
	}
}

func TestRegisteredURIRefuses(t *testing.T) {
	for _, uri := range []string{"https://rp.example/cb?code=1", "https://rp.example/cb?state=1", "https://rp.example/" + strings.Repeat("a", MaxRedirectURILen)} {
		if RegisteredURI(uri) == nil {
			t.Errorf("RegisteredURI(%q) accepted", uri)
		}
	}
}
