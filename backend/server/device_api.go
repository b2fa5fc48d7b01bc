package server

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/scanfree/scanfree/backend/storage"
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

// internalError logs err and answers the device API's 500.
func (s *Server) internalError(w http.ResponseWriter, r *http.Request, op string, err error) {
	s.log.ErrorContext(r.Context(), op, "err", err)
	writeJSON(w, http.StatusInternalServerError, snsErr(errSystem, "system error, retry later"))
}

func (s *Server) deviceUnauthorized(w http.ResponseWriter, msg string) {
	w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	writeJSON(w, http.StatusUnauthorized, snsErr(errNotSignedIn, msg))
}

// DeviceMe is the answer of GET /api/v1/device/me.
type DeviceMe struct {
	DeviceID   string `json:"device_id"`
	DeviceName string `json:"device_name"`
	OS         string `json:"os"`
	Username   string `json:"username"`
	Nickname   string `json:"nickname"`
	HeadImgURL string `json:"headimgurl"`
}

func (s *Server) handleDeviceMe(w http.ResponseWriter, r *http.Request, d storage.Device) {
	u, err := s.store.GetUser(r.Context(), d.UserID)
	if err != nil {
		s.internalError(w, r, "device me", err)
		return
	}
	writeJSON(w, http.StatusOK, DeviceMe{DeviceID: d.ID, DeviceName: d.Name, OS: d.OS,
		Username: u.Username, Nickname: u.Nickname, HeadImgURL: u.AvatarURL})
}

// AppInfo is the public view of an app.
type AppInfo struct {
	AppID     string `json:"appid"`
	Name      string `json:"name"`
	Icon      string `json:"icon"`
	FastLogin bool   `json:"fast_login"`
}

func (s *Server) handleAppInfo(w http.ResponseWriter, r *http.Request, _ storage.Device) {
	app, err := s.store.GetApp(r.Context(), r.PathValue("appid"))
	if errors.Is(err, storage.ErrNotFound) {
		writeJSON(w, http.StatusNotFound, snsErr(errInvalidAppID, "invalid appid"))
		return
	}
	if err != nil {
		s.internalError(w, r, "app info", err)
		return
	}
	writeJSON(w, http.StatusOK, AppInfo{AppID: app.AppID, Name: app.Name, Icon: app.IconURL, FastLogin: app.FastLogin})
}

// AuthorizeRequest is the body of POST /api/v1/device/authorize.
type AuthorizeRequest struct {
	AppID       string `json:"appid"`
	Scope       string `json:"scope"`
	RedirectURI string `json:"redirect_uri"`
	State       string `json:"state"`
	Origin      string `json:"origin"` // the page that asked the daemon; recorded in the audit log
}

// AuthorizeResponse is its answer on success.
type AuthorizeResponse struct {
	RedirectURL string `json:"redirect_url"`
}

func (s *Server) handleDeviceAuthorize(w http.ResponseWriter, r *http.Request, d storage.Device) {
	var req AuthorizeRequest
	if err := decodeJSON(w, r, &req); err != nil {
		writeJSON(w, http.StatusBadRequest, snsErr(errBackendRefused, err.Error()))
		return
	}
	_, redirect, serr := s.mintCode(r.Context(), req, d.UserID, d.ID, true)
	if serr != nil {
		status := http.StatusBadRequest
		if serr.Code == errSystem {
			status = http.StatusInternalServerError
		}
		writeJSON(w, status, serr)
		return
	}
	writeJSON(w, http.StatusOK, AuthorizeResponse{RedirectURL: redirect})
}

// mintCode validates a sign-in and mints a code bound to app, exact
// redirect_uri, user and device (empty when a phone confirmed a QR code).
// fast says it is a scan-free login, which the app must allow. It returns
// the code and the URL to send the browser to.
func (s *Server) mintCode(ctx context.Context, req AuthorizeRequest, userID, deviceID string, fast bool) (string, string, *snsError) {
	app, err := s.store.GetApp(ctx, req.AppID)
	if errors.Is(err, storage.ErrNotFound) {
		return "", "", snsErr(errBackendRefused, "invalid appid")
	}
	if err != nil {
		return "", "", s.sysErr(ctx, err)
	}
	if fast && !app.FastLogin {
		return "", "", snsErr(errQROnly, "this app allows QR login only")
	}
	for _, check := range []error{ValidateRedirectURI(app, req.RedirectURI), ValidateScope(req.Scope), ValidateState(req.State)} {
		if check != nil {
			return "", "", snsErr(errBackendRefused, check.Error())
		}
	}
	now := s.now()
	code := secret.Code()
	if err := s.store.CreateCode(ctx, storage.Code{Hash: secret.Hash(code), AppID: app.AppID, RedirectURI: req.RedirectURI,
		UserID: userID, DeviceID: deviceID, Scope: req.Scope, CreatedAt: now, ExpiresAt: now.Add(s.cfg.CodeTTL)}); err != nil {
		return "", "", s.sysErr(ctx, err)
	}
	if deviceID != "" {
		if err := s.store.TouchDevice(ctx, deviceID, now); err != nil {
			s.log.WarnContext(ctx, "touch device", "err", err)
		}
	}
	detail := "Signed in to " + app.Name
	if o := trimLen(req.Origin, 200); o != "" {
		detail += " from " + o
	}
	s.event(ctx, storage.Event{UserID: userID, Kind: "signin", AppID: app.AppID, DeviceID: deviceID, Detail: detail, CreatedAt: now})
	return code, RedirectURL(req.RedirectURI, code, req.State), nil
}

func (s *Server) handleDeviceSignOut(w http.ResponseWriter, r *http.Request, d storage.Device) {
	if err := s.store.RevokeDevice(r.Context(), d.ID, s.now()); err != nil {
		s.internalError(w, r, "device sign out", err)
		return
	}
	s.event(r.Context(), storage.Event{UserID: d.UserID, Kind: "device_revoked", DeviceID: d.ID, Detail: d.Name + " signed out"})
	writeJSON(w, http.StatusOK, snsErr(0, "ok"))
}
