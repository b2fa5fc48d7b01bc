package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"time"

	"github.com/scanfree/scanfree/daemon/broker"
	"github.com/scanfree/scanfree/daemon/control"
	"github.com/scanfree/scanfree/daemon/idp"
	"github.com/scanfree/scanfree/daemon/localapi"
	"github.com/scanfree/scanfree/daemon/peer"
	"github.com/scanfree/scanfree/internal/deviceapi"
)

// Desktop apps on this computer sign in through the daemon as WeChat
// mini-programs do through wx.login (see package deviceapi): a program
// asks over the control socket, which only this OS user can reach (the
// peer's UID is checked on every connection). The first time for an app
// the person is asked in the dialog; the backend remembers the consent
// per app, and later codes are silent until the person forgets the app
// (`scanfreed apps forget`, the account page).

var appIDRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// appReply is an errcode answer.
func appReply(code int, msg string) control.AppReply {
	return control.AppReply{ErrCode: code, ErrMsg: msg}
}

// appGate refuses while scan-free login may not be used: paused, locked
// or signed out, with the local API's errcodes.
func (d *Daemon) appGate(appID string) (control.AppReply, bool) {
	switch {
	case !appIDRE.MatchString(appID):
		return appReply(deviceapi.CodeMalformed, "appid missing or malformed"), false
	case d.Closed() != "":
		return appReply(deviceapi.CodeLocked, "scan-free login is paused or the screen is locked"), false
	case !d.idp.SignedIn():
		return appReply(deviceapi.CodeSignedOut, "this desktop is not signed in; run `scanfreed login`"), false
	}
	return control.AppReply{}, true
}

// appErr maps a backend or broker failure to the reply's errcode.
func (d *Daemon) appErr(err error) control.AppReply {
	var re *idp.RefusedError
	switch {
	case errors.Is(err, idp.ErrSignedOut):
		return appReply(deviceapi.CodeSignedOut, "this desktop is not signed in; run `scanfreed login`")
	case errors.As(err, &re):
		return appReply(re.Code, re.Msg)
	case errors.Is(err, broker.ErrBusy):
		return appReply(deviceapi.CodeBusy, "another confirmation is pending")
	case errors.Is(err, broker.ErrCooldown):
		return appReply(deviceapi.CodeRateLimited, "declined moments ago; try again later")
	}
	d.log.Warn("desktop app", "err", err)
	return appReply(deviceapi.CodeUnreachable, "the identity backend cannot be reached")
}

// needsConsent returns what the backend's request for the person's
// consent carries (the app and the account), if err is one.
func needsConsent(err error) (*deviceapi.AppConsentNeeded, bool) {
	var re *idp.RefusedError
	if !errors.As(err, &re) || re.Code != deviceapi.CodeConsent {
		return nil, false
	}
	return re.Consent, true
}

// askApp raises the dialog for a desktop app's request, with the app and
// account the backend's consent answer need carries (fetched again only
// when it carries none), and returns the refusal to answer, or ok when
// the person allowed it.
func (d *Daemon) askApp(ctx context.Context, appID string, need *deviceapi.AppConsentNeeded, kind, program, detail string) (control.AppReply, bool) {
	var app idp.App
	var account string
	if need != nil && need.App.AppID == appID {
		app, account = need.App, need.Account
	} else {
		var err error
		if app, err = d.idp.App(ctx, appID); err != nil {
			return d.appErr(err), false
		}
		p, err := d.idp.Fresh(ctx)
		if err != nil {
			return d.appErr(err), false
		}
		account = p.Nickname
	}
	if program == "" {
		program = "a program on this computer"
	}
	// The cooldown after a refusal is per app, not per program: a program
	// cannot re-ask under another name.
	dec, err := d.broker.Ask(ctx, broker.Request{AppID: app.AppID, AppName: app.Name, AppIcon: app.Icon, Origin: program,
		RedirectHost: "this computer", Scope: detail, Account: account, Kind: kind, CooldownKey: "app:" + app.AppID})
	if err != nil {
		return d.appErr(err), false
	}
	switch dec {
	case broker.Allow:
		return control.AppReply{}, true
	case broker.Deny:
		return appReply(deviceapi.CodeDenied, "the person declined"), false
	default:
		return appReply(deviceapi.CodeTimeout, "the confirmation timed out"), false
	}
}

// AppCode returns a login code for the desktop app appID (wx.login).
func (d *Daemon) AppCode(ctx context.Context, appID, program string) control.AppReply {
	if r, ok := d.appGate(appID); !ok {
		return r
	}
	code, err := d.idp.AppCode(ctx, deviceapi.AppCodeRequest{AppID: appID})
	if need, ok := needsConsent(err); ok {
		if r, ok := d.askApp(ctx, appID, need, broker.KindApp, program, "sign-in"); !ok {
			return r
		}
		code, err = d.idp.AppCode(ctx, deviceapi.AppCodeRequest{AppID: appID, Consent: true})
	}
	if err != nil {
		return d.appErr(err)
	}
	d.signedIn(localapi.SignIn{AppID: appID, AppName: code.AppName, Origin: "desktop app", Account: d.accountName(), At: time.Now()})
	return control.AppReply{Code: code.Code, ExpiresIn: code.ExpiresIn, AppName: code.AppName}
}

// AppUserData returns the person's data for appID, encrypted by the
// backend under the app's session_key; with phone, their phone number
// once the person allows it for this app.
func (d *Daemon) AppUserData(ctx context.Context, appID string, phone bool, program string) control.AppReply {
	if r, ok := d.appGate(appID); !ok {
		return r
	}
	data, err := d.idp.AppData(ctx, deviceapi.AppDataRequest{AppID: appID, Phone: phone})
	if need, ok := needsConsent(err); phone && ok {
		if r, ok := d.askApp(ctx, appID, need, broker.KindPhone, program, "your verified phone number"); !ok {
			return r
		}
		data, err = d.idp.AppData(ctx, deviceapi.AppDataRequest{AppID: appID, Phone: true, ConsentPhone: true})
	}
	if err != nil {
		return d.appErr(err)
	}
	b, _ := json.Marshal(data)
	return control.AppReply{Data: b}
}

// AppSession answers 0 while appID's session_key is live (wx.checkSession).
func (d *Daemon) AppSession(ctx context.Context, appID string) control.AppReply {
	if r, ok := d.appGate(appID); !ok {
		return r
	}
	if err := d.idp.AppSession(ctx, appID); err != nil {
		return d.appErr(err)
	}
	return control.AppReply{}
}

// appRoutes adds the desktop apps' control routes to mux.
func (d *Daemon) appRoutes(mux *http.ServeMux) {
	type appIn struct {
		AppID string `json:"appid"`
		Phone bool   `json:"phone"`
	}
	read := func(w http.ResponseWriter, r *http.Request) (appIn, bool) {
		var in appIn
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&in); err != nil {
			writeJSON(w, http.StatusOK, appReply(deviceapi.CodeMalformed, "malformed request: "+err.Error()))
			return in, false
		}
		return in, true
	}
	mux.HandleFunc("POST /v0/apps/code", func(w http.ResponseWriter, r *http.Request) {
		if in, ok := read(w, r); ok {
			writeJSON(w, http.StatusOK, d.AppCode(r.Context(), in.AppID, peer.Program(r)))
		}
	})
	mux.HandleFunc("POST /v0/apps/userdata", func(w http.ResponseWriter, r *http.Request) {
		if in, ok := read(w, r); ok {
			writeJSON(w, http.StatusOK, d.AppUserData(r.Context(), in.AppID, in.Phone, peer.Program(r)))
		}
	})
	mux.HandleFunc("POST /v0/apps/session", func(w http.ResponseWriter, r *http.Request) {
		if in, ok := read(w, r); ok {
			writeJSON(w, http.StatusOK, d.AppSession(r.Context(), in.AppID))
		}
	})
	mux.HandleFunc("GET /v0/apps", func(w http.ResponseWriter, r *http.Request) {
		list, err := d.idp.AppConsents(r.Context())
		if err != nil {
			writeErr(w, http.StatusBadGateway, "list apps: "+d.appErr(err).ErrMsg)
			return
		}
		out := []control.AppConsent{}
		for _, c := range list {
			out = append(out, control.AppConsent{AppID: c.AppID, AppName: c.AppName, LoginAt: c.LoginAt, PhoneAt: c.PhoneAt})
		}
		writeJSON(w, http.StatusOK, out)
	})
	mux.HandleFunc("DELETE /v0/apps/{appid}", func(w http.ResponseWriter, r *http.Request) {
		if err := d.idp.ForgetApp(r.Context(), r.PathValue("appid")); err != nil {
			writeErr(w, http.StatusBadGateway, "forget app: "+d.appErr(err).ErrMsg)
			return
		}
		writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
	})
}
