// Package testutil helps tests drive the real binaries: the testing.TB
// face of package system (build, free ports, processes the test owns), a
// poll with a deadline instead of sleeps, Xvfb and a private session bus,
// and the gate on external tools.
package testutil

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scanfree/scanfree/internal/harness/system"
)

// NoSessionBus is the environment of every program a test starts, unless
// the test gives it a bus of its own (StartSessionBus): no session bus,
// so nothing autolaunches one (godbus, libdbus and GDBus fork a
// dbus-daemon that outlives the test when the address is unset), and no
// accessibility bus either.
var NoSessionBus = []string{"DBUS_SESSION_BUS_ADDRESS=unix:path=/nonexistent/scanfree-tests-have-no-session-bus", "NO_AT_BRIDGE=1"}

func init() { system.SetDefaultEnv(NoSessionBus...) }

// ModuleRoot returns the directory holding go.mod.
func ModuleRoot(t testing.TB) string {
	t.Helper()
	root, err := system.ModuleRoot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// Build compiles the main package at pkg (e.g. "./cmd/scanfree-server")
// once per test process and returns the binary's path.
func Build(t testing.TB, pkg string) string {
	t.Helper()
	bin, err := system.Build(context.Background(), pkg)
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// Cleanup removes the built binaries; call it from TestMain after m.Run.
func Cleanup() { system.Cleanup() }

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	port, err := system.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return port
}

// Eventually polls cond every 10 ms until it returns true or d passes.
func Eventually(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	if !Within(d, cond) {
		t.Fatalf("timed out after %v waiting for %s", d, what)
	}
}

// Within polls cond every 10 ms and reports whether it returned true
// before d passed, for a test that tries again when it did not.
func Within(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}

// WaitHTTP waits until GET url answers 200.
func WaitHTTP(t testing.TB, url string, d time.Duration) {
	t.Helper()
	if err := system.WaitHTTP(context.Background(), url, d); err != nil {
		t.Fatal(err)
	}
}

// RequireE2E reports whether missing tools must fail the test instead of
// skipping it (CI sets SCANFREE_REQUIRE_E2E=1).
func RequireE2E() bool { return os.Getenv("SCANFREE_REQUIRE_E2E") == "1" }

// NeedTools skips the test (or fails it under SCANFREE_REQUIRE_E2E=1) when
// one of the named programs is not on PATH.
func NeedTools(t testing.TB, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			msg := fmt.Sprintf("%s not found on PATH; install it (see .ci/run) to run this test", n)
			if RequireE2E() {
				t.Fatal(msg)
			}
			t.Skip(msg)
		}
	}
}

// Proc is a started process whose output is captured.
type Proc struct{ *system.Proc }

// Start runs name with args in the background; the test's cleanup kills
// it and, when the test failed, logs its stderr.
func Start(t testing.TB, env []string, name string, args ...string) *Proc {
	t.Helper()
	p, err := system.Start(env, nil, name, args...)
	if err != nil {
		t.Fatal(err)
	}
	Own(t, p)
	return &Proc{p}
}

// Own makes the test's cleanup kill p, logging its stderr when the test
// failed.
func Own(t testing.TB, p *system.Proc) {
	t.Cleanup(func() {
		p.Kill()
		if t.Failed() {
			t.Logf("%s stderr:\n%s", filepath.Base(p.Cmd.Path), p.Stderr.String())
		}
	})
}

// Wait waits up to d for the process to exit and returns its error.
func (p *Proc) Wait(t testing.TB, d time.Duration) error {
	t.Helper()
	select {
	case <-p.Done():
		return p.Err()
	case <-time.After(d):
		t.Fatalf("%s did not exit within %v", p.Cmd.Path, d)
		return nil
	}
}

// Run runs a command to completion with stdin and returns stdout, stderr
// and its error, giving up after a minute.
func Run(ctx context.Context, env []string, stdin string, name string, args ...string) (string, string, error) {
	return system.Run(ctx, env, stdin, name, args...)
}

// StartXvfb starts a virtual X display for the test and returns its
// DISPLAY value (":N"). Xvfb picks a free display number itself.
func StartXvfb(t testing.TB) string {
	t.Helper()
	NeedTools(t, "Xvfb")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	// -noreset: by default an X server resets when its last client leaves,
	// and a program connecting in that moment (the dialog, right after an
	// xdotool call closed) "cannot open display".
	cmd := exec.Command("Xvfb", "-displayfd", "3", "-noreset", "-screen", "0", "1280x800x24", "-nolisten", "tcp")
	cmd.ExtraFiles = []*os.File{w}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start Xvfb: %v", err)
	}
	w.Close()
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	num := make(chan string, 1)
	go func() {
		b := make([]byte, 16)
		n, _ := r.Read(b)
		num <- strings.TrimSpace(string(b[:n]))
	}()
	select {
	case n := <-num:
		if n == "" {
			t.Fatal("Xvfb did not report a display number")
		}
		return ":" + n
	case <-time.After(15 * time.Second):
		t.Fatal("Xvfb did not start within 15 s")
		return ""
	}
}

// StartSessionBus starts a private DBus session bus for the test and
// returns its address (for DBUS_SESSION_BUS_ADDRESS).
func StartSessionBus(t testing.TB) string {
	t.Helper()
	NeedTools(t, "dbus-daemon")
	cmd := exec.Command("dbus-daemon", "--session", "--nofork", "--print-address=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start dbus-daemon: %v", err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	addr := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(out).ReadString('\n')
		addr <- strings.TrimSpace(line)
	}()
	select {
	case a := <-addr:
		if a == "" {
			t.Fatal("dbus-daemon printed no address")
		}
		return a
	case <-time.After(15 * time.Second):
		t.Fatal("dbus-daemon did not start within 15 s")
		return ""
	}
}
