package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/scanfree/scanfree/backend/storage"
	"github.com/scanfree/scanfree/internal/deviceapi"
	"github.com/scanfree/scanfree/internal/secret"
)

type grantView struct {
	storage.Grant
	AppName string
}

type accountView struct {
	Devices []storage.Device
	Grants  []grantView
	Signins []storage.Event
	// Desktops are the desktop approvals of the account, newest first: a
	// desktop someone tricked the person into approving shows up here.
	Desktops []storage.Event
	// DesktopApps are the programs on a desktop the person allowed to
	// sign them in (and perhaps to read their phone number).
	DesktopApps []deviceapi.AppConsent
	// Phone is the verified phone number's last digits, or "".
	Phone string
	// Guessed is set while the account's password sign-ins wait because
	// of many wrong passwords (see accountDelay); Alerts are those events.
	Guessed int
	Alerts  []storage.Event
}

func (s *Server) handleAccount(w http.ResponseWriter, r *http.Request) {
	u, ok := s.requireUser(w, r)
	if !ok {
		return
	}
	v, err := s.accountView(r.Context(), u.ID)
	if err != nil {
		s.log.Error("account page", "err", err)
		s.message(w, http.StatusInternalServerError, u, "Error", "Could not load your account; retry later.")
		return
	}
	s.render(w, http.StatusOK, "account", page{Title: "Your account", User: u, Data: v})
}

func (s *Server) accountView(ctx context.Context, userID string) (accountView, error) {
	var v accountView
	var err error
	if v.Devices, err = s.store.ListDevices(ctx, userID); err != nil {
		return v, err
	}
	grants, err := s.store.ListGrants(ctx, userID)
	if err != nil {
		return v, err
	}
	for _, g := range grants {
		name := g.AppID
		if app, err := s.store.GetApp(ctx, g.AppID); err == nil {
			name = app.Name
		}
		v.Grants = append(v.Grants, grantView{Grant: g, AppName: name})
	}
	if v.Desktops, err = s.store.ListEvents(ctx, userID, "device_approved", 10); err != nil {
		return v, err
	}
	if v.DesktopApps, err = s.consents(ctx, userID); err != nil {
		return v, err
	}
	v.Phone = s.phoneEnd(ctx, userID)
	if v.Alerts, err = s.store.ListEvents(ctx, userID, "password_throttled", 5); err != nil {
		return v, err
	}
	if u, err := s.store.GetUser(ctx, userID); err == nil {
		if n, err := s.accountFailures(ctx, u.Username); err == nil && accountDelay(n) > 0 {
			v.Guessed = n
		}
	}
	v.Signins, err = s.store.ListEvents(ctx, userID, "signin", 20)
	return v, err
}

// phoneEnd shows a verified phone number as its last four digits.
func (s *Server) phoneEnd(ctx context.Context, userID string) string {
	u, err := s.store.GetUser(ctx, userID)
	if err != nil || u.PhoneSealed == nil || !s.oidcOn() {
		return ""
	}
	plain, err := secret.Open(s.cfg.DataKey, storage.PhonePurpose, u.PhoneSealed, []byte(u.ID))
	var p storage.Phone
	if err != nil || json.Unmarshal(plain, &p) != nil || len(p.Pure) < 4 {
		return ""
	}
	return "+" + p.CountryCode + " ···" + p.Pure[len(p.Pure)-4:]
}

// handleForgetDesktopApp withdraws a desktop app's consent from the
// account page.
func (s *Server) handleForgetDesktopApp(w http.ResponseWriter, r *http.Request) {
	u, ok := s.requireUser(w, r)
	if !ok {
		return
	}
	if err := s.forgetApp(r.Context(), u.ID, r.PathValue("appid"), "the account page"); err != nil {
		s.log.Error("forget desktop app", "err", err)
		s.message(w, http.StatusInternalServerError, u, "Error", "Could not withdraw the app; retry later.")
		return
	}
	http.Redirect(w, r, "/account", http.StatusSeeOther)
}

// handleRevokeApp takes back what the person gave an app: its tokens
// stop working and its pending codes no longer redeem.
func (s *Server) handleRevokeApp(w http.ResponseWriter, r *http.Request) {
	u, ok := s.requireUser(w, r)
	if !ok {
		return
	}
	appID := r.PathValue("appid")
	// Revoking an app takes back its desktop-app consent too, in one step.
	if err := s.store.RevokeGrant(r.Context(), u.ID, appID, s.now()); err != nil {
		s.log.Error("revoke app", "err", err)
		s.message(w, http.StatusInternalServerError, u, "Error", "Could not revoke the app; retry later.")
		return
	}
	s.signin.Event(r.Context(), storage.Event{UserID: u.ID, Kind: "app_revoked", AppID: appID, Detail: s.appName(r.Context(), appID) + " revoked on the account page"})
	http.Redirect(w, r, "/account", http.StatusSeeOther)
}

func (s *Server) handleRevokeDevice(w http.ResponseWriter, r *http.Request) {
	u, ok := s.requireUser(w, r)
	if !ok {
		return
	}
	d, err := s.store.GetDevice(r.Context(), r.PathValue("id"))
	if errors.Is(err, storage.ErrNotFound) || (err == nil && d.UserID != u.ID) {
		s.message(w, http.StatusNotFound, u, "No such device", "That device is not enrolled to your account.")
		return
	}
	if err == nil {
		err = s.store.RevokeDevice(r.Context(), d.ID, s.now())
	}
	if err != nil {
		s.log.Error("revoke device", "err", err)
		s.message(w, http.StatusInternalServerError, u, "Error", "Could not revoke the device; retry later.")
		return
	}
	s.signin.Event(r.Context(), storage.Event{UserID: u.ID, Kind: "device_revoked", DeviceID: d.ID, Detail: d.Name + " revoked on the account page"})
	http.Redirect(w, r, "/account", http.StatusSeeOther)
}

// devicePageData fills the user_code form and its confirmation.
type devicePageData struct {
	UserCode string
	// FromLink is set when the code came in the page's URL: someone may
	// have sent the link (device-code phishing), so the page warns.
	FromLink bool
	Auth     storage.DeviceAuth
	// SameAddress reports whether the enrolment was started from the
	// address the person approves from; Age is how long ago it started.
	SameAddress bool
	Age         string
}

func (s *Server) handleDevicePage(w http.ResponseWriter, r *http.Request) {
	u, ok := s.requireUser(w, r)
	if !ok {
		return
	}
	s.render(w, http.StatusOK, "device", page{Title: "Sign in a desktop", User: u,
		Data: devicePageData{UserCode: trimLen(r.URL.Query().Get("user_code"), 20), FromLink: r.URL.Query().Get("user_code") != ""}})
}

// lookupUserCode finds the pending authorization of a typed user_code.
// Wrong codes count against the account and the client address; after
// five within a code's lifetime both are locked out, which caps guessing
// at 5 tries per 10 minutes against 20^8 codes.
func (s *Server) lookupUserCode(w http.ResponseWriter, r *http.Request, u *storage.User) (storage.DeviceAuth, bool) {
	typed := trimLen(r.PostFormValue("user_code"), 20)
	ip := s.clientKey(r)
	// Reserved before the lookup, so a burst of wrong codes cannot all be
	// looked up before the first one counted; a valid code gives it back.
	ok, err := reserve(r.Context(), s.codeUser, u.ID, s.codeIP, ip)
	if err != nil {
		s.message(w, http.StatusServiceUnavailable, u, "Try again", errUnavailable.Error())
		return storage.DeviceAuth{}, false
	}
	if !ok {
		s.render(w, http.StatusTooManyRequests, "device", page{Title: "Sign in a desktop", User: u,
			Error: "Too many wrong codes. Wait 10 minutes, then start again on your desktop.", Data: devicePageData{UserCode: typed}})
		return storage.DeviceAuth{}, false
	}
	var da storage.DeviceAuth
	code, valid := secret.NormalizeUserCode(typed)
	if valid {
		da, err = s.store.GetDeviceAuthByUserCode(r.Context(), code)
		valid = err == nil && da.Status == storage.DeviceAuthPending && s.now().Before(da.ExpiresAt)
	}
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		s.log.Error("device lookup", "err", err)
		s.message(w, http.StatusInternalServerError, u, "Error", "Could not look up the code; retry later.")
		return da, false
	}
	if !valid {
		s.render(w, http.StatusBadRequest, "device", page{Title: "Sign in a desktop", User: u,
			Error: "That code is not valid or has expired. Check the code your desktop shows.", Data: devicePageData{UserCode: typed}})
		return da, false
	}
	s.codeUser.Release(r.Context(), u.ID)
	s.codeIP.Release(r.Context(), ip)
	return da, true
}

func (s *Server) handleDeviceLookup(w http.ResponseWriter, r *http.Request) {
	u, ok := s.requireUser(w, r)
	if !ok {
		return
	}
	da, ok := s.lookupUserCode(w, r, u)
	if !ok {
		return
	}
	s.render(w, http.StatusOK, "device_confirm", page{Title: "Sign in a desktop?", User: u,
		Data: devicePageData{UserCode: secret.FormatUserCode(da.UserCode), Auth: da, SameAddress: da.RequestIP == s.clientIP(r),
			Age: s.now().Sub(da.CreatedAt).Round(time.Second).String()}})
}

func (s *Server) handleDeviceDecide(w http.ResponseWriter, r *http.Request) {
	u, ok := s.requireUser(w, r)
	if !ok {
		return
	}
	da, ok := s.lookupUserCode(w, r, u)
	if !ok {
		return
	}
	approve := r.PostFormValue("decision") == "approve"
	err := s.store.DecideDeviceAuth(r.Context(), da.UserCode, u.ID, approve)
	if errors.Is(err, storage.ErrNotPending) {
		s.message(w, http.StatusConflict, u, "Already decided", "This code was approved or denied already.")
		return
	}
	if err != nil {
		s.log.Error("device decide", "err", err)
		s.message(w, http.StatusInternalServerError, u, "Error", "Could not record your answer; retry later.")
		return
	}
	if approve {
		s.signin.Event(r.Context(), storage.Event{UserID: u.ID, Kind: "device_approved",
			Detail: da.DeviceName + " (" + da.OS + "), started from " + da.RequestIP + ", approved from " + s.clientIP(r)})
		s.message(w, http.StatusOK, u, "Desktop approved", da.DeviceName+" is now signed in as "+u.Nickname+". You can return to your desktop.")
		return
	}
	s.signin.Event(r.Context(), storage.Event{UserID: u.ID, Kind: "device_denied", Detail: da.DeviceName + " (" + da.OS + ") denied"})
	s.message(w, http.StatusOK, u, "Desktop denied", "The sign-in of "+da.DeviceName+" was denied. Nothing was enrolled.")
}
