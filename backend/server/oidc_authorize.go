package server

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/scanfree/scanfree/backend/rules"
	"github.com/scanfree/scanfree/backend/signin"
	"github.com/scanfree/scanfree/backend/storage"
	"github.com/scanfree/scanfree/internal/secret"
)

// authRequestTTL is how long an OpenID Connect request waits on the
// hosted page for the person to sign in.
const authRequestTTL = 30 * time.Minute

// OIDC limits on what a relying party's request may carry; each value is
// stored and sent back.
const (
	maxOIDCState = 1024
	maxNonce     = 512
)

// handleOIDCAuthorize serves GET /oauth2/authorize (OIDC Core 3.1.2). An
// unknown client or a redirect_uri it did not register is shown as an
// error page and never redirected to; every later error goes back to the
// relying party (RFC 6749 section 4.1.2.1).
func (s *Server) handleOIDCAuthorize(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	locale, _, _ := strings.Cut(q.Get("ui_locales"), " ") // the first preference
	t, htmlLang := textFor(strings.ToLower(locale))
	for name, vs := range q {
		if len(vs) > 1 {
			s.connectError(w, htmlLang, name+" given more than once")
			return
		}
	}
	if !s.oidcOn() {
		s.connectErrorStatus(w, http.StatusServiceUnavailable, htmlLang, errOIDCOff.desc)
		return
	}
	app, serr := s.getApp(ctx, q.Get("client_id"))
	if serr == errUnknownApp {
		s.connectError(w, htmlLang, "unknown client_id: the site that sent you here is not registered")
		return
	} else if serr != nil {
		s.connectErrorStatus(w, http.StatusServiceUnavailable, htmlLang, errUnavailable.Error())
		return
	}
	redirectURI := q.Get("redirect_uri")
	if err := rules.OIDCRedirectURI(app, redirectURI); err != nil {
		s.connectError(w, htmlLang, err.Error())
		return
	}
	state := q.Get("state")
	ar := storage.AuthRequest{ClientID: app.AppID, RedirectURI: redirectURI, State: state}
	fail := func(code, desc string) {
		if len(state) > maxOIDCState {
			ar.State = ""
		}
		http.Redirect(w, r, s.oidcRedirect(&ar, "error", code, "error_description", desc), http.StatusSeeOther)
	}
	if rt := q.Get("response_type"); rt != "code" {
		fail("unsupported_response_type", "only response_type=code is supported")
		return
	}
	if q.Has("request") || q.Has("request_uri") {
		fail("request_not_supported", "request objects are not supported")
		return
	}
	if rm := q.Get("response_mode"); rm != "" && rm != "query" {
		fail("invalid_request", "only response_mode=query is supported")
		return
	}
	if len(state) > maxOIDCState {
		fail("invalid_request", "state longer than "+strconv.Itoa(maxOIDCState)+" bytes")
		return
	}
	scope, err := rules.OIDCScope(q.Get("scope"))
	if err != nil {
		fail("invalid_scope", err.Error())
		return
	}
	challenge := q.Get("code_challenge")
	if err := rules.PKCEChallenge(challenge, q.Get("code_challenge_method")); err != nil {
		fail("invalid_request", err.Error())
		return
	}
	if app.Public && challenge == "" {
		fail("invalid_request", "this client is public: PKCE (code_challenge with S256) is required")
		return
	}
	prompt, err := rules.Prompt(q.Get("prompt"))
	if err != nil {
		fail("invalid_request", err.Error())
		return
	}
	maxAge := time.Duration(-1)
	if v := q.Get("max_age"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			fail("invalid_request", "max_age must be a whole number of seconds")
			return
		}
		maxAge = time.Duration(n) * time.Second
	}
	nonce := q.Get("nonce")
	if len(nonce) > maxNonce {
		fail("invalid_request", "nonce longer than "+strconv.Itoa(maxNonce)+" bytes")
		return
	}
	// Each request is stored until it expires: one client address may not
	// fill the store with them.
	if ok, err := s.oidcIP.Take(ctx, s.clientKey(r)); err != nil {
		s.connectErrorStatus(w, http.StatusServiceUnavailable, htmlLang, errUnavailable.Error())
		return
	} else if !ok {
		s.connectErrorStatus(w, http.StatusTooManyRequests, htmlLang, errTooManyTickets.Error())
		return
	}
	now := s.now()
	ar = storage.AuthRequest{ID: secret.Code(), ClientID: app.AppID, RedirectURI: redirectURI, Scope: scope, State: state, Nonce: nonce,
		CodeChallenge: challenge, Prompt: strings.Join(prompt, " "), MaxAge: maxAge, LoginHint: trimLen(q.Get("login_hint"), 200),
		CreatedAt: now, ExpiresAt: now.Add(authRequestTTL)}
	if err := s.store.CreateAuthRequest(ctx, ar); err != nil {
		s.log.ErrorContext(ctx, "oidc authorize", "err", err)
		s.connectErrorStatus(w, http.StatusServiceUnavailable, htmlLang, errUnavailable.Error())
		return
	}

	// A browser already signed in here (with the password form) signs in
	// at once to an app the person allowed before, unless the relying
	// party asks for a fresh sign-in or for consent. A public client
	// never does (RFC 8252 section 8.6): anyone on this machine can listen
	// on the loopback port its request names, so only an interaction on
	// this request (the hosted page) may send it a code.
	u, se, signedIn := s.currentSession(r)
	fresh := signedIn && (maxAge < 0 || now.Sub(se.CreatedAt) <= maxAge)
	allowed := fresh && !app.Public && s.hasGrant(ctx, u.ID, app.AppID)
	if slices.Contains(prompt, "none") {
		switch {
		case app.Public:
			fail("interaction_required", "this client is public: it is signed in only through the hosted page, never silently")
		case !fresh:
			fail("login_required", "nobody is signed in here; sign in interactively")
		case !allowed:
			fail("consent_required", "the person has not allowed this app yet")
		default:
			s.oidcSignIn(w, r, ar, u.ID, se.CreatedAt)
		}
		return
	}
	if allowed && !slices.Contains(prompt, "login") && !slices.Contains(prompt, "consent") {
		s.oidcSignIn(w, r, ar, u.ID, se.CreatedAt)
		return
	}
	s.showAuthRequest(w, r, app, ar, t, htmlLang)
}

// showAuthRequest shows the hosted page for the stored request ar:
// scan-free first, the QR code, and a link to the password form made
// for this request.
func (s *Server) showAuthRequest(w http.ResponseWriter, r *http.Request, app storage.App, ar storage.AuthRequest, t text, htmlLang string) {
	cfg := connectConfig{AppID: app.AppID, RedirectURI: ar.RedirectURI, Scope: ar.Scope, State: oidcStatePrefix + ar.ID, SelfRedirect: true,
		Fast: app.FastLogin, Domain: s.cfg.DaemonDomain, Ports: s.cfg.DaemonPorts, Text: t}
	s.renderConnect(w, r, htmlLang, app, cfg, "/login?"+resumeLogin(ar).Encode())
}

// resumeLogin is the query of the password form made for request ar.
func resumeLogin(ar storage.AuthRequest) url.Values {
	login := url.Values{"next": {resumePath + ar.ID}}
	if ar.LoginHint != "" {
		login.Set("login_hint", ar.LoginHint)
	}
	return login
}

// resumePath, with a request's id, is the password form's next for an
// OpenID Connect request.
const resumePath = "/oauth2/resume?request="

// hasGrant reports whether userID signed in to appID before and has not
// taken it back.
func (s *Server) hasGrant(ctx context.Context, userID, appID string) bool {
	grants, err := s.store.ListGrants(ctx, userID)
	if err != nil {
		s.log.WarnContext(ctx, "oidc: list grants", "err", err)
		return false
	}
	return slices.ContainsFunc(grants, func(g storage.Grant) bool { return g.AppID == appID })
}

// oidcSignIn mints the one code of the stored request ar for a browser
// signed in with its password at authTime, and redirects to the relying
// party.
func (s *Server) oidcSignIn(w http.ResponseWriter, r *http.Request, ar storage.AuthRequest, userID string, authTime time.Time) {
	ctx := r.Context()
	_, redirect, serr := s.mintCode(ctx, signin.Grant{Request: signin.Request{AppID: ar.ClientID, RedirectURI: ar.RedirectURI, Scope: ar.Scope, OIDC: &ar},
		UserID: userID, How: signin.ByPassword, AuthTime: authTime, Origin: "password sign-in"})
	if serr != nil {
		status := http.StatusBadRequest
		if serr.Code == errSystem {
			status = http.StatusServiceUnavailable
		}
		s.connectErrorStatus(w, status, "en", serr.Msg)
		return
	}
	http.Redirect(w, r, redirect, http.StatusSeeOther)
}

// liveAuthRequest returns the stored request id while it waits: neither
// expired nor used.
func (s *Server) liveAuthRequest(ctx context.Context, id string) (storage.AuthRequest, *snsError) {
	ar, err := s.store.GetAuthRequest(ctx, id)
	switch {
	case errors.Is(err, storage.ErrNotFound) || (err == nil && !s.now().Before(ar.ExpiresAt)):
		return ar, errOIDCRequestGone
	case err != nil:
		return ar, s.sysErr(ctx, err)
	case !ar.UsedAt.IsZero():
		return ar, errOIDCRequestUsed
	}
	return ar, nil
}

// handleOIDCResume serves GET /oauth2/resume?request=ID. It never signs
// in: a link to it, which any site can send a browser to with the
// session cookie, only shows the hosted page of that request again. The
// password form posted for the request signs it in (handleLogin).
func (s *Server) handleOIDCResume(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	ar, serr := s.liveAuthRequest(ctx, r.URL.Query().Get("request"))
	if serr != nil {
		s.connectErrorStatus(w, deviceStatus(serr), "en", serr.Msg)
		return
	}
	app, serr := s.getApp(ctx, ar.ClientID)
	if serr != nil {
		s.connectErrorStatus(w, deviceStatus(serr), "en", serr.Msg)
		return
	}
	t, htmlLang := textFor("")
	s.showAuthRequest(w, r, app, ar, t, htmlLang)
}

// resumeRequest returns the waiting OpenID Connect request a password
// form's next names, if it names one.
func (s *Server) resumeRequest(ctx context.Context, next string) (storage.AuthRequest, bool) {
	u, err := url.Parse(next)
	if err != nil || u.Path != "/oauth2/resume" {
		return storage.AuthRequest{}, false
	}
	ar, serr := s.liveAuthRequest(ctx, u.Query().Get("request"))
	return ar, serr == nil
}

// formTarget is the origin the password form for request ar sends the
// browser on to after the post (the relying party's redirect_uri), for
// the page's CSP form-action, which covers redirects after a form post.
func formTarget(ar storage.AuthRequest) string {
	u, err := url.Parse(ar.RedirectURI)
	if err != nil || u.Scheme == "" {
		return ""
	}
	if u.Host == "" {
		return u.Scheme + ":" // a native app's private-use scheme
	}
	return u.Scheme + "://" + u.Host
}
