package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/scanfree/scanfree/daemon/control"
	"github.com/scanfree/scanfree/internal/deviceapi"
	"github.com/scanfree/scanfree/internal/harness/e2e"
	"github.com/scanfree/scanfree/internal/harness/system"
	"github.com/scanfree/scanfree/internal/harness/testutil"
)

// TestLoginWaitsAndLogout runs `scanfreed login` as a person would: it
// prints the URL, the code and a QR, and returns once the code is approved.
func TestLoginWaitsAndLogout(t *testing.T) {
	b := e2e.StartBackend(t)
	d := e2e.StartDaemon(t, b, e2e.DaemonOptions{Args: []string{"--no-dialog"}})
	cmd := exec.Command(d.Bin, "login", "--state-dir", d.StateDir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	sc := bufio.NewScanner(out)
	code := regexp.MustCompile(`code\s+([B-Z]{4}-[B-Z]{4})`)
	var userCode string
	var printed strings.Builder
	for sc.Scan() {
		printed.WriteString(sc.Text() + "\n")
		if m := code.FindStringSubmatch(sc.Text()); m != nil {
			userCode = m[1]
		}
		if strings.HasPrefix(sc.Text(), "Waiting for approval") {
			break
		}
	}
	if userCode == "" || !strings.Contains(printed.String(), b.PublicURL+"/device?user_code="+userCode) || !strings.Contains(printed.String(), "▀") {
		t.Fatalf("login printed no URL, code or QR:\n%s", printed.String())
	}
	b.CLI("", "device", "approve", "--user", "alice", "--code", userCode)
	var rest strings.Builder
	for sc.Scan() {
		rest.WriteString(sc.Text() + "\n")
	}
	if err := cmd.Wait(); err != nil || !strings.Contains(rest.String(), "Signed in as Alice") {
		t.Fatalf("login ended with %v:\n%s", err, rest.String())
	}
	cred := filepath.Join(d.StateDir, "credential")
	if fi, err := os.Stat(cred); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("credential file (no keyring here): %v %v", err, fi)
	}
	if _, err := d.Scanfreed("login"); err == nil {
		t.Fatal("a second login while signed in succeeded")
	}

	if _, err := d.Scanfreed("logout"); err != nil {
		t.Fatal(err)
	}
	st, _ := d.Control.Status(context.Background())
	if st.SignedIn {
		t.Fatal("still signed in after logout")
	}
	if _, err := os.Stat(cred); !os.IsNotExist(err) {
		t.Fatal("credential file left after logout")
	}
	if !strings.Contains(b.CLI("", "device", "list", "--user", "alice"), "false") {
		t.Fatal("the backend still lists the device as active")
	}
	if r := d.CheckLogin(b); r.ErrCode != 10060 {
		t.Fatalf("check-login after logout: %s", r.Body)
	}
}

// TestPortFallback: a taken port moves the daemon to the next of the list,
// and its log says why; a second daemon of the same person is refused,
// naming the first; when all are taken the error names who holds them.
func TestPortFallback(t *testing.T) {
	b := e2e.StartBackend(t)
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	port := taken.Addr().(*net.TCPAddr).Port
	d := e2e.StartDaemon(t, b, e2e.DaemonOptions{Args: []string{"--no-dialog", "--port", strconv.Itoa(port)}})
	if d.Port == port || !slices.Contains(deviceapi.DefaultPorts(), d.Port) {
		t.Fatalf("daemon on port %d; want one of %v", d.Port, deviceapi.DefaultPorts())
	}
	if log := d.Proc.Stderr.String(); !strings.Contains(log, fmt.Sprintf("%d is taken by PID %d", port, os.Getpid())) {
		t.Fatalf("the log does not say why it moved:\n%s", log)
	}

	// A second daemon of hers (another state dir) would answer the same pages: refused.
	_, stderr, err := testutil.Run(context.Background(), nil, "", d.Bin, "run", "--state-dir", filepath.Join(t.TempDir(), "second"),
		"--backend", b.URL, "--port", strconv.Itoa(d.Port), "--no-dialog")
	want := fmt.Sprintf("scanfreed (PID %d) already serves you on port %d", d.Proc.Cmd.Process.Pid, d.Port)
	if err == nil || !strings.Contains(stderr, want) || !strings.Contains(stderr, "stop it first") {
		t.Fatalf("a second daemon: %v\n%s\nwant %q", err, stderr, want)
	}
	d.Proc.Stop(10 * time.Second)

	// Hold every port of the list.
	for _, p := range deviceapi.DefaultPorts() {
		if ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p)); err == nil {
			defer ln.Close()
		}
	}
	_, stderr, err = testutil.Run(context.Background(), nil, "", d.Bin, "run", "--state-dir", filepath.Join(t.TempDir(), "s"),
		"--backend", b.URL, "--port", strconv.Itoa(port), "--no-dialog")
	want = fmt.Sprintf("taken by PID %d", os.Getpid())
	if err == nil || !strings.Contains(stderr, want) || !strings.Contains(stderr, "set port in config.yaml") {
		t.Fatalf("all ports taken: %v\n%s\nwant it to name %q and the fix", err, stderr, want)
	}
}

// TestConfigFile: config.yaml sets what flags do not.
func TestConfigFile(t *testing.T) {
	b := e2e.StartBackend(t)
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	os.WriteFile(cfg, []byte("backend_url: "+b.URL+"\ntrusted_origins:\n  - "+b.PublicURL+"\nconfirm_timeout: 1s\n"), 0o600)
	state := filepath.Join(shortDir(t), "st")
	port := testutil.FreePort(t)
	testutil.Start(t, nil, testutil.Build(t, "./cmd/scanfreed"), "run", "--config", cfg, "--state-dir", state, "--port", strconv.Itoa(port), "--no-dialog", "--no-notify")
	d := e2e.Attach(t, b, state, nil)
	if out, _ := d.Scanfreed("status"); !strings.Contains(out, "backend:    "+b.URL) {
		t.Fatalf("status of the configured daemon:\n%s", out)
	}
	d.SignIn(b, "alice")
	if r := d.CheckLogin(b); r.ErrCode != 0 { // the configured trusted origin is honoured
		t.Fatalf("check-login: %s", r.Body)
	}
	if _, _, err := testutil.Run(context.Background(), nil, "", d.Bin, "run", "--config", filepath.Join(t.TempDir(), "missing.yaml"), "--state-dir", state); err == nil {
		t.Fatal("a missing --config file was ignored")
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("backend_url: [\n"), 0o600)
	if _, stderr, _ := testutil.Run(context.Background(), nil, "", d.Bin, "run", "--config", bad, "--state-dir", state); !strings.Contains(stderr, bad) {
		t.Fatalf("a malformed config file: %s", stderr)
	}
}

func shortDir(t *testing.T) string {
	d, err := os.MkdirTemp("", "sf")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// TestDoctor prints a checklist with the fix for each failure.
func TestDoctor(t *testing.T) {
	b := e2e.StartBackend(t)
	d := e2e.StartDaemon(t, b, e2e.DaemonOptions{Args: []string{"--no-dialog"}})
	out, err := d.Scanfreed("doctor")
	if err == nil {
		t.Fatal("doctor passed although the desktop is signed out and the CA untrusted")
	}
	for _, want := range []string{"[ok  ] daemon running", "[ok  ] backend reachable", "[FAIL] signed in", "fix: run `scanfreed login`",
		"[ok  ] port serves TLS"} {
		if !strings.Contains(out, want) {
			t.Errorf("doctor output lacks %q:\n%s", want, out)
		}
	}
	d.SignIn(b, "alice")
	out, _ = d.Scanfreed("doctor")
	if !strings.Contains(out, "[ok  ] signed in") || !strings.Contains(out, "Alice (alice)") || !strings.Contains(out, "[ok  ] dialog") {
		t.Fatalf("doctor after sign-in:\n%s", out)
	}

	// A daemon with no display (a service started outside the desktop
	// session): a warning, not a failure, and the fix is the session, not
	// "install zenity" (which this machine has or not: it does not matter).
	headless := e2e.StartDaemon(t, b, e2e.DaemonOptions{Env: []string{"DISPLAY=", "WAYLAND_DISPLAY="}})
	out, _ = headless.Scanfreed("doctor", "--json")
	var checks []struct {
		Name, Info, Fix string
		OK, Warn        bool
	}
	json.Unmarshal([]byte(out), &checks)
	found := false
	for _, c := range checks {
		if c.Name == "dialog" {
			found = true
			if c.OK || !c.Warn || !strings.Contains(c.Info, "no graphical display") || !strings.Contains(c.Fix, "desktop session") || strings.Contains(c.Fix, "install zenity") {
				t.Fatalf("the headless daemon's dialog check: %+v", c)
			}
		}
	}
	if !found {
		t.Fatalf("no dialog check:\n%s", out)
	}
}

// TestLoginBackendUnreachable: `scanfreed login` against a sign-in service
// that does not answer names the address it tried and how to set the
// organisation's (the user's config.yaml, the machine's for every user).
func TestLoginBackendUnreachable(t *testing.T) {
	dead := "https://127.0.0.1:" + strconv.Itoa(testutil.FreePort(t)) // nothing listens
	state := filepath.Join(shortDir(t), "st")
	bin := testutil.Build(t, "./cmd/scanfreed")
	testutil.Start(t, nil, bin, "run", "--backend", dead, "--state-dir", state, "--port", strconv.Itoa(testutil.FreePort(t)), "--no-dialog", "--no-notify")
	if _, err := system.WaitServing(t.Context(), control.NewClient(control.SocketIn(state)), 15*time.Second); err != nil {
		t.Fatal(err)
	}
	_, stderr, err := testutil.Run(t.Context(), nil, "", bin, "login", "--no-wait", "--state-dir", state)
	for _, want := range []string{dead, "set backend_url in your config.yaml", "/etc/scanfree/config.yaml"} {
		if err == nil || !strings.Contains(stderr, want) {
			t.Fatalf("login against a dead backend: %v\n%s\nwant it to say %q", err, stderr, want)
		}
	}
}
