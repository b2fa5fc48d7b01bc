package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/scanfree/scanfree/backend/storage/sqlite"
	"github.com/scanfree/scanfree/daemon/control"
	"github.com/scanfree/scanfree/internal/deviceapi"
	"github.com/scanfree/scanfree/internal/dpop"
	"github.com/scanfree/scanfree/internal/harness/e2e"
	"github.com/scanfree/scanfree/internal/harness/testutil"
)

// The attack suite: one test per line of DESIGN.md's security model that
// concerns the daemon, each trying the attack against the real daemon.

// signedIn starts a backend and a signed-in daemon answering from the
// control API only.
func signedIn(t *testing.T, args ...string) (*e2e.Backend, *e2e.Daemon) {
	b := e2e.StartBackend(t)
	d := e2e.StartDaemon(t, b, e2e.DaemonOptions{Args: append([]string{"--no-dialog"}, args...)})
	d.SignIn(b, "alice")
	return b, d
}

func request(d *e2e.Daemon, method, host, origin, ctype, body string) *http.Request {
	req, _ := http.NewRequest(method, d.URL("/api/check-login"), strings.NewReader(body))
	if host != "" {
		req.Host = host
	}
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	return req
}

func wantRefused(t *testing.T, r e2e.Response) {
	t.Helper()
	if r.Status != http.StatusForbidden || len(r.Body) != 0 || r.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("got %d %q (CORS %q); want 403, empty body, no CORS headers", r.Status, r.Body, r.Header.Get("Access-Control-Allow-Origin"))
	}
}

// Daemon listens on 127.0.0.1 and [::1] only.
func TestAttackListenerLoopbackOnly(t *testing.T) {
	_, d := signedIn(t)
	st, _ := d.Control.Status(context.Background())
	for _, a := range st.Listen {
		host, _, _ := net.SplitHostPort(a)
		if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
			t.Fatalf("listens on %s", a)
		}
	}
	addrs, _ := net.InterfaceAddrs()
	tried := 0
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok || ipn.IP.IsLoopback() || ipn.IP.IsLinkLocalUnicast() {
			continue
		}
		tried++
		c, err := net.DialTimeout("tcp", net.JoinHostPort(ipn.IP.String(), strconv.Itoa(d.Port)), time.Second)
		if err == nil {
			c.Close()
			t.Fatalf("reachable on %s", ipn.IP)
		}
	}
	t.Logf("tried %d non-loopback addresses", tried)
}

// TLS ≥ 1.2 only.
func TestAttackOldTLS(t *testing.T) {
	_, d := signedIn(t)
	for _, v := range []uint16{tls.VersionTLS10, tls.VersionTLS11} {
		c, err := tls.Dial("tcp", "127.0.0.1:"+strconv.Itoa(d.Port), &tls.Config{RootCAs: d.Roots, ServerName: "scanfree.localhost", MinVersion: v, MaxVersion: v})
		if err == nil {
			c.Close()
			t.Fatalf("handshake with TLS version %x succeeded", v)
		}
	}
}

// SNI must be the configured domain, or absent for an IP.
func TestAttackSNI(t *testing.T) {
	b, d := signedIn(t)
	for _, sni := range []string{"evil.example", "localhost", "scanfree.localhost.evil.example"} {
		c := d.Client(&tls.Config{ServerName: sni, InsecureSkipVerify: true})
		wantRefused(t, d.Do(c, request(d, "POST", "", d.Origin, "application/json", e2e.CheckLoginBody(b.App.AppID))))
	}
	// No SNI (an IP address was dialled) with an allowed Host is served.
	c := d.Client(&tls.Config{RootCAs: d.Roots, ServerName: "127.0.0.1", InsecureSkipVerify: true})
	r := d.Do(c, request(d, "POST", "127.0.0.1:"+strconv.Itoa(d.Port), d.Origin, "application/json", e2e.CheckLoginBody(b.App.AppID)))
	if r.Status != 200 || r.ErrCode != 0 {
		t.Fatalf("no SNI, Host 127.0.0.1: %d %s", r.Status, r.Body)
	}
}

// Host must be exactly <domain>:<port>, localhost:<port>, 127.0.0.1:<port> or [::1]:<port> (DNS rebinding).
func TestAttackHost(t *testing.T) {
	b, d := signedIn(t)
	port := strconv.Itoa(d.Port)
	for _, host := range []string{"evil.example:" + port, "evil.example", "scanfree.localhost", "scanfree.localhost:1",
		"scanfree.localhost.evil.example:" + port, "127.0.0.2:" + port, "0.0.0.0:" + port, "localhost"} {
		t.Run(host, func(t *testing.T) {
			wantRefused(t, d.Do(nil, request(d, "POST", host, d.Origin, "application/json", e2e.CheckLoginBody(b.App.AppID))))
		})
	}
	for _, host := range []string{"scanfree.localhost:" + port, "localhost:" + port, "127.0.0.1:" + port, "[::1]:" + port} {
		r := d.Do(nil, request(d, "POST", host, d.Origin, "application/json", e2e.CheckLoginBody(b.App.AppID)))
		if r.Status != 200 {
			t.Fatalf("allowed Host %s: %d", host, r.Status)
		}
	}
}

// Origin must equal a trusted origin exactly; absent or null is refused.
func TestAttackOrigin(t *testing.T) {
	b, d := signedIn(t)
	bport := strings.TrimPrefix(d.Origin, "http://idp.localhost:")
	for _, origin := range []string{"", "null", "http://evil.example", d.Origin + ".evil.example", d.Origin + "0",
		"https://idp.localhost:" + bport, "http://evil.idp.localhost:" + bport, "http://idp.localhost", d.Origin + "/", "HTTP://IDP.LOCALHOST:" + bport} {
		t.Run(fmt.Sprintf("%q", origin), func(t *testing.T) {
			wantRefused(t, d.Do(nil, request(d, "POST", "", origin, "application/json", e2e.CheckLoginBody(b.App.AppID))))
		})
	}
	t.Run("two Origin headers", func(t *testing.T) {
		req := request(d, "POST", "", d.Origin, "application/json", e2e.CheckLoginBody(b.App.AppID))
		req.Header.Add("Origin", "http://evil.example")
		wantRefused(t, d.Do(nil, req))
	})
}

// CORS preflight is answered only for allowed origins, echoing only that
// origin, with Vary: Origin and no credentials.
func TestAttackCORSPreflight(t *testing.T) {
	_, d := signedIn(t)
	pre := func(origin, method string) e2e.Response {
		req := request(d, "OPTIONS", "", origin, "", "")
		req.Header.Set("Access-Control-Request-Method", method)
		req.Header.Set("Access-Control-Request-Headers", "content-type")
		return d.Do(nil, req)
	}
	r := pre(d.Origin, "POST")
	if r.Status != 204 || r.Header.Get("Access-Control-Allow-Origin") != d.Origin || !strings.Contains(r.Header.Get("Vary"), "Origin") ||
		r.Header.Get("Access-Control-Allow-Methods") != "POST" || r.Header.Get("Access-Control-Allow-Credentials") != "" {
		t.Fatalf("allowed preflight: %d %v", r.Status, r.Header)
	}
	wantRefused(t, pre("http://evil.example", "POST"))
	wantRefused(t, pre("null", "POST"))
	if r := pre(d.Origin, "GET"); r.Status != 403 {
		t.Fatalf("preflight for GET: %d", r.Status)
	}
}

// Only POST with application/json: a GET, a form post or a text/plain
// fetch changes nothing.
func TestAttackMethodsAndTypes(t *testing.T) {
	b, d := signedIn(t)
	cl := d.CheckLogin(b)
	az := e2e.AuthorizeBody(b.App.AppID, cl.JSData.AuthorizeUUID)
	cases := []struct {
		name, method, ctype string
		status              int
	}{
		{"GET", "GET", "", 405},
		{"PUT", "PUT", "application/json", 405},
		{"form post", "POST", "application/x-www-form-urlencoded", 415},
		{"text/plain", "POST", "text/plain", 415},
		{"multipart", "POST", "multipart/form-data; boundary=x", 415},
		{"no type", "POST", "", 415},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest(c.method, d.URL("/api/authorize"), strings.NewReader(az))
			req.Header.Set("Origin", d.Origin)
			if c.ctype != "" {
				req.Header.Set("Content-Type", c.ctype)
			}
			r := d.Do(nil, req)
			if r.Status != c.status || r.ErrCode != 10065 {
				t.Fatalf("%d %s, want %d with errcode 10065", r.Status, r.Body, c.status)
			}
		})
	}
	if p, _ := d.Control.Pending(context.Background()); len(p) != 0 {
		t.Fatal("a refused request raised a confirmation")
	}
	// The uuid those requests carried is still unused: they changed nothing.
	res := authorizeAsync(d, b, cl.JSData.AuthorizeUUID)
	d.Scanfreed("approve", d.AwaitPending().ID)
	if r := <-res; r.ErrCode != 0 {
		t.Fatalf("the uuid was spent by a refused request: %s", r.Body)
	}
}

// Bodies ≤ 16 KiB; strict JSON; unknown apiname → -11028.
func TestAttackBodies(t *testing.T) {
	b, d := signedIn(t)
	app := b.App.AppID
	cases := []struct {
		name, path, body string
		status, errcode  int
	}{
		{"oversized", "/api/check-login", `{"apiname":"qrconnectchecklogin","jsdata":{"appid":"` + strings.Repeat("a", 17<<10) + `"}}`, 413, 10065},
		{"not JSON", "/api/check-login", `{"apiname":`, 200, 10065},
		{"empty", "/api/check-login", ``, 200, 10065},
		{"array", "/api/check-login", `[]`, 200, 10065},
		{"unknown field", "/api/check-login", `{"apiname":"qrconnectchecklogin","jsdata":{"appid":"` + app + `","scope":"snsapi_login","redirect_uri":"` + e2e.RedirectURI + `","state":"s","x":1}}`, 200, 10065},
		{"unknown envelope field", "/api/check-login", `{"apiname":"qrconnectchecklogin","extra":1,"jsdata":{}}`, 200, 10065},
		{"trailing data", "/api/check-login", e2e.CheckLoginBody(app) + `{}`, 200, 10065},
		{"wrong type", "/api/check-login", `{"apiname":"qrconnectchecklogin","jsdata":{"appid":1}}`, 200, 10065},
		{"missing appid", "/api/check-login", `{"apiname":"qrconnectchecklogin","jsdata":{"scope":"snsapi_login","redirect_uri":"` + e2e.RedirectURI + `"}}`, 200, 10065},
		{"relative redirect", "/api/check-login", `{"apiname":"qrconnectchecklogin","jsdata":{"appid":"` + app + `","scope":"snsapi_login","redirect_uri":"/cb"}}`, 200, 10065},
		{"bad click data", "/api/authorize", strings.Replace(e2e.AuthorizeBody(app, "x"), `{\"x\":576,\"y\":391.5}`, `not json`, 1), 200, 10065},
		{"unknown apiname", "/api/check-login", `{"apiname":"qrconnectfastauthorize","jsdata":{}}`, 200, -11028},
		{"apiname of the other call", "/api/authorize", e2e.CheckLoginBody(app), 200, -11028},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := d.Post(c.path, c.body)
			if r.Status != c.status || r.ErrCode != c.errcode {
				t.Fatalf("%d %s; want %d with errcode %d", r.Status, r.Body, c.status, c.errcode)
			}
		})
	}
}

// authorize_uuid: random, single use, bound to appid+redirect_uri+origin.
func TestAttackAuthorizeUUID(t *testing.T) {
	other := "http://other.localhost:9"
	b, d := signedIn(t, "--trusted-origin", other, "--authorize-rate", "100")
	app := b.App.AppID

	if r := d.Post("/api/authorize", e2e.AuthorizeBody(app, "0123456789abcdef")); r.ErrCode != 10064 {
		t.Fatalf("made-up uuid: %s", r.Body)
	}
	// Replay: a uuid works once.
	cl := d.CheckLogin(b)
	res := authorizeAsync(d, b, cl.JSData.AuthorizeUUID)
	d.Scanfreed("approve", d.AwaitPending().ID)
	if r := <-res; r.ErrCode != 0 {
		t.Fatalf("first use: %s", r.Body)
	}
	if r := d.Post("/api/authorize", e2e.AuthorizeBody(app, cl.JSData.AuthorizeUUID)); r.ErrCode != 10064 {
		t.Fatalf("replayed uuid: %s", r.Body)
	}
	// Cross-request: another redirect_uri, scope or state, another origin.
	for what, swap := range map[string][2]string{
		"redirect_uri": {e2e.RedirectURI, "http://shop.localhost:8081/other"},
		"scope":        {`"scope":"snsapi_login"`, `"scope":"snsapi_userinfo"`},
		"state":        {`"state":"9ec633939ab2fd6f441a29542a51e8f3"`, `"state":"attacker-chosen"`},
	} {
		cl = d.CheckLogin(b)
		body := strings.Replace(e2e.AuthorizeBody(app, cl.JSData.AuthorizeUUID), swap[0], swap[1], 1)
		if r := d.Post("/api/authorize", body); r.ErrCode != 10064 {
			t.Fatalf("uuid with another %s: %s", what, r.Body)
		}
	}
	cl = d.CheckLogin(b)
	req, _ := http.NewRequest("POST", d.URL("/api/authorize"), strings.NewReader(e2e.AuthorizeBody(app, cl.JSData.AuthorizeUUID)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", other)
	if r := d.Do(nil, req); r.ErrCode != 10064 {
		t.Fatalf("uuid from another origin: %s", r.Body)
	}
	// Each check-login mints a different uuid.
	if d.CheckLogin(b).JSData.AuthorizeUUID == d.CheckLogin(b).JSData.AuthorizeUUID {
		t.Fatal("two check-logins share a uuid")
	}
}

// One confirmation at a time: 100 rapid authorizes raise one dialog.
func TestAttackConcurrentAuthorizes(t *testing.T) {
	b, d := signedIn(t, "--check-login-rate", "1000")
	uuids := make([]string, 100)
	for i := range uuids {
		uuids[i] = d.CheckLogin(b).JSData.AuthorizeUUID
	}
	var wg sync.WaitGroup
	results := make([]e2e.Response, len(uuids))
	for i, u := range uuids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = d.Post("/api/authorize", e2e.AuthorizeBody(b.App.AppID, u))
		}()
	}
	p := d.AwaitPending()
	waiting := 0
	d.Scanfreed("deny", p.ID)
	wg.Wait()
	for _, r := range results {
		switch r.ErrCode {
		case 10050:
			waiting++
		case 10062, 10066:
		default:
			t.Fatalf("unexpected answer %s", r.Body)
		}
	}
	if waiting != 1 {
		t.Fatalf("%d requests reached a confirmation; want exactly 1", waiting)
	}
}

// Refused requests look the same whether or not a user is signed in.
func TestAttackRefusalsIdentical(t *testing.T) {
	b, in := signedIn(t)
	out := e2e.StartDaemon(t, b, e2e.DaemonOptions{Args: []string{"--no-dialog"}})
	app := b.App.AppID
	type attempt struct {
		name                        string
		method, host, origin, ctype string
		body                        string
	}
	attempts := []attempt{
		{"foreign origin", "POST", "", "http://evil.example", "application/json", e2e.CheckLoginBody(app)},
		{"no origin", "POST", "", "", "application/json", e2e.CheckLoginBody(app)},
		{"rebinding host", "POST", "evil.example:PORT", "ORIGIN", "application/json", e2e.CheckLoginBody(app)},
		{"GET", "GET", "", "ORIGIN", "", ""},
		{"text/plain", "POST", "", "ORIGIN", "text/plain", e2e.CheckLoginBody(app)},
		{"malformed", "POST", "", "ORIGIN", "application/json", `{"apiname":`},
		{"bad apiname", "POST", "", "ORIGIN", "application/json", `{"apiname":"x","jsdata":{}}`},
		{"oversized", "POST", "", "ORIGIN", "application/json", strings.Repeat(" ", 17<<10)},
		{"unknown path", "POST", "", "ORIGIN", "application/json", "{}"},
	}
	render := func(d *e2e.Daemon, a attempt) []byte {
		host := strings.ReplaceAll(a.host, "PORT", strconv.Itoa(d.Port))
		origin := strings.ReplaceAll(a.origin, "ORIGIN", d.Origin)
		req := request(d, a.method, host, origin, a.ctype, a.body)
		if a.name == "unknown path" {
			req.URL.Path = "/api/version"
		}
		r := d.Do(nil, req)
		var buf bytes.Buffer
		fmt.Fprintf(&buf, "%d\n", r.Status)
		r.Header.Del("Date")
		r.Header.Write(&buf)
		buf.Write(r.Body)
		return buf.Bytes()
	}
	for _, a := range attempts {
		t.Run(a.name, func(t *testing.T) {
			x, y := render(in, a), render(out, a)
			if !bytes.Equal(x, y) {
				t.Fatalf("signed in:\n%s\nsigned out:\n%s", x, y)
			}
		})
	}
	// And nothing tells version, PID or health.
	r := in.Do(nil, request(in, "GET", "", "", "", ""))
	if r.Header.Get("Server") != "" {
		t.Fatalf("Server header %q", r.Header.Get("Server"))
	}
}

// The control API refuses requests carrying Origin or Referer, and other users.
func TestAttackControlSocket(t *testing.T) {
	_, d := signedIn(t)
	sock := control.SocketIn(d.StateDir)
	fi, err := os.Stat(sock)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket mode %v, %v; want 0600", fi.Mode().Perm(), err)
	}
	c := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var dl net.Dialer
		return dl.DialContext(ctx, "unix", sock)
	}}}
	for _, h := range []http.Header{{"Origin": {"http://evil.example"}}, {"Referer": {"http://evil.example/page"}}, {"Origin": {"null"}}} {
		for _, path := range []string{"/v0/status", "/v0/pause"} {
			req, _ := http.NewRequest("POST", "http://scanfreed"+path, nil)
			if path == "/v0/status" {
				req.Method = "GET"
			}
			req.Header = h
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 403 {
				t.Fatalf("%s with %v: %d, want 403", path, h, resp.StatusCode)
			}
		}
	}
	if st, _ := d.Control.Status(context.Background()); st.Paused {
		t.Fatal("a refused request paused the daemon")
	}
	// The control API is not served on the browser-facing listener.
	if r := d.Do(nil, func() *http.Request {
		req, _ := http.NewRequest("GET", d.URL("/v0/status"), nil)
		req.Header.Set("Origin", d.Origin)
		return req
	}()); r.Status != 404 {
		t.Fatalf("/v0/status on the local API: %d", r.Status)
	}
	// Another user cannot connect.
	if os.Geteuid() != 0 {
		t.Skip("connecting as another user needs root to switch users; the 0600 mode was checked above")
	}
	os.Chmod(filepath.Dir(sock), 0o755) // let the other user reach the socket file itself
	cmd := exec.Command("curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--unix-socket", sock, "http://scanfreed/v0/status")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, _ := cmd.Output()
	if string(out) == "200" {
		t.Fatal("another user read the daemon's status")
	}
}

// TestAttackOtherUser: another user of the machine reaches the loopback
// port with curl and a forged Origin; the daemon closes the connection
// before TLS (its client socket belongs to another UID), and says so in
// its log. The daemon's own user gets through.
func TestAttackOtherUser(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the TCP owner check is Linux-only; README, known limits")
	}
	if os.Geteuid() != 0 {
		msg := "needs root to run curl as another user (runuser -u nobody)"
		if testutil.RequireE2E() {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	testutil.NeedTools(t, "curl", "runuser")
	b, d := signedIn(t)
	// curl runs check-login at host as the given user ("" for ours).
	curl := func(host, user string) (string, error) {
		var argv []string
		if user != "" {
			argv = []string{"runuser", "-u", user, "--"}
		}
		argv = append(argv, "curl", "-sk", "-o", "-", "-w", " %{http_code}", "-H", "Origin: "+d.Origin, "-H", "Content-Type: application/json",
			"--resolve", fmt.Sprintf("scanfree.localhost:%d:127.0.0.1", d.Port), "--data-binary", e2e.CheckLoginBody(b.App.AppID),
			fmt.Sprintf("https://%s:%d/api/check-login", host, d.Port))
		out, _, err := testutil.Run(context.Background(), nil, "", argv[0], argv[1:]...)
		return out, err
	}
	if out, err := curl("scanfree.localhost", ""); err != nil || !strings.Contains(out, "Alice") {
		t.Fatalf("the daemon's own user: %q %v", out, err)
	}
	for _, host := range []string{"scanfree.localhost", "[::1]"} {
		if out, err := curl(host, "nobody"); err == nil || strings.Contains(out, "Alice") {
			t.Fatalf("another user at %s got an answer: %q", host, out)
		}
	}
	testutil.Eventually(t, 5*time.Second, "the refusal in the daemon's log", func() bool {
		return strings.Contains(d.Proc.Stderr.String(), "refused a connection to the local API")
	})
}

// TestAttackWithdrawRepeat: a page that withdraws its authorize (closes
// the request) and asks again at once gets no second dialog: the origin
// cools down after a withdrawal as after a deny (8 dialogs were raised in
// 6 s this way).
func TestAttackWithdrawRepeat(t *testing.T) {
	b, d := signedIn(t)
	cl := d.CheckLogin(b)
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "POST", d.URL("/api/authorize"), strings.NewReader(e2e.AuthorizeBody(b.App.AppID, cl.JSData.AuthorizeUUID)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", d.Origin)
	done := make(chan error, 1)
	go func() {
		resp, err := d.Client(nil).Do(req)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	d.AwaitPending()
	cancel() // the page withdraws
	<-done
	testutil.Eventually(t, 5*time.Second, "the request withdrawn", func() bool {
		p, _ := d.Control.Pending(context.Background())
		return len(p) == 0
	})
	for range 3 {
		cl := d.CheckLogin(b)
		if r := d.Post("/api/authorize", e2e.AuthorizeBody(b.App.AppID, cl.JSData.AuthorizeUUID)); r.ErrCode != 10066 {
			t.Fatalf("authorize right after a withdrawal: %s, want 10066 (cooling down)", r.Body)
		}
	}
}

// A desktop's credential is bound to its key (DPoP): copied off the
// desktop, it is refused as a Bearer token and with another key's proof,
// while the daemon itself goes on signing in with its own proofs.
func TestAttackCopiedCredential(t *testing.T) {
	b, d := signedIn(t, "--authorize-rate", "100")
	raw, err := os.ReadFile(filepath.Join(d.StateDir, "credential"))
	if err != nil {
		t.Fatalf("the daemon's credential file (the test runs without a keyring): %v", err)
	}
	cred := strings.TrimSpace(string(raw))
	key, err := dpop.LoadOrCreate(filepath.Join(d.StateDir, "dpop-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(context.Background(), b.DB)
	if err != nil {
		t.Fatal(err)
	}
	devs, err := st.ListDevices(context.Background(), "")
	st.Close()
	if err != nil || len(devs) != 1 || devs[0].KeyThumbprint != key.Thumbprint() {
		t.Fatalf("enrolled desktops %+v, %v; want one bound to the daemon's key %s", devs, err, key.Thumbprint())
	}

	if out, err := d.Scanfreed("status"); err != nil || !strings.Contains(out, "key:        software") {
		t.Fatalf("scanfreed status says %q, %v; want where the key lives", out, err)
	}

	me := b.URL + deviceapi.PathMe
	call := func(auth, proof string) *http.Response {
		req, _ := http.NewRequest("GET", me, nil)
		req.Header.Set("Authorization", auth)
		if proof != "" {
			req.Header.Set(dpop.Header, proof)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	resp := call("Bearer "+cred, "")
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("the copied credential as a Bearer token: %s; want 401", resp.Status)
	}
	thief, _ := dpop.NewKey()
	proof, _ := thief.Proof("GET", me, cred, resp.Header.Get(dpop.NonceHeader), time.Now())
	if resp := call(dpop.Scheme+" "+cred, proof); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("the copied credential with another key's proof: %s; want 401", resp.Status)
	}

	// The daemon itself: a sign-in goes through to a code.
	cl := d.CheckLogin(b)
	res := authorizeAsync(d, b, cl.JSData.AuthorizeUUID)
	d.Scanfreed("approve", d.AwaitPending().ID)
	if r := <-res; r.ErrCode != 0 || !strings.Contains(string(r.Body), "code=") {
		t.Fatalf("the daemon's own sign-in after the attempts: %s", r.Body)
	}
}
