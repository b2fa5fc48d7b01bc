package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/scanfree/scanfree/internal/harness/e2e"
	"github.com/scanfree/scanfree/internal/harness/testutil"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testutil.Cleanup()
	os.Exit(code)
}

// TestImportsOnlyTheControlClient keeps the tray a pure client of the
// daemon's control API.
func TestImportsOnlyTheControlClient(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatal(err)
	}
	allowed := map[string]bool{
		"github.com/scanfree/scanfree/daemon/control":      true,
		"github.com/scanfree/scanfree/tray":                true,
		"github.com/scanfree/scanfree/cmd/scanfree-tray":   true,
		"github.com/scanfree/scanfree/internal/sessionbus": true, // a leaf both use: find the session bus, never start one
		"github.com/scanfree/scanfree/internal/version":    true, // a leaf every binary uses: its own build (About)
	}
	for _, p := range strings.Fields(string(out)) {
		if strings.HasPrefix(p, "github.com/scanfree/scanfree/") && !allowed[p] {
			t.Errorf("scanfree-tray depends on %s", p)
		}
	}
}

func TestNoSessionBus(t *testing.T) {
	bin := testutil.Build(t, "./cmd/scanfree-tray")
	_, stderr, err := testutil.Run(context.Background(), []string{"DBUS_SESSION_BUS_ADDRESS=unix:path=/nonexistent/bus", "DISPLAY="}, "", bin)
	if err == nil || !strings.Contains(stderr, "no DBus session bus") || strings.Contains(stderr, "panic") {
		t.Fatalf("without a session bus: %v %q", err, stderr)
	}
}

// bus reads the tray back over the session bus with dbus-send.
type bus struct {
	t    *testing.T
	addr string
	name string
}

func (b *bus) send(path, method string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "dbus-send", append([]string{"--session", "--print-reply", "--dest=" + b.name, path, method}, args...)...)
	cmd.Env = append(os.Environ(), "DBUS_SESSION_BUS_ADDRESS="+b.addr)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (b *bus) layout() string {
	out, _ := b.send("/StatusNotifierItem/menu", "com.canonical.dbusmenu.GetLayout", "int32:0", "int32:-1", "array:string:")
	return out
}

func (b *bus) title() string {
	out, _ := b.send("/StatusNotifierItem", "org.freedesktop.DBus.Properties.Get", "string:org.kde.StatusNotifierItem", "string:Title")
	if m := regexp.MustCompile(`variant\s+string "([^"]*)"`).FindStringSubmatch(out); m != nil {
		return m[1]
	}
	return ""
}

// itemID finds the dbusmenu id of the item labelled label.
func (b *bus) itemID(label string) int {
	id := -1
	last := -1
	for _, line := range strings.Split(b.layout(), "\n") {
		line = strings.TrimSpace(line)
		if v, ok := strings.CutPrefix(line, "int32 "); ok {
			last, _ = strconv.Atoi(v)
		}
		if strings.Contains(line, `string "`+label+`"`) {
			id = last
		}
	}
	return id
}

func (b *bus) click(label string) {
	b.t.Helper()
	id := b.itemID(label)
	if id < 0 {
		b.t.Fatalf("no menu item %q in:\n%s", label, b.layout())
	}
	out, err := b.send("/StatusNotifierItem/menu", "com.canonical.dbusmenu.Event", "int32:"+strconv.Itoa(id), "string:clicked",
		"variant:int32:0", "uint32:0")
	if label == "Quit" && strings.Contains(out, "NoReply") {
		err = nil // the tray quit before its answer reached the bus; the caller checks that it exits
	}
	if err != nil {
		b.t.Fatalf("click %q: %v %s", label, err, out)
	}
}

// TestTrayFollowsDaemon: the StatusNotifierItem appears, its menu shows
// the account and state, a click on Pause pauses the daemon and changes
// the title, and the tray follows the daemon going away and coming back.
func TestTrayFollowsDaemon(t *testing.T) {
	testutil.NeedTools(t, "dbus-send")
	addr := testutil.StartSessionBus(t)
	b := e2e.StartBackend(t)
	d := e2e.StartDaemon(t, b, e2e.DaemonOptions{Args: []string{"--no-dialog"}})
	d.SignIn(b, "alice")
	tray := testutil.Start(t, []string{"DBUS_SESSION_BUS_ADDRESS=" + addr}, testutil.Build(t, "./cmd/scanfree-tray"), "--state-dir", d.StateDir)
	sb := &bus{t: t, addr: addr, name: fmt.Sprintf("org.kde.StatusNotifierItem-%d-1", tray.Cmd.Process.Pid)}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("title %q, menu:\n%s", sb.title(), sb.layout())
		}
	})

	testutil.Eventually(t, 15*time.Second, "the StatusNotifierItem on the session bus", func() bool {
		out, _ := (&bus{addr: addr, name: "org.freedesktop.DBus"}).send("/org/freedesktop/DBus", "org.freedesktop.DBus.ListNames")
		return strings.Contains(out, sb.name)
	})
	testutil.Eventually(t, 15*time.Second, "the menu to show alice", func() bool {
		return strings.Contains(sb.layout(), "Signed in as Alice") && sb.title() == "scanfree: ready"
	})
	for _, want := range []string{"Pause for 1 hour", "Sign out", "Open account page", "Run diagnostics", "Quit"} {
		if !strings.Contains(sb.layout(), want) {
			t.Fatalf("menu lacks %q:\n%s", want, sb.layout())
		}
	}

	sb.click("Pause for 1 hour")
	testutil.Eventually(t, 10*time.Second, "the daemon paused and the title changed", func() bool {
		st, err := d.Control.Status(context.Background())
		return err == nil && st.Paused && strings.HasPrefix(sb.title(), "scanfree: paused until")
	})
	if _, err := d.Scanfreed("resume"); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 10*time.Second, "the title back to ready", func() bool { return sb.title() == "scanfree: ready" })

	// A desktop app allowed (through the control API, as the tray's Allow
	// would) is listed; clicking it forgets the app.
	done := make(chan error, 1)
	go func() { _, err := d.Scanfreed("code", "--appid", b.App.AppID); done <- err }()
	p := d.AwaitPending()
	if p.Kind != "app" {
		t.Fatalf("pending request kind %q, want app", p.Kind)
	}
	testutil.Eventually(t, 10*time.Second, "the pending desktop app in the menu and the title", func() bool {
		return strings.Contains(sb.layout(), "Demo Shop on this computer wants to sign you in as Alice") && sb.title() == "scanfree: waiting for your answer"
	})
	sb.click("Allow")
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	forget := "Forget Demo Shop (signs you in)"
	testutil.Eventually(t, 10*time.Second, "the allowed app in the menu", func() bool { return sb.itemID(forget) >= 0 })
	sb.click(forget)
	testutil.Eventually(t, 10*time.Second, "the app forgotten", func() bool {
		out, err := d.Scanfreed("apps", "list")
		return err == nil && !strings.Contains(out, b.App.AppID)
	})

	d.Proc.Cmd.Process.Signal(syscall.SIGTERM)
	d.Proc.Wait(t, 10*time.Second)
	testutil.Eventually(t, 10*time.Second, "the menu to say the daemon is not running", func() bool {
		return strings.Contains(sb.layout(), "scanfreed is not running") && sb.title() == "scanfree: daemon not running"
	})
	e2e.StartDaemonIn(t, b, d.StateDir, e2e.DaemonOptions{Args: []string{"--no-dialog"}})
	testutil.Eventually(t, 15*time.Second, "the tray to recover", func() bool {
		return strings.Contains(sb.layout(), "Signed in as Alice") && sb.title() == "scanfree: ready"
	})

	sb.click("Quit")
	if err := tray.Wait(t, 10*time.Second); err != nil {
		t.Fatalf("tray exit after Quit: %v", err)
	}
}
