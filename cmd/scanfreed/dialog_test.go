package main

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/scanfree/scanfree/internal/harness/e2e"
	"github.com/scanfree/scanfree/internal/harness/testutil"
)

// dialogWindow waits for the confirmation window and returns its id. An
// authorize answered first (res) fails t with its answer.
func dialogWindow(t *testing.T, display string, res <-chan e2e.Response) string {
	t.Helper()
	var id string
	var early *e2e.Response
	testutil.Eventually(t, 15*time.Second, "the confirmation dialog", func() bool {
		select {
		case r := <-res:
			early = &r
			return true
		default:
		}
		out, err := e2e.XDo(display, "search", "--onlyvisible", "--name", "scanfree: sign in to Demo Shop")
		if err == nil && out != "" {
			id = strings.Fields(out)[0]
			return true
		}
		return false
	})
	if early != nil {
		t.Fatalf("authorize answered before any dialog: %s", early.Body)
	}
	return id
}

// TestNativeDialog shows the real zenity dialog under Xvfb and answers it
// with the keyboard through xdotool: Return on a fresh dialog denies (Deny
// has the focus), Tab then Return after the input delay allows, Escape
// denies, no input times out.
func TestNativeDialog(t *testing.T) {
	testutil.NeedTools(t, "zenity", "xdotool")
	display := testutil.StartXvfb(t)
	// The confirmation waits 12 s: zenity can take seconds to map its window
	// when the whole suite loads both cores, and a window withdrawn before
	// it appeared would fail the test for the wrong reason.
	b := e2e.StartBackend(t)
	// No cooldown between the subtests' requests (it is tested with the
	// broker and in the attack suite).
	// The dialog runs as on a desktop: a display and a session bus.
	d := e2e.StartDaemon(t, b, e2e.DaemonOptions{Args: []string{"--confirm-timeout", "12s", "--cooldown", "1ms"},
		Env: []string{"DISPLAY=" + display, "DBUS_SESSION_BUS_ADDRESS=" + testutil.StartSessionBus(t)}})
	d.SignIn(b, "alice")

	// ask and gone take the subtest's t: a failure must end the subtest,
	// not call FailNow on the parent from inside it.
	ask := func(t *testing.T) (string, <-chan e2e.Response) {
		t.Helper()
		d := d.For(t)
		cl := d.CheckLogin(b)
		res := authorizeAsync(d, b, cl.JSData.AuthorizeUUID)
		return dialogWindow(t, display, res), res
	}
	gone := func(t *testing.T) {
		t.Helper()
		testutil.Eventually(t, 10*time.Second, "the dialog to close", func() bool {
			out, _ := e2e.XDo(display, "search", "--onlyvisible", "--name", "scanfree: sign in")
			return out == ""
		})
	}

	t.Run("shows app and origin; Return denies", func(t *testing.T) {
		win, res := ask(t)
		pid, err := e2e.XDo(display, "getwindowpid", win)
		if err != nil {
			t.Fatalf("getwindowpid: %v", err)
		}
		cmdline, _ := os.ReadFile("/proc/" + pid + "/cmdline")
		shown := strings.ReplaceAll(string(cmdline), "\x00", " ")
		if !strings.Contains(shown, "Sign in to Demo Shop as Alice") || !strings.Contains(shown, "Requested by: "+d.Origin) ||
			!strings.Contains(shown, "shop.localhost:8081") {
			t.Fatalf("dialog text lacks app, account or origin: %s", shown)
		}
		if p, _ := d.Control.Pending(context.Background()); len(p) != 1 {
			t.Fatal("the control API does not show the request the dialog asks about")
		}
		if _, err := e2e.XDo(display, "windowfocus", "--sync", win); err != nil {
			t.Fatalf("windowfocus: %v", err)
		}
		e2e.XDo(display, "key", "Return")
		if r := <-res; r.ErrCode != 10050 {
			t.Fatalf("Return on a fresh dialog: %s, want 10050 (denied)", r.Body)
		}
		gone(t)
	})

	t.Run("Tab, Return after the input delay allows", func(t *testing.T) {
		win, res := ask(t)
		e2e.AllowInDialog(t, display, win)
		if r := <-res; r.ErrCode != 0 || r.JSData.RedirectURL == "" {
			t.Fatalf("Allow: %s", r.Body)
		}
		gone(t)
	})

	t.Run("no input times out", func(t *testing.T) {
		_, res := ask(t)
		start := time.Now()
		r := <-res
		if r.ErrCode != 10046 || time.Since(start) < 6*time.Second { // measured from the window, which appears some time into the 12 s
			t.Fatalf("no input: %s after %v", r.Body, time.Since(start))
		}
		gone(t)
	})

	t.Run("approved elsewhere withdraws the dialog", func(t *testing.T) {
		_, res := ask(t)
		p, _ := d.Control.Pending(context.Background())
		d.Control.Approve(context.Background(), p[0].ID)
		if r := <-res; r.ErrCode != 0 {
			t.Fatalf("control approval: %s", r.Body)
		}
		gone(t)
	})

	t.Run("Escape denies", func(t *testing.T) {
		win, res := ask(t)
		e2e.XDo(display, "windowfocus", "--sync", win)
		e2e.XDo(display, "key", "Escape")
		if r := <-res; r.ErrCode != 10050 {
			t.Fatalf("Escape: %s", r.Body)
		}
		gone(t)
	})
}
