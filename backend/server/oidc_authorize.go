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

// authorizeQuery is a parsed /oauth2/authorize request: the parameters
// as the relying party sent them, nothing checked yet.
type authorizeQuery struct {
	clientID, redirectURI, state, responseType, responseMode              string
	scope, challenge, method, prompt, maxAge, nonce, loginHint, acrValues string
	requestObject                                                         bool   // request or request_uri given
	repeated                                                              string // a parameter given more than once, if any
	text                                                                  text
	htmlLang                                                              string
}

// authorizeRefusal is a refused authorization request: shown as an error
// page (status, when the relying party cannot be trusted with a redirect)
// or sent back to its redirect_uri (code, RFC 6749 section 4.1.2.1).
type authorizeRefusal struct {
	status     int
	code, desc string
}

func pageRefusal(status int, msg string) *authorizeRefusal {
	return &authorizeRefusal{status: status, desc: msg}
}

func redirectRefusal(code, desc string) *authorizeRefusal {
	return &authorizeRefusal{code: code, desc: desc}
}

// handleOIDCAuthorize serves GET /oauth2/authorize (OIDC Core 3.1.2):
// parse, validate, act, respond. An unknown client or a redirect_uri it
// did not register is shown as an error page and never redirected to;
// every later error goes back to the relying party.
func (s *Server) handleOIDCAuthorize(w http.ResponseWriter, r *http.Request) {
	q := parseAuthorize(r)
	app, ar, prompt, ref := s.validateAuthorize(r.Context(), q)
	if ref == nil {
		ref = s.storeAuthorize(r, &ar)
	}
	if ref != nil {
		s.refuseAuthorize(w, r, q, ar, ref)
		return
	}
	s.respondAuthorize(w, r, q, app, ar, prompt)
}

// parseAuthorize reads the request's parameters.
func parseAuthorize(r *http.Request) authorizeQuery {
	v := r.URL.Query()
	locale, _, _ := strings.Cut(v.Get("ui_locales"), " ") // the first preference
	q := authorizeQuery{clientID: v.Get("client_id"), redirectURI: v.Get("redirect_uri"), state: v.Get("state"),
		responseType: v.Get("response_type"), responseMode: v.Get("response_mode"), scope: v.Get("scope"),
		challenge: v.Get("code_challenge"), method: v.Get("code_challenge_method"), prompt: v.Get("prompt"),
		maxAge: v.Get("max_age"), nonce: v.Get("nonce"), loginHint: trimLen(v.Get("login_hint"), 200),
		acrValues: trimLen(v.Get("acr_values"), 200), requestObject: v.Has("request") || v.Has("request_uri")}
	q.text, q.htmlLang = textFor(strings.ToLower(locale))
	for name, vs := range v {
		if len(vs) > 1 {
			q.repeated = name
		}
	}
	return q
}

// validateAuthorize checks q against the app it names and returns the
// request to store, with its prompt values.
func (s *Server) validateAuthorize(ctx context.Context, q authorizeQuery) (storage.App, storage.AuthRequest, []string, *authorizeRefusal) {
	ar := storage.AuthRequest{ClientID: q.clientID, RedirectURI: q.redirectURI, State: q.state}
	if q.repeated != "" {
		return storage.App{}, ar, nil, pageRefusal(http.StatusBadRequest, q.repeated+" given more than once")
	}
	if !s.dataKeyLoaded() {
		return storage.App{}, ar, nil, pageRefusal(http.StatusServiceUnavailable, errOIDCOff.desc)
	}
	app, serr := s.getApp(ctx, q.clientID)
	if serr == errUnknownApp {
		return app, ar, nil, pageRefusal(http.StatusBadRequest, "unknown client_id: the site that sent you here is not registered")
	} else if serr != nil {
		return app, ar, nil, pageRefusal(http.StatusServiceUnavailable, errUnavailable.Error())
	}
	if err := rules.OIDCRedirectURI(app, q.redirectURI); err != nil {
		return app, ar, nil, pageRefusal(http.StatusBadRequest, err.Error())
	}
	// From here on the relying party is known: refusals go back to it.
	switch {
	case q.responseType != "code":
		return app, ar, nil, redirectRefusal("unsupported_response_type", "only response_type=code is supported")
	case q.requestObject:
		return app, ar, nil, redirectRefusal("request_not_supported", "request objects are not supported")
	case q.responseMode != "" && q.responseMode != "query":
		return app, ar, nil, redirectRefusal("invalid_request", "only response_mode=query is supported")
	case len(q.state) > maxOIDCState:
		return app, ar, nil, redirectRefusal("invalid_request", "state longer than "+strconv.Itoa(maxOIDCState)+" bytes")
	case len(q.nonce) > maxNonce:
		return app, ar, nil, redirectRefusal("invalid_request", "nonce longer than "+strconv.Itoa(maxNonce)+" bytes")
	}
	scope, err := rules.OIDCScope(q.scope)
	if err != nil {
		return app, ar, nil, redirectRefusal("invalid_scope", err.Error())
	}
	if err := rules.PKCEChallenge(q.challenge, q.method); err != nil {
		return app, ar, nil, redirectRefusal("invalid_request", err.Error())
	}
	if app.Public && q.challenge == "" {
		return app, ar, nil, redirectRefusal("invalid_request", "this client is public: PKCE (code_challenge with S256) is required")
	}
	prompt, err := rules.Prompt(q.prompt)
	if err != nil {
		return app, ar, nil, redirectRefusal("invalid_request", err.Error())
	}
	maxAge := time.Duration(-1)
	if q.maxAge != "" {
		n, err := strconv.Atoi(q.maxAge)
		if err != nil || n < 0 {
			return app, ar, nil, redirectRefusal("invalid_request", "max_age must be a whole number of seconds")
		}
		maxAge = time.Duration(n) * time.Second
	}
	ar.Scope, ar.Nonce, ar.CodeChallenge, ar.Prompt, ar.MaxAge, ar.LoginHint = scope, q.nonce, q.challenge, strings.Join(prompt, " "), maxAge, q.loginHint
	ar.ACRValues = q.acrValues
	return app, ar, prompt, nil
}

// storeAuthorize stores ar, counted against the client's address: each
// request is kept until it expires, so one address may not fill the
// store with them.
func (s *Server) storeAuthorize(r *http.Request, ar *storage.AuthRequest) *authorizeRefusal {
	ctx := r.Context()
	if ok, err := s.oidcIP.Take(ctx, s.clientKey(r)); err != nil {
		return pageRefusal(http.StatusServiceUnavailable, errUnavailable.Error())
	} else if !ok {
		return pageRefusal(http.StatusTooManyRequests, errTooManyTickets.Error())
	}
	now := s.now()
	ar.ID, ar.CreatedAt, ar.ExpiresAt = secret.Code(), now, now.Add(authRequestTTL)
	if err := s.store.CreateAuthRequest(ctx, *ar); err != nil {
		s.log.ErrorContext(ctx, "oidc authorize", "err", err)
		return pageRefusal(http.StatusServiceUnavailable, errUnavailable.Error())
	}
	return nil
}

// refuseAuthorize answers a refusal: an error page, or a redirect to the
// relying party with error, its state (unless too long to send back) and
// iss.
func (s *Server) refuseAuthorize(w http.ResponseWriter, r *http.Request, q authorizeQuery, ar storage.AuthRequest, ref *authorizeRefusal) {
	if ref.code == "" {
		// A 400 is the request's own fault; the rest (busy, unavailable) is ours.
		s.connectErrorStatus(w, ref.status, q.htmlLang, ref.desc, ref.status == http.StatusBadRequest)
		return
	}
	if len(ar.State) > maxOIDCState {
		ar.State = ""
	}
	http.Redirect(w, r, s.oidcRedirect(&ar, "error", ref.code, "error_description", ref.desc), http.StatusSeeOther)
}

// respondAuthorize answers a stored request. A browser already signed in
// here (with the password form) signs in at once to an app the person
// allowed before, unless the relying party asks for a fresh sign-in or
// for consent. A public client never does (RFC 8252 section 8.6): anyone
// on this machine can listen on the loopback port its request names, so
// only an interaction on this request (the hosted page) may send it a
// code.
func (s *Server) respondAuthorize(w http.ResponseWriter, r *http.Request, q authorizeQuery, app storage.App, ar storage.AuthRequest, prompt []string) {
	u, se, signedIn := s.currentSession(r)
	fresh := signedIn && (ar.MaxAge < 0 || s.now().Sub(se.CreatedAt) <= ar.MaxAge) && sessionEnough(se, s.appPolicy(app))
	allowed := fresh && !app.Public && s.hasGrant(r.Context(), u.ID, app.AppID)
	refuse := func(code, desc string) { s.refuseAuthorize(w, r, q, ar, redirectRefusal(code, desc)) }
	if slices.Contains(prompt, "none") {
		switch {
		case app.Public:
			refuse("interaction_required", "this client is public: it is signed in only through the hosted page, never silently")
		case !fresh:
			refuse("login_required", "nobody is signed in here; sign in interactively")
		case !allowed:
			refuse("consent_required", "the person has not allowed this app yet")
		default:
			s.oidcSignIn(w, r, ar, u.ID, se.CreatedAt, signin.HowNamed(se.Method), "signed in here before")
		}
		return
	}
	if allowed && !slices.Contains(prompt, "login") && !slices.Contains(prompt, "consent") {
		s.oidcSignIn(w, r, ar, u.ID, se.CreatedAt, signin.HowNamed(se.Method), "signed in here before")
		return
	}
	s.showAuthRequest(w, r, app, ar, q.text, q.htmlLang)
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
func (s *Server) oidcSignIn(w http.ResponseWriter, r *http.Request, ar storage.AuthRequest, userID string, authTime time.Time, how signin.How, origin string) {
	s.completeSignIn(w, r, signin.Request{AppID: ar.ClientID, RedirectURI: ar.RedirectURI, Scope: ar.Scope, OIDC: &ar}, userID, authTime, how, origin)
}

// completeSignIn mints req's code for userID, who confirmed it is her as
// how says, and sends the browser on to the app with it; a refusal is
// the hosted page's error.
func (s *Server) completeSignIn(w http.ResponseWriter, r *http.Request, req signin.Request, userID string, authTime time.Time, how signin.How, origin string) {
	_, redirect, serr := s.mintCode(r.Context(), signin.Grant{Request: req, UserID: userID, How: how, AuthTime: authTime, Origin: origin, Addr: s.clientIP(r)})
	if serr != nil {
		status := http.StatusBadRequest
		if serr.Code == errSystem {
			status = http.StatusServiceUnavailable
		}
		s.connectErrorStatus(w, status, "en", serr.Msg, false) // a fence, a disabled account or app: the person's to know
		return
	}
	http.Redirect(w, r, redirect, http.StatusSeeOther)
}

// liveAuthRequest returns the stored request id while it waits: neither
// expired nor used.
func (s *Server) liveAuthRequest(ctx context.Context, id string) (storage.AuthRequest, *apiError) {
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
		s.connectErrorStatus(w, deviceStatus(serr), "en", serr.Msg, false)
		return
	}
	app, serr := s.getApp(ctx, ar.ClientID)
	if serr != nil {
		s.connectErrorStatus(w, deviceStatus(serr), "en", serr.Msg, false)
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
func formTarget(ar storage.AuthRequest) string { return originOf(ar.RedirectURI) }
