package server

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/scanfree/scanfree/backend/signin"
	"github.com/scanfree/scanfree/backend/storage"
	"github.com/scanfree/scanfree/internal/posture"
	"github.com/scanfree/scanfree/internal/secret"
)

//go:embed templates/*.html
var templateFS embed.FS

// funcsFor returns the templates' functions in lang: T translates a
// console text (see tr), when formats a time.
func funcsFor(lang string) template.FuncMap {
	return template.FuncMap{
		"list":  func(v ...string) []string { return v },
		"tiles": func() []int { return make([]int, 80) },
		// initial stands in for a picture that cannot load.
		"initial": func(name string) string {
			r, _ := utf8.DecodeRuneInString(name)
			return strings.ToUpper(string(r))
		},
		"T": func(s string, args ...any) string { return tr(lang, s, args...) },
		// posture is a desktop's latest posture report, nil before one.
		"posture": func(d storage.Device) *posture.Report {
			if r, _ := signin.Posture(d, time.Now()); !r.At.IsZero() {
				return &r
			}
			return nil
		},
		"when": func(t time.Time) string {
			if t.IsZero() {
				return tr(lang, "never")
			}
			return t.Local().Format("2006-01-02 15:04")
		},
	}
}

// pages holds one template set per page, each with the shared layout, by
// language.
var pages = map[string]map[string]*template.Template{langEN: parsePages(langEN), langZH: parsePages(langZH)}

func parsePages(lang string) map[string]*template.Template {
	m := map[string]*template.Template{}
	for _, name := range []string{"login", "login_code", "totp", "passkey_new", "account", "device", "device_confirm", "message", "x", "reset", "password"} {
		m[name] = template.Must(template.New("layout.html").Funcs(funcsFor(lang)).
			ParseFS(templateFS, "templates/layout.html", "templates/passkey.html", "templates/"+name+".html"))
	}
	for _, name := range []string{"admin_people", "admin_person", "admin_apps", "admin_app", "admin_desktops", "admin_log"} {
		m[name] = template.Must(template.New("layout.html").Funcs(funcsFor(lang)).
			ParseFS(templateFS, "templates/layout.html", "templates/admin_nav.html", "templates/"+name+".html"))
	}
	return m
}

// page is what every template gets.
type page struct {
	Title string
	User  *storage.User
	Error string
	Data  any
	// Wide pages (the operator console) hold tables and use the width.
	Wide bool
	// Watermark, when set, is tiled over the page (the console: who is
	// operating, from where).
	Watermark string

	// Theme is the server's (render sets it).
	Theme Theme

	// Lang is the page's language; when empty, the request's (?lang=,
	// the console's cookie, Accept-Language).
	Lang string

	// formTarget is an origin, besides this one, that the page's form
	// post may redirect to (CSP form-action covers the redirects).
	formTarget string
	// script is whether the page runs this server's scripts (the
	// passkey forms); no other page runs any.
	script bool
}

// render writes a hosted page. The pages may never be framed: they hold
// buttons that approve devices and sign-ins (clickjacking).
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	var buf bytes.Buffer
	if p.Lang == "" && r != nil {
		p.Lang = consoleLang(nil, r)
	}
	p.Theme = s.cfg.Theme
	// Titles and errors are page texts (a translated one stays as it is).
	p.Title, p.Error = tr(p.Lang, p.Title), tr(p.Lang, p.Error)
	set := pages[langEN]
	if p.Lang == langZH {
		set = pages[langZH]
	}
	if err := set[name].Execute(&buf, p); err != nil {
		s.log.Error("render", "page", name, "err", err)
		http.Error(w, "internal error; retry later", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	formAction := "'self'"
	if p.formTarget != "" {
		formAction += " " + p.formTarget
	}
	scripts := ""
	if p.script {
		scripts = "script-src 'self'; "
	}
	h.Set("Content-Security-Policy", "default-src 'none'; "+scripts+"img-src https: http: data:; style-src 'unsafe-inline'; form-action "+formAction+"; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// message shows a page with a title and a message, both translated into
// r's language; args fill in msg's verbs after that.
func (s *Server) message(w http.ResponseWriter, r *http.Request, status int, u *storage.User, title, msg string, args ...any) {
	lang := consoleLang(nil, r)
	s.render(w, r, status, "message", page{Title: tr(lang, title), User: u, Data: tr(lang, msg, args...), Lang: lang})
}

func (s *Server) cookieName() string {
	if s.secure() {
		return "__Host-scanfree_session" // https only: the prefix pins Secure, Path=/ and no Domain
	}
	return "scanfree_session"
}

// currentUser returns the signed-in user of r, if any.
func (s *Server) currentUser(r *http.Request) (*storage.User, bool) {
	u, _, ok := s.currentSession(r)
	return u, ok
}

// currentSession returns the signed-in user of r and the session, whose
// CreatedAt is when they entered their password.
func (s *Server) currentSession(r *http.Request) (*storage.User, storage.Session, bool) {
	c, err := r.Cookie(s.cookieName())
	if err != nil || c.Value == "" {
		return nil, storage.Session{}, false
	}
	se, err := s.store.GetSession(r.Context(), secret.Hash(c.Value))
	if err != nil || !s.now().Before(se.ExpiresAt) {
		return nil, se, false
	}
	if !s.sessionUsed(r.Context(), se) || !sessionEnough(se, s.serverPolicy()) {
		return nil, se, false
	}
	u, err := s.store.GetUser(r.Context(), se.UserID)
	if err != nil || !u.Active() {
		return nil, se, false
	}
	return &u, se, true
}

// touchEvery is how often a session's use is written down: the idle
// timeout is that much coarse, and a busy page costs no write per request.
const touchEvery = time.Minute

// sessionUsed applies the idle timeout to se and records its use now; it
// reports false (and ends the session) when se went unused too long.
func (s *Server) sessionUsed(ctx context.Context, se storage.Session) bool {
	now := s.now()
	last := se.LastSeenAt
	if last.IsZero() {
		last = se.CreatedAt
	}
	if now.Sub(last) >= s.cfg.SessionIdle {
		if err := s.store.DeleteSession(ctx, se.Hash); err != nil && !errors.Is(err, storage.ErrNotFound) {
			s.log.WarnContext(ctx, "end idle session", "err", err)
		}
		return false
	}
	if now.Sub(last) >= touchEvery {
		if err := s.store.TouchSession(ctx, se.Hash, now); err != nil && !errors.Is(err, storage.ErrNotFound) {
			s.log.WarnContext(ctx, "record session use", "err", err)
		}
	}
	return true
}

// requireUser returns the signed-in user or redirects to /login and
// reports false.
func (s *Server) requireUser(w http.ResponseWriter, r *http.Request) (*storage.User, bool) {
	u, ok := s.currentUser(r)
	if !ok {
		http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
	}
	return u, ok
}

// safeNext keeps post-login redirects on this site.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, `/\`) {
		return "/account"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" {
		return "/account"
	}
	return next
}

// loginView is the password form's data: where to go after, the
// username to fill in (an OIDC login_hint) and the app it signs in to;
// Confirm asks a signed-in operator to enter her password again.
type loginView struct {
	Next, Hint, App string
	// Confirm, when set, says why a signed-in person must sign in again.
	Confirm string
	// SelfStart signs in with a desktop or phone instead (selfsignin.go);
	// empty on a form made for an OpenID Connect request, whose hosted
	// page offers that itself.
	SelfStart string
	// Connectors are the directories to choose from besides the local
	// accounts (none: no choice shown); Connector is the one chosen.
	Connectors []connectorChoice
	Connector  string
	// Providers are the "Sign in with …" links of callback connectors.
	Providers []providerLink
	// Passkey is the "Sign in with a passkey" form.
	Passkey passkeyForm
	// NoPassword hides the password form (the policy is off, and no
	// directory takes passwords).
	NoPassword bool
	// Approving, on a phone that scanned a QR code, is the sign-in the
	// phone is asked to approve; the page offers a passkey first.
	Approving *approvingView
}

// approvingView names the app and the computer a QR code signs in.
type approvingView struct{ App, Computer string }

// connectorChoice is one entry of the login form's "Sign in with".
type connectorChoice struct{ ID, Name string }

// loginPage is the password form going on to next, with hint filled in.
// A form made for an OpenID Connect request names its app and may send
// the browser on to the app's redirect_uri.
//
// With connectors, the form offers each directory and the local
// accounts; chosen is preselected, else the first directory (where an
// organisation has one, most of its people are in it).
func (s *Server) loginPage(ctx context.Context, lang, next, hint, chosen string) page {
	self := url.Values{"next": {next}}
	if hint != "" {
		self.Set("login_hint", hint)
	}
	v := loginView{Next: next, Hint: hint, SelfStart: pathSelfStart + "?" + self.Encode()}
	off := s.passwordPolicy(ctx, next) == storage.PasswordOff
	if pcs := s.passwordConnectors(); len(pcs) > 0 {
		for _, c := range pcs {
			v.Connectors = append(v.Connectors, connectorChoice{c.ID(), c.Name()})
		}
		if !off { // a directory's password is the directory's to take
			v.Connectors = append(v.Connectors, connectorChoice{LocalConnector, tr(lang, "Local account")})
		}
		v.Connector = v.Connectors[0].ID
		for _, c := range v.Connectors {
			if c.ID == chosen {
				v.Connector = chosen
			}
		}
	}
	v.NoPassword = off && len(v.Connectors) == 0
	if id, ok := strings.CutPrefix(next, "/x/"); ok {
		if t, err := s.tickets.Get(ctx, id); err == nil {
			v.Approving = &approvingView{App: s.appNameIn(ctx, lang, t.AppID), Computer: t.Computer}
		}
	}
	v.Providers = s.providerLinks(lang, next)
	p := page{Title: tr(lang, "Sign in"), Lang: lang}
	v.Passkey = s.passkeyOffer(ctx, &p, next, "")
	p.Data = v
	if ar, ok := s.resumeRequest(ctx, next); ok {
		v.App, v.SelfStart = s.appNameIn(ctx, lang, ar.ClientID), ""
		p.Data = v
		p.formTarget = formTarget(ar)
	}
	if req, app, ok := s.wechatResume(ctx, next); ok { // the WeChat face: a passkey only
		v.App, v.SelfStart, v.NoPassword, v.Connectors, v.Providers = app.Name, "", true, nil, nil
		p.Data = v
		p.formTarget = originOf(req.RedirectURI)
	}
	return p
}

func (s *Server) handleLoginPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p := s.loginPage(r.Context(), consoleLang(w, r), safeNext(q.Get("next")), trimLen(q.Get("login_hint"), 200), q.Get("connector"))
	if lv := p.Data.(loginView); lv.App == "" {
		switch q.Get("confirm") {
		case "1":
			lv.Confirm = tr(p.Lang, "The operator console needs a sign-in made in the last 15 minutes. Confirm it on your desktop or phone, or enter your password again.")
		case "passkey":
			lv.Confirm = tr(p.Lang, "Adding a passkey needs a sign-in made in the last 15 minutes with more than a password: your desktop or phone, a passkey, or your password and authenticator code.")
		}
		if lv.Confirm != "" {
			p.Data, p.Title = lv, tr(p.Lang, "Confirm it is you")
		}
	}
	s.render(w, r, http.StatusOK, "login", p)
}

// errNoPassword marks a person made without a password: her password
// sign-in fails as a wrong password does.
var errNoPassword = errors.New("no password set")

// dummyHash is checked for unknown usernames so that a wrong username costs
// as long as a wrong password and timing does not reveal which accounts exist.
var dummyHash = sync.OnceValue(func() string { return secret.HashPassword("scanfree-dummy-password") })

// verdict is what a password check found.
type verdict int

const (
	verdictOK          verdict = iota
	verdictWrong               // wrong username or password: counted against both
	verdictBusy                // no hashing slot freed up in time
	verdictError               // the database failed
	verdictUnavailable         // the connector's directory did not answer
	verdictGone                // right password, but the directory has her disabled
)

// checkLocal checks username's password in the local store; client is
// whose hashing slot it takes.
func (s *Server) checkLocal(ctx context.Context, client, username, password string) (storage.User, verdict) {
	u, err := s.store.GetUserByUsername(ctx, username)
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		s.log.ErrorContext(ctx, "login", "err", err)
		return u, verdictError
	}
	hash := u.PasswordHash
	if err != nil || hash == "" { // no such person, or one without a password (apply -f, a directory's)
		hash = dummyHash()
		if err == nil {
			err = errNoPassword
		}
	}
	ok, herr := s.checkPassword(ctx, client, hash, password)
	if errors.Is(herr, errHashBusy) {
		return u, verdictBusy
	}
	if herr != nil {
		s.log.Error("login: stored password hash unreadable", "user", username, "err", herr)
	}
	if err != nil || !ok {
		return u, verdictWrong
	}
	return u, verdictOK
}

func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	username := trimLen(r.PostFormValue("username"), 200)
	password := r.PostFormValue("password")
	next := safeNext(r.PostFormValue("next"))
	ip, key := s.clientIP(r), s.clientKey(r)
	fail := func(status int, msg string) {
		p := s.loginPage(r.Context(), consoleLang(nil, r), next, username, r.PostFormValue("connector"))
		p.Error = tr(p.Lang, msg)
		s.render(w, r, status, "login", p)
	}
	// The username's budget is kept per address: a stranger who spends it
	// from elsewhere does not lock the owner out of their own machine.
	userKey := key + "/" + username
	ok, err := reserve(r.Context(), s.loginIP, key, s.loginUser, userKey)
	if err != nil {
		fail(http.StatusServiceUnavailable, "Sign-in is temporarily unavailable. Try again in a moment.")
		return
	}
	if !ok {
		fail(http.StatusTooManyRequests, "Too many failed sign-ins. Wait 15 minutes, then try again.")
		return
	}
	// The try is counted from here on; a success gives it back.
	succeeded := false
	defer func() {
		if !succeeded {
			return
		}
		s.loginIP.Release(context.WithoutCancel(r.Context()), key)
		s.loginUser.Reset(context.WithoutCancel(r.Context()), userKey)
	}()
	// Guessed from many addresses: every try of this account waits.
	failures, err := s.accountFailures(r.Context(), username)
	if err == nil {
		err = s.waitForAccount(r.Context(), failures)
	}
	if err != nil {
		fail(http.StatusServiceUnavailable, "Sign-in is temporarily unavailable. Try again in a moment.")
		return
	}
	connID := r.PostFormValue("connector")
	policy := s.passwordPolicy(r.Context(), next)
	if policy == storage.PasswordOff && (connID == "" || connID == LocalConnector) {
		s.signin.Refused(context.WithoutCancel(r.Context()), storage.Event{Method: storage.MethodPassword, Face: "web", Addr: ip},
			"password_off", "A password sent while password sign-in is off")
		fail(http.StatusForbidden, "Password sign-in is turned off here. Sign in with your desktop, your phone or a passkey.")
		return
	}
	var u storage.User
	var v verdict
	if connID == "" || connID == LocalConnector {
		u, v = s.checkLocal(r.Context(), key, username, password)
	} else if c, ok := s.passwordConnector(connID); ok {
		u, v = s.checkDirectory(r.Context(), c, username, password)
	} else {
		fail(http.StatusBadRequest, "Choose how to sign in, then try again.")
		return
	}
	// Refused password sign-ins are logged with the username tried (an
	// unknown one has no person to log them under).
	refusal := storage.Event{UserID: u.ID, Method: storage.MethodPassword, Face: "web", Addr: ip}
	switch v {
	case verdictBusy:
		fail(http.StatusServiceUnavailable, "Many people are signing in right now. Try again in a moment.")
		return
	case verdictError:
		fail(http.StatusServiceUnavailable, "Sign-in is temporarily unavailable. Try again in a moment.")
		return
	case verdictUnavailable:
		s.signin.Refused(context.WithoutCancel(r.Context()), refusal, "directory_unavailable", s.connectorName(connID)+" did not answer")
		p := s.loginPage(r.Context(), consoleLang(nil, r), next, username, connID)
		p.Error = fmt.Sprintf(tr(p.Lang, "%s is not answering, so it cannot check your password. Try again in a few minutes, or sign in with your desktop or phone."), s.connectorName(connID))
		s.render(w, r, http.StatusServiceUnavailable, "login", p)
		return
	case verdictWrong:
		s.accountFailed(context.WithoutCancel(r.Context()), username, u.ID)
		s.signin.Refused(context.WithoutCancel(r.Context()), refusal, "wrong_password", "Wrong password for "+strconv.Quote(username))
		fail(http.StatusUnauthorized, "Wrong username or password.")
		return
	case verdictGone:
		s.signin.Refused(context.WithoutCancel(r.Context()), refusal, "disabled", "Right password, but "+s.connectorName(connID)+" has the account disabled")
		fail(http.StatusForbidden, "This account was disabled by an administrator. Ask them to enable it.")
		return
	}
	// Told only after the right password: a guesser learns nothing of it.
	if !u.Active() {
		s.signin.Refused(r.Context(), refusal, "disabled", "Right password, but the account is disabled")
		fail(http.StatusForbidden, "This account was disabled by an administrator. Ask them to enable it.")
		return
	}
	succeeded = true // the password was right: its try is given back
	switch f, err := s.secondFactors(r.Context(), u.ID); {
	case err != nil:
		s.log.ErrorContext(r.Context(), "login: read the second factors", "err", err)
		fail(http.StatusServiceUnavailable, "Sign-in is temporarily unavailable. Try again in a moment.")
		return
	case f.totp || (policy == storage.PasswordSecondFactor && f.any()):
		s.renderCodeForm(w, r, s.sealStep(secondStep{UserID: u.ID, Username: username, Next: next, Connector: connID,
			Expires: s.now().Add(secondStepTTL).Unix()}), next, "", http.StatusOK)
		return
	case policy != storage.PasswordOn:
		s.signin.Refused(r.Context(), refusal, "no_second_factor", "Right password, but a second factor is required and the account has none")
		fail(http.StatusForbidden, "Your password is right, but this site also needs a passkey or an authenticator code, and your account has neither. Sign in with your desktop or phone, then add one on your account page.")
		return
	}
	if err := s.startSession(r.Context(), w, u, signin.ByPassword); err != nil {
		s.log.Error("login", "err", err)
		fail(http.StatusInternalServerError, "Could not sign you in; try again.")
		return
	}
	s.signin.Event(r.Context(), storage.Event{UserID: u.ID, Kind: "login", Detail: "web sign-in from " + ip,
		Method: storage.MethodPassword, Face: "web", Addr: ip, Result: storage.ResultOK})
	// The form made for an OpenID Connect request completes that request,
	// once, here: the only way a password signs in to an app.
	if ar, ok := s.resumeRequest(r.Context(), next); ok {
		s.oidcSignIn(w, r, ar, u.ID, s.now(), signin.ByPassword, "password sign-in")
		return
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// startSession signs u in to this browser, having confirmed it is her
// as how says.
func (s *Server) startSession(ctx context.Context, w http.ResponseWriter, u storage.User, how signin.How) error {
	tok := secret.Token()
	now := s.now()
	if err := s.store.CreateSession(ctx, storage.Session{Hash: secret.Hash(tok), UserID: u.ID, CreatedAt: now,
		ExpiresAt: now.Add(s.cfg.SessionTTL), LastSeenAt: now, Method: how.Name()}); err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: s.cookieName(), Value: tok, Path: "/", HttpOnly: true, Secure: s.secure(),
		SameSite: http.SameSiteLaxMode, MaxAge: int(s.cfg.SessionTTL.Seconds())})
	return nil
}

func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(s.cookieName()); err == nil && c.Value != "" {
		if err := s.store.DeleteSession(r.Context(), secret.Hash(c.Value)); err != nil && !errors.Is(err, storage.ErrNotFound) {
			s.log.Error("logout", "err", err)
		}
	}
	s.clearSession(w)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// clearSession tells the browser to forget its session cookie.
func (s *Server) clearSession(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: s.cookieName(), Value: "", Path: "/", HttpOnly: true, Secure: s.secure(),
		SameSite: http.SameSiteLaxMode, MaxAge: -1})
}
