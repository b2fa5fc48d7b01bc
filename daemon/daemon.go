// Package daemon is scanfreed: the per-user service that answers web pages'
// check-login and authorize on the loopback domain over TLS, asks the user
// to confirm, gets the code minted by the backend, and sends pages to the QR
// code while the screen is locked, the user paused it, or the desktop is
// signed out. Tray and CLI drive it through the control API (package
// control).
package daemon

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/scanfree/scanfree/certs"
	"github.com/scanfree/scanfree/daemon/broker"
	"github.com/scanfree/scanfree/daemon/control"
	"github.com/scanfree/scanfree/daemon/creds"
	"github.com/scanfree/scanfree/daemon/dialog"
	"github.com/scanfree/scanfree/daemon/idp"
	"github.com/scanfree/scanfree/daemon/localapi"
	"github.com/scanfree/scanfree/daemon/lock"
	"github.com/scanfree/scanfree/daemon/peer"
	"github.com/scanfree/scanfree/internal/deviceapi"
	"github.com/scanfree/scanfree/internal/version"
)

// Config of a Daemon. Zero fields take the defaults listed.
type Config struct {
	StateDir       string        // required; every path derives from it
	Socket         string        // control socket (<StateDir>/control.sock)
	BackendURL     string        // required
	Domain         string        // certs.DefaultDomain
	Port           int           // first port tried (14013), then deviceapi.DefaultPorts
	TrustedOrigins []string      // origins allowed to call the local API (the backend's origin)
	ConfirmTimeout time.Duration // 60 s
	Cooldown       time.Duration // per origin after a request that did not allow (30 s)
	TLSCert        string        // vendor mode: certificate file …
	TLSKey         string        // … and its key
	CheckLoginRate float64       // global limit per second (50)
	AuthorizeRate  float64       // global limit per second (2)
	NoDialog       bool          // answer only through the control API and tray
	NoNotify       bool          // no desktop notifications
	TPM            string        // where a new proof key is made (idp.Config.TPM)
	// BackendLocked says the machine's configuration sets BackendURL, so
	// SetBackend refuses.
	BackendLocked bool
	Logger        *slog.Logger
}

// Daemon is one running scanfreed.
type Daemon struct {
	cfg    Config
	log    *slog.Logger
	certs  *certs.Manager
	idp    *idp.Client
	broker *broker.Broker
	lock   *lock.Watcher
	api    *localapi.Server
	notify func(title, msg string)

	// originsDefault says TrustedOrigins is the backend's origin, not a
	// setting: it follows SetBackend.
	originsDefault bool
	// attestAgain is set once the key was shown to the backend again.
	attestAgain atomic.Bool

	desktopsMu sync.Mutex // guards desktops and desktops.json
	desktops   []string   // IDs of the account's desktops seen; nil until desktops.json is read

	mu          sync.Mutex
	ctx         context.Context // the Run context, for background work
	port        int
	listen      []string
	paused      bool
	pausedUntil time.Time
	pauseTimer  *time.Timer
	login       *control.Login
	recent      []control.SignIn
	subs        map[chan struct{}]struct{}
	ready       chan struct{}
}

// New checks cfg and returns a Daemon. It does no I/O.
func New(cfg Config) (*Daemon, error) {
	if cfg.StateDir == "" {
		return nil, errors.New("no state dir; pass --state-dir")
	}
	if cfg.Socket == "" {
		cfg.Socket = control.SocketIn(cfg.StateDir)
	}
	if len(cfg.Socket) > 100 {
		return nil, fmt.Errorf("control socket path %s is longer than Unix sockets allow (about 100 bytes); pass a shorter --socket", cfg.Socket)
	}
	if cfg.Domain == "" {
		cfg.Domain = certs.DefaultDomain
	}
	if err := certs.ValidateDomain(cfg.Domain); err != nil {
		return nil, err
	}
	if cfg.Port == 0 {
		cfg.Port = deviceapi.DefaultPorts()[0]
	}
	if cfg.Port < 1 || cfg.Port > 65535 {
		return nil, fmt.Errorf("port %d: want 1 to 65535", cfg.Port)
	}
	if (cfg.TLSCert == "") != (cfg.TLSKey == "") {
		return nil, errors.New("vendor mode needs both tls_cert and tls_key")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	backend, err := url.Parse(cfg.BackendURL)
	if err != nil || backend.Host == "" {
		return nil, fmt.Errorf("backend URL %q: want http(s)://host[:port]; set backend_url", cfg.BackendURL)
	}
	originsDefault := len(cfg.TrustedOrigins) == 0
	if originsDefault {
		cfg.TrustedOrigins = []string{backend.Scheme + "://" + backend.Host}
	}
	for i, o := range cfg.TrustedOrigins {
		n, err := localapi.NormalizeOrigin(o)
		if err != nil {
			return nil, err
		}
		cfg.TrustedOrigins[i] = n
	}
	d := &Daemon{cfg: cfg, log: cfg.Logger, subs: map[chan struct{}]struct{}{}, ready: make(chan struct{}), originsDefault: originsDefault}
	d.idp, err = idp.New(idp.Config{BackendURL: cfg.BackendURL, PageOrigins: cfg.TrustedOrigins, Creds: creds.New(cfg.StateDir),
		KeyFile: filepath.Join(cfg.StateDir, "dpop-key.pem"), TPM: cfg.TPM, Keychain: keychain(cfg.StateDir), OnSignedOut: d.signedOut,
		OnProfile: d.profileSeen})
	if err != nil {
		return nil, err
	}
	var frontends []broker.Frontend
	if !cfg.NoDialog {
		frontends = append(frontends, dialog.New())
	}
	d.broker = broker.New(broker.Config{Timeout: cfg.ConfirmTimeout, Cooldown: cfg.Cooldown, OnError: func(f string, err error) {
		d.log.Warn("confirmation frontend failed; the others still ask", "frontend", f, "err", err)
	}}, frontends...)
	d.lock = lock.New(func(lock.State) { d.changed() })
	confirm, cooldown := d.broker.Limits()
	d.api = localapi.New(localapi.Config{Domain: cfg.Domain, TrustedOrigins: cfg.TrustedOrigins, CheckLoginRate: cfg.CheckLoginRate,
		AuthorizeRate: cfg.AuthorizeRate, ConfirmTimeout: confirm, Cooldown: cooldown, OnSignIn: d.signedIn, Logger: cfg.Logger}, d.idp, d.broker, d)
	d.certs = certs.NewManager(cfg.StateDir, cfg.Domain, time.Now, cfg.Logger)
	d.notify = d.desktopNotify
	return d, nil
}

// Ready is closed once the daemon serves.
func (d *Daemon) Ready() <-chan struct{} { return d.ready }

// Run starts every part, serves until ctx is done, then stops them. When a
// part fails to start, the parts already started are stopped again.
func (d *Daemon) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	d.mu.Lock()
	d.ctx = ctx
	d.mu.Unlock()
	if err := os.MkdirAll(d.cfg.StateDir, 0o700); err != nil {
		return fmt.Errorf("create state dir: %w", err)
	}
	getCert, err := d.tlsSource(ctx)
	if err != nil {
		return err
	}
	lns, port, skipped, err := listenLoopback(d.cfg.Port)
	if err != nil {
		return err
	}
	if len(skipped) > 0 {
		d.log.Warn("local API: a port before this one is taken; pages try this one next", "port", port, "skipped", strings.Join(skipped, ", "))
	}
	closeAll := func() {
		for _, ln := range lns {
			ln.Close()
		}
	}
	ctl, err := listenControl(d.cfg.Socket)
	if err != nil {
		closeAll()
		return err
	}
	d.api.SetPort(port)
	d.mu.Lock()
	d.port = port
	for _, ln := range lns {
		d.listen = append(d.listen, ln.Addr().String())
	}
	d.mu.Unlock()

	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: getCert, NextProtos: []string{"h2", "http/1.1"}}
	api := &http.Server{
		Handler:           d.api.Handler(),
		TLSConfig:         tlsCfg,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      d.confirmTimeout() + 15*time.Second, // authorize waits for the user
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(d.log.Handler(), slog.LevelDebug),
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	ctlSrv := &http.Server{Handler: d.controlHandler(), ReadHeaderTimeout: 5 * time.Second, ConnContext: peer.ConnContext,
		BaseContext: func(net.Listener) context.Context { return ctx }}

	errc := make(chan error, len(lns)+1)
	for _, ln := range lns {
		go func() { errc <- api.Serve(tls.NewListener(&peer.Listener{Listener: ln, Log: d.log}, tlsCfg)) }()
	}
	go func() { errc <- ctlSrv.Serve(ctl) }()
	go d.lock.Run(ctx)
	go d.watchBroker(ctx)
	go d.watchDesktops(ctx)
	go d.watchSignOut(ctx)
	d.log.Info("serving", "version", version.String(), "listen", d.listen, "domain", d.cfg.Domain, "socket", d.cfg.Socket, "backend", d.cfg.BackendURL,
		"trusted_origins", d.cfg.TrustedOrigins)
	close(d.ready)

	var runErr error
	select {
	case <-ctx.Done():
	case err := <-errc:
		runErr = fmt.Errorf("serve: %w", err)
	}
	sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer scancel()
	api.Shutdown(sctx)
	ctlSrv.Shutdown(sctx)
	os.Remove(d.cfg.Socket)
	d.log.Info("stopped")
	return runErr
}

// tlsSource loads the vendor pair, or ensures our own leaf and keeps it
// renewed (checked at start and daily).
func (d *Daemon) tlsSource(ctx context.Context) (func(*tls.ClientHelloInfo) (*tls.Certificate, error), error) {
	if d.cfg.TLSCert != "" {
		pair, err := certs.LoadVendor(d.cfg.TLSCert, d.cfg.TLSKey, d.cfg.Domain, time.Now())
		if err != nil {
			return nil, err
		}
		return func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return pair, nil }, nil
	}
	res, err := d.certs.Ensure()
	if err != nil {
		return nil, err
	}
	if res.CreatedCA {
		d.log.Warn("created a new local CA; browsers trust it only after `scanfreed certs install`")
	}
	go d.certs.Run(ctx, 24*time.Hour)
	return d.certs.GetCertificate, nil
}

func (d *Daemon) confirmTimeout() time.Duration {
	if d.cfg.ConfirmTimeout > 0 {
		return d.cfg.ConfirmTimeout
	}
	return 60 * time.Second
}

// Closed implements localapi.Gate: pages go to QR while paused or locked.
func (d *Daemon) Closed() string {
	d.mu.Lock()
	paused := d.paused
	d.mu.Unlock()
	switch {
	case paused:
		return "paused"
	case d.lock.Locked():
		return "locked"
	}
	return ""
}

// watchBroker turns confirmation events into status changes.
func (d *Daemon) watchBroker(ctx context.Context) {
	ch, stop := d.broker.Subscribe()
	defer stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ch:
			d.changed()
		}
	}
}

// changed wakes every event-stream subscriber.
func (d *Daemon) changed() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for ch := range d.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

func (d *Daemon) signedIn(s localapi.SignIn) {
	d.mu.Lock()
	d.recent = append([]control.SignIn{{AppID: s.AppID, AppName: s.AppName, Origin: s.Origin, Account: s.Account, At: s.At}}, d.recent...)
	if len(d.recent) > 20 {
		d.recent = d.recent[:20]
	}
	d.mu.Unlock()
	d.log.Info("signed in", "app", s.AppName, "origin", s.Origin)
	d.notify("Signed in to "+s.AppName, "Signed in to "+s.AppName+" as "+s.Account)
	d.changed()
}

func (d *Daemon) signedOut() {
	reason := d.idp.SignOutReason()
	if reason == "" {
		reason = "This desktop was signed out at the identity backend."
	}
	d.log.Warn("the backend no longer accepts this desktop's credential; signed out", "reason", reason)
	d.notify("scanfree signed out", reason+" Run `scanfreed login` to sign in again.")
	d.changed()
}

// watchSignOut keeps one watch open at the backend while this desktop is
// signed in, so that a sign-out done elsewhere (the account page, an
// operator's offboarding) reaches check-login within about a second
// instead of at the next profile refresh.
func (d *Daemon) watchSignOut(ctx context.Context) {
	wait := time.Duration(0)
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		if !d.idp.SignedIn() {
			wait = 2 * time.Second
			continue
		}
		alerts, err := d.idp.Watch(ctx)
		for _, a := range alerts {
			d.log.Warn("alert from the identity backend", "alert", a)
			d.notify("scanfree: unusual sign-in", a+" Not you? Sign out everywhere on your account page.")
		}
		switch {
		case err == nil, errors.Is(err, idp.ErrSignedOut):
			wait = 0
		default:
			wait = 5 * time.Second // the backend is away; the sign-in checks say so meanwhile
		}
	}
}
