package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/scanfree/scanfree/backend/storage"
	"github.com/scanfree/scanfree/internal/version"
)

// RunOptions says how Run starts one replica.
type RunOptions struct {
	// Addr is where the server listens.
	Addr string
	// MetricsAddr, when set, serves /metrics, /healthz and /readyz apart
	// from the public routes, for the monitoring network only.
	MetricsAddr string
	// Open opens the store. Run retries it while it fails with
	// storage.ErrUnavailable (the database is down or starting), and
	// closes the store on return.
	Open func(ctx context.Context) (storage.Storage, error)
	// Config configures the server.
	Config Config
}

// Run listens at once, opens the store (waiting for the database if it
// is down), serves until ctx is done, then shuts down gracefully, letting
// requests in flight finish for up to 10 s. Until the store is open the
// listeners answer /healthz with 200 and everything else with 503, so
// a load balancer's readiness check keeps users away from this replica.
func Run(ctx context.Context, o RunOptions) error {
	o.Config.setDefaults()
	log := o.Config.Logger
	if _, err := parsePublicURL(o.Config.PublicURL); err != nil {
		return err
	}
	var wait atomic.Value // the last reason the store is not open yet
	wait.Store("opening the database")
	var public, side handlerSwap
	public.set(starting(&wait, false))
	side.set(starting(&wait, true))

	var servers []*http.Server
	errc := make(chan error, 2)
	for _, l := range []struct {
		addr, flag string
		h          http.Handler
	}{{o.Addr, "--addr", &public}, {o.MetricsAddr, "--metrics-addr", &side}} {
		if l.addr == "" {
			continue
		}
		ln, err := listen(l.addr, l.flag)
		if err != nil {
			shutdown(servers)
			return err
		}
		srv := newHTTPServer(ctx, l.h, log)
		servers = append(servers, srv)
		go func() { errc <- srv.Serve(ln) }()
		log.Info("listening", "addr", ln.Addr().String(), "for", l.flag)
	}

	st, err := openStore(ctx, o.Open, &wait, log)
	if err != nil {
		shutdown(servers)
		return err
	}
	if o.Config.PasswordSignin == "" {
		if o.Config.PasswordSignin, err = installPasswordPolicy(ctx, st, log); err != nil {
			shutdown(servers)
			st.Close()
			return err
		}
	}
	s, err := New(st, o.Config)
	if err != nil {
		shutdown(servers)
		st.Close()
		return err
	}
	// The signing keys exist before the server is ready: discovery and the
	// JWKS agree from the first request, and no relying party caches a
	// set without the key its first id_token carries.
	// When the database fails right here, the JWKS makes them on its
	// first request instead: not a reason to stop serving.
	if len(o.Config.DataKey) != 0 {
		if err := s.keys.Ensure(ctx); err != nil {
			log.Error("could not make the OpenID Connect signing keys at start; the JWKS will make them", "err", err)
		}
	}
	bg, stopBG := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { s.tickets.Run(bg) })
	wg.Go(func() { s.purgeLoop(bg) })
	if o.Config.WebhookURL != "" {
		wg.Go(func() { s.DeliverWebhooks(bg) })
	}
	if len(o.Config.Connectors) > 0 {
		wg.Go(func() { s.SyncDirectories(bg) })
	}

	public.set(s.Handler())
	side.set(s.opsHandler())
	log.Info("serving", "version", version.String(), "public_url", s.public.String())
	select {
	case err = <-errc:
		err = fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
		log.Info("shutting down")
	}
	// Requests first, then what they use.
	stopBG()
	shutdown(servers)
	wg.Wait()
	return errors.Join(err, st.Close())
}

// opsHandler serves the monitoring routes of --metrics-addr: metrics,
// health, and Go's profiles (/debug/pprof/, as `go tool pprof` takes
// them). Profiles show the program's insides and cost CPU while taken, so
// they are here, on the operators' listener, and never on the public one.
func (s *Server) opsHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", s.Metrics())
	mux.HandleFunc("GET /healthz", Healthz)
	mux.HandleFunc("GET /readyz", s.readyz(true))
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	return mux
}

// openStore calls open until it succeeds, ctx ends, or it fails for a
// reason waiting cannot fix (a foreign or newer database, a bad DSN).
func openStore(ctx context.Context, open func(context.Context) (storage.Storage, error), wait *atomic.Value, log *slog.Logger) (storage.Storage, error) {
	delay := 500 * time.Millisecond
	for {
		st, err := open(ctx)
		if err == nil {
			return st, nil
		}
		if !errors.Is(err, storage.ErrUnavailable) || ctx.Err() != nil {
			return nil, err
		}
		wait.Store(err.Error())
		log.Warn("database unreachable; retrying (the server answers 503 and /readyz says not ready until then)",
			"retry_in", delay.String(), "err", err)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(delay):
		}
		delay = min(2*delay, 5*time.Second)
	}
}

// starting is the handler while the store is not open yet. Only the
// monitoring listener (detail) says why: the reason names the database's
// user, host and port.
func starting(wait *atomic.Value, detail bool) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", Healthz)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "2")
		w.Header().Set("Cache-Control", "no-store")
		body := "starting: waiting for the database; retry in a moment"
		if r.URL.Path == "/readyz" {
			body = "not ready"
			if detail {
				body += ": " + wait.Load().(string)
			}
		}
		http.Error(w, body, http.StatusServiceUnavailable)
	})
	return mux
}

// handlerSwap serves whichever handler was set last.
type handlerSwap struct{ h atomic.Pointer[http.Handler] }

func (s *handlerSwap) set(h http.Handler) { s.h.Store(&h) }

func (s *handlerSwap) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	(*s.h.Load()).ServeHTTP(w, r)
}

func listen(addr, flag string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if errors.Is(err, syscall.EADDRINUSE) {
		return nil, fmt.Errorf("listen on %s: the port is taken by another program; pass another %s", addr, flag)
	}
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w (check %s)", addr, err, flag)
	}
	return ln, nil
}

func newHTTPServer(ctx context.Context, h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
}

// shutdown stops the servers, letting requests in flight finish for up to 10 s.
func shutdown(servers []*http.Server) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for _, srv := range servers {
		wg.Go(func() { srv.Shutdown(ctx) })
	}
	wg.Wait()
}
