package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/scanfree/scanfree/backend/admin"
	"github.com/scanfree/scanfree/backend/server"
	"github.com/scanfree/scanfree/internal/deviceapi"
)

// TestOIDCPassword: the hosted page's password link signs in people with
// neither the desktop app nor a phone; only the form posted for the
// request counts, and the post goes straight on to the relying party;
// then prompt=none signs the same browser in silently.
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
	loginURL := passwordLink(t, page)
	lu, _ := url.Parse(loginURL)
	next := lu.Query().Get("next")
	if resp, body := br.get(next); resp.StatusCode != http.StatusOK || !strings.Contains(body, `id="cfg"`) {
		t.Fatalf("resume with a session: %d → %q, want the hosted page again", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, form := br.get(loginURL)
	if !strings.Contains(form, `value="alice"`) || !strings.Contains(form, "Demo Shop") {
		t.Fatalf("password form lacks the login_hint or the app's name: %s", form)
	}
	// Chromium applies form-action to the redirect after the post.
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self' http://shop.localhost:8081;") {
		t.Fatalf("password form's CSP does not allow the relying party as the post's target: %s", csp)
	}
	o.advance(time.Second)
	resp, _ = br.post("/login", url.Values{"username": {"alice"}, "password": {"alice-password"}, "next": {next}}, nil)
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
	// The request gave its one code: the same form again does not.
	resp, body := br.post("/login", url.Values{"username": {"alice"}, "password": {"alice-password"}, "next": {next}}, nil)
	if loc := resp.Header.Get("Location"); strings.HasPrefix(loc, oidcRedirect) {
		t.Fatalf("a second password post for one request got a code: %s", loc)
	}
	if resp, body = br.get(next); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "completed already") {
		t.Fatalf("resume of a used request: %d %s", resp.StatusCode, body)
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

// passwordLink is the hosted page's link to the password form.
func passwordLink(t *testing.T, page string) string {
	t.Helper()
	m := regexp.MustCompile(`href="(/login\?[^"]+)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no password link on the hosted page: %s", page)
	}
	return strings.ReplaceAll(m[1], "&amp;", "&")
}

// TestOIDCResumeForeignRequest: a request someone else made (a cross-site
// page's, for an app the person never used) is not completed by sending
// her signed-in browser to resume it, whether she signed in before or
// after it was made: no code, no grant, prompt=none stays refused.
func TestOIDCResumeForeignRequest(t *testing.T) {
	o := newOIDCEnv(t, admin.AppSpec{})
	other := o.env.app(admin.AppSpec{Name: "Never Used", RedirectURIs: []string{"http://evil.localhost/cb"}})
	attacker := o.browser()
	_, page := attacker.get("/oauth2/authorize?" + url.Values{"client_id": {other.AppID}, "redirect_uri": {"http://evil.localhost/cb"},
		"response_type": {"code"}, "scope": {"openid profile"}, "state": {"x"}}.Encode())
	lu, _ := url.Parse(passwordLink(t, page))
	next := lu.Query().Get("next")

	victim := o.browser()
	o.advance(time.Second)
	victim.login("alice") // a password sign-in newer than the request
	for i := range 3 {
		resp, body := victim.get(next)
		if loc := resp.Header.Get("Location"); strings.Contains(loc, "code=") || resp.StatusCode != http.StatusOK {
			t.Fatalf("resume %d of a foreign request: %d %q %.200s", i, resp.StatusCode, loc, body)
		}
	}
	resp, _ := victim.get("/oauth2/authorize?" + url.Values{"client_id": {other.AppID}, "redirect_uri": {"http://evil.localhost/cb"},
		"response_type": {"code"}, "scope": {"openid"}, "prompt": {"none"}}.Encode())
	if q := query(t, resp.Header.Get("Location"), "http://evil.localhost/cb"); q.Get("error") != "consent_required" {
		t.Fatalf("prompt=none after the resume attempts: %v (a grant was recorded)", q)
	}
	if _, body := victim.get("/account"); strings.Contains(body, "Never Used") {
		t.Fatal("the account page lists a sign-in to the app nobody chose")
	}
}

// TestOIDCRequestOnce: one authorization request gives one code, however
// many confirmations (desktop, another desktop call, password) try.
func TestOIDCRequestOnce(t *testing.T) {
	o := newOIDCEnv(t, admin.AppSpec{})
	_, page := o.browser().get(strings.TrimPrefix(o.config().AuthCodeURL("st", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())), o.url))
	m := cfgRE.FindStringSubmatch(page)
	var cfg struct {
		AppID       string `json:"appid"`
		RedirectURI string `json:"redirect_uri"`
		Scope       string `json:"scope"`
		State       string `json:"state"`
	}
	if m == nil || json.Unmarshal([]byte(m[1]), &cfg) != nil {
		t.Fatalf("no page config: %s", page)
	}
	req := deviceapi.SignInRequest{AppID: cfg.AppID, Scope: cfg.Scope, RedirectURI: cfg.RedirectURI, State: cfg.State}
	if redirect, ae, _ := o.authorize(o.cred, req); redirect == "" {
		t.Fatalf("first confirmation: %+v", ae)
	}
	for i := range 5 {
		if redirect, ae, _ := o.authorize(o.cred, req); redirect != "" || !strings.Contains(ae.ErrMsg, "completed already") {
			t.Fatalf("confirmation %d of a used request: %q %+v", i+2, redirect, ae)
		}
	}
	br := o.browser()
	lu, _ := url.Parse(passwordLink(t, page))
	resp, _ := br.post("/login", url.Values{"username": {"alice"}, "password": {"alice-password"}, "next": {lu.Query().Get("next")}}, nil)
	if strings.HasPrefix(resp.Header.Get("Location"), oidcRedirect) {
		t.Fatal("the password form completed a used request")
	}
}

// TestOIDCPublicClientNeverSilent: a native app's request (loopback
// redirect, any port) is never answered without an interaction, even
// with a session and an earlier grant: another local user listening on
// the port it names would get the code.
func TestOIDCPublicClientNeverSilent(t *testing.T) {
	o := newOIDCEnv(t, admin.AppSpec{Name: "Native", Public: true, RedirectURIs: []string{"http://127.0.0.1/cb"}})
	br := o.browser()
	authorize := func(port int, extra url.Values) *http.Response {
		q := url.Values{"client_id": {o.app.AppID}, "redirect_uri": {fmt.Sprintf("http://127.0.0.1:%d/cb", port)}, "response_type": {"code"},
			"scope": {"openid"}, "code_challenge": {oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())}, "code_challenge_method": {"S256"}}
		for k, v := range extra {
			q[k] = v
		}
		resp, _ := br.get("/oauth2/authorize?" + q.Encode())
		return resp
	}
	// An interactive sign-in with the password first: a session and a grant.
	resp, page := br.get("/oauth2/authorize?" + url.Values{"client_id": {o.app.AppID}, "redirect_uri": {"http://127.0.0.1:50001/cb"},
		"response_type": {"code"}, "scope": {"openid"}, "code_challenge": {oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())},
		"code_challenge_method": {"S256"}}.Encode())
	if resp.StatusCode != 200 {
		t.Fatalf("authorize: %d", resp.StatusCode)
	}
	lu, _ := url.Parse(passwordLink(t, page))
	resp, _ = br.post("/login", url.Values{"username": {"alice"}, "password": {"alice-password"}, "next": {lu.Query().Get("next")}}, nil)
	if q := query(t, resp.Header.Get("Location"), "http://127.0.0.1:50001/cb"); q.Get("code") == "" {
		t.Fatalf("interactive password sign-in: %v", q)
	}
	// Now the same browser, another port: the hosted page, not a code.
	if resp := authorize(50002, nil); resp.StatusCode != 200 || resp.Header.Get("Location") != "" {
		t.Fatalf("public client with a session and a grant: %d → %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp = authorize(50003, url.Values{"prompt": {"none"}})
	if q := query(t, resp.Header.Get("Location"), "http://127.0.0.1:50003/cb"); q.Get("error") != "interaction_required" || q.Get("code") != "" {
		t.Fatalf("public client prompt=none: %v", q)
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
