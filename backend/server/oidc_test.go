package server_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/scanfree/scanfree/backend/admin"
	"github.com/scanfree/scanfree/backend/server"
	"github.com/scanfree/scanfree/internal/deviceapi"
)

// The OpenID Connect face, tested with unmodified coreos/go-oidc and
// x/oauth2 over real HTTP: the relying party's side is exactly what any
// OIDC app runs.

const oidcRedirect = "http://shop.localhost:8081/oidc/callback"

var testDataKey = []byte("0123456789abcdef0123456789abcdef")

// oidcEnv is a backend with the OIDC face on, alice enrolled on a desktop,
// and one confidential app.
type oidcEnv struct {
	*env
	cred     string
	app      admin.NewApp
	provider *oidc.Provider
	ctx      context.Context
}

func newOIDCEnv(t *testing.T, spec admin.AppSpec) *oidcEnv {
	t.Helper()
	e := newEnvWith(t, func(c *server.Config) { c.DataKey = testDataKey })
	e.user("alice")
	o := &oidcEnv{env: e, cred: e.enrol("alice")}
	if spec.RedirectURIs == nil {
		spec.RedirectURIs = []string{oidcRedirect, "http://shop.localhost:8081/callback"}
	}
	spec.FastLogin = true
	o.app = e.app(spec)
	o.ctx = oidc.ClientContext(context.Background(), http.DefaultClient)
	p, err := oidc.NewProvider(o.ctx, e.url)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	o.provider = p
	return o
}

func (o *oidcEnv) config(scopes ...string) *oauth2.Config {
	if scopes == nil {
		scopes = []string{oidc.ScopeOpenID, "profile"}
	}
	return &oauth2.Config{ClientID: o.app.AppID, ClientSecret: o.app.Secret, Endpoint: o.provider.Endpoint(), RedirectURL: oidcRedirect, Scopes: scopes}
}

func (o *oidcEnv) verifier() *oidc.IDTokenVerifier {
	return o.provider.Verifier(&oidc.Config{ClientID: o.app.AppID, SupportedSigningAlgs: []string{oidc.RS256, oidc.ES256}, Now: o.clock})
}

var cfgRE = regexp.MustCompile(`(?s)<script type="application/json" id="cfg">(.*?)</script>`)

// signIn opens authURL as a browser would, reads the hosted page's
// request, and confirms it scan-free as the daemon does after its dialog
// (device API). It returns the redirect's query.
func (o *oidcEnv) signIn(authURL string) url.Values {
	o.t.Helper()
	path := strings.TrimPrefix(authURL, o.url)
	resp, body := o.browser().get(path)
	if resp.StatusCode != 200 {
		o.t.Fatalf("authorize: %d %s", resp.StatusCode, body)
	}
	m := cfgRE.FindStringSubmatch(body)
	if m == nil {
		o.t.Fatalf("no page config in %s", body)
	}
	var cfg struct {
		AppID       string `json:"appid"`
		RedirectURI string `json:"redirect_uri"`
		Scope       string `json:"scope"`
		State       string `json:"state"`
	}
	if err := json.Unmarshal([]byte(m[1]), &cfg); err != nil {
		o.t.Fatal(err)
	}
	redirect, ae, _ := o.authorize(o.cred, deviceapi.SignInRequest{AppID: cfg.AppID, Scope: cfg.Scope, RedirectURI: cfg.RedirectURI, State: cfg.State})
	if redirect == "" {
		o.t.Fatalf("device authorize: %+v", ae)
	}
	return query(o.t, redirect, oidcRedirect)
}

// query checks that u goes to base and returns its query.
func query(t *testing.T, u, base string) url.Values {
	t.Helper()
	if !strings.HasPrefix(u, base+"?") {
		t.Fatalf("redirect %q, want %s?…", u, base)
	}
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	return p.Query()
}

// code runs a PKCE sign-in and returns the code and verifier.
func (o *oidcEnv) code(opts ...oauth2.AuthCodeOption) (string, string) {
	o.t.Helper()
	cfg := o.config()
	v := oauth2.GenerateVerifier()
	q := o.signIn(cfg.AuthCodeURL("st", append(opts, oauth2.S256ChallengeOption(v))...))
	if q.Get("code") == "" {
		o.t.Fatalf("no code: %v", q)
	}
	return q.Get("code"), v
}

// tokenErr posts form to the token endpoint and returns the OAuth error.
func (o *oidcEnv) tokenErr(form url.Values) (int, string) {
	o.t.Helper()
	var oe struct {
		Error string `json:"error"`
	}
	resp := o.postForm("/oauth2/token", form, &oe)
	return resp.StatusCode, oe.Error
}

func (o *oidcEnv) codeForm(code, verifier string) url.Values {
	f := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {oidcRedirect},
		"client_id": {o.app.AppID}, "client_secret": {o.app.Secret}}
	if verifier != "" {
		f.Set("code_verifier", verifier)
	}
	return f
}

func TestOIDCFlow(t *testing.T) {
	o := newOIDCEnv(t, admin.AppSpec{})
	cfg := o.config()
	verifier := oauth2.GenerateVerifier()
	q := o.signIn(cfg.AuthCodeURL("st-1", oidc.Nonce("n-1"), oauth2.S256ChallengeOption(verifier)))
	if q.Get("state") != "st-1" || q.Get("iss") != o.url {
		t.Fatalf("redirect query %v: want the relying party's state and iss %s (RFC 9207)", q, o.url)
	}
	tok, err := cfg.Exchange(o.ctx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := o.verifier().Verify(o.ctx, raw)
	if err != nil {
		t.Fatalf("verify id_token: %v", err)
	}
	var cl struct {
		Nonce    string   `json:"nonce"`
		AZP      string   `json:"azp"`
		AMR      []string `json:"amr"`
		AuthTime int64    `json:"auth_time"`
		UnionID  string   `json:"unionid"`
		Name     string   `json:"name"`
	}
	if err := idt.Claims(&cl); err != nil {
		t.Fatal(err)
	}
	if cl.Nonce != "n-1" || cl.AZP != o.app.AppID || strings.Join(cl.AMR, " ") != "swk user" || cl.AuthTime == 0 || cl.UnionID == "" || cl.Name != "Alice" {
		t.Fatalf("id_token claims %+v", cl)
	}
	if idt.Issuer != o.url || len(idt.Audience) != 1 || idt.Audience[0] != o.app.AppID {
		t.Fatalf("iss %q aud %v", idt.Issuer, idt.Audience)
	}
	info, err := o.provider.UserInfo(o.ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		t.Fatal(err)
	}
	var ui struct {
		Name    string `json:"name"`
		Picture string `json:"picture"`
	}
	info.Claims(&ui)
	if info.Subject != idt.Subject || ui.Name != "Alice" || ui.Picture != "https://avatar.example/alice" {
		t.Fatalf("userinfo %+v %+v, id_token sub %s", info, ui, idt.Subject)
	}
	// POST userinfo with the token in the body (RFC 6750 2.2).
	var post map[string]any
	if resp := o.postForm("/oauth2/userinfo", url.Values{"access_token": {tok.AccessToken}}, &post); resp.StatusCode != 200 || post["sub"] != idt.Subject {
		t.Fatalf("POST userinfo: %d %v", resp.StatusCode, post)
	}

	// Refresh rotation: x/oauth2 refreshes an expired token.
	tok.Expiry = time.Now().Add(-time.Minute)
	fresh, err := cfg.TokenSource(o.ctx, tok).Token()
	if err != nil {
		t.Fatal(err)
	}
	if fresh.RefreshToken == "" || fresh.RefreshToken == tok.RefreshToken || fresh.AccessToken == tok.AccessToken {
		t.Fatal("refresh did not rotate the refresh token")
	}
	if raw, _ := fresh.Extra("id_token").(string); raw == "" {
		t.Fatal("refresh answered no id_token")
	} else if _, err := o.verifier().Verify(o.ctx, raw); err != nil {
		t.Fatalf("refreshed id_token: %v", err)
	}
	if _, err := o.provider.UserInfo(o.ctx, oauth2.StaticTokenSource(fresh)); err != nil {
		t.Fatalf("userinfo with the refreshed token: %v", err)
	}

	// The whole family of a sign-in ends with one revocation (RFC 7009).
	if resp := o.postForm("/oauth2/revoke", url.Values{"token": {fresh.RefreshToken}, "client_id": {o.app.AppID}, "client_secret": {o.app.Secret}}, nil); resp.StatusCode != 200 {
		t.Fatalf("revoke: %d", resp.StatusCode)
	}
	if _, err := o.provider.UserInfo(o.ctx, oauth2.StaticTokenSource(fresh)); err == nil {
		t.Fatal("userinfo accepted an access token of a revoked family")
	}
}

func TestOIDCES256(t *testing.T) {
	o := newOIDCEnv(t, admin.AppSpec{IDTokenAlg: "ES256"})
	code, v := o.code(oidc.Nonce("n"))
	tok, err := o.config().Exchange(o.ctx, code, oauth2.VerifierOption(v))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if alg := jwsHeader(t, raw)["alg"]; alg != "ES256" {
		t.Fatalf("alg %v, want ES256", alg)
	}
	if _, err := o.verifier().Verify(o.ctx, raw); err != nil {
		t.Fatal(err)
	}
}

func jwsHeader(t *testing.T, raw string) map[string]any {
	t.Helper()
	h, _, _ := strings.Cut(raw, ".")
	b, err := base64.RawURLEncoding.DecodeString(h)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	json.Unmarshal(b, &m)
	return m
}

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

// TestOIDCPassword: the hosted page's password link signs in people with
// neither the desktop app nor a phone; only a password entered after the
// request counts; then prompt=none signs the same browser in silently.
func TestOIDCPassword(t *testing.T) {
	o := newOIDCEnv(t, admin.AppSpec{})
	cfg := o.config()
	v := oauth2.GenerateVerifier()
	br := o.browser()
	authURL := strings.TrimPrefix(cfg.AuthCodeURL("st", oauth2.S256ChallengeOption(v), oauth2.SetAuthURLParam("login_hint", "alice")), o.url)

	// Signed in before the request: a link to resume must not sign in.
	br.login("alice")
	o.advance(time.Second)
	_, page := br.get(authURL)
	m := regexp.MustCompile(`href="(/login\?[^"]+)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no password link on the hosted page: %s", page)
	}
	loginURL := strings.ReplaceAll(m[1], "&amp;", "&")
	lu, _ := url.Parse(loginURL)
	next := lu.Query().Get("next")
	if resp, _ := br.get(next); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login?") {
		t.Fatalf("resume with an older session: %d → %q, want the password form", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, form := br.get(loginURL)
	if !strings.Contains(form, `value="alice"`) || !strings.Contains(form, "Demo Shop") {
		t.Fatalf("password form lacks the login_hint or the app's name: %s", form)
	}
	o.advance(time.Second)
	resp, _ := br.post("/login", url.Values{"username": {"alice"}, "password": {"alice-password"}, "next": {next}}, nil)
	resp, _ = br.get(resp.Header.Get("Location"))
	q := query(t, resp.Header.Get("Location"), oidcRedirect)
	tok, err := cfg.Exchange(o.ctx, q.Get("code"), oauth2.VerifierOption(v))
	if err != nil {
		t.Fatal(err)
	}
	idt, err := o.verifier().Verify(o.ctx, tok.Extra("id_token").(string))
	if err != nil {
		t.Fatal(err)
	}
	var cl struct {
		AMR []string `json:"amr"`
	}
	idt.Claims(&cl)
	if strings.Join(cl.AMR, " ") != "pwd" {
		t.Fatalf("amr %v, want pwd", cl.AMR)
	}

	// Same browser, app allowed before: prompt=none answers a code at once,
	// max_age=0 demands a fresh sign-in.
	silent := strings.TrimPrefix(cfg.AuthCodeURL("st2", oauth2.S256ChallengeOption(v), oauth2.SetAuthURLParam("prompt", "none")), o.url)
	resp, _ = br.get(silent)
	if q := query(t, resp.Header.Get("Location"), oidcRedirect); q.Get("code") == "" {
		t.Fatalf("prompt=none with a session: %v", q)
	}
	resp, _ = br.get(silent + "&max_age=0")
	if q := query(t, resp.Header.Get("Location"), oidcRedirect); q.Get("error") != "login_required" {
		t.Fatalf("prompt=none max_age=0: %v", q)
	}
}

// TestOIDCOff: a server without a data key says the OIDC face is off
// rather than signing with nothing.
func TestOIDCOff(t *testing.T) {
	e := newEnv(t)
	app := e.app(admin.AppSpec{RedirectURIs: []string{oidcRedirect}})
	resp, body := e.browser().get("/oauth2/authorize?" + url.Values{"client_id": {app.AppID}, "redirect_uri": {oidcRedirect},
		"response_type": {"code"}, "scope": {"openid"}}.Encode())
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "--data-key-file") {
		t.Fatalf("authorize: %d %s", resp.StatusCode, body)
	}
	var oe struct {
		Error string `json:"error"`
		Desc  string `json:"error_description"`
	}
	e.postForm("/oauth2/token", url.Values{"grant_type": {"authorization_code"}, "code": {"x"}, "client_id": {app.AppID}}, &oe)
	if oe.Error != "server_error" || !strings.Contains(oe.Desc, "--data-key-file") {
		t.Fatalf("token: %+v", oe)
	}
}

// TestOIDCBrowserClient: a single-page app (a public client with PKCE)
// calls the token and userinfo endpoints from its own origin: the
// cross-origin protection of the hosted pages' forms does not stand in
// its way, and CORS lets it read the answers.
func TestOIDCBrowserClient(t *testing.T) {
	o := newOIDCEnv(t, admin.AppSpec{Name: "SPA", Public: true})
	code, v := o.code()
	req, _ := http.NewRequest("POST", o.url+"/oauth2/token", strings.NewReader(url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {oidcRedirect}, "client_id": {o.app.AppID}, "code_verifier": {v}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "http://spa.localhost:3000")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
		IDToken     string `json:"id_token"`
	}
	json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if resp.StatusCode != 200 || tok.IDToken == "" || resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("cross-origin token request: %d %+v ACAO %q", resp.StatusCode, tok, resp.Header.Get("Access-Control-Allow-Origin"))
	}
	pre, _ := http.NewRequest("OPTIONS", o.url+"/oauth2/userinfo", nil)
	pre.Header.Set("Origin", "http://spa.localhost:3000")
	pre.Header.Set("Access-Control-Request-Headers", "authorization")
	resp, err = http.DefaultClient.Do(pre)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent || !strings.Contains(resp.Header.Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Fatalf("preflight: %d %v", resp.StatusCode, resp.Header)
	}
	// The hosted pages' own forms stay protected.
	if r, _ := o.browser().post("/logout", nil, http.Header{"Sec-Fetch-Site": {"cross-site"}, "Origin": {"http://evil.localhost"}}); r.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site logout: %d", r.StatusCode)
	}
}

// TestOIDCAuthorizeLimit: every authorization request is stored while it
// waits, so one client address gets a page's worth of them per minute.
func TestOIDCAuthorizeLimit(t *testing.T) {
	e := newEnvWith(t, func(c *server.Config) { c.DataKey, c.TicketsPerMinute = testDataKey, 3 })
	app := e.app(admin.AppSpec{RedirectURIs: []string{oidcRedirect}})
	path := "/oauth2/authorize?" + url.Values{"client_id": {app.AppID}, "redirect_uri": {oidcRedirect}, "response_type": {"code"}, "scope": {"openid"}}.Encode()
	for i := range 3 {
		if resp, body := e.browser().get(path); resp.StatusCode != 200 {
			t.Fatalf("request %d: %d %s", i+1, resp.StatusCode, body)
		}
	}
	if resp, _ := e.browser().get(path); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("4th request in a minute: %d", resp.StatusCode)
	}
	e.advance(time.Minute)
	if resp, _ := e.browser().get(path); resp.StatusCode != 200 {
		t.Fatalf("after a minute: %d", resp.StatusCode)
	}
}
