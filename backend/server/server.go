// Package server is the scanfree identity backend's HTTP side: the hosted
// web pages (/login, /account, /device), RFC 8628 device enrolment, the
// device API the daemon calls, and the WeChat-compatible /sns/* token API
// relying parties call.
package server

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/scanfree/scanfree/backend/connector"
	"github.com/scanfree/scanfree/backend/keys"
	"github.com/scanfree/scanfree/backend/signin"
	"github.com/scanfree/scanfree/backend/storage"
	"github.com/scanfree/scanfree/backend/tickets"
	"github.com/scanfree/scanfree/internal/deviceapi"
	"github.com/scanfree/scanfree/internal/periodic"
	"github.com/scanfree/scanfree/internal/secret"
	"github.com/scanfree/scanfree/internal/tpmkey"
)

// Config tunes a Server. Zero fields take the defaults listed.
type Config struct {
	// PublicURL is the origin users and relying parties reach the server at,
	// e.g. http://idp.localhost:8080. Required.
	PublicURL string
	// CodeTTL is the lifetime of an authorization code (5 min).
	CodeTTL time.Duration
	// AccessTTL is the lifetime of an access token (2 h, WeChat's 7200 s).
	AccessTTL time.Duration
	// RefreshTTL is the lifetime of a refresh token (30 days).
	RefreshTTL time.Duration
	// DeviceCodeTTL is the lifetime of a device authorization (10 min).
	DeviceCodeTTL time.Duration
	// DeviceInterval is the minimum polling interval of the device flow (5 s).
	DeviceInterval time.Duration
	// RequireDPoP refuses desktops whose credential is not bound to a
	// proof key (RFC 9449 DPoP): enrolment must prove a key, and a desktop
	// enrolled before DPoP is signed out instead of bound at its next call.
	RequireDPoP bool
	// TPMEKRoots are the TPM makers whose endorsement key certificates
	// this server trusts; a desktop whose key is shown to be in such a TPM
	// (handleKeyAttest) is recorded as "tpm". nil: none is, every key is
	// "software".
	TPMEKRoots *tpmkey.Roots
	// SessionTTL is the absolute lifetime of a web session (12 h), and
	// SessionIdle how long one may go unused before it ends (30 min).
	SessionTTL  time.Duration
	SessionIdle time.Duration
	// DaemonDomain and DaemonPorts are where the hosted page looks for the
	// desktop daemon (deviceapi.DefaultDomain and DefaultPorts).
	DaemonDomain string
	DaemonPorts  []int
	// QRTTL is the lifetime of a QR ticket (120 s).
	QRTTL time.Duration
	// PollTimeout is how long a QR long poll is held (25 s).
	PollTimeout time.Duration
	// PollsPerAddress caps the QR long polls one client address holds
	// waiting on this server (64); a ticket has at most 4.
	PollsPerAddress int
	// TicketsPerMinute caps the QR tickets one client address creates, and
	// the OpenID Connect authorization requests it makes (60 each).
	TicketsPerMinute int
	// EventRetention is how long audit events are kept (90 days).
	EventRetention time.Duration
	// DeviceAuthsPerMinute caps the device authorizations (enrolments
	// started) one client address may create per minute (10).
	DeviceAuthsPerMinute int
	// MaxConcurrentHashes bounds the argon2id password checks running at
	// once (4: about 76 MiB).
	MaxConcurrentHashes int
	// TrustedProxies are the load balancers in front of the server: for a
	// request from one of them, the client address is taken from
	// X-Forwarded-For (see clientIP). Empty: the peer is the client.
	TrustedProxies []netip.Prefix
	// MaxDesktops caps the desktops one person has signed in at once (5);
	// MaxDesktopsPolicy is what a new one over it does: CapRefuse (the
	// default) or CapEvictOldest.
	MaxDesktops       int
	MaxDesktopsPolicy string
	// Country returns a client address's ISO 3166 country ("" when not
	// known), for the sign-in log and the apps' country fences; nil: no
	// country is known, and a country fence refuses every sign-in.
	Country func(addr string) string
	// WebhookURL, when set, receives every alert (see DeliverWebhooks),
	// signed with WebhookSecret; TravelWindow is how soon after a sign-in
	// from one country one from another is an alert (2 h).
	WebhookURL    string
	WebhookSecret []byte
	TravelWindow  time.Duration
	// AdminAllowCIDR, when set, are the only client addresses the
	// operator console answers (see console).
	AdminAllowCIDR []netip.Prefix
	// DataKey seals the OpenID Connect signing keys in the store (see
	// package keys); without it the OIDC face answers that it is off.
	DataKey []byte
	// IDTokenTTL is the lifetime of an id_token (1 h), and so how long a
	// replaced signing key stays published.
	IDTokenTTL time.Duration
	// JSCodePerMinute caps /sns/jscode2session per app and person (100,
	// WeChat's figure); beyond it the answer is 45011.
	JSCodePerMinute int
	// Connectors are the directories and providers people may sign in
	// with besides local passwords (see connectors.go); DirectorySync is
	// how often each re-checks the people linked to it (5 min).
	Connectors    []connector.Connector
	DirectorySync time.Duration
	// Theme is the organisation's look of every page.
	Theme Theme

	// PasswordSignin is what a password alone may do (policy.go); ""
	// takes one alone (on) in New, and in Run the install's default.
	PasswordSignin storage.PasswordPolicy
	// Now is the clock (time.Now); tests move it.
	Now func() time.Time
	// Logger receives structured logs (slog.Default()).
	Logger *slog.Logger
}

func (c *Config) setDefaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.CodeTTL, 5*time.Minute)
	def(&c.AccessTTL, 2*time.Hour)
	def(&c.RefreshTTL, 30*24*time.Hour)
	def(&c.DeviceCodeTTL, 10*time.Minute)
	def(&c.DeviceInterval, 5*time.Second)
	def(&c.SessionTTL, 12*time.Hour)
	def(&c.SessionIdle, 30*time.Minute)
	def(&c.QRTTL, 120*time.Second)
	def(&c.PollTimeout, 25*time.Second)
	if c.PollsPerAddress <= 0 {
		c.PollsPerAddress = 64
	}
	if c.TicketsPerMinute <= 0 {
		c.TicketsPerMinute = 60
	}
	def(&c.EventRetention, 90*24*time.Hour)
	def(&c.IDTokenTTL, time.Hour)
	def(&c.DirectorySync, 5*time.Minute)
	if c.DeviceAuthsPerMinute <= 0 {
		c.DeviceAuthsPerMinute = 10
	}
	if c.MaxDesktops <= 0 {
		c.MaxDesktops = 5
	}
	if c.MaxDesktopsPolicy == "" {
		c.MaxDesktopsPolicy = CapRefuse
	}
	if c.JSCodePerMinute <= 0 {
		c.JSCodePerMinute = 100
	}
	if c.MaxConcurrentHashes <= 0 {
		c.MaxConcurrentHashes = 4
	}
	if c.DaemonDomain == "" {
		c.DaemonDomain = deviceapi.DefaultDomain
	}
	if len(c.DaemonPorts) == 0 {
		c.DaemonPorts = deviceapi.DefaultPorts()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Server serves the backend. It is safe for concurrent use.
type Server struct {
	cfg    Config
	store  storage.Storage
	log    *slog.Logger
	public *url.URL

	loginUser *limiter // failed logins per username and client address
	loginIP   *limiter // failed logins per client address
	codeUser  *limiter // wrong user_codes per account
	codeIP    *limiter // wrong user_codes per client address
	ticketIP  *limiter // QR tickets per client address
	enrolIP   *limiter // device authorizations per client address
	jscodeLim *limiter // jscode2session per app and person
	oidcIP    *limiter // OIDC authorization requests per client address

	tickets *tickets.Store
	metrics *metrics
	keys    *keys.Ring

	hashSlots   chan struct{} // one token per running password check
	hashClients clientSlots   // one running check per client
	polls       pollCounts    // long polls waiting, per ticket and client
	watches     watchCounts   // desktop watches held, per device

	signin *signin.Service // the sign-in core every face calls

	rp           *webauthn.WebAuthn // passkeys; nil when the public host cannot be an RP ID
	challengeKey sharedKey          // MAC key of passkey challenges

	directories directoryState // which connectors' directories are not answering
	canRecheck  bool           // a connector can be asked about a person again (connector.Refresher)
}

// New returns a Server over store. It does no I/O.
func New(store storage.Storage, cfg Config) (*Server, error) {
	cfg.setDefaults()
	u, err := parsePublicURL(cfg.PublicURL)
	if err != nil {
		return nil, err
	}
	if cfg.MaxDesktopsPolicy != CapRefuse && cfg.MaxDesktopsPolicy != CapEvictOldest {
		return nil, fmt.Errorf("max desktops policy %q: use %s or %s", cfg.MaxDesktopsPolicy, CapRefuse, CapEvictOldest)
	}
	if cfg.PasswordSignin != "" && !cfg.PasswordSignin.Valid() {
		return nil, fmt.Errorf("password sign-in policy %q: use on, second-factor or off", cfg.PasswordSignin)
	}
	if err := checkConnectors(cfg.Connectors); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, store: store, log: cfg.Logger, public: u, tickets: tickets.New(store, cfg.QRTTL, cfg.Now),
		hashSlots: make(chan struct{}, cfg.MaxConcurrentHashes), polls: pollCounts{perClient: cfg.PollsPerAddress}}
	for _, c := range cfg.Connectors {
		if _, ok := c.(connector.Refresher); ok {
			s.canRecheck = true
		}
	}
	s.loginUser = s.newLimiter("login-user", 5, 15*time.Minute)
	s.loginIP = s.newLimiter("login-ip", 20, 15*time.Minute)
	s.codeUser = s.newLimiter("user-code-user", 5, cfg.DeviceCodeTTL)
	s.codeIP = s.newLimiter("user-code-ip", 5, cfg.DeviceCodeTTL)
	s.ticketIP = s.newLimiter("qr-ip", cfg.TicketsPerMinute, time.Minute)
	s.enrolIP = s.newLimiter("device-auth-ip", cfg.DeviceAuthsPerMinute, time.Minute)
	s.jscodeLim = s.newLimiter("jscode", cfg.JSCodePerMinute, time.Minute)
	s.oidcIP = s.newLimiter("oidc-authorize-ip", cfg.TicketsPerMinute, time.Minute)
	s.metrics = newMetrics(s)
	s.signin = signin.New(store, signin.Config{DataKey: cfg.DataKey, Now: cfg.Now, Logger: cfg.Logger, CodeTTL: cfg.CodeTTL,
		Redeemed: func(outcome string) { s.metrics.exchanged.WithLabelValues(outcome).Inc() }, Minted: s.metrics.minted.Inc,
		SignIn: func(method, result string) { s.metrics.signins.WithLabelValues(method, result).Inc() }, Country: cfg.Country,
		TravelWindow: cfg.TravelWindow, Webhook: cfg.WebhookURL != "", Recheck: s.recheck})
	s.keys = keys.New(store, cfg.DataKey, cfg.IDTokenTTL, cfg.Now)
	if s.rp, err = newRelyingParty(u); err != nil {
		cfg.Logger.Warn("passkeys off: the public URL's host cannot be a WebAuthn RP ID; use a host name", "host", u.Hostname(), "err", err)
		s.rp = nil
	}
	return s, nil
}

// CheckPublicURL reports why public is not a usable PublicURL, if it is not.
func CheckPublicURL(public string) error {
	_, err := parsePublicURL(public)
	return err
}

func parsePublicURL(public string) (*url.URL, error) {
	u, err := url.Parse(public)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
		return nil, fmt.Errorf("public URL %q: want an origin such as http://idp.localhost:8080", public)
	}
	u.Path = ""
	return u, nil
}

// Handler returns the server's routes, wrapped in cross-origin protection
// for every state-changing browser request.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", Healthz)
	mux.HandleFunc("GET /readyz", s.readyz(false))

	mux.HandleFunc("GET /sns/oauth2/access_token", s.handleAccessToken)
	mux.HandleFunc("GET /sns/oauth2/refresh_token", s.handleRefreshToken)
	mux.HandleFunc("GET /sns/auth", s.handleAuth)
	mux.HandleFunc("GET /sns/userinfo", s.handleUserinfo)
	mux.HandleFunc("GET /sns/jscode2session", s.handleJSCode2Session)

	mux.HandleFunc("POST "+deviceapi.PathDeviceAuthorization, s.handleDeviceAuthorization)
	mux.HandleFunc("POST "+deviceapi.PathToken, cors(s.handleToken))

	mux.HandleFunc("GET /.well-known/openid-configuration", s.handleDiscovery)
	mux.HandleFunc("GET "+pathJWKS, s.handleJWKS)
	mux.HandleFunc("GET /oauth2/authorize", s.handleOIDCAuthorize)
	mux.HandleFunc("GET /oauth2/resume", s.handleOIDCResume)
	mux.HandleFunc("GET "+pathUserinfo, cors(s.handleOIDCUserinfo))
	mux.HandleFunc("POST "+pathUserinfo, cors(s.handleOIDCUserinfo))
	mux.HandleFunc("POST "+pathRevoke, cors(s.handleOIDCRevoke))
	for _, p := range []string{deviceapi.PathToken, pathUserinfo, pathRevoke} {
		mux.HandleFunc("OPTIONS "+p, cors(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	}

	mux.Handle("GET "+deviceapi.PathMe, s.deviceAuth(s.handleDeviceMe))
	mux.Handle("GET "+deviceapi.PathWatch, s.deviceAuth(s.handleDeviceWatch))
	mux.Handle("GET "+deviceapi.PathApps+"{appid}", s.deviceAuth(s.handleAppInfo))
	mux.Handle("POST "+deviceapi.PathCheck, s.deviceAuth(s.handleDeviceCheck))
	mux.Handle("POST "+deviceapi.PathAuthorize, s.deviceAuth(s.handleDeviceAuthorize))
	mux.Handle("POST "+deviceapi.PathDeclined, s.deviceAuth(s.handleDeviceDeclined))
	mux.Handle("POST "+deviceapi.PathKeyAttest, s.deviceAuth(s.handleKeyAttest))
	mux.Handle("POST "+deviceapi.PathPosture, s.deviceAuth(s.handleDevicePosture))
	mux.Handle("DELETE "+deviceapi.PathDevice, s.deviceAuth(s.handleDeviceSignOut))
	mux.Handle("POST "+deviceapi.PathAppCode, s.deviceAuth(s.handleAppCode))
	mux.Handle("POST "+deviceapi.PathAppData, s.deviceAuth(s.handleAppData))
	mux.Handle("POST "+deviceapi.PathAppSession, s.deviceAuth(s.handleAppSession))
	mux.Handle("GET "+deviceapi.PathAppConsents, s.deviceAuth(s.handleAppConsents))
	mux.Handle("DELETE "+deviceapi.PathAppConsents+"/{appid}", s.deviceAuth(s.handleAppForget))
	mux.Handle("POST "+deviceapi.PathQR+"{uuid}/{action}", s.deviceAuth(func(w http.ResponseWriter, r *http.Request, d storage.Device) {
		if a := r.PathValue("action"); a != "confirm" && a != "cancel" {
			http.NotFound(w, r)
			return
		}
		s.handleDeviceQR(w, r, d)
	}))

	mux.HandleFunc("GET /connect/qrconnect", s.handleConnect)
	mux.HandleFunc("GET /connect/qrconnect.js", serveAsset("hosted/qrconnect.js", "text/javascript; charset=utf-8", time.Hour))
	mux.HandleFunc("POST /connect/qrticket", s.handleNewTicket)
	mux.HandleFunc("GET /connect/qrcode/{uuid}", s.handleQRCode)
	mux.HandleFunc("GET /connect/l/qrconnect", s.handlePoll)
	mux.HandleFunc("GET /x/{uuid}", s.handleScanPage)
	mux.HandleFunc("POST /x/{uuid}", s.handleScanDecide)
	mux.HandleFunc("GET /sdk/scanfree.js", serveAsset("sdk/scanfree.js", "text/javascript; charset=utf-8", 5*time.Minute))

	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/account", http.StatusSeeOther)
	})
	// Every other GET: a page that says so, in the reader's language,
	// instead of Go's plain "404 page not found".
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		lang := consoleLang(nil, r)
		s.plainPage(w, http.StatusNotFound, lang, tr(lang, "Page not found"), tr(lang, "There is no page at this address. Check the link, or start from your account."), "", "")
	})
	mux.HandleFunc("GET /login", s.handleLoginPage)
	mux.HandleFunc("POST /login", s.handleLogin)
	mux.HandleFunc("POST /login/code", s.handleLoginCode)
	mux.HandleFunc("POST /login/passkey", s.handlePasskeySignIn)
	mux.HandleFunc("GET /login/passkey.js", serveAsset("hosted/passkey.js", "text/javascript; charset=utf-8", 5*time.Minute))
	mux.HandleFunc("GET /account/passkeys/new", s.handlePasskeyNew)
	mux.HandleFunc("POST /account/passkeys", s.handlePasskeyAdd)
	mux.HandleFunc("POST /account/passkeys/{id}/rename", s.handlePasskeyRename)
	mux.HandleFunc("POST /account/passkeys/{id}/remove", s.handlePasskeyRemove)
	mux.HandleFunc("GET /account/totp", s.handleTOTPSetup)
	mux.HandleFunc("POST /account/totp", s.handleTOTPEnable)
	mux.HandleFunc("POST /account/totp/remove", s.handleTOTPRemove)
	mux.HandleFunc("GET "+pathSelfStart, s.handleSelfStart)
	mux.HandleFunc("GET "+pathSelfCallback, s.handleSelfCallback)
	mux.HandleFunc("GET "+pathUpstream+"{id}", s.handleUpstreamStart)
	mux.HandleFunc("GET "+pathUpstream+"{id}/callback", s.handleUpstreamCallback)
	mux.HandleFunc("POST /logout", s.handleLogout)
	mux.HandleFunc("GET /account", s.handleAccount)
	mux.HandleFunc("POST /account/devices/{id}/revoke", s.handleRevokeDevice)
	mux.HandleFunc("POST /account/devices/{id}/rename", s.handleRenameDevice)
	mux.HandleFunc("POST /account/signout-everywhere", s.handleSignOutEverywhere)
	mux.HandleFunc("GET /account/password", s.handlePasswordPage)
	mux.HandleFunc("POST /account/password", s.handlePasswordChange)
	mux.HandleFunc("POST /account/apps/{appid}/revoke", s.handleRevokeApp)
	mux.HandleFunc("POST /account/desktop-apps/{appid}/forget", s.handleForgetDesktopApp)
	mux.HandleFunc("GET /device", s.handleDevicePage)
	mux.HandleFunc("POST /device", s.handleDeviceLookup)
	mux.HandleFunc("POST /device/decide", s.handleDeviceDecide)
	mux.HandleFunc("GET /reset/{token}", s.handleResetPage)
	mux.HandleFunc("POST /reset/{token}", s.handleReset)
	s.consoleRoutes(mux)

	csrf := http.NewCrossOriginProtection()
	// The OAuth endpoints a browser-based client calls from its own origin
	// authenticate with client credentials, PKCE or a Bearer token, never
	// a cookie: a cross-site request gains nothing there.
	for _, p := range []string{deviceapi.PathToken, pathUserinfo, pathRevoke} {
		csrf.AddInsecureBypassPattern("POST " + p)
	}
	csrf.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.log.Warn("cross-origin request refused", "method", r.Method, "path", r.URL.Path, "origin", r.Header.Get("Origin"))
		http.Error(w, "cross-origin request refused: submit the form from this site's own page", http.StatusForbidden)
	}))
	return s.metrics.instrument(csrf.Handler(mux))
}

// Healthz answers 200 while the process serves at all.
func Healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Write([]byte("ok\n"))
}

// readyz answers 200 when this replica can serve: its database answers
// (and, since the server exists, was migrated); else 503, so that a load
// balancer sends users elsewhere. Why it is not ready goes to the log and,
// with detail (the monitoring listener), into the answer: the public one
// says only "not ready", never the database's user, host or port.
func (s *Server) readyz(detail bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		if err := s.store.Ping(ctx); err != nil {
			s.log.WarnContext(ctx, "not ready: database unreachable", "err", err)
			w.WriteHeader(http.StatusServiceUnavailable)
			if detail {
				fmt.Fprintf(w, "not ready: database unreachable: %v\n", err)
			} else {
				w.Write([]byte("not ready\n"))
			}
			return
		}
		w.Write([]byte("ready\n"))
		// A directory down does not make the replica unready (scan-free,
		// QR and local sign-ins go on); monitoring is told of it.
		if detail {
			for _, line := range s.directoriesDown() {
				fmt.Fprintln(w, line)
			}
		}
	}
}

func (s *Server) now() time.Time { return s.cfg.Now() }

// purgeEvery is how often expired tickets, attempt windows, sessions and
// device authorizations are deleted; purgeGrace is how long past expiry
// they are kept, so that a late poll still reads "expired", not "unknown".
const (
	purgeEvery = time.Minute
	purgeGrace = time.Minute
)

// purgeBefore is what the purge deletes now: what expired a minute ago;
// codes once every token they can have issued has expired (a refresh
// token lives RefreshTTL), so that a replayed code is still found and its
// tokens revoked; audit events older than EventRetention; webhook
// messages still undelivered after webhookKeep.
func (s *Server) purgeBefore() storage.PurgeBefore {
	expired := s.now().Add(-purgeGrace)
	return storage.PurgeBefore{Expired: expired, Codes: expired.Add(-s.cfg.RefreshTTL), Events: s.now().Add(-s.cfg.EventRetention),
		Webhooks: s.now().Add(-webhookKeep)}
}

// purgeLoop deletes what expired, until ctx ends. Every replica runs it;
// the deletes are idempotent.
func (s *Server) purgeLoop(ctx context.Context) {
	periodic.Run(ctx, purgeEvery, func() {
		if n, err := s.store.Purge(ctx, s.purgeBefore()); err != nil && ctx.Err() == nil {
			s.log.WarnContext(ctx, "purge expired records", "err", err)
		} else if n > 0 {
			s.log.DebugContext(ctx, "purged expired records", "rows", n)
		}
		if s.dataKeyLoaded() {
			if _, err := s.keys.Prune(ctx); err != nil && ctx.Err() == nil {
				s.log.WarnContext(ctx, "prune signing keys", "err", err)
			}
		}
	})
}

// secure reports whether cookies must carry the Secure attribute.
func (s *Server) secure() bool { return s.public.Scheme == "https" }

// dataKeyLoaded reports whether the server has a data key: the OpenID
// Connect face and desktop apps, which keep sealed keys, need one.
func (s *Server) dataKeyLoaded() bool { return len(s.cfg.DataKey) != 0 }

// qrKey is the key of QR tickets' seals and poll keys. It derives from
// the data key, which the database never holds, so a database dump opens
// no sealed code and forges no poll key; a server without a data key
// (PostgreSQL without --data-key-file) falls back to the openid key.
func (s *Server) qrKey(ctx context.Context) ([]byte, error) {
	if len(s.cfg.DataKey) != 0 {
		return secret.MAC(s.cfg.DataKey, "qr-tickets"), nil
	}
	return s.signin.Key(ctx)
}

func trimLen(s string, n int) string {
	// Form input is stored and shown: no control characters, valid UTF-8
	// only (PostgreSQL refuses NUL and invalid UTF-8 in text), cut at a
	// character boundary.
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, ""))
	s = strings.TrimSpace(s)
	if len(s) > n {
		s = strings.ToValidUTF8(s[:n], "")
	}
	return s
}
