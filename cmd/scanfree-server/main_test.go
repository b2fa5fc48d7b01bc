package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/scanfree/scanfree/internal/harness/system"
	"github.com/scanfree/scanfree/internal/harness/testutil"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testutil.Cleanup()
	os.Exit(code)
}

// backend is a running scanfree-server process.
type backend struct {
	t    *testing.T
	bin  string
	db   string
	addr string
	url  string
	proc *testutil.Proc
}

func startBackend(t *testing.T, db string) *backend {
	t.Helper()
	return startBackendWith(t, db, "")
}

// startBackendWith starts a server on db whose public URL is publicURL
// (its own address when ""), with more serve flags.
func startBackendWith(t *testing.T, db, publicURL string, args ...string) *backend {
	t.Helper()
	b := &backend{t: t, bin: testutil.Build(t, "./cmd/scanfree-server"), db: db}
	b.addr = fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t))
	b.url = "http://" + b.addr
	if publicURL == "" {
		publicURL = b.url
	}
	// The tests are many desktops behind one address, of few people: lift
	// the per-address enrolment limit and the desktop cap (backend/server
	// tests both).
	b.proc = testutil.Start(t, nil, b.bin, append([]string{"serve", "--db", db, "--addr", b.addr, "--public-url", publicURL,
		"--device-auths-per-minute", "1000000", "--max-desktops", "1000000", "--password-signin=on"}, args...)...)
	testutil.WaitHTTP(t, b.url+"/readyz", 20*time.Second)
	return b
}

// cli runs an admin command against the backend's database.
func (b *backend) cli(stdin string, args ...string) string {
	b.t.Helper()
	out, errOut, err := testutil.Run(context.Background(), nil, stdin, b.bin, append(args, "--db", b.db)...)
	if err != nil {
		b.t.Fatalf("scanfree-server %v: %v\n%s", args, err, errOut)
	}
	return out
}

// cliErr runs an admin command that may fail, and returns its output and
// error output together.
func (b *backend) cliErr(stdin string, args ...string) (string, error) {
	b.t.Helper()
	out, errOut, err := testutil.Run(context.Background(), nil, stdin, b.bin, append(args, "--db", b.db)...)
	return out + errOut, err
}

func (b *backend) getJSON(path string, out any) {
	b.t.Helper()
	resp, err := http.Get(b.url + path)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		b.t.Fatalf("GET %s: %v", path, err)
	}
}

func (b *backend) post(c *http.Client, path, ctype, body string, header http.Header) (int, []byte) {
	b.t.Helper()
	req, _ := http.NewRequest("POST", b.url+path, strings.NewReader(body))
	req.Header.Set("Content-Type", ctype)
	for k, v := range header {
		req.Header[k] = v
	}
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		b.t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

// TestNewcomerPath follows the README: create an app and a user with the
// CLI, enrol a device through the device flow approved with `device
// approve`, mint a code with the device API, exchange it, read userinfo.
func TestNewcomerPath(t *testing.T) {
	b := startBackend(t, filepath.Join(t.TempDir(), "scanfree.db"))
	var app struct{ AppID, Secret string }
	json.Unmarshal([]byte(b.cli("", "app", "create", "--name", "Demo Shop", "--redirect-uri", "http://shop.localhost:8081/callback", "--json")), &app)
	if !strings.HasPrefix(app.AppID, "wx") || len(app.Secret) != 32 {
		t.Fatalf("app create: %+v", app)
	}
	b.cli("alice-password\n", "user", "create", "--username", "alice", "--nickname", "Alice", "--password-stdin")

	_, body := b.post(nil, "/oauth2/device_authorization", "application/x-www-form-urlencoded", "client_id=scanfree-desktop&device_name=laptop&os=linux", nil)
	var da struct{ DeviceCode, UserCode string }
	json.Unmarshal(body, &struct {
		DeviceCode *string `json:"device_code"`
		UserCode   *string `json:"user_code"`
	}{&da.DeviceCode, &da.UserCode})
	poll := "grant_type=urn:ietf:params:oauth:grant-type:device_code&client_id=scanfree-desktop&device_code=" + da.DeviceCode
	if status, body := b.post(nil, "/oauth2/token", "application/x-www-form-urlencoded", poll, nil); status != 400 || !strings.Contains(string(body), "authorization_pending") {
		t.Fatalf("poll before approval: %d %s", status, body)
	}
	b.cli("", "device", "approve", "--user", "alice", "--code", da.UserCode)
	_, body = b.post(nil, "/oauth2/token", "application/x-www-form-urlencoded", poll, nil)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	json.Unmarshal(body, &tok)
	if tok.AccessToken == "" {
		t.Fatalf("token after approval: %s", body)
	}

	_, body = b.post(nil, "/api/v1/device/authorize", "application/json",
		`{"appid":"`+app.AppID+`","scope":"snsapi_login","redirect_uri":"http://shop.localhost:8081/callback","state":"xyz"}`,
		http.Header{"Authorization": {"Bearer " + tok.AccessToken}})
	var ar struct {
		RedirectURL string `json:"redirect_url"`
	}
	json.Unmarshal(body, &ar)
	u, err := url.Parse(ar.RedirectURL)
	if err != nil || u.Query().Get("state") != "xyz" || u.Query().Get("code") == "" {
		t.Fatalf("authorize: %s", body)
	}
	at, _, err := system.Exchange(t.Context(), nil, b.url, app.AppID, app.Secret, u.Query().Get("code"))
	if err != nil {
		t.Fatal(err)
	}
	var ui struct {
		Nickname string `json:"nickname"`
		OpenID   string `json:"openid"`
	}
	b.getJSON("/sns/userinfo?"+url.Values{"access_token": {at.AccessToken}, "openid": {at.OpenID}}.Encode(), &ui)
	if ui.Nickname != "Alice" || ui.OpenID != at.OpenID {
		t.Fatalf("userinfo: %+v", ui)
	}

	var devices []struct {
		User   string `json:"user"`
		Active bool   `json:"active"`
	}
	json.Unmarshal([]byte(b.cli("", "device", "list", "--user", "alice", "--json")), &devices)
	if len(devices) != 1 || !devices[0].Active || devices[0].User != "alice" {
		t.Fatalf("device list: %+v", devices)
	}

	// SIGTERM shuts down gracefully with exit status 0.
	b.proc.Cmd.Process.Signal(syscall.SIGTERM)
	if err := b.proc.Wait(t, 15*time.Second); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
}

func TestServerErrors(t *testing.T) {
	bin := testutil.Build(t, "./cmd/scanfree-server")
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	notDB := filepath.Join(dir, "notes.txt")
	os.WriteFile(notDB, []byte(strings.Repeat("hello\n", 200)), 0o600)
	badConfig := filepath.Join(dir, "config.yaml")
	os.WriteFile(badConfig, []byte("qr_tl: 3s\n"), 0o600)
	tests := []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"unparsable env", []string{"SCANFREE_SERVER_CODE_TTL=five"}, []string{"serve", "--db", filepath.Join(dir, "d.db")}, "SCANFREE_SERVER_CODE_TTL=\"five\": time: invalid duration"},
		{"unparsable env, once ignored", []string{"SCANFREE_SERVER_TICKETS_PER_MINUTE=lots"}, []string{"serve", "--db", filepath.Join(dir, "d.db")}, "want a whole number"},
		{"unknown env", []string{"SCANFREE_SERVER_PUBLICURL=http://x"}, []string{"app", "list", "--db", filepath.Join(dir, "d.db")}, "SCANFREE_SERVER_PUBLICURL names no setting"},
		{"unknown config key", nil, []string{"serve", "--config", badConfig, "--db", filepath.Join(dir, "d.db")}, "unknown key \"qr_tl\""},
		{"port taken", nil, []string{"serve", "--db", filepath.Join(dir, "a.db"), "--addr", ln.Addr().String()}, "pass another --addr"},
		{"not a database", nil, []string{"user", "list", "--db", notDB}, "not an SQLite database"},
		{"bad public url", nil, []string{"serve", "--db", filepath.Join(dir, "b.db"), "--public-url", "idp.localhost"}, "--public-url"},
		{"password in args", nil, []string{"user", "create", "--username", "a", "--nickname", "A", "--db", filepath.Join(dir, "c.db")}, "--password-stdin"},
		{"short password", nil, []string{"user", "create", "--username", "a", "--nickname", "A", "--password-stdin", "--db", filepath.Join(dir, "c.db")}, "at least 8"},
		{"bad redirect", nil, []string{"app", "create", "--name", "X", "--redirect-uri", "http://evil.example/cb", "--db", filepath.Join(dir, "c.db")}, "use https"},
		{"bad cap policy", nil, []string{"serve", "--db", filepath.Join(dir, "e.db"), "--max-desktops-policy", "lifo"}, "use refuse or evict-oldest"},
		{"idle longer than the lifetime", nil, []string{"serve", "--db", filepath.Join(dir, "e.db"), "--session-idle", "2h", "--session-lifetime", "1h"}, "--session-idle"},
		{"bad admin cidr", nil, []string{"serve", "--db", filepath.Join(dir, "e.db"), "--admin-allow-cidr", "office"}, "--admin-allow-cidr"},
		{"not a GeoIP database", nil, []string{"serve", "--db", filepath.Join(dir, "e.db"), "--geoip-db", notDB}, "Country or City"},
		{"a country named in full", nil, []string{"app", "create", "--name", "F", "--redirect-uri", "https://f.example/cb", "--allow-country", "China", "--db", filepath.Join(dir, "c.db")}, "two letters"},
		{"a fence that is no range", nil, []string{"app", "create", "--name", "F", "--redirect-uri", "https://f.example/cb", "--allow-cidr", "office", "--db", filepath.Join(dir, "c.db")}, "CIDR range"},
		{"a webhook without a secret", nil, []string{"serve", "--db", filepath.Join(dir, "e.db"), "--webhook-url", "https://siem.example/hook"}, "--webhook-secret-file"},
		{"authenticator of no one", nil, []string{"user", "remove-authenticator", "nobody", "--db", filepath.Join(dir, "c.db")}, "no user \"nobody\""},
		{"passkey of no one", nil, []string{"user", "remove-passkey", "nobody", "Phone", "--db", filepath.Join(dir, "c.db")}, "no user \"nobody\""},
		{"unknown code", nil, []string{"device", "approve", "--user", "nobody", "--code", "BCDF-GHJK", "--db", filepath.Join(dir, "c.db")}, "no user"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, stderr, err := testutil.Run(context.Background(), tt.env, "short\n", bin, tt.args...)
			if err == nil || !strings.Contains(stderr, tt.want) || strings.Contains(stderr, "panic") {
				t.Fatalf("err %v, stderr %q; want a failure mentioning %q", err, stderr, tt.want)
			}
		})
	}
}

// TestSIGKILLLosesNothing kills the server (and admin commands in flight)
// with SIGKILL during a burst of writes, restarts it on the same file and
// finds every account, app and device whose creation was acknowledged.
func TestSIGKILLLosesNothing(t *testing.T) {
	db := filepath.Join(t.TempDir(), "scanfree.db")
	b := startBackend(t, db)
	b.cli("alice-password\n", "user", "create", "--username", "alice", "--nickname", "Alice", "--password-stdin")

	jar, _ := cookiejar.New(nil)
	web := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	same := http.Header{"Sec-Fetch-Site": {"same-origin"}}
	if status, _ := b.post(web, "/login", "application/x-www-form-urlencoded", "username=alice&password=alice-password", same); status != 303 {
		t.Fatalf("login: %d", status)
	}

	var mu sync.Mutex
	var creds, users, apps []string
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 4 { // enrol devices over HTTP
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if cred := enrolOnce([3]string{b.url, b.url, b.url}, web, fmt.Sprintf("dev-%d-%d", w, i)); cred != "" {
					mu.Lock()
					creds = append(creds, cred)
					mu.Unlock()
				}
			}
		}()
	}
	for w := range 2 { // admin CLI writes in their own processes
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				name := fmt.Sprintf("user%d-%d", w, i)
				_, _, err := testutil.Run(context.Background(), nil, "password123\n", b.bin, "user", "create", "--username", name, "--nickname", name, "--password-stdin", "--db", db)
				if err == nil {
					mu.Lock()
					users = append(users, name)
					mu.Unlock()
				}
				out, _, err := testutil.Run(context.Background(), nil, "", b.bin, "app", "create", "--name", name, "--domain", "rp.example", "--json", "--db", db)
				var na struct{ AppID string }
				if err == nil && json.Unmarshal([]byte(out), &na) == nil {
					mu.Lock()
					apps = append(apps, na.AppID)
					mu.Unlock()
				}
			}
		}()
	}
	testutil.Eventually(t, 60*time.Second, "20 enrolled devices and 5 users", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(creds) >= 20 && len(users) >= 5
	})
	b.proc.Cmd.Process.Signal(syscall.SIGKILL)
	close(stop)
	wg.Wait()
	b.proc.Wait(t, 10*time.Second)

	mu.Lock()
	defer mu.Unlock()
	t.Logf("acknowledged before the kill: %d devices, %d users, %d apps", len(creds), len(users), len(apps))
	raw, err := sql.Open("sqlite", "file:"+db)
	if err != nil {
		t.Fatal(err)
	}
	var check string
	if err := raw.QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check: %q %v", check, err)
	}
	raw.Close()

	b2 := startBackend(t, db)
	for _, c := range creds {
		req, _ := http.NewRequest("GET", b2.url+"/api/v1/device/me", nil)
		req.Header.Set("Authorization", "Bearer "+c)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("an acknowledged device is gone after SIGKILL: %d", resp.StatusCode)
		}
	}
	listed := b2.cli("", "user", "list") + b2.cli("", "app", "list")
	for _, name := range append(users, apps...) {
		if !strings.Contains(listed, name) {
			t.Fatalf("acknowledged %s is gone after SIGKILL", name)
		}
	}
}

// enrolOnce runs one device flow to its end and returns the credential,
// or "" when the server went away mid-way. It starts it at via[0], approves
// it with web's session at via[1] and polls for the credential at via[2].
func enrolOnce(via [3]string, web *http.Client, name string) string {
	post := func(c *http.Client, base, path, body string, h http.Header) (int, []byte) {
		req, _ := http.NewRequest("POST", base+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range h {
			req.Header[k] = v
		}
		resp, err := c.Do(req)
		if err != nil {
			return 0, nil
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, out
	}
	_, body := post(http.DefaultClient, via[0], "/oauth2/device_authorization", "client_id=scanfree-desktop&os=linux&device_name="+name, nil)
	var da struct {
		DeviceCode string `json:"device_code"`
		UserCode   string `json:"user_code"`
	}
	if json.Unmarshal(body, &da) != nil || da.DeviceCode == "" {
		return ""
	}
	if status, _ := post(web, via[1], "/device/decide", "decision=approve&user_code="+da.UserCode, http.Header{"Sec-Fetch-Site": {"same-origin"}}); status != 200 {
		return ""
	}
	_, body = post(http.DefaultClient, via[2], "/oauth2/token", "grant_type=urn:ietf:params:oauth:grant-type:device_code&client_id=scanfree-desktop&device_code="+da.DeviceCode, nil)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	json.Unmarshal(body, &tok)
	return tok.AccessToken
}
