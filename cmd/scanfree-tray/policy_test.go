package main

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/scanfree/scanfree/internal/harness/e2e"
	"github.com/scanfree/scanfree/internal/harness/testutil"
)

// TestTrayWarnsOfPolicies: Alice signed in to Demo Shop from this
// desktop; its operator then requires a TPM-held key, and her desktop's
// key is in software. The tray tells her, in a notification and in its
// menu, before she next tries.
func TestTrayWarnsOfPolicies(t *testing.T) {
	testutil.NeedTools(t, "dbus-send")
	addr, n := serveNotifications(t)

	b := e2e.StartBackend(t)
	d := e2e.StartDaemon(t, b, e2e.DaemonOptions{Args: []string{"--no-dialog", "--tpm", "off"}})
	d.SignIn(b, "alice")
	cl := d.CheckLogin(b)
	res := make(chan e2e.Response, 1)
	go func() { res <- d.Post("/api/authorize", e2e.AuthorizeBody(b.App.AppID, cl.JSData.AuthorizeUUID)) }()
	if _, err := d.Scanfreed("approve", d.AwaitPending().ID); err != nil {
		t.Fatal(err)
	}
	if r := <-res; r.ErrCode != 0 {
		t.Fatalf("her sign-in to Demo Shop: %s", r.Body)
	}
	b.CLI("", "app", "edit", b.App.AppID, "--require-key", "tpm")
	// A daemon started afresh asks the backend for her profile at once.
	d.Proc.Cmd.Process.Signal(syscall.SIGTERM)
	d.Proc.Wait(t, 10*time.Second)
	d = e2e.StartDaemonIn(t, b, d.StateDir, e2e.DaemonOptions{Args: []string{"--no-dialog", "--tpm", "off"}})

	tray := testutil.Start(t, []string{"DBUS_SESSION_BUS_ADDRESS=" + addr}, testutil.Build(t, "./cmd/scanfree-tray"), "--state-dir", d.StateDir)
	sb := &bus{t: t, addr: addr, name: fmt.Sprintf("org.kde.StatusNotifierItem-%d-1", tray.Cmd.Process.Pid)}
	const want = "Demo Shop needs this computer to sign in with a key held by its TPM"
	testutil.Eventually(t, 15*time.Second, "the warning in the menu", func() bool {
		l := sb.layout()
		return strings.Contains(l, "Some apps will not take this computer") && strings.Contains(l, want)
	})
	deadline := time.After(20 * time.Second)
	for {
		select {
		case got := <-n.shown:
			if got[0] == "scanfree: an app will not take this computer" && strings.Contains(got[1], want) {
				return
			}
		case <-deadline:
			t.Fatal("no notification of the warning")
		}
	}
}
