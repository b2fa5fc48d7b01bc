package demo

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// The shop's second sign-in: OpenID Connect against the same backend and
// the same app, written as any OIDC relying party would write it, with
// coreos/go-oidc and x/oauth2 and nothing scanfree-specific: discovery,
// the authorization code flow with PKCE (S256), state and nonce bound to
// this browser by cookies, id_token verification, userinfo.

// oidcClient is the shop's OpenID Connect relying party.
type oidcClient struct {
	provider *oidc.Provider
	verifier *oidc.IDTokenVerifier
	config   oauth2.Config
	http     *http.Client // reaches the backend; one transport, so connections are reused
}

// OIDCRedirectURI is where the backend sends OIDC sign-ins back.
func (s *Shop) OIDCRedirectURI() string { return s.cfg.PublicURL + "/oidc/callback" }

// NewVerifier is how the shop checks an id_token: signed by a key of the
// issuer's JWKS with one of the algorithms the issuer publishes (never
// "none", never HMAC), for this client, unexpired. Exported for the
// tests that try forged tokens against it.
func NewVerifier(p *oidc.Provider, clientID string) *oidc.IDTokenVerifier {
	return p.Verifier(&oidc.Config{ClientID: clientID, SupportedSigningAlgs: []string{oidc.RS256, oidc.ES256}})
}

// oidc returns the relying party, discovering the issuer on first use
// (the backend may start after the shop).
func (s *Shop) oidc(ctx context.Context) (*oidcClient, error) {
	s.oidcMu.Lock()
	defer s.oidcMu.Unlock()
	if s.oidcRP != nil {
		return s.oidcRP, nil
	}
	hc := s.backendClient()
	ctx = oidc.ClientContext(context.WithoutCancel(ctx), hc)
	p, err := oidc.NewProvider(ctx, s.cfg.BackendPublic)
	if err != nil {
		return nil, fmt.Errorf("OpenID Connect discovery: %w", err)
	}
	s.oidcRP = &oidcClient{provider: p, verifier: NewVerifier(p, s.cfg.AppID), http: hc, config: oauth2.Config{
		ClientID: s.cfg.AppID, ClientSecret: s.cfg.Secret, Endpoint: p.Endpoint(), RedirectURL: s.OIDCRedirectURI(),
		Scopes: []string{oidc.ScopeOpenID, "profile"},
	}}
	return s.oidcRP, nil
}

// backendClient reaches the backend's public host (idp.localhost, which
// browsers resolve to this machine by themselves and Go's resolver does
// not) at the backend's address.
func (s *Shop) backendClient() *http.Client {
	pub, _ := url.Parse(s.cfg.BackendPublic)
	back, _ := url.Parse(s.cfg.Backend)
	d := &net.Dialer{Timeout: 5 * time.Second}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if addr == hostPort(pub) {
			addr = hostPort(back)
		}
		return d.DialContext(ctx, network, addr)
	}
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

func hostPort(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	if u.Scheme == "https" {
		return u.Hostname() + ":443"
	}
	return u.Hostname() + ":80"
}

// oidcLogin starts an OpenID Connect sign-in: state, nonce and the PKCE
// verifier stay in this browser's cookies.
func (s *Shop) oidcLogin(w http.ResponseWriter, r *http.Request) {
	rp, err := s.oidc(r.Context())
	if err != nil {
		s.cfg.Logger.Warn("oidc", "err", err)
		s.render(w, http.StatusBadGateway, "error", map[string]any{"Msg": "The identity backend cannot be reached: " + err.Error()})
		return
	}
	state, nonce, verifier := random(), random(), oauth2.GenerateVerifier()
	for name, v := range map[string]string{"oidc_state": state, "oidc_nonce": nonce, "oidc_verifier": verifier} {
		http.SetCookie(w, &http.Cookie{Name: name, Value: v, Path: "/oidc/", HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode, MaxAge: 600})
	}
	http.Redirect(w, r, rp.config.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)), http.StatusSeeOther)
}

func (s *Shop) oidcCallback(w http.ResponseWriter, r *http.Request) {
	fail := func(status int, msg string) {
		s.render(w, status, "error", map[string]any{"Msg": msg})
	}
	q := r.URL.Query()
	cookie := func(name string) string {
		c, err := r.Cookie(name)
		if err != nil {
			return ""
		}
		http.SetCookie(w, &http.Cookie{Name: name, Path: "/oidc/", MaxAge: -1})
		return c.Value
	}
	state, nonce, verifier := cookie("oidc_state"), cookie("oidc_nonce"), cookie("oidc_verifier")
	if state == "" || q.Get("state") != state {
		fail(http.StatusBadRequest, "The sign-in did not start here (state mismatch). Start again from Sign in.")
		return
	}
	if e := q.Get("error"); e != "" {
		fail(http.StatusUnauthorized, "Sign-in refused: "+e+" "+q.Get("error_description"))
		return
	}
	rp, err := s.oidc(r.Context())
	if err != nil {
		fail(http.StatusBadGateway, err.Error())
		return
	}
	// RFC 9207: the answer names its issuer; a mix-up would name another.
	if iss := q.Get("iss"); iss != "" && iss != strings.TrimSuffix(s.cfg.BackendPublic, "/") {
		fail(http.StatusBadRequest, "The answer came from another identity provider (iss mismatch).")
		return
	}
	u, err := s.oidcFinish(rp, r.Context(), q.Get("code"), nonce, verifier)
	if err != nil {
		s.cfg.Logger.Warn("oidc sign-in failed", "err", err)
		fail(http.StatusBadGateway, "Sign-in failed: "+err.Error())
		return
	}
	s.startSession(w, r, u)
}

// oidcFinish exchanges the code (with the PKCE verifier), verifies the
// id_token and its nonce, and reads userinfo.
func (s *Shop) oidcFinish(rp *oidcClient, ctx context.Context, code, nonce, verifier string) (User, error) {
	ctx = oidc.ClientContext(ctx, rp.http)
	tok, err := rp.config.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		return User{}, fmt.Errorf("code exchange: %w", err)
	}
	raw, ok := tok.Extra("id_token").(string)
	if !ok {
		return User{}, errors.New("no id_token in the token response")
	}
	idt, err := rp.verifier.Verify(ctx, raw)
	if err != nil {
		return User{}, fmt.Errorf("id_token: %w", err)
	}
	if idt.Nonce != nonce {
		return User{}, errors.New("id_token: nonce mismatch")
	}
	info, err := rp.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		return User{}, fmt.Errorf("userinfo: %w", err)
	}
	if info.Subject != idt.Subject {
		return User{}, errors.New("userinfo is for another subject")
	}
	var claims struct {
		Name    string `json:"name"`
		Picture string `json:"picture"`
	}
	if err := info.Claims(&claims); err != nil {
		return User{}, fmt.Errorf("userinfo: %w", err)
	}
	return User{OpenID: idt.Subject, Nickname: claims.Name, HeadImgURL: claims.Picture, Via: "OpenID Connect", refresh: tok.RefreshToken}, nil
}

// oidcCheck asks the identity provider whether the person's sign-in still
// stands, by refreshing her tokens, as a relying party does before a
// sensitive step or when its access token expires. When the provider
// refuses (she was signed out everywhere, disabled, or the app revoked)
// the shop's session ends too: an offboarding reaches the relying party.
func (s *Shop) oidcCheck(w http.ResponseWriter, r *http.Request) {
	c, err := r.Cookie("shop_session")
	if err != nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	s.mu.Lock()
	u, ok := s.sess[c.Value]
	s.mu.Unlock()
	if !ok || u.refresh == "" {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	rp, err := s.oidc(r.Context())
	if err != nil {
		s.render(w, http.StatusBadGateway, "error", map[string]any{"Msg": "The identity backend cannot be reached: " + err.Error()})
		return
	}
	tok, err := rp.config.TokenSource(oidc.ClientContext(r.Context(), rp.http), &oauth2.Token{RefreshToken: u.refresh}).Token()
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		s.mu.Lock()
		delete(s.sess, c.Value)
		s.mu.Unlock()
		http.SetCookie(w, &http.Cookie{Name: "shop_session", Path: "/", MaxAge: -1})
		s.render(w, http.StatusOK, "error", map[string]any{"Msg": "Your sign-in was ended at the identity provider (" + re.ErrorCode + "). Sign in again."})
		return
	}
	if err != nil {
		s.render(w, http.StatusBadGateway, "error", map[string]any{"Msg": "The identity backend cannot be reached: " + err.Error()})
		return
	}
	u.refresh = tok.RefreshToken
	s.mu.Lock()
	s.sess[c.Value] = u
	s.mu.Unlock()
	http.Redirect(w, r, "/?checked=1", http.StatusSeeOther)
}
