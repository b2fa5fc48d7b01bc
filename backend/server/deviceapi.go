package server

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/scanfree/scanfree/backend/rules"
	"github.com/scanfree/scanfree/backend/signin"
	"github.com/scanfree/scanfree/backend/storage"
	"github.com/scanfree/scanfree/internal/deviceapi"
	"github.com/scanfree/scanfree/internal/dpop"
	"github.com/scanfree/scanfree/internal/secret"
)

type deviceKey struct{}

// deviceAuth admits requests that carry the credential of an active
// enrolled device, and answers 401 with errcode 10060 otherwise. A
// credential bound to a proof key (RFC 9449 DPoP) is taken only as
// "Authorization: DPoP <credential>" with a fresh proof by that key; an
// unbound one is bound to the key of the first proof it comes with (the
// desktop proves the key with the credential it has), and until then
// taken as a Bearer credential; a server that requires proofs refuses
// unbound credentials outright.
func (s *Server) deviceAuth(next func(http.ResponseWriter, *http.Request, storage.Device)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme, cred, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		if (scheme != "Bearer" && scheme != dpop.Scheme) || cred == "" {
			s.deviceUnauthorized(w, "missing device credential; sign in with `scanfreed login`")
			return
		}
		d, err := s.store.GetDeviceByCredential(r.Context(), secret.Hash(cred))
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			s.internalError(w, r, "device auth", err)
			return
		}
		if err != nil {
			s.deviceUnauthorized(w, "device credential unknown or revoked; sign in again with `scanfreed login`")
			return
		}
		if !d.Active() {
			s.deviceUnauthorized(w, s.signOutReason(r.Context(), d)) // says who signed it out
			return
		}
		proved := scheme == dpop.Scheme || len(r.Header.Values(dpop.Header)) > 0
		switch {
		case d.KeyThumbprint == "" && s.cfg.RequireDPoP:
			// No binding after the fact on a strict server: whoever holds
			// an old credential could bind it to their own key first.
			s.deviceUnauthorized(w, "this server needs desktops to prove their key from enrolment on; sign in again with `scanfreed login`")
			return
		case d.KeyThumbprint != "" && scheme != dpop.Scheme:
			// The desktop itself always proves its key: a bare credential
			// was copied off it.
			s.log.WarnContext(r.Context(), "a bound desktop credential came without its proof", "device", d.ID, "addr", s.clientIP(r))
			s.deviceUnauthorized(w, "this desktop's credential only works with a proof from its own key; sign in again with `scanfreed login`")
			return
		case proved:
			v, err := s.checkProof(w, r, cred)
			if err != nil {
				s.proofRefused(w, r, err)
				return
			}
			if d.KeyThumbprint == "" {
				if d, err = s.bindKey(r.Context(), d, v.JKT); err != nil {
					s.internalError(w, r, "bind device key", err)
					return
				}
			}
			if v.JKT != d.KeyThumbprint {
				s.log.WarnContext(r.Context(), "a desktop credential came with another key's proof", "device", d.ID, "addr", s.clientIP(r))
				// Not the desktop's key: a copied credential, or a desktop
				// that lost its key file; either way only a new sign-in helps.
				s.deviceUnauthorized(w, "this proof is signed by a key this desktop's credential is not bound to; sign in again with `scanfreed login`")
				return
			}
		}
		next(w, r, d)
	})
}

// bindKey binds d's credential to the key jkt: a desktop enrolled before
// DPoP proves its key once, with the credential it holds. Of two racing
// first proofs the store keeps one; d comes back as stored.
func (s *Server) bindKey(ctx context.Context, d storage.Device, jkt string) (storage.Device, error) {
	err := s.store.BindDeviceKey(ctx, d.ID, jkt, "software")
	if err != nil && !errors.Is(err, storage.ErrAlreadyExists) {
		return d, err
	}
	if err == nil {
		s.signin.Event(ctx, storage.Event{UserID: d.UserID, Kind: "device_key_bound", DeviceID: d.ID,
			Detail: d.Name + ": its credential now works only with proofs from its own key"})
	}
	return s.store.GetDevice(ctx, d.ID)
}

// appsUsed are the apps with a device policy that userID signed in to:
// two reads (her grants, the apps), however many apps she uses, since
// every desktop asks at each /me.
func (s *Server) appsUsed(ctx context.Context, userID string) ([]storage.App, error) {
	grants, err := s.store.ListGrants(ctx, userID)
	if err != nil || len(grants) == 0 {
		return nil, err
	}
	apps, err := s.store.ListApps(ctx)
	if err != nil {
		return nil, err
	}
	byID := make(map[string]storage.App, len(apps))
	for _, a := range apps {
		if !a.Fence.Device.IsZero() {
			byID[a.AppID] = a
		}
	}
	var used []storage.App
	for _, g := range grants {
		if a, ok := byID[g.AppID]; ok {
			used = append(used, a)
		}
	}
	return used, nil
}

// Errcodes of the device API (package deviceapi has the list).
const (
	errQROnly         = deviceapi.CodeQROnly
	errNotSignedIn    = deviceapi.CodeSignedOut
	errBackendRefused = deviceapi.CodeRefused
)

// errUnknownApp is the refusal of an unknown appid on every device-API
// path and in the hosted page's check.
var errUnknownApp = apiErr(errBackendRefused, "invalid appid")

// internalError logs err and answers the device API's 500.
func (s *Server) internalError(w http.ResponseWriter, r *http.Request, op string, err error) {
	s.log.ErrorContext(r.Context(), op, "err", err)
	writeJSON(w, http.StatusInternalServerError, apiErr(errSystem, "system error, retry later"))
}

func (s *Server) deviceUnauthorized(w http.ResponseWriter, msg string) {
	w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	writeJSON(w, http.StatusUnauthorized, apiErr(errNotSignedIn, msg))
}

func (s *Server) handleDeviceMe(w http.ResponseWriter, r *http.Request, d storage.Device) {
	u, err := s.store.GetUser(r.Context(), d.UserID)
	if err != nil {
		s.internalError(w, r, "device me", err)
		return
	}
	devices, err := s.store.ListDevices(r.Context(), d.UserID)
	if err != nil {
		s.internalError(w, r, "device me", err)
		return
	}
	me := deviceapi.Me{DeviceID: d.ID, DeviceName: d.Name, OS: d.OS, Username: u.Username, Nickname: u.Nickname, HeadImgURL: u.AvatarURL,
		KeyProtection: d.KeyProtection}
	used, err := s.appsUsed(r.Context(), d.UserID)
	if err != nil {
		s.internalError(w, r, "device me", err)
		return
	}
	me.PolicyWarnings = s.signin.DeviceShortfalls(d, used)
	for _, o := range devices {
		if o.ID != d.ID && o.Active() {
			me.Desktops = append(me.Desktops, deviceapi.Desktop{ID: o.ID, Name: o.Name, OS: o.OS, EnrolledAt: o.CreatedAt})
		}
	}
	writeJSON(w, http.StatusOK, me)
}

func appInfo(app storage.App) deviceapi.App {
	return deviceapi.App{AppID: app.AppID, Name: app.Name, Icon: app.IconURL, FastLogin: app.FastLogin}
}

func (s *Server) handleAppInfo(w http.ResponseWriter, r *http.Request, d storage.Device) {
	app, serr := s.getApp(r.Context(), r.PathValue("appid"))
	if serr != nil {
		writeDeviceErr(w, serr)
		return
	}
	// The daemon looks the app up for the hosted page's check-login: a
	// desktop the app's device policy refuses is told here, with what to
	// fix, so the page says so instead of offering "Continue as …".
	if err := s.signin.CheckDevice(r.Context(), app, d, s.clientIP(r)); err != nil {
		writeDeviceErr(w, s.deviceRefusal(r.Context(), err))
		return
	}
	writeJSON(w, http.StatusOK, appInfo(app))
}

// handleDeviceCheck validates a sign-in before the daemon asks the user:
// the dialog shows the redirect_uri's host, so that host must be one the
// app registered. It answers the app's public view.
func (s *Server) handleDeviceCheck(w http.ResponseWriter, r *http.Request, _ storage.Device) {
	var req deviceapi.SignInRequest
	if err := decodeJSON(w, r, &req); err != nil {
		writeDeviceErr(w, apiErr(errBackendRefused, err.Error()))
		return
	}
	app, serr := s.validateSignIn(r.Context(), req, true)
	if serr != nil {
		writeDeviceErr(w, serr)
		return
	}
	writeJSON(w, http.StatusOK, appInfo(app))
}

// writeDeviceErr answers a device-API failure with an HTTP status that
// matches its errcode.
func writeDeviceErr(w http.ResponseWriter, serr *apiError) {
	writeJSON(w, deviceStatus(serr), serr)
}

// deviceStatus is the HTTP status of a refusal's errcode.
func deviceStatus(serr *apiError) int {
	switch {
	case serr.Code == errSystem:
		return http.StatusInternalServerError
	case serr == errUnknownApp:
		return http.StatusNotFound
	}
	return http.StatusBadRequest
}

func (s *Server) handleDeviceAuthorize(w http.ResponseWriter, r *http.Request, d storage.Device) {
	var req deviceapi.SignInRequest
	if err := decodeJSON(w, r, &req); err != nil {
		writeDeviceErr(w, apiErr(errBackendRefused, err.Error()))
		return
	}
	_, redirect, serr := s.mintFor(r.Context(), req, signin.Grant{UserID: d.UserID, DeviceID: d.ID, Device: &d, How: signin.ByDesktop, Addr: s.clientIP(r)})
	if serr != nil {
		writeDeviceErr(w, serr)
		return
	}
	writeJSON(w, http.StatusOK, deviceapi.AuthorizeResponse{RedirectURL: redirect})
}

// handleDeviceDeclined logs a sign-in the person denied in her desktop's
// dialog or let time out. Only a request the backend would have served
// (the app known, the redirect_uri its own) is logged, so a desktop
// cannot write what it likes into the operators' log.
func (s *Server) handleDeviceDeclined(w http.ResponseWriter, r *http.Request, d storage.Device) {
	var req deviceapi.Declined
	if err := decodeJSON(w, r, &req); err != nil {
		writeDeviceErr(w, apiErr(errBackendRefused, err.Error()))
		return
	}
	app, serr := s.validateSignIn(r.Context(), req.Request, true)
	if serr != nil {
		writeDeviceErr(w, serr)
		return
	}
	var detail string
	switch req.Outcome {
	case deviceapi.OutcomeDenied:
		detail = "Declined the sign-in to " + app.Name + " in the desktop's dialog"
	case deviceapi.OutcomeTimeout:
		detail = "Did not answer the desktop's dialog for " + app.Name + " in time"
	default:
		writeDeviceErr(w, apiErr(errBackendRefused, "outcome must be denied or timeout"))
		return
	}
	face := storage.FaceWeChat
	if strings.HasPrefix(req.Request.State, oidcStatePrefix) {
		face = storage.FaceOIDC
	}
	s.signin.Refused(r.Context(), storage.Event{UserID: d.UserID, AppID: app.AppID, DeviceID: d.ID, Method: storage.MethodScanFree,
		Face: face.String(), Addr: s.clientIP(r)}, req.Outcome, detail)
	writeJSON(w, http.StatusOK, deviceapi.Error{})
}

// getApp returns the app appID; an unknown appid is the device API's one
// refusal for it (10067, "invalid appid") on every path.
func (s *Server) getApp(ctx context.Context, appID string) (storage.App, *apiError) {
	app, err := s.store.GetApp(ctx, appID)
	if errors.Is(err, storage.ErrNotFound) {
		return app, errUnknownApp
	}
	if err != nil {
		return app, s.sysErr(ctx, err)
	}
	return app, nil
}

// signinRequest decodes a sign-in as the page, the daemon or a QR ticket
// carries it, at the edge: a state that names an OpenID Connect request
// (see oidcStatePrefix) is read into the typed request the core checks.
func (s *Server) signinRequest(ctx context.Context, req deviceapi.SignInRequest) (signin.Request, *apiError) {
	r := signin.Request{AppID: req.AppID, RedirectURI: req.RedirectURI, Scope: req.Scope, State: req.State}
	id, ok := oidcRequestID(req.State)
	if !ok {
		return r, nil
	}
	ar, err := s.store.GetAuthRequest(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return r, errOIDCRequestGone
	} else if err != nil {
		return r, s.sysErr(ctx, err)
	}
	r.OIDC = &ar
	return r, nil
}

// deviceRefusal maps the core's refusal to the device API's errcodes,
// which the hosted page's checks share.
func (s *Server) deviceRefusal(ctx context.Context, err error) *apiError {
	var ref *signin.Refusal
	if !errors.As(err, &ref) {
		return s.sysErr(ctx, err)
	}
	switch ref.Reason {
	case signin.UnknownApp:
		return errUnknownApp
	case signin.QROnly:
		return apiErr(errQROnly, ref.Msg)
	case signin.RequestGone:
		return errOIDCRequestGone
	case signin.RequestUsed:
		return errOIDCRequestUsed
	}
	return apiErr(errBackendRefused, ref.Msg)
}

// validateSignIn checks a sign-in, wherever it starts (see signin.Check).
func (s *Server) validateSignIn(ctx context.Context, req deviceapi.SignInRequest, fast bool) (storage.App, *apiError) {
	r, serr := s.signinRequest(ctx, req)
	if serr != nil {
		return storage.App{}, serr
	}
	app, err := s.signin.Check(ctx, r, fast)
	if err != nil {
		return app, s.deviceRefusal(ctx, err)
	}
	return app, nil
}

// mintCode mints the code of a confirmed sign-in (see signin.Mint) and
// returns it with the URL to send the browser to.
func (s *Server) mintCode(ctx context.Context, g signin.Grant) (string, string, *apiError) {
	code, _, err := s.signin.Mint(ctx, g)
	if err != nil {
		return "", "", s.deviceRefusal(ctx, err)
	}
	if g.OIDC != nil {
		return code, s.oidcRedirect(g.OIDC, "code", code), nil
	}
	return code, rules.RedirectURL(g.RedirectURI, code, g.State), nil
}

// mintFor decodes req at the edge and mints its code for userID.
func (s *Server) mintFor(ctx context.Context, req deviceapi.SignInRequest, g signin.Grant) (string, string, *apiError) {
	r, serr := s.signinRequest(ctx, req)
	if serr != nil {
		return "", "", serr
	}
	g.Request, g.Origin = r, trimLen(req.Origin, 200)
	return s.mintCode(ctx, g)
}

func (s *Server) handleDeviceSignOut(w http.ResponseWriter, r *http.Request, d storage.Device) {
	if err := s.signin.RevokeDevice(r.Context(), d, d.Name+" signed out"); err != nil {
		s.internalError(w, r, "device sign out", err)
		return
	}
	writeJSON(w, http.StatusOK, apiErr(0, "ok"))
}
