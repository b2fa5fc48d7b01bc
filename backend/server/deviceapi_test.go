package server_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/scanfree/scanfree/backend/admin"
	"github.com/scanfree/scanfree/internal/deviceapi"
)

func TestDeviceAPI(t *testing.T) {
	e := newEnv(t)
	e.user("alice")
	app := e.app(admin.AppSpec{FastLogin: true, IconURL: "https://icons.example/shop.png",
		RedirectURIs: []string{"http://shop.localhost:8081/callback", "https://shop.example/cb?lang=en"}, Domains: []string{"rp.example", "dev.localhost:9000"}})
	qrOnly := e.app(admin.AppSpec{Name: "QR only"})
	cred := e.enrol("alice")
	auth := http.Header{"Authorization": {"Bearer " + cred}}

	t.Run("app info shows public fields only", func(t *testing.T) {
		var raw map[string]any
		e.do("GET", "/api/v1/apps/"+app.AppID, auth, nil, &raw)
		if raw["appid"] != app.AppID || raw["name"] != "Demo Shop" || raw["icon"] != "https://icons.example/shop.png" || raw["fast_login"] != true || len(raw) != 4 {
			t.Fatalf("app info = %v", raw)
		}
		var ae apiErr
		if resp := e.do("GET", "/api/v1/apps/wxnope", auth, nil, &ae); resp.StatusCode != 404 || ae.ErrCode != 10067 {
			t.Fatalf("unknown app: %d %+v", resp.StatusCode, ae)
		}
	})

	req := func(redirect, scope, state string) deviceapi.SignInRequest {
		return deviceapi.SignInRequest{AppID: app.AppID, Scope: scope, RedirectURI: redirect, State: state, Origin: "http://idp.localhost:8080"}
	}
	tests := []struct {
		name    string
		req     deviceapi.SignInRequest
		errcode int
		prefix  string // of the redirect URL on success
	}{
		{"exact uri", req("http://shop.localhost:8081/callback", "snsapi_login", "s1"), 0, "http://shop.localhost:8081/callback?code="},
		{"uri with query", req("https://shop.example/cb?lang=en", "snsapi_login", "s2"), 0, "https://shop.example/cb?lang=en&code="},
		{"registered domain", req("https://rp.example/any/path?x=1", "snsapi_login", "s3"), 0, "https://rp.example/any/path?x=1&code="},
		{"loopback domain over http", req("http://dev.localhost:9000/cb", "snsapi_login", ""), 0, "http://dev.localhost:9000/cb?code="},
		{"loopback domain, another port", req("http://dev.localhost:9001/cb", "snsapi_login", ""), 10067, ""},
		{"domain over plain http", req("http://rp.example/cb", "snsapi_login", ""), 10067, ""},
		{"subdomain of a domain", req("https://evil.rp.example/cb", "snsapi_login", ""), 10067, ""},
		{"suffix trick", req("https://rp.example.evil.com/cb", "snsapi_login", ""), 10067, ""},
		{"userinfo trick", req("https://rp.example@evil.com/cb", "snsapi_login", ""), 10067, ""},
		{"uri prefix only", req("http://shop.localhost:8081/callback/../steal", "snsapi_login", ""), 10067, ""},
		{"unregistered", req("https://evil.example/cb", "snsapi_login", ""), 10067, ""},
		{"empty redirect", req("", "snsapi_login", ""), 10067, ""},
		{"bad scope", req("http://shop.localhost:8081/callback", "snsapi_admin", ""), 10067, ""},
		{"empty scope", req("http://shop.localhost:8081/callback", "", ""), 10067, ""},
		{"long state", req("http://shop.localhost:8081/callback", "snsapi_login", strings.Repeat("s", 129)), 10067, ""},
		{"unknown app", deviceapi.SignInRequest{AppID: "wxnope", Scope: "snsapi_login", RedirectURI: "http://shop.localhost:8081/callback"}, 10067, ""},
		{"qr-only app", deviceapi.SignInRequest{AppID: qrOnly.AppID, Scope: "snsapi_login", RedirectURI: "http://shop.localhost:8081/callback"}, 10057, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The check the daemon makes before its dialog applies the same rules as the mint.
			var checked deviceapi.App
			var ce apiErr
			body, _ := json.Marshal(tt.req)
			e.do("POST", "/api/v1/device/check", http.Header{"Authorization": {"Bearer " + cred}, "Content-Type": {"application/json"}},
				bytes.NewReader(body), &struct {
					*deviceapi.App
					*apiErr
				}{&checked, &ce})
			if ce.ErrCode != tt.errcode || (tt.errcode == 0 && checked.AppID != tt.req.AppID) {
				t.Fatalf("check: errcode %d (%s), app %+v; want %d", ce.ErrCode, ce.ErrMsg, checked, tt.errcode)
			}
			redirect, ae, status := e.authorize(cred, tt.req)
			if ae.ErrCode != tt.errcode {
				t.Fatalf("errcode %d (%s), want %d", ae.ErrCode, ae.ErrMsg, tt.errcode)
			}
			wantStatus := 400
			if tt.req.AppID == "wxnope" {
				wantStatus = 404
			}
			if tt.errcode != 0 {
				if status != wantStatus || ae.ErrMsg == "" || redirect != "" {
					t.Fatalf("refusal: status %d, errmsg %q, redirect %q", status, ae.ErrMsg, redirect)
				}
				return
			}
			if !strings.HasPrefix(redirect, tt.prefix) || !strings.HasSuffix(redirect, "&state="+tt.req.State) {
				t.Fatalf("redirect %q, want prefix %q and state %q", redirect, tt.prefix, tt.req.State)
			}
		})
	}

	t.Run("code is bound to the exact redirect_uri's app", func(t *testing.T) {
		other := e.app(admin.AppSpec{Name: "Other", FastLogin: true})
		code := e.code(cred, app)
		if r := e.exchange(other, code); r.ErrCode != 40029 {
			t.Fatalf("another app exchanged the code: %+v", r)
		}
		if r := e.exchange(app, code); r.ErrCode != 0 {
			t.Fatalf("own app: %+v", r)
		}
	})

	t.Run("strict decoding", func(t *testing.T) {
		bodies := []struct {
			name, ctype, body string
		}{
			{"unknown field", "application/json", `{"appid":"` + app.AppID + `","extra":1}`},
			{"text/plain", "text/plain", `{"appid":"` + app.AppID + `"}`},
			{"form", "application/x-www-form-urlencoded", `appid=` + app.AppID},
			{"trailing data", "application/json", `{"appid":"x"}{"appid":"y"}`},
			{"oversized", "application/json", `{"appid":"` + strings.Repeat("a", 17<<10) + `"}`},
			{"not json", "application/json", `{"appid":`},
		}
		for _, b := range bodies {
			h := http.Header{"Authorization": {"Bearer " + cred}, "Content-Type": {b.ctype}}
			var ae apiErr
			resp := e.do("POST", "/api/v1/device/authorize", h, strings.NewReader(b.body), &ae)
			if resp.StatusCode != 400 || ae.ErrCode != 10067 {
				t.Errorf("%s: %d %+v, want 400 and 10067", b.name, resp.StatusCode, ae)
			}
		}
	})

	t.Run("credential required", func(t *testing.T) {
		for _, h := range []http.Header{nil, {"Authorization": {"Bearer "}}, {"Authorization": {"Bearer nope"}}, {"Authorization": {"Basic " + cred}}} {
			var ae apiErr
			resp := e.do("GET", "/api/v1/device/me", h, nil, &ae)
			if resp.StatusCode != 401 || ae.ErrCode != 10060 || resp.Header.Get("WWW-Authenticate") == "" {
				t.Errorf("%v: %d %+v", h, resp.StatusCode, ae)
			}
		}
	})

	t.Run("sign out revokes the credential", func(t *testing.T) {
		c2 := e.enrol("alice")
		if resp := e.do("DELETE", "/api/v1/device", http.Header{"Authorization": {"Bearer " + c2}}, nil, nil); resp.StatusCode != 200 {
			t.Fatalf("sign out: %d", resp.StatusCode)
		}
		_, ae, status := e.authorize(c2, req("http://shop.localhost:8081/callback", "snsapi_login", ""))
		if status != 401 || ae.ErrCode != 10060 {
			t.Fatalf("authorize after sign out: %d %+v", status, ae)
		}
		if resp := e.do("GET", "/api/v1/device/me", auth, nil, nil); resp.StatusCode != 200 {
			t.Fatalf("the other device was signed out too: %d", resp.StatusCode)
		}
	})
}
