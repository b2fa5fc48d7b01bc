package server

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/scanfree/scanfree/backend/rules"
	"github.com/scanfree/scanfree/backend/storage"
	"github.com/scanfree/scanfree/internal/deviceapi"
	"github.com/scanfree/scanfree/internal/secret"
)

type deviceKey struct{}

// deviceAuth admits requests that carry the Bearer credential of an active
// enrolled device, and answers 401 with errcode 10060 otherwise.
func (s *Server) deviceAuth(next func(http.ResponseWriter, *http.Request, storage.Device)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cred, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || cred == "" {
			s.deviceUnauthorized(w, "missing device credential; sign in with `scanfreed login`")
			return
		}
		d, err := s.store.GetDeviceByCredential(r.Context(), secret.Hash(cred))
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			s.internalError(w, r, "device auth", err)
			return
		}
		if err != nil || !d.Active() {
			s.deviceUnauthorized(w, "device credential unknown or revoked; sign in again with `scanfreed login`")
			return
		}
		next(w, r, d)
	})
}

// Errcodes of the device API (package deviceapi has the list).
const (
	errQROnly         = deviceapi.CodeQROnly
	errNotSignedIn    = deviceapi.CodeSignedOut
	errBackendRefused = deviceapi.CodeRefused
)

// errUnknownApp is the refusal of an unknown appid on every device-API
// path and in the hosted page's check.
var errUnknownApp = snsErr(errBackendRefused, "invalid appid")

// internalError logs err and answers the device API's 500.
func (s *Server) internalError(w http.ResponseWriter, r *http.Request, op string, err error) {
	s.log.ErrorContext(r.Context(), op, "err", err)
	writeJSON(w, http.StatusInternalServerError, snsErr(errSystem, "system error, retry later"))
}

func (s *Server) deviceUnauthorized(w http.ResponseWriter, msg string) {
	w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	writeJSON(w, http.StatusUnauthorized, snsErr(errNotSignedIn, msg))
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
	me := deviceapi.Me{DeviceID: d.ID, DeviceName: d.Name, OS: d.OS, Username: u.Username, Nickname: u.Nickname, HeadImgURL: u.AvatarURL}
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

func (s *Server) handleAppInfo(w http.ResponseWriter, r *http.Request, _ storage.Device) {
	app, serr := s.getApp(r.Context(), r.PathValue("appid"))
	if serr != nil {
		writeDeviceErr(w, serr)
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
		writeDeviceErr(w, snsErr(errBackendRefused, err.Error()))
		return
	}
	app, _, serr := s.validateSignIn(r.Context(), req, true)
	if serr != nil {
		writeDeviceErr(w, serr)
		return
	}
	writeJSON(w, http.StatusOK, appInfo(app))
}

// writeDeviceErr answers a device-API failure with an HTTP status that
// matches its errcode.
func writeDeviceErr(w http.ResponseWriter, serr *snsError) {
	writeJSON(w, deviceStatus(serr), serr)
}

// deviceStatus is the HTTP status of a refusal's errcode.
func deviceStatus(serr *snsError) int {
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
		writeDeviceErr(w, snsErr(errBackendRefused, err.Error()))
		return
	}
	_, redirect, serr := s.mintCode(r.Context(), req, d.UserID, d.ID, byDesktop, time.Time{})
	if serr != nil {
		writeDeviceErr(w, serr)
		return
	}
	writeJSON(w, http.StatusOK, deviceapi.AuthorizeResponse{RedirectURL: redirect})
}

// getApp returns the app appID; an unknown appid is the device API's one
// refusal for it (10067, "invalid appid") on every path.
func (s *Server) getApp(ctx context.Context, appID string) (storage.App, *snsError) {
	app, err := s.store.GetApp(ctx, appID)
	if errors.Is(err, storage.ErrNotFound) {
		return app, errUnknownApp
	}
	if err != nil {
		return app, s.sysErr(ctx, err)
	}
	return app, nil
}

// validateSignIn checks a sign-in, wherever it starts: the app exists,
// allows scan-free login when fast, and registered the redirect_uri; scope
// and state are well formed. A state that names an OpenID Connect request
// (see oidcRequest) must match that request, and its rules apply.
func (s *Server) validateSignIn(ctx context.Context, req deviceapi.SignInRequest, fast bool) (storage.App, *storage.AuthRequest, *snsError) {
	app, serr := s.getApp(ctx, req.AppID)
	if serr != nil {
		return app, nil, serr
	}
	if fast && !app.FastLogin {
		return app, nil, snsErr(errQROnly, "this app allows QR login only")
	}
	if id, ok := oidcRequestID(req.State); ok {
		ar, serr := s.oidcRequest(ctx, app, id, req)
		return app, ar, serr
	}
	if err := rules.SignIn(app, req.RedirectURI, req.Scope, req.State); err != nil {
		return app, nil, snsErr(errBackendRefused, err.Error())
	}
	return app, nil, nil
}

// how says how a person confirmed a sign-in; it is the id_token's amr.
type how int

const (
	byDesktop   how = iota // the daemon's native dialog on an enrolled desktop
	byPhone                // a phone, signed in with its password, confirmed a QR code
	byDesktopQR            // `scanfreed approve` confirmed a QR code
	byPassword             // the password form of the hosted pages
)

// amr returns RFC 8176 values. The desktop dialog is a user-presence test
// ("user") on a desktop that proves a key it was enrolled with ("swk": its
// device credential, a software-held secret). A QR confirmation crosses a
// second channel ("mca"): on a phone signed in with a password ("pwd"), or
// through the desktop's credential ("swk").
func (h how) amr() []string {
	switch h {
	case byDesktop:
		return []string{"swk", "user"}
	case byPhone:
		return []string{"mca", "pwd", "user"}
	case byDesktopQR:
		return []string{"mca", "swk", "user"}
	default:
		return []string{"pwd"}
	}
}

// mintCode validates a sign-in and mints a code bound to app, exact
// redirect_uri, user and device (empty when a phone confirmed a QR code).
// A scan-free login (byDesktop) must be allowed by the app. The code,
// the device's last use and the audit event commit together. authTime is
// when the person authenticated (zero: now). It returns the code and the
// URL to send the browser to.
func (s *Server) mintCode(ctx context.Context, req deviceapi.SignInRequest, userID, deviceID string, h how, authTime time.Time) (string, string, *snsError) {
	app, ar, serr := s.validateSignIn(ctx, req, h == byDesktop)
	if serr != nil {
		return "", "", serr
	}
	now := s.now()
	if authTime.IsZero() {
		authTime = now
	}
	code := secret.Code()
	detail := "Signed in to " + app.Name
	if o := trimLen(req.Origin, 200); o != "" {
		detail += " from " + o
	}
	c := storage.Code{Hash: secret.Hash(code), AppID: app.AppID, RedirectURI: req.RedirectURI,
		UserID: userID, DeviceID: deviceID, Scope: req.Scope, CreatedAt: now, ExpiresAt: now.Add(s.cfg.CodeTTL), Face: storage.FaceWeChat}
	redirect := rules.RedirectURL(req.RedirectURI, code, req.State)
	if ar != nil {
		c.Face, c.Nonce, c.CodeChallenge, c.AuthTime, c.AMR = storage.FaceOIDC, ar.Nonce, ar.CodeChallenge, authTime, h.amr()
		c.AuthRequestID = ar.ID // one request, one code
		redirect = s.oidcRedirect(ar, "code", code)
		detail += " (OpenID Connect)"
	}
	switch err := s.store.CreateSignIn(ctx, c,
		storage.Event{UserID: userID, Kind: "signin", AppID: app.AppID, DeviceID: deviceID, Detail: detail, CreatedAt: now}); {
	case ar != nil && errors.Is(err, storage.ErrAlreadyUsed):
		return "", "", errOIDCRequestUsed
	case ar != nil && errors.Is(err, storage.ErrNotFound): // purged meanwhile
		return "", "", errOIDCRequestGone
	case err != nil:
		return "", "", s.sysErr(ctx, err)
	}
	s.metrics.minted.Inc()
	return code, redirect, nil
}

func (s *Server) handleDeviceSignOut(w http.ResponseWriter, r *http.Request, d storage.Device) {
	if err := s.store.RevokeDevice(r.Context(), d.ID, s.now()); err != nil {
		s.internalError(w, r, "device sign out", err)
		return
	}
	s.signin.Event(r.Context(), storage.Event{UserID: d.UserID, Kind: "device_revoked", DeviceID: d.ID, Detail: d.Name + " signed out"})
	writeJSON(w, http.StatusOK, snsErr(0, "ok"))
}
