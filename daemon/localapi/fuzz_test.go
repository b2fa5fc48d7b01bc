package localapi

import (
	"encoding/json"
	"strings"
	"testing"
)

// FuzzDecode feeds arbitrary bodies to the request decoding: it never
// panics, and what it accepts is a well-formed request.
func FuzzDecode(f *testing.F) {
	for _, seed := range []string{
		`{"apiname":"qrconnectchecklogin","jsdata":{"appid":"wx1","scope":"snsapi_login","redirect_uri":"https://rp.example/cb","state":"s"}}`,
		`{"apiname":"qrconnectfastauthorize","jsdata":{"data":"{\"x\":576,\"y\":391.5}","appid":"wx1","scope":"snsapi_login","redirect_uri":"https://rp.example/cb","state":"s","authorize_uuid":"033nd5fs2nhe300H"}}`,
		`{"apiname":"qrconnectchecklogin","jsdata":null}`,
		`{"apiname":"qrconnectchecklogin","jsdata":{"appid":"wx1"}}{}`,
		`{"apiname":1}`, `[]`, ``, `null`, `{"jsdata":{"data":"{\"x\":-1}"}}`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var c checkLoginData
		if _, ok := decode([]byte(body), apiCheckLogin, &c); ok {
			if !strings.Contains(body, apiCheckLogin) {
				t.Fatalf("accepted %q without the apiname", body)
			}
			_ = validate(c.AppID, c.Scope, c.RedirectURI, c.State)
		}
		var a authorizeData
		if _, ok := decode([]byte(body), apiAuthorize, &a); ok {
			if err := checkClick(a.Data); err == nil && a.Data != "" {
				var p struct{ X, Y float64 }
				if json.Unmarshal([]byte(a.Data), &p) == nil && (p.X < 0 || p.Y < 0) {
					t.Fatalf("click %+v out of range accepted", p)
				}
			}
		}
	})
}

// FuzzGuard checks the Host, SNI and Origin predicates on arbitrary input:
// only the exact allowed forms pass.
func FuzzGuard(f *testing.F) {
	for _, seed := range []string{"scanfree.localhost:14013", "localhost:14013", "127.0.0.1:14013", "[::1]:14013",
		"evil.example:14013", "scanfree.localhost.evil:14013", "SCANFREE.LOCALHOST:14013", "\u017fcanfree.localhost:14013", "localhost:14013\u212a", "http://idp.localhost:8080", "null", ""} {
		f.Add(seed)
	}
	trusted := []string{"http://idp.localhost:8080"}
	allowedHosts := map[string]bool{"scanfree.localhost:14013": true, "localhost:14013": true, "127.0.0.1:14013": true, "[::1]:14013": true}
	f.Fuzz(func(t *testing.T, s string) {
		if AllowedHost(s, "scanfree.localhost", 14013) != allowedHosts[asciiLower(s)] {
			t.Fatalf("AllowedHost(%q) disagrees with the allowed set", s)
		}
		if AllowedOrigin(s, trusted) != (s == trusted[0]) {
			t.Fatalf("AllowedOrigin(%q) is not an exact match", s)
		}
		if AllowedSNI(s, "scanfree.localhost") != (s == "" || asciiLower(s) == "scanfree.localhost") {
			t.Fatalf("AllowedSNI(%q)", s)
		}
	})
}
