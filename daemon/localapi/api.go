package localapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	jsonv2 "github.com/go-json-experiment/json"

	"golang.org/x/time/rate"

	"github.com/scanfree/scanfree/daemon/broker"
	"github.com/scanfree/scanfree/daemon/idp"
	"github.com/scanfree/scanfree/internal/deviceapi"
)

// The local API answers the contract's errcodes (package deviceapi).

// The seeds' apinames.
const (
	apiCheckLogin     = "qrconnectchecklogin"
	apiAuthorize      = "qrconnectfastauthorize"
	apiAuthorizeReply = "qrconnectfastauthorizeconfirm"
)

// MaxBody caps request bodies.
const MaxBody = 16 << 10

// Identity is what the API needs of the backend client.
type Identity interface {
	Me(ctx context.Context) (idp.Profile, error)                        // may answer from a short cache
	Fresh(ctx context.Context) (idp.Profile, error)                     // asks the backend
	App(ctx context.Context, appID string) (idp.App, error)             // may answer from a cache
	Check(ctx context.Context, r idp.SignInRequest) (idp.App, error)    // asks the backend, before the dialog
	Authorize(ctx context.Context, r idp.SignInRequest) (string, error) // mints the code
	// Declined tells the backend the person denied r or let it time out.
	Declined(ctx context.Context, r idp.SignInRequest, outcome string) error
}

// Asker raises confirmations (the broker).
type Asker interface {
	Ask(ctx context.Context, r broker.Request) (broker.Decision, error)
}

// Gate reports whether the daemon must send pages to QR right now, and
// why: "paused" (the user paused scan-free login) or "locked" (the screen
// is locked); "" while it is open.
type Gate interface {
	Closed() string
}

// closedMsg is the errmsg of a closed gate.
func closedMsg(reason string) string {
	if reason == "paused" {
		return "scan-free login is paused on this desktop"
	}
	return "the screen of this desktop is locked"
}

// SignIn describes a completed sign-in, for notifications and history.
type SignIn struct {
	AppID   string    `json:"appid"`
	AppName string    `json:"app_name"`
	Origin  string    `json:"origin"`
	Account string    `json:"account"`
	At      time.Time `json:"at"`
}

// Config of a Server.
type Config struct {
	Domain         string
	TrustedOrigins []string // normalized; see NormalizeOrigin
	// CheckLoginRate and AuthorizeRate are global limits per second; the
	// burst is twice the rate.
	CheckLoginRate float64
	AuthorizeRate  float64
	UUIDTTL        time.Duration // authorize_uuid lifetime (120 s)
	// ConfirmTimeout and Cooldown are the confirmation's limits (the
	// broker's), told to the page so it can count them down.
	ConfirmTimeout, Cooldown time.Duration
	OnSignIn                 func(SignIn)
	Logger                   *slog.Logger
}

// Server serves the local API.
type Server struct {
	cfg      Config
	hosts    atomic.Pointer[[]string] // allowed Host values, set with the port
	origins  atomic.Pointer[[]string] // TrustedOrigins, replaced by SetTrustedOrigins
	id       Identity
	ask      Asker
	gate     Gate
	uuids    *uuidStore
	checkLim *rate.Limiter
	authLim  *rate.Limiter
}

// New returns a Server. It does no I/O.
func New(cfg Config, id Identity, ask Asker, gate Gate) *Server {
	if cfg.CheckLoginRate <= 0 {
		cfg.CheckLoginRate = 50
	}
	if cfg.AuthorizeRate <= 0 {
		cfg.AuthorizeRate = 2
	}
	if cfg.UUIDTTL <= 0 {
		cfg.UUIDTTL = 120 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Server{cfg: cfg, id: id, ask: ask, gate: gate, uuids: newUUIDStore(cfg.UUIDTTL),
		checkLim: rate.NewLimiter(rate.Limit(cfg.CheckLoginRate), int(2*cfg.CheckLoginRate)),
		authLim:  rate.NewLimiter(rate.Limit(cfg.AuthorizeRate), int(2*cfg.AuthorizeRate))}
	s.SetTrustedOrigins(cfg.TrustedOrigins)
	return s
}

// TrustedOrigins are the origins allowed to call the API now.
func (s *Server) TrustedOrigins() []string { return slices.Clone(*s.origins.Load()) }

// SetTrustedOrigins replaces the origins allowed to call the API (the
// daemon pointed at another backend); o must be normalized.
func (s *Server) SetTrustedOrigins(o []string) {
	o = slices.Clone(o)
	s.origins.Store(&o)
}

// SetPort tells the server which port it listens on, for the Host check.
func (s *Server) SetPort(p int) {
	hosts := allowedHosts(s.cfg.Domain, p)
	s.hosts.Store(&hosts)
}

// Handler returns the guarded routes.
func (s *Server) Handler() http.Handler {
	check, authorize := s.post(s.checkLogin), s.post(s.authorize)
	// Two exact paths: a switch rather than a ServeMux on the hot path (a
	// path the mux would have cleaned and redirected is simply not found).
	return s.guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/check-login":
			check(w, r)
		case "/api/authorize":
			authorize(w, r)
		default:
			http.NotFound(w, r)
		}
	}))
}

// response is the envelope of every answer.
type response struct {
	APIName string `json:"apiname"`
	ErrCode int    `json:"errcode"`
	ErrMsg  string `json:"errmsg,omitempty"`
	// Reason tells a 10061 apart, so the page can say which: "paused" or
	// "locked"; and a 10066 that is the cooldown after a refusal,
	// "cooldown", from the limit (our addition to the seeds' format).
	Reason string `json:"reason,omitempty"`
	// RetryAfter is the seconds a cooldown lasts yet.
	RetryAfter int `json:"retry_after,omitempty"`
	JSData     any `json:"jsdata,omitempty"`
}

// bufs recycles request and response buffers: check-login is the hot path.
var bufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func writeResp(w http.ResponseWriter, status int, r response) {
	buf := bufs.Get().(*bytes.Buffer)
	defer bufs.Put(buf)
	buf.Reset()
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	enc.Encode(r)
	h := w.Header()
	h["Content-Type"] = []string{"application/json; charset=utf-8"}
	h["Content-Length"] = []string{strconv.Itoa(buf.Len())}
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// post enforces POST with a JSON body of at most MaxBody bytes; a GET, a
// form post or a text/plain fetch is answered and changes nothing.
func (s *Server) post(h func(ctx context.Context, origin string, body []byte) response) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			discardBody(w, r)
			w.Header().Set("Allow", "POST")
			writeResp(w, http.StatusMethodNotAllowed, response{ErrCode: deviceapi.CodeMalformed, ErrMsg: "use POST"})
			return
		}
		ct, _, _ := strings.Cut(r.Header.Get("Content-Type"), ";")
		if !strings.EqualFold(strings.TrimSpace(ct), "application/json") {
			discardBody(w, r)
			writeResp(w, http.StatusUnsupportedMediaType, response{ErrCode: deviceapi.CodeMalformed, ErrMsg: "Content-Type must be application/json"})
			return
		}
		buf := bufs.Get().(*bytes.Buffer)
		defer bufs.Put(buf)
		buf.Reset()
		if _, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, MaxBody)); err != nil {
			writeResp(w, http.StatusRequestEntityTooLarge, response{ErrCode: deviceapi.CodeMalformed, ErrMsg: fmt.Sprintf("body larger than %d bytes", MaxBody)})
			return
		}
		writeResp(w, http.StatusOK, h(r.Context(), r.Header.Get("Origin"), buf.Bytes()))
	}
}

// checkLoginReply and authorizeReply are the jsdata of the answers.
type checkLoginReply struct {
	Nickname      string `json:"nickname"`
	HeadImgURL    string `json:"headimgurl"`
	AuthorizeUUID string `json:"authorize_uuid"`
	// ConfirmSeconds is how long the confirmation waits for the person;
	// CooldownSeconds how long this page then waits after one that did
	// not allow (our addition to the seeds' format).
	ConfirmSeconds  int `json:"confirm_seconds,omitempty"`
	CooldownSeconds int `json:"cooldown_seconds,omitempty"`
}

type authorizeReply struct {
	RedirectURL string `json:"redirect_url"`
}

// checkLoginData is the jsdata of check-login.
type checkLoginData struct {
	AppID       string `json:"appid"`
	Scope       string `json:"scope"`
	RedirectURI string `json:"redirect_uri"`
	State       string `json:"state"`
}

// authorizeData is the jsdata of authorize.
type authorizeData struct {
	Data          string `json:"data"` // JSON string {"x":…,"y":…}: the click, for placing the dialog
	AppID         string `json:"appid"`
	Scope         string `json:"scope"`
	RedirectURI   string `json:"redirect_uri"`
	State         string `json:"state"`
	AuthorizeUUID string `json:"authorize_uuid"`
}

func (s *Server) checkLogin(ctx context.Context, origin string, body []byte) response {
	var d checkLoginData
	if r, ok := decode(body, apiCheckLogin, &d); !ok {
		return r
	}
	if err := validate(d.AppID, d.Scope, d.RedirectURI, d.State); err != nil {
		return response{APIName: apiCheckLogin, ErrCode: deviceapi.CodeMalformed, ErrMsg: err.Error()}
	}
	if !s.checkLim.Allow() {
		return response{APIName: apiCheckLogin, ErrCode: deviceapi.CodeRateLimited, ErrMsg: "too many requests"}
	}
	if why := s.gate.Closed(); why != "" {
		return response{APIName: apiCheckLogin, ErrCode: deviceapi.CodeLocked, ErrMsg: closedMsg(why), Reason: why}
	}
	p, _, code, msg := s.identify(ctx, d.AppID)
	if code != deviceapi.CodeOK {
		return response{APIName: apiCheckLogin, ErrCode: code, ErrMsg: msg}
	}
	id := s.uuids.Mint(binding{appID: d.AppID, redirectURI: d.RedirectURI, origin: origin, scope: d.Scope, state: d.State})
	return response{APIName: apiCheckLogin, JSData: checkLoginReply{Nickname: p.Nickname, HeadImgURL: p.HeadImgURL, AuthorizeUUID: id,
		ConfirmSeconds: seconds(s.cfg.ConfirmTimeout), CooldownSeconds: seconds(s.cfg.Cooldown)}}
}

// identify fetches the signed-in profile (possibly cached) and the app,
// mapping failures to errcodes: check-login's view.
func (s *Server) identify(ctx context.Context, appID string) (idp.Profile, idp.App, int, string) {
	p, app, code, msg := s.lookup(ctx, s.id.Me, func(ctx context.Context) (idp.App, error) { return s.id.App(ctx, appID) })
	if code == deviceapi.CodeOK && !app.FastLogin {
		return p, app, deviceapi.CodeQROnly, "this app allows QR login only"
	}
	return p, app, code, msg
}

// verify asks the backend, bypassing every cache, whether the user is
// still signed in and whether it would mint a code for r: authorize's view,
// taken before the user is asked, so that the dialog never shows a
// redirect host the app did not register.
func (s *Server) verify(ctx context.Context, r idp.SignInRequest) (idp.Profile, idp.App, int, string) {
	return s.lookup(ctx, s.id.Fresh, func(ctx context.Context) (idp.App, error) { return s.id.Check(ctx, r) })
}

// lookup fetches the profile, then the app, mapping the first failure to
// its errcode.
func (s *Server) lookup(ctx context.Context, me func(context.Context) (idp.Profile, error),
	app func(context.Context) (idp.App, error)) (idp.Profile, idp.App, int, string) {
	p, err := me(ctx)
	if err != nil {
		code, msg := s.codeFor(err)
		return p, idp.App{}, code, msg
	}
	a, err := app(ctx)
	if err != nil {
		code, msg := s.codeFor(err)
		return p, a, code, msg
	}
	return p, a, deviceapi.CodeOK, ""
}

func (s *Server) codeFor(err error) (int, string) {
	var re *idp.RefusedError
	switch {
	case errors.Is(err, idp.ErrSignedOut):
		return deviceapi.CodeSignedOut, "this desktop is not signed in"
	case errors.As(err, &re):
		if re.Code == deviceapi.CodeQROnly {
			return deviceapi.CodeQROnly, re.Msg
		}
		return deviceapi.CodeRefused, re.Msg
	default:
		s.cfg.Logger.Warn("backend", "err", err)
		return deviceapi.CodeUnreachable, "the identity backend cannot be reached"
	}
}

func (s *Server) authorize(ctx context.Context, origin string, body []byte) response {
	reply := func(code int, msg string) response {
		return response{APIName: apiAuthorizeReply, ErrCode: code, ErrMsg: msg}
	}
	var d authorizeData
	if r, ok := decode(body, apiAuthorize, &d); !ok {
		r.APIName = apiAuthorizeReply
		return r
	}
	if err := validate(d.AppID, d.Scope, d.RedirectURI, d.State); err != nil {
		return reply(deviceapi.CodeMalformed, err.Error())
	}
	if err := checkClick(d.Data); err != nil {
		return reply(deviceapi.CodeMalformed, err.Error())
	}
	if !s.authLim.Allow() {
		return reply(deviceapi.CodeRateLimited, "too many requests")
	}
	if why := s.gate.Closed(); why != "" {
		r := reply(deviceapi.CodeLocked, closedMsg(why))
		r.Reason = why
		return r
	}
	if !s.uuids.Consume(d.AuthorizeUUID, binding{appID: d.AppID, redirectURI: d.RedirectURI, origin: origin, scope: d.Scope, state: d.State}) {
		return reply(deviceapi.CodeBadUUID, "authorize_uuid unknown, expired, used, or for another request; check login again")
	}
	req := idp.SignInRequest{AppID: d.AppID, Scope: d.Scope, RedirectURI: d.RedirectURI, State: d.State, Origin: origin}
	p, app, code, msg := s.verify(ctx, req)
	if code != deviceapi.CodeOK {
		return reply(code, msg)
	}
	redirect, _ := url.Parse(d.RedirectURI)
	dec, err := s.ask.Ask(ctx, broker.Request{AppID: app.AppID, AppName: app.Name, AppIcon: app.Icon, Origin: origin,
		RedirectHost: redirect.Host, Scope: d.Scope, Account: p.Nickname})
	switch {
	case errors.Is(err, broker.ErrBusy):
		return reply(deviceapi.CodeBusy, "another confirmation is pending")
	case errors.Is(err, broker.ErrCooldown):
		r := reply(deviceapi.CodeRateLimited, "denied moments ago; try again later")
		r.Reason = "cooldown"
		if ce := (*broker.CooldownError)(nil); errors.As(err, &ce) {
			r.RetryAfter = max(1, seconds(ce.Left))
		}
		return r
	case err != nil:
		return reply(deviceapi.CodeUnreachable, err.Error())
	}
	switch dec {
	case broker.Allow:
	case broker.Deny:
		s.declined(ctx, req, deviceapi.OutcomeDenied)
		return reply(deviceapi.CodeDenied, "the user denied the sign-in")
	default:
		s.declined(ctx, req, deviceapi.OutcomeTimeout)
		return reply(deviceapi.CodeTimeout, "the confirmation timed out")
	}
	url, err := s.id.Authorize(ctx, req)
	if err != nil {
		code, msg := s.codeFor(err)
		return reply(code, msg)
	}
	if s.cfg.OnSignIn != nil {
		s.cfg.OnSignIn(SignIn{AppID: app.AppID, AppName: app.Name, Origin: origin, Account: p.Nickname, At: time.Now()})
	}
	return response{APIName: apiAuthorizeReply, JSData: authorizeReply{RedirectURL: url}}
}

// declined tells the backend, in the background, that req was not
// confirmed, for the operators' log. The page's answer does not wait: the
// backend may be slow or down, and then the refusal is only in this
// desktop's own log.
func (s *Server) declined(ctx context.Context, req idp.SignInRequest, outcome string) {
	go func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := s.id.Declined(ctx, req, outcome); err != nil {
			s.cfg.Logger.Warn("could not tell the backend of a declined sign-in", "appid", req.AppID, "outcome", outcome, "err", err)
		}
	}()
}

// decode strictly parses, in one pass, an envelope whose apiname must be
// want and whose jsdata must be exactly T.
func decode[T any](body []byte, want string, jsdata *T) (response, bool) {
	var env struct {
		APIName string `json:"apiname"`
		JSData  *T     `json:"jsdata"`
	}
	env.JSData = jsdata
	if err := strictUnmarshal(body, &env); err != nil {
		return response{APIName: want, ErrCode: deviceapi.CodeMalformed, ErrMsg: err.Error()}, false
	}
	if env.APIName != want {
		return response{APIName: want, ErrCode: deviceapi.CodeInvalidAPI, ErrMsg: "invalid apiname"}, false
	}
	if env.JSData == nil {
		return response{APIName: want, ErrCode: deviceapi.CodeMalformed, ErrMsg: "jsdata missing"}, false
	}
	return response{}, true
}

// strictUnmarshal decodes one JSON object into v with names matched
// exactly (encoding/json would take "APPID" for "appid"), duplicate names
// refused (encoding/json keeps the last, so a page and the daemon could
// read different values), unknown names refused and nothing after the
// object. github.com/go-json-experiment/json is encoding/json/v2 outside
// its GOEXPERIMENT.
func strictUnmarshal(b []byte, v any) error {
	if len(b) == 0 {
		return errors.New("malformed JSON: empty")
	}
	if err := jsonv2.Unmarshal(b, v, jsonv2.RejectUnknownMembers(true)); err != nil {
		return fmt.Errorf("malformed JSON: %v", err)
	}
	return nil
}

// validate checks the fields every request carries; the backend checks
// them against the app's registration.
func validate(appID, scope, redirectURI, state string) error {
	switch {
	case appID == "" || len(appID) > deviceapi.MaxAppIDLen:
		return errors.New("appid missing or too long")
	case scope == "" || len(scope) > deviceapi.MaxScopeLen:
		return errors.New("scope missing or too long")
	case len(state) > deviceapi.MaxStateLen:
		return fmt.Errorf("state longer than %d bytes", deviceapi.MaxStateLen)
	case len(redirectURI) > deviceapi.MaxRedirectURILen:
		return errors.New("redirect_uri too long")
	}
	u, err := url.Parse(redirectURI)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return errors.New("redirect_uri is not an absolute http(s) URL")
	}
	return nil
}

// checkClick validates the optional click position the seeds' format
// carries in data. No native dialog can be placed by it, so it is checked
// (a malformed request is refused) and not passed on.
func checkClick(data string) error {
	if data == "" {
		return nil
	}
	var p struct {
		X float64 `json:"x"`
		Y float64 `json:"y"`
	}
	if err := strictUnmarshal([]byte(data), &p); err != nil {
		return fmt.Errorf("data: %v", err)
	}
	if p.X < 0 || p.Y < 0 || p.X > 1e5 || p.Y > 1e5 {
		return errors.New("data: click position out of range")
	}
	return nil
}

// seconds is d in whole seconds, rounded up.
func seconds(d time.Duration) int { return int((d + time.Second - 1) / time.Second) }
