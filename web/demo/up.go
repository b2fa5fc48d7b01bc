package demo

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
	"strings"
	"syscall"
	"time"

	"github.com/scanfree/scanfree/daemon/control"
)

// Up runs the whole system for `make demo`: the backend on an SQLite file
// in the state dir (seeded with Demo Shop and alice), the local CA trusted
// by the user's browsers, the daemon enrolled to alice, and Demo Shop. It
// reuses the state of an earlier run and stops everything when ctx ends.
func Up(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("scanfree-demo up", flag.ContinueOnError)
	state := fs.String("state", ".state/demo", "state directory, reused by the next run")
	backendAddr := fs.String("backend-addr", "127.0.0.1:8080", "backend listen address")
	shopAddr := fs.String("shop-addr", "127.0.0.1:8081", "Demo Shop listen address")
	if err := fs.Parse(args); err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	u := &upRun{bin: filepath.Dir(exe), state: *state, out: stdout}
	defer u.stop()
	_, bport, _ := net.SplitHostPort(*backendAddr)
	_, sport, _ := net.SplitHostPort(*shopAddr)
	public := "http://idp.localhost:" + bport
	shopURL := "http://shop.localhost:" + sport
	if err := os.MkdirAll(filepath.Join(u.state, "logs"), 0o700); err != nil {
		return err
	}
	db := filepath.Join(u.state, "server.db")
	daemonState := filepath.Join(u.state, "daemon")

	appFile := filepath.Join(u.state, "app.json")
	if _, err := os.Stat(appFile); err != nil {
		out, err := u.run("scanfree-server", "", "app", "create", "--db", db, "--name", "Demo Shop", "--redirect-uri", shopURL+"/callback", "--json")
		if err != nil {
			return err
		}
		if err := os.WriteFile(appFile, []byte(out), 0o600); err != nil {
			return err
		}
	}
	pwFile := filepath.Join(u.state, "alice-password")
	if _, err := os.Stat(pwFile); err != nil {
		b := make([]byte, 9)
		rand.Read(b)
		if err := os.WriteFile(pwFile, []byte(hex.EncodeToString(b)), 0o600); err != nil {
			return err
		}
		pw, _ := os.ReadFile(pwFile)
		if _, err := u.run("scanfree-server", string(pw)+"\n", "user", "create", "--db", db, "--username", "alice", "--nickname", "Alice", "--password-stdin"); err != nil {
			return err
		}
	}
	password, _ := os.ReadFile(pwFile)

	if err := u.start("backend", "scanfree-server", "serve", "--db", db, "--addr", *backendAddr, "--public-url", public, "--device-interval", "1s"); err != nil {
		return err
	}
	if err := waitHTTP(ctx, "http://"+*backendAddr+"/healthz", 15*time.Second); err != nil {
		return fmt.Errorf("backend: %w (see %s)", err, u.logPath("backend"))
	}

	fmt.Fprintln(u.out, "Installing the demo's local CA for your browsers (scanfreed certs install):")
	out, err := u.run("scanfreed", "", "certs", "install", "--state-dir", daemonState)
	if err != nil {
		return err
	}
	fmt.Fprint(u.out, indent(out))

	if err := u.start("daemon", "scanfreed", "run", "--state-dir", daemonState, "--backend", "http://"+*backendAddr, "--trusted-origin", public); err != nil {
		return err
	}
	ctl := control.NewClient(control.SocketIn(daemonState))
	st, err := waitDaemon(ctx, ctl, 15*time.Second)
	if err != nil {
		return fmt.Errorf("daemon: %w (see %s)", err, u.logPath("daemon"))
	}
	if !st.SignedIn {
		l, err := ctl.Login(ctx)
		if err != nil {
			return fmt.Errorf("enrol the daemon: %w", err)
		}
		if _, err := u.run("scanfree-server", "", "device", "approve", "--db", db, "--user", "alice", "--code", l.UserCode); err != nil {
			return err
		}
		if err := waitSignedIn(ctx, ctl, 30*time.Second); err != nil {
			return err
		}
	}

	var app struct{ AppID, Secret string }
	b, _ := os.ReadFile(appFile)
	json.Unmarshal(b, &app)
	shop, err := New(Config{PublicURL: shopURL, Backend: "http://" + *backendAddr, BackendPublic: public, AppID: app.AppID, Secret: app.Secret,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
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

	fmt.Fprintf(u.out, `
scanfree demo is running.

  Open      %s  and click "Sign in": "Continue as Alice", then confirm in the dialog.
  Account   %s/account  (alice / %s)
  Logs      %s
  Daemon    bin/scanfreed status --state-dir %s

No dialog (no display)? Answer from this terminal:
  bin/scanfreed pending --state-dir %s
  bin/scanfreed approve ID --state-dir %s
QR instead: bin/scanfreed pause --state-dir %s, then scan, or approve the QR's URL:
  bin/scanfreed approve %s/x/… --state-dir %s

Ctrl-C stops it all; the next run reuses %s.
To remove the demo CA from your browsers: bin/scanfreed certs uninstall --state-dir %s
`, shopURL, public, strings.TrimSpace(string(password)), filepath.Join(u.state, "logs"), daemonState, daemonState, daemonState, daemonState,
		public, daemonState, u.state, daemonState)

	select {
	case <-ctx.Done():
	case err := <-u.exited:
		return fmt.Errorf("%w; see %s", err, filepath.Join(u.state, "logs"))
	}
	fmt.Fprintln(u.out, "\nstopping…")
	return nil
}

// upRun tracks the processes Up started.
type upRun struct {
	bin, state string
	out        io.Writer
	procs      []*proc
	exited     chan error
}

type proc struct {
	cmd  *exec.Cmd
	done chan struct{}
}

func (u *upRun) logPath(name string) string { return filepath.Join(u.state, "logs", name+".log") }

// run runs a command to completion and returns its stdout.
func (u *upRun) run(prog, stdin string, args ...string) (string, error) {
	cmd := exec.Command(filepath.Join(u.bin, prog), args...)
	cmd.Stdin = strings.NewReader(stdin)
	var errb strings.Builder
	cmd.Stderr = &errb
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%s %s: %v: %s", prog, args[0], err, strings.TrimSpace(errb.String()))
	}
	return string(out), nil
}

// start runs a long-lived process, logging to the state dir.
func (u *upRun) start(name, prog string, args ...string) error {
	if u.exited == nil {
		u.exited = make(chan error, 4)
	}
	log, err := os.OpenFile(u.logPath(name), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	cmd := exec.Command(filepath.Join(u.bin, prog), args...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		log.Close()
		return fmt.Errorf("start %s: %w", prog, err)
	}
	p := &proc{cmd: cmd, done: make(chan struct{})}
	u.procs = append(u.procs, p)
	go func() {
		err := cmd.Wait()
		log.Close()
		close(p.done)
		select {
		case u.exited <- fmt.Errorf("%s exited (%v)", name, err):
		default:
		}
	}()
	return nil
}

// stop ends the started processes, newest first, gently, then firmly.
func (u *upRun) stop() {
	for i := len(u.procs) - 1; i >= 0; i-- {
		u.procs[i].cmd.Process.Signal(syscall.SIGTERM)
	}
	deadline := time.After(10 * time.Second)
	for _, p := range u.procs {
		select {
		case <-p.done:
		case <-deadline:
			p.cmd.Process.Kill()
			<-p.done
		}
	}
}

func waitHTTP(ctx context.Context, url string, d time.Duration) error {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s did not answer within %v", url, d)
}

func waitDaemon(ctx context.Context, c *control.Client, d time.Duration) (control.Status, error) {
	deadline := time.Now().Add(d)
	for {
		st, err := c.Status(ctx)
		if err == nil {
			return st, nil
		}
		if time.Now().After(deadline) {
			return st, err
		}
		select {
		case <-ctx.Done():
			return st, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func waitSignedIn(ctx context.Context, c *control.Client, d time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	events, err := c.Events(ctx)
	if err != nil {
		return err
	}
	for e := range events {
		if e.Status.SignedIn {
			return nil
		}
	}
	return errors.New("the daemon did not finish signing in")
}

func indent(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		b.WriteString("  " + l + "\n")
	}
	return b.String()
}
