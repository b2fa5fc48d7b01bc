package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/scanfree/scanfree/daemon/control"
	"github.com/scanfree/scanfree/internal/harness/e2e"
	"github.com/scanfree/scanfree/internal/harness/system"
	"github.com/scanfree/scanfree/internal/harness/testutil"
)

// TestLoginBackend: a person's desktop came pointed at the demo (or last
// year's) sign-in service; `scanfreed login --backend URL` signs it in at
// her organisation's instead, remembers it in her config.yaml (keeping
// what else it says), and the daemon started again signs in there with
// that service's pages trusted. A signed-in desktop, or a plain-http
// address off this machine, is not moved.
func TestLoginBackend(t *testing.T) {
	// Each service's pages are on the origin the desktop reaches it at, as
	// a real one's are (the tests' usual idp.localhost would need its own
	// trusted_origins).
	local := func() *e2e.Backend {
		return e2e.StartBackendWith(t, e2e.BackendOptions{Addr: "127.0.0.1:" + strconv.Itoa(testutil.FreePort(t)), PublicHost: "127.0.0.1"})
	}
	old, org := local(), local()
	bin := testutil.Build(t, "./cmd/scanfreed")
	state := filepath.Join(shortDir(t), "st")
	cfgHome := t.TempDir()
	cfgFile := filepath.Join(cfgHome, "scanfree", "config.yaml")
	os.MkdirAll(filepath.Dir(cfgFile), 0o700)
	if err := os.WriteFile(cfgFile, []byte("# set up by IT\nbackend_url: "+old.URL+"\nno_dialog: true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"XDG_CONFIG_HOME=" + cfgHome}
	port := strconv.Itoa(testutil.FreePort(t))
	start := func() *testutil.Proc {
		p := testutil.Start(t, env, bin, "run", "--state-dir", state, "--port", port, "--no-notify")
		if _, err := system.WaitServing(t.Context(), control.NewClient(control.SocketIn(state)), 15*time.Second); err != nil {
			t.Fatal(err)
		}
		return p
	}
	scanfreed := func(args ...string) (string, string, error) {
		return testutil.Run(t.Context(), env, "", bin, append(args, "--state-dir", state)...)
	}
	status := func() control.Status {
		st, err := control.NewClient(control.SocketIn(state)).Status(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	proc := start()
	if st := status(); st.Backend != old.URL {
		t.Fatalf("the daemon signs in at %s; want the configured %s", st.Backend, old.URL)
	}

	if _, stderr, err := scanfreed("login", "--no-wait", "--backend", "http://sso.example.com"); err == nil || !strings.Contains(stderr, "plain http is allowed only for a backend on this machine") {
		t.Fatalf("login --backend with plain http off this machine: %v %s", err, stderr)
	}
	out, stderr, err := scanfreed("login", "--no-wait", "--json", "--backend", org.URL)
	if err != nil {
		t.Fatalf("login --backend: %v %s", err, stderr)
	}
	var l struct {
		UserCode string `json:"user_code"`
	}
	json.Unmarshal([]byte(out), &l)
	org.CLI("", "device", "approve", "--user", "alice", "--code", l.UserCode)
	testutil.Eventually(t, 15*time.Second, "signed in at the organisation's service", func() bool {
		st := status()
		return st.SignedIn && st.Account != nil && st.Backend == org.URL
	})
	// The organisation's pages are trusted at once, the old service's no more.
	d := e2e.Attach(t, org, state, env)
	if cl := d.CheckLogin(org); cl.ErrCode != 0 || cl.JSData.Nickname != "Alice" {
		t.Fatalf("check-login from the organisation's page: %s", cl.Body)
	}
	if r := e2e.Attach(t, old, state, env).CheckLogin(old); r.Status != 403 {
		t.Fatalf("check-login from the old service's page: %d %s", r.Status, r.Body)
	}
	b, _ := os.ReadFile(cfgFile)
	if s := string(b); !strings.Contains(s, "backend_url: "+org.URL) || !strings.Contains(s, "# set up by IT") || !strings.Contains(s, "no_dialog: true") {
		t.Fatalf("config.yaml after login --backend:\n%s", s)
	}
	if _, stderr, err := scanfreed("login", "--no-wait", "--backend", old.URL); err == nil || !strings.Contains(stderr, "sign it out first") {
		t.Fatalf("login --backend while signed in: %v %s", err, stderr)
	}

	proc.Cmd.Process.Signal(syscall.SIGTERM)
	proc.Wait(t, 10*time.Second)
	start()
	if st := status(); st.Backend != org.URL || !st.SignedIn {
		t.Fatalf("after a restart: backend %s, signed in %v; want %s, signed in", st.Backend, st.SignedIn, org.URL)
	}
	if cl := e2e.Attach(t, org, state, env).CheckLogin(org); cl.ErrCode != 0 || cl.JSData.Nickname != "Alice" {
		t.Fatalf("check-login after the restart: %s", cl.Body)
	}
}
