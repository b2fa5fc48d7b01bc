package system

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"time"

	"github.com/scanfree/scanfree/daemon/control"
)

// App is a registered relying party with its secret.
type App struct {
	AppID  string `json:"appid"`
	Secret string `json:"secret"`
}

// Backend is a scanfree-server on an SQLite file or a PostgreSQL database.
type Backend struct {
	Bin       string
	DB        string
	Addr      string // 127.0.0.1:port
	URL       string // http://127.0.0.1:port
	PublicURL string // http://<PublicHost>:port, the origin pages have
	Proc      *Proc
	args      []string
	out       io.Writer
}

// BackendOptions tune NewBackend.
type BackendOptions struct {
	DB         string    // SQLite file or postgres:// URL (required); kept between runs
	Addr       string    // listen address; "" for a free loopback port
	PublicHost string    // host of the public URL (idp.localhost)
	PublicURL  string    // the whole public URL, when it is not the server's own (replicas behind a load balancer)
	Args       []string  // more flags for `scanfree-server serve`
	Out        io.Writer // the server's output; nil keeps it in Proc
}

// NewBackend builds scanfree-server and prepares a backend on opts.DB.
// Nothing runs until Start; CLI works at once.
func NewBackend(ctx context.Context, opts BackendOptions) (*Backend, error) {
	bin, err := Build(ctx, "./cmd/scanfree-server")
	if err != nil {
		return nil, err
	}
	if opts.Addr == "" {
		port, err := FreePort()
		if err != nil {
			return nil, err
		}
		opts.Addr = "127.0.0.1:" + strconv.Itoa(port)
	}
	if opts.PublicHost == "" {
		opts.PublicHost = "idp.localhost"
	}
	_, port, err := splitPort(opts.Addr)
	if err != nil {
		return nil, err
	}
	public := opts.PublicURL
	if public == "" {
		public = "http://" + opts.PublicHost + ":" + port
	}
	return &Backend{Bin: bin, DB: opts.DB, Addr: opts.Addr, URL: "http://" + opts.Addr,
		PublicURL: public, args: opts.Args, out: opts.Out}, nil
}

// Start starts the server and waits until it answers /readyz.
func (b *Backend) Start(ctx context.Context) error {
	p, err := Start(nil, b.out, b.Bin, append([]string{"serve", "--db", b.DB, "--addr", b.Addr, "--public-url", b.PublicURL}, b.args...)...)
	if err != nil {
		return err
	}
	if err := waitOrExit(ctx, p, func(ctx context.Context) error { return WaitHTTP(ctx, b.URL+"/readyz", 15*time.Second) }); err != nil {
		p.Kill()
		return fmt.Errorf("scanfree-server: %w\n%s", err, p.Stderr.String())
	}
	b.Proc = p
	return nil
}

// AddArgs adds flags for the next Start: a server restarted with
// another configuration.
func (b *Backend) AddArgs(args ...string) { b.args = append(b.args, args...) }

// Stop stops the server with SIGTERM and waits for it.
func (b *Backend) Stop() {
	if b.Proc != nil {
		b.Proc.Stop(15 * time.Second)
	}
}

// CLI runs an admin command on the backend's database.
func (b *Backend) CLI(ctx context.Context, stdin string, args ...string) (string, error) {
	out, errOut, err := Run(ctx, nil, stdin, b.Bin, append(args, "--db", b.DB)...)
	if err != nil {
		return out, fmt.Errorf("scanfree-server %v: %v: %s", args, err, errOut)
	}
	return out, nil
}

// CreateApp registers an app with `scanfree-server app create` and the
// given flags.
func (b *Backend) CreateApp(ctx context.Context, name string, flags ...string) (App, error) {
	var a App
	out, err := b.CLI(ctx, "", append([]string{"app", "create", "--name", name, "--json"}, flags...)...)
	if err != nil {
		return a, err
	}
	if err := json.Unmarshal([]byte(out), &a); err != nil || a.AppID == "" {
		return a, fmt.Errorf("app create answered %q", out)
	}
	return a, nil
}

// CreateUser creates an account with password.
func (b *Backend) CreateUser(ctx context.Context, username, nickname, avatar, password string) error {
	args := []string{"user", "create", "--username", username, "--nickname", nickname, "--password-stdin"}
	if avatar != "" {
		args = append(args, "--avatar", avatar)
	}
	_, err := b.CLI(ctx, password+"\n", args...)
	return err
}

// Daemon is a scanfreed.
type Daemon struct {
	Bin      string
	StateDir string
	Port     int
	Proc     *Proc
	Control  *control.Client
}

// DaemonOptions tune StartDaemon.
type DaemonOptions struct {
	StateDir      string    // required; a previous daemon's is reused
	BackendURL    string    // required
	TrustedOrigin string    // the backend's public origin
	Port          int       // first port tried; 0 for the default
	Args          []string  // more flags for `scanfreed run`
	Env           []string  // more environment, e.g. DISPLAY
	Out           io.Writer // the daemon's output; nil keeps it in Proc
}

// StartDaemon starts scanfreed and waits until it serves.
func StartDaemon(ctx context.Context, opts DaemonOptions) (*Daemon, error) {
	bin, err := Build(ctx, "./cmd/scanfreed")
	if err != nil {
		return nil, err
	}
	args := []string{"run", "--state-dir", opts.StateDir, "--backend", opts.BackendURL}
	if opts.TrustedOrigin != "" {
		args = append(args, "--trusted-origin", opts.TrustedOrigin)
	}
	if opts.Port != 0 {
		args = append(args, "--port", strconv.Itoa(opts.Port))
	}
	p, err := Start(opts.Env, opts.Out, bin, append(args, opts.Args...)...)
	if err != nil {
		return nil, err
	}
	d := &Daemon{Bin: bin, StateDir: opts.StateDir, Proc: p, Control: control.NewClient(control.SocketIn(opts.StateDir))}
	var st control.Status
	if err := waitOrExit(ctx, p, func(ctx context.Context) error {
		st, err = WaitServing(ctx, d.Control, 15*time.Second)
		return err
	}); err != nil {
		p.Kill()
		return nil, fmt.Errorf("scanfreed: %w\n%s", err, p.Stderr.String())
	}
	d.Port = st.Port
	return d, nil
}

// WaitServing waits until the daemon behind c serves the local API.
func WaitServing(ctx context.Context, c *control.Client, d time.Duration) (control.Status, error) {
	var st control.Status
	err := Poll(ctx, d, "scanfreed to serve", func() bool {
		s, err := c.Status(ctx)
		st = s
		return err == nil && s.Port != 0
	})
	return st, err
}

// SignIn enrols the daemon behind c as username through the device flow,
// approved with `scanfree-server device approve`, unless it is signed in.
func SignIn(ctx context.Context, c *control.Client, b *Backend, username string) error {
	if st, err := c.Status(ctx); err == nil && st.SignedIn {
		return nil
	}
	l, err := c.Login(ctx)
	if err != nil {
		return fmt.Errorf("enrol the daemon: %w", err)
	}
	if _, err := b.CLI(ctx, "", "device", "approve", "--user", username, "--code", l.UserCode); err != nil {
		return err
	}
	return Poll(ctx, 30*time.Second, "the daemon to be signed in", func() bool {
		st, err := c.Status(ctx)
		return err == nil && st.SignedIn && st.Account != nil
	})
}

// Shop is a running Demo Shop (scanfree-demo).
type Shop struct {
	URL  string // http://shop.localhost:port
	Proc *Proc
}

// StartShop starts the Demo Shop for app against b on port (a free one
// when 0), keeping app's credentials in dir.
func StartShop(ctx context.Context, b *Backend, app App, dir string, port int) (*Shop, error) {
	bin, err := Build(ctx, "./cmd/scanfree-demo")
	if err != nil {
		return nil, err
	}
	appFile := filepath.Join(dir, "app.json")
	j, _ := json.Marshal(app)
	if err := writeFile(appFile, j); err != nil {
		return nil, err
	}
	if port == 0 {
		if port, err = FreePort(); err != nil {
			return nil, err
		}
	}
	s := &Shop{URL: "http://shop.localhost:" + strconv.Itoa(port)}
	p, err := Start(nil, nil, bin, "--addr", "127.0.0.1:"+strconv.Itoa(port), "--public-url", s.URL,
		"--backend", b.URL, "--backend-public-url", b.PublicURL, "--app-file", appFile)
	if err != nil {
		return nil, err
	}
	if err := waitOrExit(ctx, p, func(ctx context.Context) error {
		return WaitHTTP(ctx, "http://127.0.0.1:"+strconv.Itoa(port)+"/", 15*time.Second)
	}); err != nil {
		p.Kill()
		return nil, fmt.Errorf("scanfree-demo: %w\n%s", err, p.Stderr.String())
	}
	s.Proc = p
	return s, nil
}

// waitOrExit runs wait, giving up early when p exits first: a process
// that failed to start says so at once instead of after the timeout.
func waitOrExit(ctx context.Context, p *Proc, wait func(ctx context.Context) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- wait(ctx) }()
	select {
	case err := <-errc:
		return err
	case <-p.Done():
		cancel()
		<-errc
		return errors.New("exited before it served: " + fmt.Sprint(p.Err()))
	}
}
