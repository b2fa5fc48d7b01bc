// Package demoup runs the whole system on one machine for `make demo`
// (`scanfree-demo up`), started by package system as the end-to-end tests
// start it.
package demoup

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/scanfree/scanfree/internal/harness/system"
	"github.com/scanfree/scanfree/web/demo"
)

// Up runs the whole system for `make demo` with package system: the
// backend on an SQLite file in the state dir (seeded with Demo Shop and
// alice), the local CA trusted by the user's browsers, the daemon enrolled
// to alice, and Demo Shop in this process. It reuses the state of an
// earlier run and stops everything when ctx ends.
func Up(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("scanfree-demo up", flag.ContinueOnError)
	state := fs.String("state", ".state/demo", "state directory, reused by the next run")
	backendAddr := fs.String("backend-addr", "127.0.0.1:8080", "backend listen address")
	shopAddr := fs.String("shop-addr", "127.0.0.1:8081", "Demo Shop listen address")
	if err := fs.Parse(args); err != nil {
		return err
	}
	_, sport, err := net.SplitHostPort(*shopAddr)
	if err != nil {
		return fmt.Errorf("--shop-addr %q: want host:port", *shopAddr)
	}
	shopURL := "http://shop.localhost:" + sport
	// Before anything is built, started or trusted: a demo that cannot
	// work stops here, saying why, and leaves no CA behind.
	if err := preflight(*backendAddr, *shopAddr); err != nil {
		return err
	}
	if exe, err := os.Executable(); err == nil {
		system.UsePrebuilt(filepath.Dir(exe)) // bin/, which make demo just built
	}
	defer system.Cleanup() // the binaries built for this run, after every process has stopped
	logs := filepath.Join(*state, "logs")
	if err := os.MkdirAll(logs, 0o700); err != nil {
		return err
	}
	backendLog, err := openLog(logs, "backend")
	if err != nil {
		return err
	}
	defer backendLog.Close()
	b, err := system.NewBackend(ctx, system.BackendOptions{DB: filepath.Join(*state, "server.db"), Addr: *backendAddr,
		// The demo's phone page signs in with the demo people's passwords, so a
		// password alone signs in here; a real install asks for a second
		// factor (README, "Passkeys and second factors").
		Args: []string{"--device-interval", "1s", "--password-signin=on"}, Out: backendLog})
	if err != nil {
		return err
	}
	app, password, err := seed(ctx, b, *state, shopURL)
	if err != nil {
		return err
	}
	if err := b.Start(ctx); err != nil {
		return fmt.Errorf("backend: %w (see %s)", err, backendLog.Name())
	}
	defer b.Stop()

	daemonState := filepath.Join(*state, "daemon")
	fmt.Fprintln(stdout, "Installing the demo's local CA for your browsers (scanfreed certs install):")
	bin, err := system.Build(ctx, "./cmd/scanfreed")
	if err != nil {
		return err
	}
	out, errOut, err := system.Run(ctx, nil, "", bin, "certs", "install", "--state-dir", daemonState)
	if err != nil {
		return fmt.Errorf("scanfreed certs install: %v: %s", err, strings.TrimSpace(errOut))
	}
	fmt.Fprint(stdout, indent(out))

	daemonLog, err := openLog(logs, "daemon")
	if err != nil {
		return err
	}
	defer daemonLog.Close()
	d, err := system.StartDaemon(ctx, system.DaemonOptions{StateDir: daemonState, BackendURL: b.URL, TrustedOrigin: b.PublicURL, Out: daemonLog})
	if err != nil {
		return fmt.Errorf("daemon: %w (see %s)", err, daemonLog.Name())
	}
	defer d.Proc.Stop(10 * time.Second)
	if err := system.SignIn(ctx, d.Control, b, "alice"); err != nil {
		return err
	}

	shop, err := demo.New(demo.Config{PublicURL: shopURL, Backend: b.URL, BackendPublic: b.PublicURL, AppID: app.AppID, Secret: app.Secret,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *shopAddr)
	if errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Errorf("Demo Shop: %s is taken; pass another --shop-addr", *shopAddr)
	} else if err != nil {
		return err
	}
	srv := &http.Server{Handler: shop.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()

	fmt.Fprintf(stdout, `
scanfree demo is running.

  Open      %s  and click "Sign in": "Continue as Alice", then confirm in the dialog.
            "Sign in with OpenID Connect" there is the same sign-in through the OIDC face.
  Desktop   bin/scanfree-demo-app --shop http://%s --socket %s/control.sock
            (programs reach Demo Shop at its address; browsers at shop.localhost)
            (Demo Shop's desktop app: signs in through the daemon, asks in the dialog the first time)
  Account   %s/account  (alice / %s)
  Logs      %s
  Daemon    bin/scanfreed status --state-dir %s

No dialog (no display)? Answer from this terminal:
  bin/scanfreed pending --state-dir %s
  bin/scanfreed approve ID --state-dir %s
QR instead: bin/scanfreed pause --state-dir %s, then scan, or approve the QR's URL:
  bin/scanfreed approve %s/x/… --state-dir %s

Ctrl-C stops it all (in the background: kill -INT %d, this process; make does not pass it on).
The next run reuses %s. To remove the demo CA from your browsers:
  bin/scanfreed certs uninstall --state-dir %s
`, shopURL, *shopAddr, daemonState, b.PublicURL, password, logs, daemonState, daemonState, daemonState, daemonState,
		b.PublicURL, daemonState, os.Getpid(), *state, daemonState)

	select {
	case <-ctx.Done():
	case <-b.Proc.Done():
		return fmt.Errorf("backend exited (%v); see %s", b.Proc.Err(), logs)
	case <-d.Proc.Done():
		return fmt.Errorf("daemon exited (%v); see %s", d.Proc.Err(), logs)
	}
	fmt.Fprintln(stdout, "\nstopping…")
	return nil
}

// preflight checks what the demo needs before it changes anything: its
// two ports free, and (on Linux) certutil, through which Chrome and
// Firefox trust the demo's CA; without it the browsers could never reach
// the daemon, and the demo would only look broken.
func preflight(addrs ...string) error {
	for i, addr := range addrs {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			flag := []string{"--backend-addr", "--shop-addr"}[i]
			what := []string{"the backend's", "Demo Shop's"}[i]
			return fmt.Errorf("%s is taken (another demo or a dev server?), and it is %s address: stop what uses it, or choose another: make demo DEMO_ARGS=\"%s 127.0.0.1:PORT\"",
				addr, what, flag)
		}
		ln.Close()
	}
	if runtime.GOOS == "linux" {
		if _, err := exec.LookPath("certutil"); err != nil {
			return errors.New("certutil is missing: Chrome and Firefox trust the demo's local CA through it, and without that they cannot reach the desktop app. " +
				"Install it (Debian, Ubuntu: sudo apt install libnss3-tools; Fedora: sudo dnf install nss-tools; Arch: sudo pacman -S nss), then run make demo again")
		}
	}
	return nil
}

// seed registers Demo Shop and alice on the first run and reads them back
// on later ones.
func seed(ctx context.Context, b *system.Backend, state, shopURL string) (system.App, string, error) {
	var app system.App
	appFile := filepath.Join(state, "app.json")
	if j, err := os.ReadFile(appFile); err == nil {
		if err := json.Unmarshal(j, &app); err != nil || app.AppID == "" {
			return app, "", fmt.Errorf("%s is damaged; remove %s to start the demo afresh", appFile, state)
		}
	} else {
		if app, err = b.CreateApp(ctx, "Demo Shop", "--redirect-uri", shopURL+"/callback", "--redirect-uri", shopURL+"/oidc/callback"); err != nil {
			return app, "", err
		}
		j, _ := json.Marshal(app)
		if err := os.WriteFile(appFile, j, 0o600); err != nil {
			return app, "", err
		}
	}
	pwFile := filepath.Join(state, "alice-password")
	if pw, err := os.ReadFile(pwFile); err == nil {
		return app, strings.TrimSpace(string(pw)), nil
	}
	raw := make([]byte, 9)
	rand.Read(raw)
	pw := hex.EncodeToString(raw)
	if err := b.CreateUser(ctx, "alice", "Alice", "", pw); err != nil {
		return app, "", err
	}
	return app, pw, os.WriteFile(pwFile, []byte(pw), 0o600)
}

// openLog opens (appending) the log file of one process.
func openLog(dir, name string) (*os.File, error) {
	return os.OpenFile(filepath.Join(dir, name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
}

func indent(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		b.WriteString("  " + l + "\n")
	}
	return b.String()
}
