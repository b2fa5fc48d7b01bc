package server

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/scanfree/scanfree/backend/signin"
	"github.com/scanfree/scanfree/backend/storage"
	"github.com/scanfree/scanfree/internal/secret"
)

// The backend's own pages (/login, and through it the account page and
// the operator console's re-confirmation) sign people in scan-free or by
// QR the way any relying party does: through the hosted page, as the
// built-in app selfAppID, whose one redirect URI is pathSelfCallback. The
// code it gets is redeemed here, by the sign-in core, as a WeChat-face
// code; nothing about the hosted page, the daemon or the phone changes.
//
// The app is an ordinary row an operator sees on the Apps page: disabling
// it turns this way of signing in to the backend off (the password form
// stays); deleting it is undone the next time someone starts it.
const (
	selfAppID        = "scanfree-self"
	selfAppName      = "scanfree account and console"
	pathSelfStart    = "/login/desktop/start"
	pathSelfCallback = "/login/desktop"
	// selfStateCookie binds the callback to the browser that started it
	// (a code an attacker got for himself, sent to someone else's browser,
	// would sign her in as him: login CSRF).
	selfStateCookie = "scanfree_self_state"
	selfStateTTL    = 10 * 60 // seconds: the hosted page's QR lives 5 minutes
)

// selfRedirectURI is the built-in app's one redirect URI.
func (s *Server) selfRedirectURI() string { return s.public.String() + pathSelfCallback }

// selfApp returns the built-in app, creating it, or pointing it at this
// server's public URL, when it is missing or stale.
func (s *Server) selfApp(ctx context.Context) (storage.App, error) {
	want := []string{s.selfRedirectURI()}
	a, err := s.store.GetApp(ctx, selfAppID)
	switch {
	case err == nil && slices.Equal(a.RedirectURIs, want) && a.FastLogin:
		return a, nil
	case err == nil:
		a.RedirectURIs, a.Domains, a.FastLogin, a.Public = want, nil, true, false
		if err := s.store.UpdateApp(ctx, a); err != nil {
			return a, fmt.Errorf("update the built-in app: %w", err)
		}
		return a, nil
	case !errors.Is(err, storage.ErrNotFound):
		return a, fmt.Errorf("get the built-in app: %w", err)
	}
	a = storage.App{AppID: selfAppID, Name: selfAppName, Owner: selfAppID, RedirectURIs: want, FastLogin: true,
		SecretHash: secret.Hash(secret.Token()), CreatedAt: s.now()} // a secret nobody knows: only this server redeems its codes
	err = s.store.CreateApp(ctx, a)
	if errors.Is(err, storage.ErrAlreadyExists) { // another replica made it first
		return s.store.GetApp(ctx, selfAppID)
	}
	if err != nil {
		return a, fmt.Errorf("create the built-in app: %w", err)
	}
	return a, nil
}

// handleSelfStart sends the browser to the hosted page for the built-in
// app, remembering in a cookie the state it expects back and where to go.
func (s *Server) handleSelfStart(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	lang, next := consoleLang(w, r), safeNext(q.Get("next"))
	fail := func(status int, msg string) {
		p := s.loginPage(r.Context(), lang, next, trimLen(q.Get("login_hint"), 200), "")
		p.Error = tr(lang, msg)
		s.render(w, r, status, "login", p)
	}
	app, err := s.selfApp(r.Context())
	if err != nil {
		s.log.ErrorContext(r.Context(), "self sign-in", "err", err)
		fail(http.StatusServiceUnavailable, "Sign-in is temporarily unavailable. Try again in a moment.")
		return
	}
	if !app.DisabledAt.IsZero() {
		fail(http.StatusForbidden, "An administrator turned off signing in here with a desktop or phone. Use your password.")
		return
	}
	state := secret.Token()
	http.SetCookie(w, &http.Cookie{Name: selfStateCookie, Value: state + "." + base64.RawURLEncoding.EncodeToString([]byte(next)),
		Path: pathSelfCallback, MaxAge: selfStateTTL, HttpOnly: true, Secure: s.secure(), SameSite: http.SameSiteLaxMode})
	hosted := url.Values{"appid": {selfAppID}, "redirect_uri": {s.selfRedirectURI()}, "response_type": {"code"},
		"scope": {"snsapi_login"}, "state": {state}}
	if lang == langZH {
		hosted.Set("lang", "cn")
	}
	http.Redirect(w, r, "/connect/qrconnect?"+hosted.Encode(), http.StatusSeeOther)
}

// selfState reads the state and next page handleSelfStart remembered.
func selfState(r *http.Request) (state, next string, ok bool) {
	c, err := r.Cookie(selfStateCookie)
	if err != nil {
		return "", "", false
	}
	state, enc, ok := strings.Cut(c.Value, ".")
	n, err := base64.RawURLEncoding.DecodeString(enc)
	if !ok || err != nil || state == "" {
		return "", "", false
	}
	return state, safeNext(string(n)), true
}

// handleSelfCallback redeems the built-in app's code and starts a web
// session for the person who confirmed it.
func (s *Server) handleSelfCallback(w http.ResponseWriter, r *http.Request) {
	ctx, q := r.Context(), r.URL.Query()
	lang := consoleLang(nil, r)
	http.SetCookie(w, &http.Cookie{Name: selfStateCookie, Path: pathSelfCallback, MaxAge: -1, HttpOnly: true, Secure: s.secure(), SameSite: http.SameSiteLaxMode})
	state, next, ok := selfState(r)
	fail := func(status int, msg string) {
		p := s.loginPage(ctx, lang, next, "", "")
		p.Error = tr(lang, msg)
		s.render(w, r, status, "login", p)
	}
	if !ok || !secret.Equal([]byte(state), []byte(q.Get("state"))) {
		s.log.WarnContext(ctx, "self sign-in refused: state does not match the browser's", "addr", s.clientIP(r))
		fail(http.StatusBadRequest, "This sign-in was not started in this browser, or it took too long. Start again.")
		return
	}
	c, err := s.signin.Redeem(ctx, signin.Redemption{Face: storage.FaceWeChat, AppID: selfAppID, Code: q.Get("code"),
		Check: func(c storage.Code) error {
			if c.RedirectURI != s.selfRedirectURI() {
				return errors.New("redirect_uri does not match")
			}
			return nil
		}})
	var ref *signin.Refusal
	switch {
	case errors.As(err, &ref):
		s.log.WarnContext(ctx, "self sign-in refused", "reason", ref.Name(), "err", err, "addr", s.clientIP(r))
		fail(http.StatusBadRequest, "This sign-in could not be used. Start again.")
		return
	case err != nil:
		s.log.ErrorContext(ctx, "self sign-in", "err", err)
		fail(http.StatusServiceUnavailable, "Sign-in is temporarily unavailable. Try again in a moment.")
		return
	}
	u, err := s.store.GetUser(ctx, c.UserID)
	if err != nil || !u.Active() {
		fail(http.StatusForbidden, "This account was disabled by an administrator. Ask them to enable it.")
		return
	}
	method, how, by := storage.MethodScanFree, "confirmed on the desktop", signin.ByDesktop
	if c.DeviceID == "" {
		method, how, by = storage.MethodQR, "confirmed by QR code", signin.ByPhone
	}
	if err := s.startSession(ctx, w, u, by); err != nil {
		s.log.ErrorContext(ctx, "self sign-in", "err", err)
		fail(http.StatusInternalServerError, "Could not sign you in; try again.")
		return
	}
	ip := s.clientIP(r)
	s.signin.Event(ctx, storage.Event{UserID: u.ID, Kind: "login", Detail: "web sign-in from " + ip + ", " + how,
		Method: method, Face: "web", Addr: ip, Result: storage.ResultOK})
	http.Redirect(w, r, next, http.StatusSeeOther)
}
