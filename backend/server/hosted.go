package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/scanfree/scanfree/backend/storage"
	"github.com/scanfree/scanfree/internal/deviceapi"
	"github.com/scanfree/scanfree/web"
)

var connectPage = template.Must(template.ParseFS(web.Assets, "hosted/qrconnect.html"))

// connectRequest is what a relying party asks the hosted page for.
type connectRequest = deviceapi.SignInRequest

// checkConnect validates a request before anything is shown: a page for an
// unknown app or an unregistered redirect_uri must not even offer a QR code.
func (s *Server) checkConnect(ctx context.Context, r connectRequest) (storage.App, error) {
	app, serr := s.validateSignIn(ctx, r, false)
	if serr == errUnknownApp {
		return app, errors.New("unknown appid: the site that sent you here is not registered")
	}
	if serr != nil {
		return app, serr
	}
	return app, nil
}

// connectConfig is handed to the page's script as JSON.
type connectConfig struct {
	AppID        string `json:"appid"`
	RedirectURI  string `json:"redirect_uri"`
	Scope        string `json:"scope"`
	State        string `json:"state"`
	SelfRedirect bool   `json:"self_redirect"`
	Fast         bool   `json:"fast"`
	Domain       string `json:"domain"`
	Ports        []int  `json:"ports"`
	Text         text   `json:"text"`
}

func (s *Server) handleConnect(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	t, htmlLang := textFor(q.Get("lang"))
	req := connectRequest{AppID: q.Get("appid"), RedirectURI: q.Get("redirect_uri"), Scope: q.Get("scope"), State: q.Get("state")}
	if rt := q.Get("response_type"); rt != "code" {
		s.connectError(w, htmlLang, "response_type must be code")
		return
	}
	app, err := s.checkConnect(r.Context(), req)
	if err != nil {
		s.connectError(w, htmlLang, err.Error())
		return
	}
	// No ticket yet: the page asks for one (POST /connect/qrticket) when it
	// shows the QR code. A GET, which any page can cause in a hidden
	// frame, must not spend the visitor's ticket budget.
	fast := app.FastLogin && q.Get("fast_login") != "0"
	cfg := connectConfig{AppID: req.AppID, RedirectURI: req.RedirectURI, Scope: req.Scope, State: req.State,
		SelfRedirect: q.Get("self_redirect") == "true", Fast: fast, Domain: s.cfg.DaemonDomain, Ports: s.cfg.DaemonPorts, Text: t}
	s.renderConnect(w, r, htmlLang, app, cfg, "")
}

// renderConnect writes the hosted sign-in page for app: scan-free first
// when cfg.Fast, else the QR code; with a link to the password form when
// passwordURL is set (the OpenID Connect face, where it offers passkeys
// too), else to the passkey sign-in (the WeChat face) when this server
// offers passkeys.
func (s *Server) renderConnect(w http.ResponseWriter, r *http.Request, htmlLang string, app storage.App, cfg connectConfig, passwordURL string) {
	var buf bytes.Buffer
	lang := normLang(htmlLang)
	if app.AppID == selfAppID {
		app.Name = s.appNameIn(r.Context(), lang, app.AppID)
	}
	initial, _ := utf8.DecodeRuneInString(app.Name)
	passkeyURL := ""
	if passwordURL == "" && s.rp != nil {
		passkeyURL = connectPasskeyURL(connectRequest{AppID: cfg.AppID, RedirectURI: cfg.RedirectURI, Scope: cfg.Scope, State: cfg.State}, htmlLang != "en")
	}
	if err := connectPage.Execute(&buf, map[string]any{"HTMLLang": htmlLang, "T": cfg.Text, "App": app, "Config": cfg, "Fast": cfg.Fast,
		"Initial": strings.ToUpper(string(initial)), "PasswordURL": passwordURL, "PasskeyURL": passkeyURL, "Theme": s.cfg.Theme}); err != nil {
		s.log.ErrorContext(r.Context(), "render qrconnect", "err", err)
		http.Error(w, "internal error; retry later", http.StatusInternalServerError)
		return
	}
	var connect []string
	for _, p := range s.cfg.DaemonPorts {
		connect = append(connect, "https://"+s.cfg.DaemonDomain+":"+strconv.Itoa(p))
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	// Relying parties frame this page (scanfree.js); codes still reach only registered redirect URIs.
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; img-src 'self' data: https: http:; connect-src 'self' "+
		strings.Join(connect, " ")+"; base-uri 'none'; form-action 'none'")
	h.Set("Referrer-Policy", "strict-origin")
	h.Set("Cache-Control", "no-store")
	w.Write(buf.Bytes())
}

// connectError is the hosted page's error, framed like the page itself.
func (s *Server) connectError(w http.ResponseWriter, htmlLang, msg string) {
	s.connectErrorStatus(w, http.StatusBadRequest, htmlLang, msg, true)
}

// connectErrorStatus answers with the hosted page's error page: msg is
// the reason for the person, or, when sitesMistake, the site's mistake in
// its request, told in people's words with msg itself for the site's
// developers.
func (s *Server) connectErrorStatus(w http.ResponseWriter, status int, htmlLang, msg string, sitesMistake bool) {
	lang := normLang(htmlLang)
	reason, detail := tr(lang, msg), ""
	if sitesMistake {
		reason, detail = tr(lang, "The site that sent you here asked for a sign-in in a way this service does not accept."), msg
	}
	s.plainPage(w, status, lang, tr(lang, "Cannot sign in here"), reason, detail,
		tr(lang, "If a site sent you here, go back to it and try again; if it keeps happening, tell that site. Nothing about you was shared."))
}

// plainPage is a page of its own (no session, no script): a heading, the
// reason, a detail for developers (if any) and what to do next, readable
// on a phone and in dark mode, in lang; for errors and pages that are not
// there.
func (s *Server) plainPage(w http.ResponseWriter, status int, lang, title, reason, detail, next string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src https: http: data:; frame-ancestors 'none'")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	htmlLang := "en"
	if lang == langZH {
		htmlLang = "zh-CN"
	}
	th := s.cfg.Theme
	plainPageTmpl.Execute(w, map[string]any{"L": htmlLang, "T": title, "M": reason, "D": detail, "D1": tr(lang, "For the site's developers:"), "N": next, "A": tr(lang, "Your %s account", th.Brand()), "Theme": th})
}

var plainPageTmpl = template.Must(template.New("e").Parse(`<!doctype html><html lang="{{.L}}"><head><meta charset="utf-8">` +
	`<meta name="viewport" content="width=device-width, initial-scale=1"><meta name="color-scheme" content="light dark"><title>{{.T}} · {{.Theme.Brand}}</title><link rel="icon" href="{{with .Theme.Logo}}{{.}}{{else}}data:,{{end}}">` +
	`<style>:root{--link:#0a5fd0;--button:#0a5fd0}body{font:16px/1.5 system-ui,sans-serif;margin:0;padding:24px 16px;color:#1b1b1b;background:#fff}main{max-width:32rem;margin:auto}` +
	`h1{font-size:20px}p{overflow-wrap:anywhere}.detail{font-size:14px;opacity:.8}a{color:var(--link)}@media (prefers-color-scheme:dark){:root{--link:#6fb1ff}body{color:#ececec;background:#17181a}}` +
	`.brand{display:flex;align-items:center;gap:8px;overflow-wrap:anywhere}.brand img{height:32px;max-width:8rem;object-fit:contain}</style>` +
	`{{with .Theme.Style "link" "button"}}<style id="theme">{{.}}</style>{{end}}</head>` +
	`<body><main><p class="brand" id="brand">{{with .Theme.Logo}}<img src="{{.}}" alt="">{{end}}<strong>{{.Theme.Brand}}</strong></p><h1>{{.T}}</h1><p role="alert">{{.M}}</p>{{with .D}}<p class="detail">{{$.D1}} <code translate="no">{{.}}</code></p>{{end}}{{with .N}}<p>{{.}}</p>{{end}}<p><a href="/account">{{.A}}</a></p></main></body></html>`))

// appName is appID's name, for the log; appNameIn for a page.
func (s *Server) appName(ctx context.Context, appID string) string {
	return s.appNameIn(ctx, langEN, appID)
}

// appNameIn is appID's name as a page in lang shows it: this server's own
// sign-in (the account page and console) goes by the theme's name, in the
// page's language, whatever its row was named when it was made.
func (s *Server) appNameIn(ctx context.Context, lang, appID string) string {
	if appID == selfAppID {
		return tr(lang, "%s account and console", s.cfg.Theme.Brand())
	}
	if app, err := s.store.GetApp(ctx, appID); err == nil {
		return app.Name
	}
	return appID
}

// serveAsset serves an embedded browser file.
func serveAsset(name, ctype string, maxAge time.Duration) http.HandlerFunc {
	b, err := web.Assets.ReadFile(name)
	if err != nil {
		panic(err) // embedded at build time; cannot be missing
	}
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", ctype)
		w.Header().Set("Cache-Control", fmt.Sprintf("public, max-age=%d", int(maxAge.Seconds())))
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Write(b)
	}
}
