package server_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/scanfree/scanfree/backend/admin"
	"github.com/scanfree/scanfree/backend/server"
)

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
