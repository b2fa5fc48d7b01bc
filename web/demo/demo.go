// Package demo is "Demo Shop", a small relying party that signs its users
// in with scanfree exactly as a real site would: it embeds scanfree.js,
// checks state on /callback, exchanges the code at /sns/oauth2/access_token
// with its secret (server side), and reads /sns/userinfo.
package demo

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"
)

//go:embed templates/*.html shop.js
var files embed.FS

var pages = template.Must(template.ParseFS(files, "templates/*.html"))

// Config of the shop.
type Config struct {
	PublicURL     string // where browsers reach the shop, e.g. http://shop.localhost:8081
	Backend       string // the identity backend, for the server-side token calls
	BackendPublic string // the identity backend as browsers reach it (SDK, iframe)
	AppID, Secret string
	Logger        *slog.Logger
}

// User is who signed in.
type User struct {
	OpenID     string `json:"openid"`
	Nickname   string `json:"nickname"`
	HeadImgURL string `json:"headimgurl"`
	Via        string `json:"-"` // how they signed in: "WeChat-compatible API" or "OpenID Connect"
	// refresh is the OpenID Connect refresh token, kept on the shop's
	// server (never in the browser) to check the sign-in later.
	refresh string
}

// Shop is the demo site.
type Shop struct {
	cfg    Config
	http   *http.Client
	mu     sync.Mutex
	sess   map[string]User
	secure bool

	oidcMu sync.Mutex
	oidcRP *oidcClient

	desktop map[string]desktopSession // desktop-app sessions by shop token
}

// New checks cfg and returns the shop. It does no I/O.
func New(cfg Config) (*Shop, error) {
	for name, v := range map[string]string{"public URL": cfg.PublicURL, "backend": cfg.Backend, "backend public URL": cfg.BackendPublic} {
		if u, err := url.Parse(v); err != nil || u.Host == "" {
			return nil, fmt.Errorf("demo shop: %s %q is not an absolute URL", name, v)
		}
	}
	if cfg.AppID == "" || cfg.Secret == "" {
		return nil, errors.New("demo shop: appid and secret are required (see `scanfree-server app create --json`)")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	u, _ := url.Parse(cfg.PublicURL)
	return &Shop{cfg: cfg, http: &http.Client{Timeout: 10 * time.Second}, sess: map[string]User{}, desktop: map[string]desktopSession{}, secure: u.Scheme == "https"}, nil
}

// RedirectURI is where the identity backend sends users back.
func (s *Shop) RedirectURI() string { return s.cfg.PublicURL + "/callback" }

// Handler returns the shop's routes.
func (s *Shop) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.home)
	mux.HandleFunc("GET /login", s.login)
	mux.HandleFunc("GET /callback", s.callback)
	mux.HandleFunc("GET /oidc/login", s.oidcLogin)
	mux.HandleFunc("GET /oidc/callback", s.oidcCallback)
	mux.HandleFunc("POST /oidc/check", s.oidcCheck)
	s.desktopRoutes(mux)
	mux.HandleFunc("POST /logout", s.logout)
	mux.HandleFunc("GET /shop.js", func(w http.ResponseWriter, r *http.Request) {
		b, _ := files.ReadFile("shop.js")
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		w.Write(b)
	})
	return http.NewCrossOriginProtection().Handler(mux)
}

func (s *Shop) render(w http.ResponseWriter, status int, name string, data map[string]any) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self' "+s.cfg.BackendPublic+"; style-src 'unsafe-inline'; img-src https: http: data:; frame-src "+
		s.cfg.BackendPublic+"; form-action 'self'; base-uri 'none'")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if data == nil {
		data = map[string]any{}
	}
	data["Backend"] = s.cfg.BackendPublic
	if err := pages.ExecuteTemplate(w, name+".html", data); err != nil {
		s.cfg.Logger.Error("render", "page", name, "err", err)
	}
}

func (s *Shop) user(r *http.Request) (User, bool) {
	c, err := r.Cookie("shop_session")
	if err != nil {
		return User{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.sess[c.Value]
	return u, ok
}

func (s *Shop) home(w http.ResponseWriter, r *http.Request) {
	u, ok := s.user(r)
	addr, _, _ := net.SplitHostPort(r.RemoteAddr)
	s.render(w, http.StatusOK, "home", map[string]any{"User": u, "SignedIn": ok, "CanCheck": u.refresh != "", "Checked": r.URL.Query().Get("checked") == "1",
		"ClientAddr": addr})
}

func random() string {
	b := make([]byte, 18)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// login shows the scanfree widget. state is bound to this browser by a
// cookie, so a code injected from elsewhere is refused at /callback.
func (s *Shop) login(w http.ResponseWriter, r *http.Request) {
	state := random()
	http.SetCookie(w, &http.Cookie{Name: "shop_state", Value: state, Path: "/", HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode, MaxAge: 600})
	s.render(w, http.StatusOK, "login", map[string]any{"AppID": s.cfg.AppID, "RedirectURI": s.RedirectURI(), "State": state})
}

func (s *Shop) callback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	c, err := r.Cookie("shop_state")
	if err != nil || c.Value == "" || q.Get("state") != c.Value {
		s.render(w, http.StatusBadRequest, "error", map[string]any{"Msg": "The sign-in did not start here (state mismatch). Start again from Sign in."})
		return
	}
	http.SetCookie(w, &http.Cookie{Name: "shop_state", Path: "/", MaxAge: -1})
	u, err := s.exchange(r.Context(), q.Get("code"))
	if err != nil {
		s.cfg.Logger.Warn("sign-in failed", "err", err)
		s.render(w, http.StatusBadGateway, "error", map[string]any{"Msg": "Sign-in failed: " + err.Error()})
		return
	}
	u.Via = "WeChat-compatible API"
	s.startSession(w, r, u)
}

// startSession signs u in to the shop.
func (s *Shop) startSession(w http.ResponseWriter, r *http.Request, u User) {
	id := random()
	s.mu.Lock()
	s.sess[id] = u
	s.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: "shop_session", Value: id, Path: "/", HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// exchange trades the code for a token and reads the user's profile.
func (s *Shop) exchange(ctx context.Context, code string) (User, error) {
	var tok struct {
		AccessToken string `json:"access_token"`
		OpenID      string `json:"openid"`
		ErrCode     int    `json:"errcode"`
		ErrMsg      string `json:"errmsg"`
	}
	q := url.Values{"appid": {s.cfg.AppID}, "secret": {s.cfg.Secret}, "code": {code}, "grant_type": {"authorization_code"}}
	if err := s.get(ctx, "/sns/oauth2/access_token?"+q.Encode(), &tok); err != nil {
		return User{}, err
	}
	if tok.ErrCode != 0 || tok.AccessToken == "" {
		return User{}, fmt.Errorf("code exchange: errcode %d %s", tok.ErrCode, tok.ErrMsg)
	}
	var u struct {
		User
		ErrCode int    `json:"errcode"`
		ErrMsg  string `json:"errmsg"`
	}
	if err := s.get(ctx, "/sns/userinfo?"+url.Values{"access_token": {tok.AccessToken}, "openid": {tok.OpenID}}.Encode(), &u); err != nil {
		return User{}, err
	}
	if u.ErrCode != 0 {
		return User{}, fmt.Errorf("userinfo: errcode %d %s", u.ErrCode, u.ErrMsg)
	}
	return u.User, nil
}

func (s *Shop) get(ctx context.Context, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, "GET", s.cfg.Backend+path, nil)
	if err != nil {
		return err
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return fmt.Errorf("identity backend unreachable: %w", err)
	}
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(out)
}

func (s *Shop) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie("shop_session"); err == nil {
		s.mu.Lock()
		delete(s.sess, c.Value)
		s.mu.Unlock()
	}
	http.SetCookie(w, &http.Cookie{Name: "shop_session", Path: "/", MaxAge: -1})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}
