package main

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/scanfree/scanfree/internal/harness/pgtest"
)

// TestOIDCAcrossReplicas runs an OpenID Connect sign-in with each step at
// another replica on one PostgreSQL (authorize, password form, its post,
// token, refresh), verifies the id_token against another replica's JWKS after a
// key rotation made by the CLI, and replays a rotated refresh token at a
// third replica, which revokes the family for all of them.
func TestOIDCAcrossReplicas(t *testing.T) {
	key := filepath.Join(t.TempDir(), "data.key")
	os.WriteFile(key, []byte(base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))+"\n"), 0o600)
	c := startCluster(t, pgtest.DSN(t), 3, "--data-key-file", key)
	r0, r1, r2 := c.r(0), c.r(1), c.r(2)
	const redirect = "http://shop.localhost:8081/oidc/callback"
	var app struct{ AppID, Secret string }
	json.Unmarshal([]byte(r0.cli("", "app", "create", "--name", "OIDC Shop", "--redirect-uri", redirect, "--json")), &app)

	verifier := "replica-verifier-replica-verifier-replica-verifier"
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{"client_id": {app.AppID}, "redirect_uri": {redirect}, "response_type": {"code"}, "scope": {"openid profile"},
		"state": {"st"}, "nonce": {"n"}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}
	status, page := send(t, nil, "GET", r0.url+"/oauth2/authorize?"+q.Encode(), "", "", nil)
	m := regexp.MustCompile(`request%3D([A-Za-z0-9_-]+)`).FindSubmatch(page)
	if status != 200 || m == nil {
		t.Fatalf("authorize at replica 0: %d %s", status, page)
	}
	// The password form made for the request, shown by replica 2 and
	// posted to replica 1, completes it.
	next := "/oauth2/resume?request=" + string(m[1])
	if status, form := send(t, nil, "GET", r2.url+"/login?next="+url.QueryEscape(next), "", "", nil); status != 200 || !strings.Contains(string(form), "OIDC Shop") {
		t.Fatalf("password form at replica 2: %d %s", status, form)
	}
	web := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest("POST", r1.url+"/login", strings.NewReader(url.Values{"username": {"alice"}, "password": {"alice-password"}, "next": {next}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := web.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	cb, err := url.Parse(loc)
	if err != nil || !strings.HasPrefix(loc, redirect+"?") || cb.Query().Get("code") == "" {
		t.Fatalf("password post at replica 1: %d → %q", resp.StatusCode, loc)
	}

	form := func(kv ...string) string {
		v := url.Values{"client_id": {app.AppID}, "client_secret": {app.Secret}}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v.Encode()
	}
	type tokens struct {
		IDToken      string `json:"id_token"`
		RefreshToken string `json:"refresh_token"`
		Error        string `json:"error"`
	}
	token := func(base, body string) tokens {
		t.Helper()
		var tk tokens
		_, b := send(t, nil, "POST", base+"/oauth2/token", "application/x-www-form-urlencoded", body, nil)
		json.Unmarshal(b, &tk)
		return tk
	}
	first := token(r0.url, form("grant_type", "authorization_code", "code", cb.Query().Get("code"), "redirect_uri", redirect, "code_verifier", verifier))
	if first.IDToken == "" {
		t.Fatalf("token at replica 0: %+v", first)
	}
	r1.cli("", "keys", "rotate", "--sign-after", "0s", "--data-key-file", key)
	issuer := strings.TrimSuffix(cb.Query().Get("iss"), "/")
	for _, r := range []*replica{r1, r2} {
		v := oidc.NewVerifier(issuer, oidc.NewRemoteKeySet(context.Background(), r.url+"/oauth2/jwks"), &oidc.Config{ClientID: app.AppID})
		if _, err := v.Verify(context.Background(), first.IDToken); err != nil {
			t.Fatalf("replica %s's JWKS after the rotation does not verify the earlier id_token: %v", r.url, err)
		}
	}

	second := token(r1.url, form("grant_type", "refresh_token", "refresh_token", first.RefreshToken))
	if second.RefreshToken == "" || second.RefreshToken == first.RefreshToken {
		t.Fatalf("refresh at replica 1: %+v", second)
	}
	if tk := token(r2.url, form("grant_type", "refresh_token", "refresh_token", first.RefreshToken)); tk.Error != "invalid_grant" {
		t.Fatalf("replayed refresh token at replica 2: %+v", tk)
	}
	if tk := token(r0.url, form("grant_type", "refresh_token", "refresh_token", second.RefreshToken)); tk.Error != "invalid_grant" {
		t.Fatalf("the family survived the replay at replica 0: %+v", tk)
	}
}
