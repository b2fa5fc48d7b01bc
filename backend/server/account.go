package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

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
	Signins []signinView
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
	// TOTP is whether an authenticator app is set up, with RecoveryLeft
	// of its recovery codes unspent.
	TOTP         bool
	RecoveryLeft int
	// PasswordAlone is whether a password alone signs in here (the
	// server's password policy is on).
	PasswordAlone bool
	// Passkeys are the person's passkeys, oldest first.
	Passkeys []passkeyView
}

// passkeyView is a passkey as the account page and the console list it.
type passkeyView struct {
	storage.Passkey
	Ref string // its id in URLs
}

func passkeyViews(pks []storage.Passkey) []passkeyView {
	out := make([]passkeyView, 0, len(pks))
	for _, p := range pks {
		out = append(out, passkeyView{Passkey: p, Ref: passkeyID(p.ID)})
	}
	return out
}

func (s *Server) handleAccount(w http.ResponseWriter, r *http.Request) {
	u, ok := s.requireUser(w, r)
	if !ok {
		return
	}
	v, err := s.accountView(r.Context(), consoleLang(nil, r), u.ID)
	if err != nil {
		s.log.Error("account page", "err", err)
		s.message(w, r, http.StatusInternalServerError, u, "Error", "Could not load your account; retry later.")
		return
	}
	s.render(w, r, http.StatusOK, "account", page{Title: "Your account", User: u, Data: v})
}

func (s *Server) accountView(ctx context.Context, lang, userID string) (accountView, error) {
	v := accountView{PasswordAlone: s.serverPolicy() == storage.PasswordOn}
	var err error
	if v.Devices, err = s.store.ListDevices(ctx, userID); err != nil {
		return v, err
	}
	if v.Grants, err = s.grantViews(ctx, lang, userID); err != nil {
		return v, err
	}
	if v.Desktops, err = s.store.ListEvents(ctx, userID, "device_approved", 10); err != nil {
		return v, err
	}
	if v.DesktopApps, err = s.consents(ctx, userID); err != nil {
		return v, err
	}
	v.Phone = s.phoneEnd(ctx, userID)
	if v.Alerts, err = s.store.QueryEvents(ctx, storage.EventQuery{UserID: userID, Kinds: []string{"password_throttled", "alert"}, Limit: 10}); err != nil {
		return v, err
	}
	if u, err := s.store.GetUser(ctx, userID); err == nil {
		if n, err := s.accountFailures(ctx, u.Username); err == nil && accountDelay(n) > 0 {
			v.Guessed = n
		}
	}
	if v.TOTP, err = s.hasTOTP(ctx, userID); err != nil {
		return v, err
	}
	if v.TOTP {
		if v.RecoveryLeft, err = s.store.RecoveryCodesLeft(ctx, userID); err != nil {
			return v, err
		}
	}
	pks, err := s.store.ListPasskeys(ctx, userID)
	if err != nil {
		return v, err
	}
	v.Passkeys = passkeyViews(pks)
	signins, err := s.store.ListEvents(ctx, userID, "signin", 20)
	v.Signins = s.signinViews(ctx, lang, signins, v.Devices)
	return v, err
}

// grantViews are userID's grants with their apps' names in lang.
func (s *Server) grantViews(ctx context.Context, lang, userID string) ([]grantView, error) {
	grants, err := s.store.ListGrants(ctx, userID)
	if err != nil {
		return nil, err
	}
	var out []grantView
	for _, g := range grants {
		out = append(out, grantView{Grant: g, AppName: s.appNameIn(ctx, lang, g.AppID)})
	}
	return out, nil
}

// phoneEnd shows a verified phone number as its last four digits.
func (s *Server) phoneEnd(ctx context.Context, userID string) string {
	u, err := s.store.GetUser(ctx, userID)
	if err != nil || u.PhoneSealed == nil || !s.dataKeyLoaded() {
		return ""
	}
	plain, err := secret.Open(s.cfg.DataKey, secret.PurposePhone, u.PhoneSealed, []byte(u.ID))
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
		s.message(w, r, http.StatusInternalServerError, u, "Error", "Could not withdraw the app; retry later.")
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
	if err := s.signin.RevokeApp(r.Context(), u.ID, appID, s.appName(r.Context(), appID)+" revoked on the account page"); err != nil {
		s.log.Error("revoke app", "err", err)
		s.message(w, r, http.StatusInternalServerError, u, "Error", "Could not revoke the app; retry later.")
		return
	}
	http.Redirect(w, r, "/account", http.StatusSeeOther)
}

// handleSignOutEverywhere ends every sign-in of the person, this browser's
// included: her desktops sign in again with `scanfreed login`.
func (s *Server) handleSignOutEverywhere(w http.ResponseWriter, r *http.Request) {
	u, ok := s.requireUser(w, r)
	if !ok {
		return
	}
	if err := s.signin.SignOutEverywhere(r.Context(), u.ID, "signed out everywhere from the account page"); err != nil {
		s.log.Error("sign out everywhere", "err", err)
		s.message(w, r, http.StatusInternalServerError, u, "Error", "Could not sign you out; retry later.")
		return
	}
	s.clearSession(w)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

func (s *Server) handleRevokeDevice(w http.ResponseWriter, r *http.Request) {
	u, ok := s.requireUser(w, r)
	if !ok {
		return
	}
	d, err := s.store.GetDevice(r.Context(), r.PathValue("id"))
	if errors.Is(err, storage.ErrNotFound) || (err == nil && d.UserID != u.ID) {
		s.message(w, r, http.StatusNotFound, u, "No such device", "That device is not enrolled to your account.")
		return
	}
	if err == nil {
		err = s.signin.RevokeDevice(r.Context(), d, d.Name+" revoked on the account page")
	}
	if err != nil {
		s.log.Error("revoke device", "err", err)
		s.message(w, r, http.StatusInternalServerError, u, "Error", "Could not revoke the device; retry later.")
		return
	}
	http.Redirect(w, r, "/account", http.StatusSeeOther)
}

// handleRenameDevice names one of the person's desktops: two laptops
// called "ubuntu" are told apart by what she calls them.
func (s *Server) handleRenameDevice(w http.ResponseWriter, r *http.Request) {
	s.renameOwn(w, r, renaming{title: "Signed-in desktops", empty: "Give the desktop a name.",
		gone: "That device is not enrolled to your account.", rename: func(ctx context.Context, userID, name string) error {
			return s.store.RenameDevice(ctx, userID, r.PathValue("id"), name)
		}})
}

// renaming is what renameOwn renames, and what it says when it cannot.
type renaming struct {
	title, empty, gone string
	rename             func(ctx context.Context, userID, name string) error // storage.ErrNotFound: not hers
}

// renameOwn renames one of the signed-in person's things (a desktop, a
// passkey) to the form's name, and goes back to her account page.
func (s *Server) renameOwn(w http.ResponseWriter, r *http.Request, what renaming) {
	u, ok := s.requireUser(w, r)
	if !ok {
		return
	}
	name := trimLen(strings.TrimSpace(r.PostFormValue("name")), 60)
	if name == "" {
		s.message(w, r, http.StatusBadRequest, u, what.title, what.empty)
		return
	}
	switch err := what.rename(r.Context(), u.ID, name); {
	case errors.Is(err, storage.ErrNotFound):
		s.message(w, r, http.StatusNotFound, u, what.title, what.gone)
		return
	case err != nil:
		s.log.ErrorContext(r.Context(), "rename", "what", what.title, "err", err)
		s.message(w, r, http.StatusServiceUnavailable, u, what.title, "Could not rename it; retry later.")
		return
	}
	http.Redirect(w, r, "/account", http.StatusSeeOther)
}
