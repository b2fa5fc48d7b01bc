package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scanfree/scanfree/internal/harness/system"
)

// TestAppLifecycle: an operator rotates an app's secret (the old one works
// through its grace period, then 40125), edits its redirect URIs (the old
// one is refused at once, the new one works) and disables it (no sign-in,
// exchange or userinfo) and enables it again, all from the CLI while the
// server runs.
func TestAppLifecycle(t *testing.T) {
	b := startBackend(t, filepath.Join(t.TempDir(), "scanfree.db"))
	const cb = "http://shop.localhost:8081/callback"
	var app struct{ AppID, Secret string }
	json.Unmarshal([]byte(b.cli("", "app", "create", "--name", "Demo Shop", "--redirect-uri", cb, "--json")), &app)
	b.cli("alice-password\n", "user", "create", "--username", "alice", "--nickname", "Alice", "--password-stdin")
	cred := b.enrol("alice")
	mint := func(redirect string) (int, string) {
		status, body := b.post(nil, "/api/v1/device/authorize", "application/json",
			`{"appid":"`+app.AppID+`","scope":"snsapi_login","redirect_uri":"`+redirect+`","state":"s"}`, http.Header{"Authorization": {"Bearer " + cred}})
		var ar struct {
			RedirectURL string `json:"redirect_url"`
		}
		json.Unmarshal(body, &ar)
		u, _ := url.Parse(ar.RedirectURL)
		return status, u.Query().Get("code")
	}
	exchange := func(secret string) system.Token {
		_, code := mint(cb)
		tok, _, err := system.Exchange(context.Background(), nil, b.url, app.AppID, secret, code)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}

	var rotated struct{ Secret string }
	json.Unmarshal([]byte(b.cli("", "app", "rotate-secret", app.AppID, "--grace", "1h", "--json")), &rotated)
	if rotated.Secret == "" || rotated.Secret == app.Secret {
		t.Fatalf("rotate-secret: %+v", rotated)
	}
	if tok := exchange(app.Secret); tok.AccessToken == "" {
		t.Fatalf("the old secret in its grace period: %+v", tok)
	}
	if tok := exchange(rotated.Secret); tok.AccessToken == "" {
		t.Fatalf("the new secret: %+v", tok)
	}
	var again struct{ Secret string }
	json.Unmarshal([]byte(b.cli("", "app", "rotate-secret", app.AppID, "--grace", "0s", "--json")), &again)
	if tok := exchange(rotated.Secret); tok.ErrCode != 40125 {
		t.Fatalf("a secret whose grace ended: %+v, want 40125", tok)
	}
	secret := again.Secret

	b.cli("", "app", "edit", app.AppID, "--redirect-uri", "http://shop.localhost:8081/new-callback")
	if status, _ := mint(cb); status == http.StatusOK {
		t.Fatal("the redirect URI taken out by the edit still mints")
	}
	if status, code := mint("http://shop.localhost:8081/new-callback"); status != http.StatusOK || code == "" {
		t.Fatalf("the new redirect URI: %d", status)
	}
	b.cli("", "app", "edit", app.AppID, "--redirect-uri", cb)

	tok := exchange(secret)
	if out := b.cli("", "app", "disable", app.AppID); !strings.Contains(out, "disabled") {
		t.Fatalf("app disable: %s", out)
	}
	if status, _ := mint(cb); status == http.StatusOK {
		t.Error("a disabled app still gets codes")
	}
	var ui struct {
		ErrCode int `json:"errcode"`
	}
	b.getJSON("/sns/userinfo?"+url.Values{"access_token": {tok.AccessToken}, "openid": {tok.OpenID}}.Encode(), &ui)
	if ui.ErrCode == 0 {
		t.Error("a disabled app still reads userinfo")
	}
	b.cli("", "app", "enable", app.AppID)
	if tok := exchange(secret); tok.AccessToken == "" {
		t.Fatalf("after enabling: %+v", tok)
	}
}
