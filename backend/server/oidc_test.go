package server_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
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
	return o.signInWith(authURL, func(r deviceapi.SignInRequest) string {
		redirect, ae, _ := o.authorize(o.cred, r)
		if redirect == "" {
			o.t.Fatalf("device authorize: %+v", ae)
		}
		return redirect
	})
}

// signInWith opens the hosted page of authURL and has confirm sign in
// the request it carries (a desktop's authorize), returning the query
// the relying party's redirect gets.
func (o *oidcEnv) signInWith(authURL string, confirm func(deviceapi.SignInRequest) string) url.Values {
	o.t.Helper()
	resp, body := o.browser().get(strings.TrimPrefix(authURL, o.url))
	if resp.StatusCode != 200 {
		o.t.Fatalf("authorize: %d %s", resp.StatusCode, body)
	}
	m := cfgRE.FindStringSubmatch(body)
	if m == nil {
		o.t.Fatalf("no page config in %s", body)
	}
	var req deviceapi.SignInRequest
	if err := json.Unmarshal([]byte(m[1]), &req); err != nil {
		o.t.Fatal(err)
	}
	return query(o.t, confirm(req), oidcRedirect)
}

// idToken exchanges code (with PKCE verifier) and verifies the id_token.
func (o *oidcEnv) idToken(cfg *oauth2.Config, code, verifier string) (*oauth2.Token, *oidc.IDToken) {
	o.t.Helper()
	tok, err := cfg.Exchange(o.ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		o.t.Fatal(err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := o.verifier().Verify(o.ctx, raw)
	if err != nil {
		o.t.Fatalf("verify id_token: %v", err)
	}
	return tok, idt
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
	tok, idt := o.idToken(cfg, q.Get("code"), verifier)
	var cl struct {
		Nonce    string   `json:"nonce"`
		AZP      string   `json:"azp"`
		AMR      []string `json:"amr"`
		AuthTime int64    `json:"auth_time"`
		UnionID  string   `json:"unionid"`
		Name     string   `json:"name"`
		ACR      *string  `json:"acr"`
	}
	if err := idt.Claims(&cl); err != nil {
		t.Fatal(err)
	}
	if cl.Nonce != "n-1" || cl.AZP != o.app.AppID || strings.Join(cl.AMR, " ") != "swk user" || cl.AuthTime == 0 || cl.Name != "Alice" || cl.ACR != nil {
		t.Fatalf("id_token claims %+v", cl)
	}
	if cl.UnionID != "" {
		t.Fatalf("id_token of an app that is its own owner carries unionid %q", cl.UnionID)
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
