package server_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/scanfree/scanfree/backend/admin"
	"github.com/scanfree/scanfree/internal/deviceapi"
)

// TestOIDCRefused tries each rule's attack over real HTTP and checks the
// refusal.
func TestOIDCRefused(t *testing.T) {
	o := newOIDCEnv(t, admin.AppSpec{})
	other := o.app
	other2 := o.env.app(admin.AppSpec{Name: "Other", RedirectURIs: []string{oidcRedirect}})

	t.Run("missing verifier", func(t *testing.T) {
		code, _ := o.code()
		if st, e := o.tokenErr(o.codeForm(code, "")); st != 400 || e != "invalid_grant" {
			t.Fatalf("%d %s", st, e)
		}
	})
	t.Run("wrong verifier", func(t *testing.T) {
		code, _ := o.code()
		if st, e := o.tokenErr(o.codeForm(code, oauth2.GenerateVerifier())); st != 400 || e != "invalid_grant" {
			t.Fatalf("%d %s", st, e)
		}
	})
	t.Run("plain PKCE", func(t *testing.T) {
		resp, _ := o.browser().get("/oauth2/authorize?" + url.Values{"client_id": {other.AppID}, "redirect_uri": {oidcRedirect}, "response_type": {"code"},
			"scope": {"openid"}, "state": {"s"}, "code_challenge": {strings.Repeat("a", 43)}, "code_challenge_method": {"plain"}}.Encode())
		q := query(t, resp.Header.Get("Location"), oidcRedirect)
		if q.Get("error") != "invalid_request" || q.Get("state") != "s" || q.Get("iss") != o.url {
			t.Fatalf("%d %v", resp.StatusCode, q)
		}
	})
	t.Run("code reuse revokes tokens", func(t *testing.T) {
		code, v := o.code()
		tok, err := o.config().Exchange(o.ctx, code, oauth2.VerifierOption(v))
		if err != nil {
			t.Fatal(err)
		}
		if st, e := o.tokenErr(o.codeForm(code, v)); st != 400 || e != "invalid_grant" {
			t.Fatalf("%d %s", st, e)
		}
		if _, err := o.provider.UserInfo(o.ctx, oauth2.StaticTokenSource(tok)); err == nil {
			t.Fatal("the first exchange's access token still works after the code was replayed")
		}
	})
	t.Run("redirect_uri mismatch", func(t *testing.T) {
		code, v := o.code()
		f := o.codeForm(code, v)
		f.Set("redirect_uri", "http://shop.localhost:8081/oidc/other")
		if st, e := o.tokenErr(f); st != 400 || e != "invalid_grant" {
			t.Fatalf("%d %s", st, e)
		}
		// At the authorization endpoint an unregistered redirect_uri is
		// an error page, never a redirect.
		resp, _ := o.browser().get("/oauth2/authorize?" + url.Values{"client_id": {o.app.AppID}, "redirect_uri": {"https://evil.example/cb"},
			"response_type": {"code"}, "scope": {"openid"}}.Encode())
		if resp.StatusCode != 400 || resp.Header.Get("Location") != "" {
			t.Fatalf("unregistered redirect_uri: %d Location %q", resp.StatusCode, resp.Header.Get("Location"))
		}
	})
	t.Run("another client's code", func(t *testing.T) {
		code, v := o.code()
		f := o.codeForm(code, v)
		f.Set("client_id", other2.AppID)
		f.Set("client_secret", other2.Secret)
		if st, e := o.tokenErr(f); st != 400 || e != "invalid_grant" {
			t.Fatalf("%d %s", st, e)
		}
	})
	t.Run("wrong secret", func(t *testing.T) {
		code, v := o.code()
		f := o.codeForm(code, v)
		f.Set("client_secret", other2.Secret)
		if st, e := o.tokenErr(f); st != 401 || e != "invalid_client" {
			t.Fatalf("%d %s", st, e)
		}
	})
	t.Run("response_type token", func(t *testing.T) {
		resp, _ := o.browser().get("/oauth2/authorize?" + url.Values{"client_id": {o.app.AppID}, "redirect_uri": {oidcRedirect},
			"response_type": {"token"}, "scope": {"openid"}, "state": {"s"}}.Encode())
		q := query(t, resp.Header.Get("Location"), oidcRedirect)
		if q.Get("error") != "unsupported_response_type" || q.Has("access_token") {
			t.Fatalf("%v", q)
		}
	})
	t.Run("expired code", func(t *testing.T) {
		code, v := o.code()
		o.advance(6 * time.Minute)
		if st, e := o.tokenErr(o.codeForm(code, v)); st != 400 || e != "invalid_grant" {
			t.Fatalf("%d %s", st, e)
		}
	})
	t.Run("rotated refresh reused revokes the family", func(t *testing.T) {
		code, v := o.code()
		cfg := o.config()
		tok, err := cfg.Exchange(o.ctx, code, oauth2.VerifierOption(v))
		if err != nil {
			t.Fatal(err)
		}
		tok.Expiry = time.Now().Add(-time.Minute)
		fresh, err := cfg.TokenSource(o.ctx, tok).Token()
		if err != nil {
			t.Fatal(err)
		}
		f := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}, "client_id": {o.app.AppID}, "client_secret": {o.app.Secret}}
		if st, e := o.tokenErr(f); st != 400 || e != "invalid_grant" {
			t.Fatalf("reuse: %d %s", st, e)
		}
		f.Set("refresh_token", fresh.RefreshToken)
		if st, e := o.tokenErr(f); e != "invalid_grant" {
			t.Fatalf("the rotated successor still refreshes after the reuse: %d %s", st, e)
		}
		if _, err := o.provider.UserInfo(o.ctx, oauth2.StaticTokenSource(fresh)); err == nil {
			t.Fatal("the family's access token still works")
		}
	})
	t.Run("a revoked sign-in is not a stolen one", func(t *testing.T) {
		// The desktop that signed in is revoked: its family goes, and the
		// client's next refresh is told so, without a theft alarm.
		e := newOIDCEnv(t, admin.AppSpec{})
		code, v := e.code()
		tok, err := e.config().Exchange(e.ctx, code, oauth2.VerifierOption(v))
		if err != nil {
			t.Fatal(err)
		}
		if resp := e.do("DELETE", deviceapi.PathDevice, http.Header{"Authorization": {"Bearer " + e.cred}}, nil, nil); resp.StatusCode != 200 {
			t.Fatalf("desktop sign-out: %d", resp.StatusCode)
		}
		var oe struct {
			Error            string `json:"error"`
			ErrorDescription string `json:"error_description"`
		}
		e.postForm("/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken},
			"client_id": {e.app.AppID}, "client_secret": {e.app.Secret}}, &oe)
		if oe.Error != "invalid_grant" || !strings.Contains(oe.ErrorDescription, "revoked") || strings.Contains(oe.ErrorDescription, "already used") {
			t.Fatalf("refresh of a revoked desktop's sign-in: %+v", oe)
		}
		alice, _ := e.store.GetUserByUsername(e.ctx, "alice")
		if ev, _ := e.store.ListEvents(e.ctx, alice.ID, "refresh_reused", 10); len(ev) != 0 {
			t.Fatalf("a revocation raised a theft alarm: %+v", ev)
		}
	})
	t.Run("a Basic client is challenged on every 401", func(t *testing.T) {
		for _, path := range []string{"/oauth2/token", "/oauth2/revoke"} {
			req, _ := http.NewRequest("POST", o.url+path, strings.NewReader("grant_type=refresh_token&refresh_token=x&token=x"))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(o.app.AppID, "wrong-secret")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 401 || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic ") {
				t.Errorf("%s with a wrong Basic secret: %d, WWW-Authenticate %q", path, resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
			}
		}
	})
	t.Run("prompt=none with nobody signed in", func(t *testing.T) {
		resp, _ := o.browser().get("/oauth2/authorize?" + url.Values{"client_id": {o.app.AppID}, "redirect_uri": {oidcRedirect},
			"response_type": {"code"}, "scope": {"openid"}, "state": {"s"}, "prompt": {"none"}}.Encode())
		if q := query(t, resp.Header.Get("Location"), oidcRedirect); q.Get("error") != "login_required" || q.Get("state") != "s" {
			t.Fatalf("%v", q)
		}
	})
	t.Run("faces do not mix", func(t *testing.T) {
		code, v := o.code()
		var tr tokenResp
		o.getJSON("/sns/oauth2/access_token?"+url.Values{"appid": {o.app.AppID}, "secret": {o.app.Secret}, "code": {code},
			"grant_type": {"authorization_code"}}.Encode(), &tr)
		if tr.ErrCode != 40029 {
			t.Fatalf("OIDC code at /sns: %+v", tr)
		}
		if st, e := o.tokenErr(o.codeForm(code, v)); st != 200 && e != "" {
			t.Fatalf("the refused /sns try spent the code: %d %s", st, e)
		}
		wx := o.env.code(o.cred, o.app)
		if st, e := o.tokenErr(o.codeForm(wx, "")); e != "invalid_grant" {
			t.Fatalf("WeChat code at /oauth2/token: %d %s", st, e)
		}
	})
	t.Run("public client", func(t *testing.T) {
		pub := o.env.app(admin.AppSpec{Name: "Native", Public: true, RedirectURIs: []string{"http://127.0.0.1/cb"}})
		resp, _ := o.browser().get("/oauth2/authorize?" + url.Values{"client_id": {pub.AppID}, "redirect_uri": {"http://127.0.0.1:5123/cb"},
			"response_type": {"code"}, "scope": {"openid"}, "state": {"s"}}.Encode())
		if q := query(t, resp.Header.Get("Location"), "http://127.0.0.1:5123/cb"); q.Get("error") != "invalid_request" {
			t.Fatalf("public client without PKCE: %v", q)
		}
	})
	t.Run("forged id_tokens", func(t *testing.T) {
		code, v := o.code(oidc.Nonce("n"))
		tok, err := o.config().Exchange(o.ctx, code, oauth2.VerifierOption(v))
		if err != nil {
			t.Fatal(err)
		}
		real, _ := tok.Extra("id_token").(string)
		_, payload, _ := strings.Cut(real, ".")
		payload, _, _ = strings.Cut(payload, ".")
		none := b64json(map[string]string{"alg": "none", "typ": "JWT"}) + "." + payload + "."
		if _, err := o.verifier().Verify(o.ctx, none); err == nil {
			t.Fatal("alg none accepted")
		}
		// HS256 keyed with the published RSA public key (algorithm confusion).
		pubPEM := o.rsaPublicPEM()
		head := b64json(map[string]string{"alg": "HS256", "typ": "JWT", "kid": jwsHeader(t, real)["kid"].(string)})
		mac := hmac.New(sha256.New, pubPEM)
		mac.Write([]byte(head + "." + payload))
		hs := head + "." + payload + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
		if _, err := o.verifier().Verify(o.ctx, hs); err == nil {
			t.Fatal("HS256 signed with the public key accepted")
		}
	})
}

func b64json(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

// rsaPublicPEM returns the published RS256 key as PEM, the bytes an
// attacker would use as an HMAC key.
func (o *oidcEnv) rsaPublicPEM() []byte {
	o.t.Helper()
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	o.getJSON("/oauth2/jwks", &set)
	for _, raw := range set.Keys {
		var k struct {
			Kty string `json:"kty"`
			N   string `json:"n"`
			E   string `json:"e"`
		}
		json.Unmarshal(raw, &k)
		if k.Kty != "RSA" {
			continue
		}
		pub := rsaFromJWK(o.t, k.N, k.E)
		der, err := x509.MarshalPKIXPublicKey(pub)
		if err != nil {
			o.t.Fatal(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	}
	o.t.Fatal("no RSA key in the JWKS")
	return nil
}
