package localapi

import (
	"strings"
	"testing"
	"time"

	"github.com/scanfree/scanfree/internal/deviceapi"
)

func TestUUIDRules(t *testing.T) {
	s := newUUIDStore(120 * time.Second)
	now := time.Now()
	s.now = func() time.Time { return now }
	b := binding{appID: "wx1", redirectURI: "https://rp.example/cb", origin: "https://idp.example", scope: "snsapi_login", state: "s1"}
	t.Run("single use", func(t *testing.T) {
		id := s.Mint(b)
		if !s.Consume(id, b) || s.Consume(id, b) {
			t.Fatal("a uuid must work exactly once")
		}
	})
	t.Run("bound", func(t *testing.T) {
		with := func(change func(*binding)) binding { o := b; change(&o); return o }
		for _, other := range []binding{
			with(func(o *binding) { o.appID = "wx2" }),
			with(func(o *binding) { o.redirectURI = "https://rp.example/x" }),
			with(func(o *binding) { o.origin = "https://evil.example" }),
			with(func(o *binding) { o.scope = "snsapi_userinfo" }),
			with(func(o *binding) { o.state = "s2" }),
		} {
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

// TestDecodeStrict: names match exactly, once; a page and the daemon must
// never read two different values out of one body.
func TestDecodeStrict(t *testing.T) {
	const ok = `{"apiname":"qrconnectchecklogin","jsdata":{"appid":"wx1","scope":"snsapi_login","redirect_uri":"https://rp.example/cb","state":"s"}}`
	var d checkLoginData
	if r, good := decode([]byte(ok), apiCheckLogin, &d); !good || d.AppID != "wx1" {
		t.Fatalf("the seeds' body refused: %+v", r)
	}
	for name, body := range map[string]string{
		"upper-case envelope name": `{"APINAME":"qrconnectchecklogin","jsdata":{"appid":"wx1"}}`,
		"mixed-case field":         `{"apiname":"qrconnectchecklogin","jsdata":{"AppID":"wx1"}}`,
		"duplicate field":          `{"apiname":"qrconnectchecklogin","jsdata":{"appid":"wx1","appid":"wx2"}}`,
		"duplicate envelope name":  `{"apiname":"x","apiname":"qrconnectchecklogin","jsdata":{"appid":"wx1"}}`,
		"unknown field":            `{"apiname":"qrconnectchecklogin","jsdata":{"appid":"wx1","extra":1}}`,
		"data after the object":    ok + `{}`,
		"invalid UTF-8":            "{\"apiname\":\"qrconnectchecklogin\",\"jsdata\":{\"appid\":\"wx\xff\"}}",
	} {
		t.Run(name, func(t *testing.T) {
			var d checkLoginData
			if r, good := decode([]byte(body), apiCheckLogin, &d); good || r.ErrCode != deviceapi.CodeMalformed {
				t.Fatalf("accepted (or not as malformed): %+v, jsdata %+v", r, d)
			}
		})
	}
}
