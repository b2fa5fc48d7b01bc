package demo

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"syscall"
	"time"
)

// Main runs the shop with command-line arguments until ctx ends.
func Main(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("scanfree-demo", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8081", "listen address")
	public := fs.String("public-url", "http://shop.localhost:8081", "where browsers reach the shop")
	backend := fs.String("backend", "http://127.0.0.1:8080", "identity backend for the token calls")
	backendPublic := fs.String("backend-public-url", "http://idp.localhost:8080", "identity backend as browsers reach it")
	appFile := fs.String("app-file", "", "JSON with appid and secret, as `scanfree-server app create --json` prints")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *appFile == "" {
		return errors.New("pass --app-file (the output of `scanfree-server app create --json`)")
	}
	b, err := os.ReadFile(*appFile)
	if err != nil {
		return fmt.Errorf("read --app-file: %w", err)
	}
	var app struct{ AppID, Secret string }
	if err := json.Unmarshal(b, &app); err != nil || app.AppID == "" {
		return fmt.Errorf("--app-file %s: want JSON with appid and secret", *appFile)
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	shop, err := New(Config{PublicURL: *public, Backend: *backend, BackendPublic: *backendPublic, AppID: app.AppID, Secret: app.Secret, Logger: log})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Errorf("listen on %s: the port is taken; pass another --addr", *addr)
	} else if err != nil {
		return fmt.Errorf("listen on %s: %w", *addr, err)
	}
	srv := &http.Server{Handler: shop.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	log.Info("Demo Shop serving", "addr", ln.Addr().String(), "url", *public)
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
