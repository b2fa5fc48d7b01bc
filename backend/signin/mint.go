package signin

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/scanfree/scanfree/backend/rules"
	"github.com/scanfree/scanfree/backend/storage"
	"github.com/scanfree/scanfree/internal/secret"
)

// More reasons of a Refusal, for checking and minting.
const (
	// UnknownApp: no app has the appid.
	UnknownApp Reason = iota + 100
	// QROnly: the app does not allow scan-free sign-in.
	QROnly
	// BadRequest: the redirect_uri, scope or state break the app's rules,
	// or do not match the OpenID Connect request they came with.
	BadRequest
	// RequestGone: the OpenID Connect request expired or is unknown.
	RequestGone
	// RequestUsed: the OpenID Connect request gave its one code already.
	RequestUsed
	// UserDisabled: an operator disabled the person's account.
	UserDisabled
	// AppDisabled: an operator disabled the app.
	AppDisabled
	// Fenced: the app may not be signed in to from the client's address
	// or country (storage.Fence).
	Fenced
	// NotInGroup: the app is for members of directory groups the person
	// is in none of (storage.Fence.Groups).
	NotInGroup
	// DeviceShort: the desktop it came through falls short of the app's
	// device policy (storage.Fence.Device).
	DeviceShort
)

// reasons name the refusals in the sign-in log (storage.Event.Reason).
var reasons = map[Reason]string{UnknownApp: "unknown_app", QROnly: "qr_only", BadRequest: "refused_request", RequestGone: "request_gone",
	RequestUsed: "request_used", UserDisabled: "disabled", AppDisabled: "app_disabled", Mismatch: "refused_request", Fenced: "fence",
	NotInGroup: "group", DeviceShort: "device"}

// Name is the refusal's reason as the sign-in log records it.
func (r *Refusal) Name() string {
	if n, ok := reasons[r.Reason]; ok {
		return n
	}
	return "refused"
}

// Request is a sign-in as the hosted page, the daemon or a QR ticket
// carries it. OIDC is the OpenID Connect request its state names,
// decoded by the face (nil: a WeChat sign-in); the core never reads the
// state handle.
type Request struct {
	AppID, RedirectURI, Scope, State string
	OIDC                             *storage.AuthRequest
}

// How is how a person confirmed a sign-in; it is the id_token's amr.
type How int

// Ways to confirm.
const (
	ByDesktop   How = iota // the daemon's native dialog on an enrolled desktop
	ByPhone                // a phone, signed in with its password, confirmed a QR code
	ByDesktopQR            // `scanfreed approve` confirmed a QR code
	ByPassword             // the password form of the hosted pages
	// ByPasswordTOTP: the password form, then an authenticator code (or
	// a recovery code).
	ByPasswordTOTP
	// ByUpstream: a connector's provider (OpenID Connect, WeChat) vouched
	// for her. How it authenticated her is its own: no amr is claimed.
	ByUpstream
	// ByPasskey: a passkey bound to its authenticator (not backup
	// eligible: a security key, a TPM), unlocked by the person.
	ByPasskey
	// ByPasskeySynced: a passkey its platform may copy to the person's
	// other devices (backup eligible), unlocked by the person.
	ByPasskeySynced
)

// howNames name each How in a web session (storage.Session.Method).
var howNames = map[How]string{ByDesktop: "desktop", ByPhone: "phone", ByDesktopQR: "desktop_qr", ByPassword: "password",
	ByPasswordTOTP: "password_totp", ByUpstream: "upstream", ByPasskey: "passkey", ByPasskeySynced: "passkey_synced"}

// Name is h as a web session keeps it.
func (h How) Name() string { return howNames[h] }

// HowNamed is the How a web session names; a session from before names
// were kept (or an unknown name) is taken as the weakest, a password.
func HowNamed(name string) How {
	for h, n := range howNames {
		if n == name {
			return h
		}
	}
	return ByPassword
}

// PasswordOnly reports whether h is a password and nothing else: what
// the password policy's second-factor setting does not take.
func (h How) PasswordOnly() bool { return h == ByPassword }

// Method is h as the sign-in log names it.
func (h How) Method() string {
	switch h {
	case ByDesktop:
		return storage.MethodScanFree
	case ByPhone, ByDesktopQR:
		return storage.MethodQR
	case ByUpstream:
		return storage.MethodUpstream
	case ByPasskey, ByPasskeySynced:
		return storage.MethodPasskey
	}
	return storage.MethodPassword
}

// AMR returns RFC 8176 values. The desktop dialog is a user-presence test
// ("user") on a desktop that proves a key it was enrolled with ("swk": its
// device credential, a software-held secret). A QR confirmation crosses a
// second channel ("mca"): on a phone signed in with a password ("pwd"), or
// through the desktop's credential ("swk"). A passkey proves a key
// ("hwk" when bound to its authenticator, "swk" when its platform syncs
// it) after the authenticator verified the person (fingerprint, face or
// PIN: which, it does not say, so "user"); two factors, so "mfa".
func (h How) AMR() []string {
	switch h {
	case ByDesktop:
		return []string{"swk", "user"}
	case ByPhone:
		return []string{"mca", "pwd", "user"}
	case ByDesktopQR:
		return []string{"mca", "swk", "user"}
	case ByUpstream:
		return nil
	case ByPasswordTOTP:
		return []string{"mfa", "otp", "pwd"}
	case ByPasskey:
		return []string{"hwk", "mfa", "user"}
	case ByPasskeySynced:
		return []string{"mfa", "swk", "user"}
	default:
		return []string{"pwd"}
	}
}

// Check validates a sign-in, wherever it starts: the app exists, allows
// scan-free sign-in when fast, and registered the redirect_uri; scope and
// state are well formed. With an OpenID Connect request, the request must
// be waiting (not expired, not used) and match appid, redirect_uri and
// scope, and the app's current OIDC rules apply.
func (s *Service) Check(ctx context.Context, req Request, fast bool) (storage.App, error) {
	app, err := s.store.GetApp(ctx, req.AppID)
	if errors.Is(err, storage.ErrNotFound) {
		return app, refuse(UnknownApp, "invalid appid")
	}
	if err != nil {
		return app, fmt.Errorf("check sign-in: %w", err)
	}
	if !app.Active() {
		return app, refuse(AppDisabled, "%s was disabled by its operator: nobody can sign in to it now", app.Name)
	}
	if fast && !app.FastLogin {
		return app, refuse(QROnly, "this app allows QR login only")
	}
	ar := req.OIDC
	if ar == nil {
		if err := rules.SignIn(app, req.RedirectURI, req.Scope, req.State); err != nil {
			return app, refuse(BadRequest, "%s", err.Error())
		}
		return app, nil
	}
	switch {
	case !s.cfg.Now().Before(ar.ExpiresAt):
		return app, errRequestGone
	case !ar.UsedAt.IsZero():
		return app, errRequestUsed
	case ar.ClientID != app.AppID || ar.RedirectURI != req.RedirectURI || ar.Scope != req.Scope:
		return app, refuse(BadRequest, "the sign-in request does not match its appid, redirect_uri and scope")
	}
	// The app's registration may have changed since the request was made.
	if err := rules.OIDCRedirectURI(app, ar.RedirectURI); err != nil {
		return app, refuse(BadRequest, "%s", err.Error())
	}
	return app, nil
}

var (
	errRequestGone = refuse(RequestGone, "this sign-in request expired or is unknown; go back to the site and sign in again")
	errRequestUsed = refuse(RequestUsed, "this sign-in request was completed already; go back to the site and sign in again")
)

// Grant is a confirmed sign-in to mint a code for.
type Grant struct {
	Request
	UserID   string
	DeviceID string // the enrolled desktop that confirmed; "" for a phone or a password
	// Device is that desktop as the caller read it (nil: read when the
	// app's device policy needs it).
	Device   *storage.Device
	How      How
	AuthTime time.Time // when the person authenticated; zero: now
	Origin   string    // where it came from, for the audit log ("QR code", a page's origin)
	Addr     string    // the client address that confirmed it (the desktop's, the phone's, the browser's)
}

// Mint checks g and mints its code, bound to app, exact redirect_uri,
// person and device. Code, grant, the device's last use, the OpenID
// Connect request's consumption (one request, one code) and the audit
// event commit together. It returns the code and the app.
func (s *Service) Mint(ctx context.Context, g Grant) (string, storage.App, error) {
	face := storage.FaceWeChat
	if g.OIDC != nil {
		face = storage.FaceOIDC
	}
	country := s.cfg.Country(g.Addr)
	app, err := s.Check(ctx, g.Request, g.How == ByDesktop)
	if err == nil {
		err = s.active(ctx, g.UserID)
	}
	if err == nil {
		err = fenced(app, g.Addr, country)
	}
	if err == nil {
		err = s.grouped(ctx, app, g.UserID)
	}
	dev := g.Device
	wantACR := g.OIDC != nil && g.OIDC.ACRValues != ""
	if err == nil && dev == nil && g.DeviceID != "" && (!app.Fence.Device.IsZero() || g.OIDC != nil) {
		d, derr := s.store.GetDevice(ctx, g.DeviceID)
		if derr != nil {
			return "", app, fmt.Errorf("check device: %w", derr)
		}
		dev = &d
	}
	if err == nil && dev != nil {
		err = s.deviceFits(app, *dev)
	}
	if err != nil {
		s.refused(ctx, storage.Event{UserID: g.UserID, AppID: g.AppID, DeviceID: g.DeviceID, Method: g.How.Method(), Face: face.String(),
			Addr: g.Addr, Country: country}, err)
		return "", app, err
	}
	now := s.cfg.Now()
	authTime := g.AuthTime
	if authTime.IsZero() {
		authTime = now
	}
	code := secret.Code()
	detail := "Signed in to " + app.Name
	if g.Origin != "" {
		detail += " from " + g.Origin
	}
	if dev != nil {
		detail += postureNote(*dev, now)
	}
	c := storage.Code{Hash: secret.Hash(code), AppID: app.AppID, RedirectURI: g.RedirectURI, UserID: g.UserID, DeviceID: g.DeviceID,
		Scope: g.Scope, CreatedAt: now, ExpiresAt: now.Add(s.cfg.CodeTTL), Face: storage.FaceWeChat}
	if ar := g.OIDC; ar != nil {
		c.Face, c.Nonce, c.CodeChallenge, c.AuthTime, c.AMR, c.AuthRequestID = storage.FaceOIDC, ar.Nonce, ar.CodeChallenge, authTime, amrOf(g.How, dev), ar.ID
		if wantACR {
			c.ACR = acrOf(dev)
		}
		detail += " (OpenID Connect)"
	}
	e := storage.Event{UserID: g.UserID, Kind: "signin", AppID: app.AppID, DeviceID: g.DeviceID, Detail: detail, CreatedAt: now,
		Method: g.How.Method(), Face: c.Face.String(), Addr: g.Addr, Country: country, Result: storage.ResultOK}
	switch err := s.store.CreateSignIn(ctx, c, e); {
	case g.OIDC != nil && errors.Is(err, storage.ErrAlreadyUsed):
		return "", app, errRequestUsed
	case g.OIDC != nil && errors.Is(err, storage.ErrNotFound): // purged meanwhile
		return "", app, errRequestGone
	case err != nil:
		return "", app, fmt.Errorf("mint code: %w", err)
	}
	s.cfg.Minted()
	s.Logged(ctx, e)
	s.watch(ctx, e)
	return code, app, nil
}

// ConsentNeeded is the reason of a desktop app's sign-in the person has
// not allowed yet: the daemon asks in its dialog, then again with consent.
const ConsentNeeded Reason = 300

// AppGrant is a desktop app's request for a login code, through the
// person's enrolled desktop.
type AppGrant struct {
	App     storage.App
	Device  storage.Device
	Consent bool   // the person just allowed the app in the desktop's dialog
	Addr    string // the desktop's client address
}

// MintAppCode mints a desktop app's one-time login code (FaceJSCode, as
// wx.login gives): at once when the person allowed the app before;
// otherwise ConsentNeeded, unless g.Consent, in which case the consent,
// its event, the code and the sign-in event are one transaction.
func (s *Service) MintAppCode(ctx context.Context, g AppGrant) (string, error) {
	country := s.cfg.Country(g.Addr)
	err := s.active(ctx, g.Device.UserID)
	if err == nil {
		err = fenced(g.App, g.Addr, country)
	}
	if err == nil {
		err = s.grouped(ctx, g.App, g.Device.UserID)
	}
	if err == nil {
		err = s.deviceFits(g.App, g.Device)
	}
	if err != nil {
		s.refused(ctx, storage.Event{UserID: g.Device.UserID, AppID: g.App.AppID, DeviceID: g.Device.ID, Method: storage.MethodDesktopApp,
			Face: storage.FaceJSCode.String(), Addr: g.Addr, Country: country}, err)
		return "", err
	}
	now := s.cfg.Now()
	code := secret.Code()
	c := storage.Code{Hash: secret.Hash(code), AppID: g.App.AppID, UserID: g.Device.UserID, DeviceID: g.Device.ID,
		Scope: "snsapi_base", CreatedAt: now, ExpiresAt: now.Add(s.cfg.CodeTTL), Face: storage.FaceJSCode, AuthTime: now}
	signedIn := storage.Event{UserID: g.Device.UserID, Kind: "signin", AppID: g.App.AppID, DeviceID: g.Device.ID,
		Detail: "Signed in to " + g.App.Name + " (desktop app)" + postureNote(g.Device, now), CreatedAt: now,
		Method: storage.MethodDesktopApp, Face: storage.FaceJSCode.String(), Addr: g.Addr, Country: country, Result: storage.ResultOK}
	_, err = s.store.GetConsent(ctx, g.Device.UserID, g.App.AppID)
	switch {
	case errors.Is(err, storage.ErrNotFound) && !g.Consent:
		return "", refuse(ConsentNeeded, "the person has not allowed %s to sign in yet", g.App.Name)
	case errors.Is(err, storage.ErrNotFound):
		allowed := storage.Event{UserID: g.Device.UserID, Kind: "app_allowed", AppID: g.App.AppID, DeviceID: g.Device.ID,
			Detail: "Allowed " + g.App.Name + " on " + g.Device.Name + " to sign in", CreatedAt: now}
		err = s.store.CreateAppSignIn(ctx, storage.Consent{UserID: g.Device.UserID, AppID: g.App.AppID, LoginAt: now}, allowed, c, signedIn)
		if err == nil {
			s.Logged(ctx, allowed)
		}
	case err == nil:
		err = s.store.CreateSignIn(ctx, c, signedIn)
	}
	if err != nil {
		return "", fmt.Errorf("mint app code: %w", err)
	}
	s.cfg.Minted()
	s.Logged(ctx, signedIn)
	s.watch(ctx, signedIn)
	return code, nil
}

// active refuses a person an operator disabled, or one her directory
// no longer has (Config.Recheck). Disabling revokes every desktop and
// session too; this holds if one slipped through a race.
func (s *Service) active(ctx context.Context, userID string) error {
	u, err := s.store.GetUser(ctx, userID)
	if err != nil {
		return fmt.Errorf("check account: %w", err)
	}
	if !u.Active() {
		return refuse(UserDisabled, "this account was disabled by an administrator")
	}
	if s.cfg.Recheck != nil && s.cfg.Recheck(ctx, u) {
		return refuse(UserDisabled, "this account was disabled: the directory no longer has it")
	}
	return nil
}

// grouped refuses userID a sign-in to an app for members of directory
// groups she is in none of, as her directories last said (at her last
// sign-in through them, or their last sync). A person no directory
// knows is in no group.
func (s *Service) grouped(ctx context.Context, app storage.App, userID string) error {
	want := app.Fence.Groups
	if len(want) == 0 {
		return nil
	}
	links, err := s.store.ListIdentities(ctx, "", userID)
	if err != nil {
		return fmt.Errorf("check groups: %w", err)
	}
	for _, l := range links {
		for _, g := range l.Groups {
			if slices.Contains(want, g) {
				return nil
			}
		}
	}
	return refuse(NotInGroup, "%s is for members of %s; ask your administrator", app.Name, strings.Join(want, " or "))
}

// fenced refuses a sign-in to app from addr (in country, "" when not
// known) outside the app's fence. An address that cannot be read, or a
// country that is not known, is outside a fence that names ranges or
// countries: a fence fails closed.
func fenced(app storage.App, addr, country string) error {
	f := app.Fence
	if f.IsZero() {
		return nil
	}
	where := addr
	if country != "" {
		where += " (" + country + ")"
	}
	if len(f.CIDRs) > 0 {
		a, err := netip.ParseAddr(addr)
		in := false
		for _, c := range f.CIDRs {
			if p, perr := netip.ParsePrefix(c); err == nil && perr == nil && p.Contains(a.Unmap()) {
				in = true
				break
			}
		}
		if !in {
			return refuse(Fenced, "%s may be signed in to only from the networks its operator allowed; this sign-in came from %s", app.Name, where)
		}
	}
	if len(f.Countries) > 0 && !slices.Contains(f.Countries, country) {
		if country == "" {
			where += ", a country not known"
		}
		return refuse(Fenced, "%s may be signed in to only from %s; this sign-in came from %s", app.Name, strings.Join(f.Countries, ", "), where)
	}
	return nil
}
