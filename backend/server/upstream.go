package server

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/oauth2"

	"github.com/scanfree/scanfree/backend/connector"
	"github.com/scanfree/scanfree/backend/signin"
	"github.com/scanfree/scanfree/backend/storage"
	"github.com/scanfree/scanfree/internal/secret"
)

// Signing in through a provider (connector.CallbackConnector): the login
// form's "Sign in with Company SSO" starts at pathUpstream/{id}, which
// sends the browser to the provider with a fresh state, nonce and PKCE
// verifier, remembered in a cookie only the callback reads (a code sent
// to someone else's browser cannot sign her in: login CSRF); the
// provider sends it back to pathUpstream/{id}/callback.
const (
	pathUpstream        = "/login/connector/"
	upstreamStateCookie = "scanfree_upstream"
	upstreamStateTTL    = 10 * 60 // seconds
)

// callbackConnector returns the callback connector with id, if any.
func (s *Server) callbackConnector(id string) (connector.CallbackConnector, bool) {
	c, _ := s.connector(id)
	cc, ok := c.(connector.CallbackConnector)
	return cc, ok
}

// providerLinks are the login form's "Sign in with …" links, going on to next.
func (s *Server) providerLinks(lang, next string) []providerLink {
	var out []providerLink
	for _, c := range s.cfg.Connectors {
		if _, ok := c.(connector.CallbackConnector); ok {
			out = append(out, providerLink{ID: c.ID(), Label: fmt.Sprintf(tr(lang, "Sign in with %s"), c.Name()),
				Href: pathUpstream + c.ID() + "?" + url.Values{"next": {next}}.Encode()})
		}
	}
	return out
}

// providerLink is one "Sign in with …" of the login form.
type providerLink struct{ ID, Label, Href string }

func (s *Server) upstreamCallback(id string) string {
	return s.public.String() + pathUpstream + id + "/callback"
}

// handleUpstreamStart sends the browser to connector id's provider.
func (s *Server) handleUpstreamStart(w http.ResponseWriter, r *http.Request) {
	ctx, id := r.Context(), r.PathValue("id")
	lang, next := consoleLang(w, r), safeNext(r.URL.Query().Get("next"))
	c, ok := s.callbackConnector(id)
	if !ok {
		s.upstreamFail(w, r, lang, next, http.StatusNotFound, tr(lang, "There is no such way to sign in here. Choose one on this page."))
		return
	}
	a := connector.Attempt{Callback: s.upstreamCallback(id), State: secret.Token(), Nonce: secret.Token(), Verifier: oauth2.GenerateVerifier()}
	to, err := c.LoginURL(ctx, a)
	if err != nil {
		s.directoryFailed(ctx, id, err)
		s.upstreamFail(w, r, lang, next, http.StatusServiceUnavailable, s.notAnswering(lang, id))
		return
	}
	s.directoryAnswered(id)
	val := strings.Join([]string{a.State, a.Nonce, a.Verifier, base64.RawURLEncoding.EncodeToString([]byte(next))}, ".")
	http.SetCookie(w, &http.Cookie{Name: upstreamStateCookie, Value: val, Path: pathUpstream + id + "/callback", MaxAge: upstreamStateTTL,
		HttpOnly: true, Secure: s.secure(), SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// upstreamAttempt reads the attempt handleUpstreamStart remembered.
func upstreamAttempt(r *http.Request, callback string) (connector.Attempt, string, bool) {
	c, err := r.Cookie(upstreamStateCookie)
	if err != nil {
		return connector.Attempt{}, "/account", false
	}
	parts := strings.Split(c.Value, ".")
	if len(parts) != 4 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return connector.Attempt{}, "/account", false
	}
	n, err := base64.RawURLEncoding.DecodeString(parts[3])
	if err != nil {
		return connector.Attempt{}, "/account", false
	}
	return connector.Attempt{Callback: callback, State: parts[0], Nonce: parts[1], Verifier: parts[2]}, safeNext(string(n)), true
}

// handleUpstreamCallback signs in the person connector id's provider
// vouched for, made here at her first sign-in.
func (s *Server) handleUpstreamCallback(w http.ResponseWriter, r *http.Request) {
	ctx, id, q := r.Context(), r.PathValue("id"), r.URL.Query()
	lang := consoleLang(nil, r)
	http.SetCookie(w, &http.Cookie{Name: upstreamStateCookie, Path: pathUpstream + id + "/callback", MaxAge: -1, HttpOnly: true,
		Secure: s.secure(), SameSite: http.SameSiteLaxMode})
	c, ok := s.callbackConnector(id)
	a, next, started := upstreamAttempt(r, s.upstreamCallback(id))
	ip := s.clientIP(r)
	refusal := storage.Event{Method: storage.MethodUpstream, Face: "web", Addr: ip}
	switch {
	case !ok:
		s.upstreamFail(w, r, lang, next, http.StatusNotFound, tr(lang, "There is no such way to sign in here. Choose one on this page."))
		return
	case !started || !secret.Equal([]byte(a.State), []byte(q.Get("state"))):
		s.log.WarnContext(ctx, "upstream sign-in refused: state does not match the browser's", "connector", id, "addr", ip)
		s.upstreamFail(w, r, lang, next, http.StatusBadRequest, tr(lang, "This sign-in was not started in this browser, or it took too long. Start again."))
		return
	case q.Get("error") != "":
		s.signin.Refused(ctx, refusal, "upstream_refused", s.connectorName(id)+" answered "+trimLen(q.Get("error"), 64))
		s.upstreamFail(w, r, lang, next, http.StatusForbidden, fmt.Sprintf(tr(lang, "%s did not sign you in. Start again, or sign in another way."), s.connectorName(id)))
		return
	}
	who, err := c.HandleCallback(ctx, a, q.Get("code"))
	switch {
	case errors.Is(err, connector.ErrUnavailable):
		s.directoryFailed(ctx, id, err)
		s.upstreamFail(w, r, lang, next, http.StatusServiceUnavailable, s.notAnswering(lang, id))
		return
	case err != nil:
		s.log.WarnContext(ctx, "upstream sign-in refused", "connector", id, "err", err, "addr", ip)
		s.signin.Refused(ctx, refusal, "upstream_refused", s.connectorName(id)+"'s answer was refused: "+err.Error())
		s.upstreamFail(w, r, lang, next, http.StatusBadRequest, fmt.Sprintf(tr(lang, "%s's answer could not be verified, so it did not sign you in. Start again."), s.connectorName(id)))
		return
	}
	s.directoryAnswered(id)
	u, err := s.directoryUser(ctx, who)
	if err != nil {
		s.log.ErrorContext(ctx, "upstream sign-in", "connector", id, "err", err)
		s.upstreamFail(w, r, lang, next, http.StatusServiceUnavailable, tr(lang, "Sign-in is temporarily unavailable. Try again in a moment."))
		return
	}
	refusal.UserID = u.ID
	if !u.Active() {
		s.signin.Refused(ctx, refusal, "disabled", s.connectorName(id)+" vouched for her, but the account is disabled")
		s.upstreamFail(w, r, lang, next, http.StatusForbidden, tr(lang, "This account was disabled by an administrator. Ask them to enable it."))
		return
	}
	if err := s.startSession(ctx, w, u, signin.ByUpstream); err != nil {
		s.log.ErrorContext(ctx, "upstream sign-in", "err", err)
		s.upstreamFail(w, r, lang, next, http.StatusInternalServerError, tr(lang, "Could not sign you in; try again."))
		return
	}
	s.signin.Event(ctx, storage.Event{UserID: u.ID, Kind: "login", Detail: "web sign-in from " + ip + " through " + s.connectorName(id),
		Method: storage.MethodUpstream, Face: "web", Addr: ip, Result: storage.ResultOK})
	if ar, ok := s.resumeRequest(ctx, next); ok {
		s.oidcSignIn(w, r, ar, u.ID, s.now(), signin.ByUpstream, "sign-in through "+s.connectorName(id))
		return
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// upstreamFail shows the login form going on to next, with msg.
func (s *Server) upstreamFail(w http.ResponseWriter, r *http.Request, lang, next string, status int, msg string) {
	p := s.loginPage(r.Context(), lang, next, "", "")
	p.Error = msg
	s.render(w, r, status, "login", p)
}

// notAnswering says connector id's directory or provider is not answering.
func (s *Server) notAnswering(lang, id string) string {
	return fmt.Sprintf(tr(lang, "%s is not answering. Try again in a few minutes, or sign in with your desktop or phone."), s.connectorName(id))
}
