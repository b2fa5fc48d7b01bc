package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/scanfree/scanfree/internal/harness/e2e"
	"github.com/scanfree/scanfree/internal/harness/testutil"
)

// notifications serves org.freedesktop.Notifications on a test bus, as
// the desktop's notification daemon does, and keeps what it was asked to
// show.
type notifications struct{ shown chan [2]string }

// serveNotifications starts a session bus with a notification service
// on it and returns the bus's address.
func serveNotifications(t *testing.T) (string, *notifications) {
	t.Helper()
	addr := testutil.StartSessionBus(t)
	conn, err := dbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	n := &notifications{shown: make(chan [2]string, 8)}
	if err := conn.Export(n, "/org/freedesktop/Notifications", "org.freedesktop.Notifications"); err != nil {
		t.Fatal(err)
	}
	if reply, err := conn.RequestName("org.freedesktop.Notifications", dbus.NameFlagDoNotQueue); err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("own the notifications name: %v %v", reply, err)
	}
	return addr, n
}

func (n *notifications) Notify(app string, replaces uint32, icon, summary, body string, actions []string,
	hints map[string]dbus.Variant, timeout int32) (uint32, *dbus.Error) {
	n.shown <- [2]string{summary, body}
	return 1, nil
}

// TestTrayReportsAndFailures: with no panel to show its icon the tray
// says so and how to fix it; "Run diagnostics" and "About scanfree" open
// their reports with the desktop's opener (xdg-open, here a stand-in that
// keeps the file it is given: no file viewer runs under the test); and
// when an action fails (no opener at all) the tray says so in a desktop
// notification, on the session bus, naming the action and why.
func TestTrayReportsAndFailures(t *testing.T) {
	testutil.NeedTools(t, "dbus-send")
	addr, n := serveNotifications(t)

	b := e2e.StartBackend(t)
	d := e2e.StartDaemon(t, b, e2e.DaemonOptions{Args: []string{"--no-dialog"}})
	d.SignIn(b, "alice")
	tools := t.TempDir()
	opened := filepath.Join(t.TempDir(), "opened.txt")
	opener := filepath.Join(tools, "xdg-open")
	if err := os.WriteFile(opener, []byte("#!/bin/sh\n/bin/cp \"$1\" "+opened+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	tray := testutil.Start(t, []string{"DBUS_SESSION_BUS_ADDRESS=" + addr, "PATH=" + tools}, testutil.Build(t, "./cmd/scanfree-tray"), "--state-dir", d.StateDir)
	sb := &bus{t: t, addr: addr, name: fmt.Sprintf("org.kde.StatusNotifierItem-%d-1", tray.Cmd.Process.Pid)}
	testutil.Eventually(t, 15*time.Second, "the menu to show alice", func() bool { return strings.Contains(sb.layout(), "Signed in as Alice") })
	// This bus has no StatusNotifier host (no panel), as GNOME without the
	// AppIndicator extension: the tray says its icon is hidden, and the fix.
	select {
	case got := <-n.shown:
		if got[0] != "scanfree's tray icon is hidden" || !strings.Contains(got[1], "gnome-shell-extension-appindicator") {
			t.Fatalf("notification %q: %q", got[0], got[1])
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no notification that the icon is hidden")
	}

	report := func(what, want string) {
		t.Helper()
		os.Remove(opened)
		sb.click(what)
		testutil.Eventually(t, 20*time.Second, what+"'s report opened", func() bool {
			b, err := os.ReadFile(opened)
			return err == nil && strings.Contains(string(b), want)
		})
	}
	report("Run diagnostics", "[ok  ] daemon running")
	report("About scanfree", "scanfree-tray ")
	if about, _ := os.ReadFile(opened); !strings.Contains(string(about), "scanfreed     ") || !strings.Contains(string(about), b.URL) {
		t.Fatalf("About says:\n%s", about)
	}

	// No opener: the failure is a notification, not silence.
	os.Remove(opener)
	sb.click("Run diagnostics")
	select {
	case got := <-n.shown:
		if got[0] != "scanfree: Run diagnostics did not work" || !strings.Contains(got[1], "xdg-open") {
			t.Fatalf("notification %q: %q", got[0], got[1])
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no notification after a failed action")
	}
}
