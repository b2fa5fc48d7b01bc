// Package e2e is the end-to-end tests' face of package system: a
// scanfree-server on a fresh SQLite file with an app and two users,
// scanfreed daemons with their own state dirs and the Demo Shop, each owned
// by the test that started it, plus the helpers that drive them over real
// TLS and HTTP on loopback.
package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/scanfree/scanfree/certs"
	"github.com/scanfree/scanfree/daemon/control"
	"github.com/scanfree/scanfree/internal/harness/system"
	"github.com/scanfree/scanfree/internal/harness/testutil"
)

// RedirectURI is the demo app's registered redirect URI.
const RedirectURI = "http://shop.localhost:8081/callback"

// Backend is a running scanfree-server: system.Backend owned by a test.
type Backend struct {
	*system.Backend
	t testing.TB
	// DaemonPort is the port the hosted login page looks for the daemon at;
	// the first daemon started for this backend takes it.
	DaemonPort int
	// ShopPort is the Demo Shop's port, registered with the app's domain.
	ShopPort  int
	App       system.App
	portTaken bool
}

// BackendOptions tune StartBackendWith.
type BackendOptions struct {
	Args []string // extra flags for `scanfree-server serve`, e.g. --qr-ttl 3s
	// Addr and PublicHost, when set, are the listen address and the
	// public URL's host (a second backend beside the first, whose URL a
	// test must know before it starts).
	Addr, PublicHost string
}

// passwordsAlone lets a password alone sign in, as before the policy:
// the tests of everything else sign alice in with hers. A test of the
// policy gives its own --password-signin after it (the last one counts).
const passwordsAlone = "--password-signin=on"

// StartBackend starts a backend on a fresh database with the app "Demo
// Shop" and the users alice and bob (password "<name>-password").
func StartBackend(t testing.TB) *Backend { return StartBackendWith(t, BackendOptions{}) }

// StartBackendWith is StartBackend with options.
func StartBackendWith(t testing.TB, opts BackendOptions) *Backend {
	t.Helper()
	ctx := context.Background()
	daemonPort := testutil.FreePort(t)
	sb, err := system.NewBackend(ctx, system.BackendOptions{DB: filepath.Join(t.TempDir(), "scanfree.db"), Addr: opts.Addr, PublicHost: opts.PublicHost,
		Args: append([]string{"--device-interval", "200ms", "--log-level", "warn", "--daemon-ports", strconv.Itoa(daemonPort), passwordsAlone}, opts.Args...)})
	if err != nil {
		t.Fatal(err)
	}
	shopPort := testutil.FreePort(t)
	b := &Backend{Backend: sb, t: t, DaemonPort: daemonPort, ShopPort: shopPort, App: seed(t, sb, shopPort)}
	b.Start()
	return b
}

// seed registers the app "Demo Shop", with the shop's domain on
// shopPort, and the users alice and bob in sb's database.
func seed(t testing.TB, sb *system.Backend, shopPort int) system.App {
	t.Helper()
	ctx := context.Background()
	// The demo shop of the browser tests runs on a free port: its host and port are registered as a domain.
	// OpenID Connect matches redirect URIs exactly: the shop's OIDC callback is registered as it is.
	app, err := sb.CreateApp(ctx, "Demo Shop", "--redirect-uri", RedirectURI, "--domain", "shop.localhost:"+strconv.Itoa(shopPort),
		"--redirect-uri", "http://shop.localhost:"+strconv.Itoa(shopPort)+"/oidc/callback")
	if err != nil {
		t.Fatal(err)
	}
	if err := sb.CreatePeople(ctx, true, "alice", "bob"); err != nil {
		t.Fatal(err)
	}
	return app
}

// Start (re)starts the server process on the same address and database;
// the test's cleanup stops it.
func (b *Backend) Start() {
	b.t.Helper()
	if err := b.Backend.Start(context.Background()); err != nil {
		b.t.Fatal(err)
	}
	testutil.Own(b.t, b.Proc)
}

// CLI runs an admin command on the backend's database.
func (b *Backend) CLI(stdin string, args ...string) string {
	b.t.Helper()
	out, err := b.Backend.CLI(context.Background(), stdin, args...)
	if err != nil {
		b.t.Fatal(err)
	}
	return out
}

// Daemon is a running scanfreed.
type Daemon struct {
	t        testing.TB
	Bin      string
	StateDir string
	Port     int
	Origin   string // the trusted origin (the backend's public origin)
	Env      []string
	Proc     *testutil.Proc
	Control  *control.Client
	Roots    *x509.CertPool
	client   *http.Client // the default of Do: one transport, kept-alive connections
}

// DaemonOptions tune StartDaemon.
type DaemonOptions struct {
	Args []string // extra flags for `scanfreed run`
	Env  []string // extra environment, e.g. DISPLAY
}

// StartDaemon starts scanfreed against b with a fresh state dir.
func StartDaemon(t testing.TB, b *Backend, opts DaemonOptions) *Daemon {
	t.Helper()
	return StartDaemonIn(t, b, filepath.Join(shortTemp(t), "st"), opts)
}

// StartDaemonIn starts scanfreed against b with state dir dir, e.g. one a
// previous daemon left.
func StartDaemonIn(t testing.TB, b *Backend, dir string, opts DaemonOptions) *Daemon {
	t.Helper()
	port := testutil.FreePort(t)
	if !b.portTaken {
		port, b.portTaken = b.DaemonPort, true
	}
	sd, err := system.StartDaemon(context.Background(), system.DaemonOptions{StateDir: dir, BackendURL: b.URL, TrustedOrigin: b.PublicURL,
		Port: port, Args: append([]string{"--no-notify", "--log-level", "debug"}, opts.Args...), Env: opts.Env})
	if err != nil {
		t.Fatal(err)
	}
	testutil.Own(t, sd.Proc)
	d := newDaemon(t, b, sd.Bin, dir, opts.Env, sd.Port)
	d.Proc = &testutil.Proc{Proc: sd.Proc}
	return d
}

// Attach waits for the daemon with state dir dir, started by the caller,
// to serve, and returns helpers for it.
func Attach(t testing.TB, b *Backend, dir string, env []string) *Daemon {
	t.Helper()
	st, err := system.WaitServing(context.Background(), control.NewClient(control.SocketIn(dir)), 15*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return newDaemon(t, b, testutil.Build(t, "./cmd/scanfreed"), dir, env, st.Port)
}

// newDaemon returns the helpers for the serving daemon with state dir dir.
func newDaemon(t testing.TB, b *Backend, bin, dir string, env []string, port int) *Daemon {
	t.Helper()
	d := &Daemon{t: t, Bin: bin, StateDir: dir, Port: port, Origin: b.PublicURL, Env: env, Control: control.NewClient(control.SocketIn(dir))}
	ca, err := certs.LoadCA(d.StateDir)
	if err != nil {
		t.Fatal(err)
	}
	d.Roots = x509.NewCertPool()
	d.Roots.AddCert(ca.Cert)
	return d
}

// For returns d's helpers bound to t, a subtest of the test that started
// d: their failures end t, not the parent (FailNow must be called from the
// failing test's own goroutine).
func (d *Daemon) For(t testing.TB) *Daemon {
	c := *d
	c.t = t
	return &c
}

// shortTemp returns a temporary directory with a short path: Unix socket
// paths are limited to about 100 bytes and test names are long.
func shortTemp(t testing.TB) string {
	d, err := os.MkdirTemp("", "sf")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// Scanfreed runs a scanfreed command against this daemon.
func (d *Daemon) Scanfreed(args ...string) (string, error) {
	out, errOut, err := testutil.Run(context.Background(), d.Env, "", d.Bin, append(args, "--state-dir", d.StateDir)...)
	if err != nil {
		return out, fmt.Errorf("%v: %s", err, errOut)
	}
	return out, nil
}

// SignIn enrols the daemon as username through the device flow, started
// with `scanfreed login --no-wait --json` and approved with
// `scanfree-server device approve`.
func (d *Daemon) SignIn(b *Backend, username string) {
	d.t.Helper()
	out, err := d.Scanfreed("login", "--no-wait", "--json")
	if err != nil {
		d.t.Fatal(err)
	}
	var l struct {
		UserCode string `json:"user_code"`
	}
	json.Unmarshal([]byte(out), &l)
	b.CLI("", "device", "approve", "--user", username, "--code", l.UserCode)
	testutil.Eventually(d.t, 15*time.Second, "the daemon to be signed in", func() bool {
		st, err := d.Control.Status(context.Background())
		return err == nil && st.SignedIn && st.Account != nil
	})
}

// Client returns an HTTPS client that trusts the daemon's CA and reaches
// scanfree.localhost on loopback, as a browser would.
func (d *Daemon) Client(cfg *tls.Config) *http.Client {
	if cfg == nil {
		cfg = &tls.Config{RootCAs: d.Roots}
	}
	tr := &http.Transport{
		TLSClientConfig:   cfg,
		DialContext:       func(ctx context.Context, _, addr string) (net.Conn, error) { return dialLoopback(ctx, addr) },
		ForceAttemptHTTP2: false,
	}
	return &http.Client{Transport: tr, Timeout: 90 * time.Second}
}

func dialLoopback(ctx context.Context, addr string) (net.Conn, error) {
	_, port, _ := net.SplitHostPort(addr)
	var dl net.Dialer
	return dl.DialContext(ctx, "tcp", "127.0.0.1:"+port)
}

// URL is the daemon's local API URL for path.
func (d *Daemon) URL(path string) string {
	return fmt.Sprintf("https://%s:%d%s", certs.DefaultDomain, d.Port, path)
}

// Response is a local API answer.
type Response struct {
	Status  int
	Header  http.Header
	Body    []byte
	APIName string `json:"apiname"`
	ErrCode int    `json:"errcode"`
	ErrMsg  string `json:"errmsg"`
	JSData  struct {
		Nickname      string `json:"nickname"`
		HeadImgURL    string `json:"headimgurl"`
		AuthorizeUUID string `json:"authorize_uuid"`
		RedirectURL   string `json:"redirect_url"`
	} `json:"jsdata"`
}

// Do sends a request to the local API with client c (nil: d.Client(nil)).
func (d *Daemon) Do(c *http.Client, req *http.Request) Response {
	d.t.Helper()
	if c == nil {
		if d.client == nil {
			d.client = d.Client(nil)
		}
		c = d.client
	}
	resp, err := c.Do(req)
	if err != nil {
		d.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	r := Response{Status: resp.StatusCode, Header: resp.Header}
	r.Body, _ = io.ReadAll(resp.Body)
	json.Unmarshal(r.Body, &r)
	return r
}

// Post sends a JSON body to path with the trusted origin.
func (d *Daemon) Post(path, body string) Response {
	d.t.Helper()
	req, _ := http.NewRequest("POST", d.URL(path), strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", d.Origin)
	return d.Do(nil, req)
}

// CheckLoginBody is the seeds' check-login request for appid.
func CheckLoginBody(appid string) string {
	return `{"apiname":"qrconnectchecklogin","jsdata":{"appid":"` + appid + `","scope":"snsapi_login","redirect_uri":"` + RedirectURI +
		`","state":"9ec633939ab2fd6f441a29542a51e8f3"}}`
}

// AuthorizeBody is the seeds' authorize request for appid and uuid.
func AuthorizeBody(appid, uuid string) string {
	return `{"apiname":"qrconnectfastauthorize","jsdata":{"data":"{\"x\":576,\"y\":391.5}","appid":"` + appid +
		`","scope":"snsapi_login","redirect_uri":"` + RedirectURI + `","state":"9ec633939ab2fd6f441a29542a51e8f3","authorize_uuid":"` + uuid + `"}}`
}

// CheckLogin runs check-login for the backend's app.
func (d *Daemon) CheckLogin(b *Backend) Response {
	d.t.Helper()
	return d.Post("/api/check-login", CheckLoginBody(b.App.AppID))
}

// AwaitPending waits for the one pending confirmation and returns it.
func (d *Daemon) AwaitPending() control.Request {
	d.t.Helper()
	var got control.Request
	testutil.Eventually(d.t, 15*time.Second, "a pending confirmation", func() bool {
		p, err := d.Control.Pending(context.Background())
		if err == nil && len(p) == 1 {
			got = p[0]
			return true
		}
		return false
	})
	return got
}

// Exchange trades a redirect URL's code for a token and reads userinfo;
// it returns the nickname.
func (b *Backend) Exchange(redirectURL string) (string, error) {
	u, err := url.Parse(redirectURL)
	if err != nil {
		return "", err
	}
	tok, _, err := system.Exchange(context.Background(), nil, b.URL, b.App.AppID, b.App.Secret, u.Query().Get("code"))
	if err != nil {
		return "", err
	}
	if tok.AccessToken == "" {
		return "", fmt.Errorf("exchange: errcode %d", tok.ErrCode)
	}
	var ui struct {
		Nickname string `json:"nickname"`
	}
	if err := GetJSON(b.URL+"/sns/userinfo?access_token="+tok.AccessToken+"&openid="+tok.OpenID, &ui); err != nil {
		return "", err
	}
	return ui.Nickname, nil
}

// GetJSON GETs url and decodes its JSON answer into out.
func GetJSON(url string, out any) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(out)
}

// Shop is a running scanfree-demo.
type Shop = system.Shop

// StartShop starts the demo relying party against b; the test's cleanup
// stops it.
func StartShop(t testing.TB, b *Backend) *Shop {
	t.Helper()
	s, err := system.StartShop(context.Background(), b.Backend, b.App, t.TempDir(), b.ShopPort)
	if err != nil {
		t.Fatal(err)
	}
	testutil.Own(t, s.Proc)
	return s
}
