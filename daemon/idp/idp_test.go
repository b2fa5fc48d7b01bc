package idp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scanfree/scanfree/backend/admin"
	"github.com/scanfree/scanfree/backend/server"
	"github.com/scanfree/scanfree/backend/storage/sqlite"
	"github.com/scanfree/scanfree/daemon/creds"
	"github.com/scanfree/scanfree/internal/deviceapi"
)

// realBackend serves the real backend handler on a real SQLite file.
func realBackend(t *testing.T) (*httptest.Server, *sqlite.Store, admin.NewApp) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "b.db"))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(nil)
	s, err := server.New(st, server.Config{PublicURL: "http://" + srv.Listener.Addr().String(), DeviceInterval: 10 * time.Millisecond,
		DataKey: []byte("0123456789abcdef0123456789abcdef"), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = s.Handler()
	srv.Start()
	t.Cleanup(func() { srv.Close(); st.Close() })
	app, err := admin.CreateApp(ctx, st, admin.AppSpec{Name: "Shop", RedirectURIs: []string{"https://shop.example/cb"}, FastLogin: true}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.CreateUser(ctx, st, admin.UserSpec{Username: "alice", Nickname: "Alice", Password: "alice-password"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	return srv, st, app
}

func newClient(t *testing.T, url string, signedOut *atomic.Int32) *Client {
	t.Helper()
	store := creds.New(t.TempDir())
	store.UseKeyring = false
	c, err := New(Config{BackendURL: url, Creds: store, Timeout: 2 * time.Second, OnSignedOut: func() { signedOut.Add(1) }})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestAgainstBackend drives the client through the real backend: enrol,
// profile, app, check, mint, QR, sign out, and the refusals on the way.
func TestAgainstBackend(t *testing.T) {
	srv, st, app := realBackend(t)
	var signedOut atomic.Int32
	c := newClient(t, srv.URL, &signedOut)
	ctx := context.Background()

	if _, err := c.Me(ctx); !errors.Is(err, ErrSignedOut) {
		t.Fatalf("Me before enrolment: %v, want ErrSignedOut", err)
	}
	da, err := c.StartEnrolment(ctx, "laptop", "linux")
	if err != nil || len(da.UserCode) != 9 || da.DeviceCode == "" { // XXXX-XXXX
		t.Fatalf("StartEnrolment: %+v %v", da, err)
	}
	if _, err := admin.ApproveDevice(ctx, st, "alice", da.UserCode, time.Now()); err != nil {
		t.Fatal(err)
	}
	da.Interval = 0 // the backend's minimum is 10 ms here
	if err := c.WaitEnrolment(ctx, da); err != nil {
		t.Fatalf("WaitEnrolment: %v", err)
	}
	me, err := c.Me(ctx)
	if err != nil || me.Nickname != "Alice" || me.DeviceName != "laptop" {
		t.Fatalf("Me: %+v %v", me, err)
	}

	ok := SignInRequest{AppID: app.AppID, Scope: "snsapi_login", RedirectURI: "https://shop.example/cb", State: "s", Origin: "https://idp.example"}
	tests := []struct {
		name string
		call func() error
		want int // errcode of the *RefusedError; 0 for success
	}{
		{"app", func() error { _, err := c.App(ctx, app.AppID); return err }, 0},
		{"unknown app", func() error { _, err := c.App(ctx, "wxnope"); return err }, deviceapi.CodeRefused},
		{"check", func() error { _, err := c.Check(ctx, ok); return err }, 0},
		{"check unregistered redirect", func() error {
			r := ok
			r.RedirectURI = "https://evil.example/cb"
			_, err := c.Check(ctx, r)
			return err
		}, deviceapi.CodeRefused},
		{"check unknown app", func() error {
			r := ok
			r.AppID = "wxnope"
			_, err := c.Check(ctx, r)
			return err
		}, deviceapi.CodeRefused},
		{"authorize", func() error {
			u, err := c.Authorize(ctx, ok)
			if err == nil && !strings.HasPrefix(u, "https://shop.example/cb?code=") {
				return errors.New("redirect " + u)
			}
			return err
		}, 0},
		{"unknown QR ticket", func() error { _, err := c.QR(ctx, "nope", true); return err }, deviceapi.CodeRefused},
		{"a desktop app not allowed yet: the answer carries what the dialog shows", func() error {
			_, err := c.AppCode(ctx, deviceapi.AppCodeRequest{AppID: app.AppID})
			var re *RefusedError
			if errors.As(err, &re) && (re.Consent == nil || re.Consent.App.Name != "Shop" || re.Consent.Account != "Alice") {
				return fmt.Errorf("consent answer without the app and account: %+v", re.Consent)
			}
			return err
		}, deviceapi.CodeConsent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			var re *RefusedError
			switch {
			case tt.want == 0 && err != nil:
				t.Fatalf("error %v", err)
			case tt.want != 0 && (!errors.As(err, &re) || re.Code != tt.want):
				t.Fatalf("error %v, want a refusal with errcode %d", err, tt.want)
			}
		})
	}

	if err := c.Logout(ctx); err != nil {
		t.Fatalf("Logout: %v", err)
	}
	if signedOut.Load() != 1 || c.SignedIn() {
		t.Fatalf("after Logout: signed-out callbacks %d, signed in %v", signedOut.Load(), c.SignedIn())
	}
}

// TestRevokedCredentialIsForgotten: a 401 from the backend forgets the
// credential and tells the daemon, once.
func TestRevokedCredentialIsForgotten(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
		w.Write([]byte(`{"errcode":10060,"errmsg":"revoked"}`))
	}))
	defer srv.Close()
	var signedOut atomic.Int32
	c := newClient(t, srv.URL, &signedOut)
	if err := c.cfg.Creds.Set("cred"); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := c.Fresh(context.Background()); !errors.Is(err, ErrSignedOut) {
			t.Fatalf("Fresh with a revoked credential: %v", err)
		}
	}
	if signedOut.Load() != 1 || c.SignedIn() {
		t.Fatalf("signed-out callbacks %d, signed in %v; want 1, false", signedOut.Load(), c.SignedIn())
	}
	if _, err := c.cfg.Creds.Get(); !errors.Is(err, creds.ErrNone) {
		t.Fatalf("credential still stored: %v", err)
	}
}

// TestBackendFailures: whatever goes wrong on the backend's side reads as
// unreachable (10063), never as a refusal or a success, and within the
// client's timeout.
func TestBackendFailures(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
	}{
		{"500", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }},
		{"502 without JSON", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(502); w.Write([]byte("<html>bad gateway")) }},
		{"malformed 200", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{"nickname":`)) }},
		{"404 without errcode", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(404) }},
		{"hangs", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }}, // until the client gives up
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.handler)
			defer srv.Close()
			var signedOut atomic.Int32
			c := newClient(t, srv.URL, &signedOut)
			c.cfg.Creds.Set("cred")
			c.http.Timeout = 300 * time.Millisecond
			start := time.Now()
			_, err := c.Fresh(context.Background())
			if !errors.Is(err, ErrUnreachable) {
				t.Fatalf("error %v, want ErrUnreachable", err)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Fatalf("answered after %v", d)
			}
			if signedOut.Load() != 0 || !c.SignedIn() {
				t.Fatal("a failing backend made the client forget its credential")
			}
		})
	}
	t.Run("closed port", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		url := srv.URL
		srv.Close()
		var signedOut atomic.Int32
		c := newClient(t, url, &signedOut)
		c.cfg.Creds.Set("cred")
		if _, err := c.Fresh(context.Background()); !errors.Is(err, ErrUnreachable) {
			t.Fatalf("error %v, want ErrUnreachable", err)
		}
	})
}

// TestSignInPageChecked: the daemon passes on only http(s) sign-in pages on
// the backend's own origin (or a configured public origin) to the tray and
// `scanfreed login`, whatever a fake or compromised backend sends.
func TestSignInPageChecked(t *testing.T) {
	var page atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := page.Load().(string)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"device_code":"dc","user_code":"ABCD-EFGH","verification_uri":"` + p + `","verification_uri_complete":"` + p +
			`?user_code=ABCD-EFGH","expires_in":600,"interval":5}`))
	}))
	defer srv.Close()
	var signedOut atomic.Int32
	c := newClient(t, srv.URL, &signedOut)
	c.cfg.PageOrigins = []string{"http://idp.localhost:8080"}
	for _, tt := range []struct {
		page string
		ok   bool
	}{
		{srv.URL + "/device", true},
		{"http://idp.localhost:8080/device", true},
		{"file:///etc/passwd", false},
		{"javascript:alert(1)", false},
		{"https://evil.example/device", false},
		{"http://idp.localhost:8081/device", false},
		{"http://user@" + strings.TrimPrefix(srv.URL, "http://") + "/device", false},
	} {
		t.Run(tt.page, func(t *testing.T) {
			page.Store(tt.page)
			da, err := c.StartEnrolment(context.Background(), "laptop", "linux")
			if (err == nil) != tt.ok {
				t.Fatalf("page %q: err %v, want ok=%v", tt.page, err, tt.ok)
			}
			if !tt.ok && da.VerificationURIComplete != "" {
				t.Fatalf("a refused page still came back: %q", da.VerificationURIComplete)
			}
		})
	}
}

// TestPlainHTTPBackendOnlyOnLoopback: the credential never travels in
// clear text off this machine.
func TestPlainHTTPBackendOnlyOnLoopback(t *testing.T) {
	for url, ok := range map[string]bool{
		"http://idp.localhost:8080": true, "http://127.0.0.1:8080": true, "http://[::1]:8080": true, "https://login.example.com": true,
		"http://login.example.com": false, "http://192.168.1.10:8080": false, "http://localhost.evil.example": false,
	} {
		_, err := New(Config{BackendURL: url, Creds: creds.New(t.TempDir())})
		if (err == nil) != ok {
			t.Errorf("backend %s: err %v, want ok=%v", url, err, ok)
		}
	}
}

// TestOtherPlatformKeyDropped: a state dir naming a Platform Crypto
// Provider key this computer cannot open (here: not Windows) refuses to
// prove, says so, and is forgotten before the next sign-in, which makes a
// key where this computer keeps one.
func TestOtherPlatformKeyDropped(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "dpop-key.pem")
	os.WriteFile(filepath.Join(dir, "dpop-key.ncrypt"), []byte(`{"provider":"Microsoft Platform Crypto Provider","name":"scanfree-dpop-0"}`), 0o600)
	c, err := New(Config{BackendURL: "http://127.0.0.1:1", Creds: creds.New(dir), KeyFile: keyFile, TPM: TPMOff})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.KeyProtection(); got != "platform" {
		t.Fatalf("KeyProtection = %q, want platform", got)
	}
	if _, err := c.proofKey(); err == nil || c.KeyProblem() == nil {
		t.Fatalf("a platform key this computer does not hold proved: %v", err)
	}
	c.dropUnusableKey()
	if _, err := os.Stat(filepath.Join(dir, "dpop-key.ncrypt")); !os.IsNotExist(err) {
		t.Fatalf("the platform key's name is still there: %v", err)
	}
	if k, err := c.proofKey(); err != nil || k == nil || k.Protection() != "software" {
		t.Fatalf("after dropping it: %v %v", k, err)
	}
}
