package web_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
	_ "modernc.org/sqlite"

	"github.com/scanfree/scanfree/internal/harness/e2e"
	"github.com/scanfree/scanfree/internal/harness/testutil"
)

// TestHostedPageSaysWhy: the hosted page looks for the desktop app first,
// saying so; it makes no QR ticket while it offers "Continue as Alice";
// otherwise it gives the desktop app's own reason (paused, locked, signed
// out, not running) and never blames the browser's permission, which
// chromium reports as unanswered even for a loopback page. The same with
// the backend treated as public and the permission granted.
func TestHostedPageSaysWhy(t *testing.T) {
	testutil.NeedTools(t, "chromium", "certutil", "dbus-daemon")
	for _, space := range []string{"loopback", "public"} {
		t.Run(space, func(t *testing.T) {
			bus := testutil.StartSessionBus(t)
			ss := testutil.StartScreensaver(t, bus)
			w := newWorldOn(t, e2e.StartBackend(t), e2e.DaemonOptions{Args: []string{"--no-dialog"}, Env: []string{"DBUS_SESSION_BUS_ADDRESS=" + bus}})
			var br *e2e.Browser
			if space == "public" {
				br = publicBackend(t, w)
				setLocalAccess(t, br, browser.PermissionSettingGranted)
			} else {
				br = e2e.NewBrowser(t, w.home)
			}
			// statusFor opens the login frame afresh and returns what the
			// page says once it has an answer (or the QR code is up).
			statusFor := func(state string) string {
				t.Helper()
				fctx, opts := openLogin(t, w, br)
				e2e.Run(br, fctx, "the answer to "+state, chromedp.WaitVisible(chromedp.CSS("#qrimg"), opts...))
				var txt string
				testutil.Eventually(t, 10*time.Second, "a reason for "+state, func() bool {
					c, cancel := context.WithTimeout(fctx, 2*time.Second)
					defer cancel()
					v, err := chromedp.Run(c, chromedp.Text(chromedp.CSS("#status"), opts...))
					txt = v
					return err == nil && txt != "" && txt != "Looking for the desktop app…"
				})
				br.Screenshot(space + "-" + state)
				if strings.Contains(txt, "permission") {
					t.Fatalf("%s: the page blames the browser's permission: %q", state, txt)
				}
				return txt
			}

			// Running and signed in: Continue, and not a single QR ticket.
			fctx, opts := openLogin(t, w, br)
			continueAs(t, br, fctx, opts)
			if n := countTickets(t, w.b.DB); n != 0 {
				t.Fatalf("%d QR tickets made while the page offered Continue as Alice", n)
			}
			for _, tc := range []struct {
				state, want  string
				enter, leave func()
			}{
				{"paused", "paused", func() { w.d.Scanfreed("pause") }, func() { w.d.Scanfreed("resume") }},
				{"locked", "screen was locked", func() {
					ss.SetLocked(t, true)
					testutil.Eventually(t, 10*time.Second, "the daemon sees the lock", func() bool { return w.d.CheckLogin(w.b).ErrCode == 10061 })
				}, func() {
					ss.SetLocked(t, false)
					testutil.Eventually(t, 10*time.Second, "the daemon sees the unlock", func() bool { return w.d.CheckLogin(w.b).ErrCode == 0 })
				}},
				{"signed-out", "not signed in", func() { w.d.Scanfreed("logout") }, func() {}},
				{"not-running", "not installed or not running", func() { w.d.Proc.Stop(5 * time.Second) }, func() {}},
			} {
				tc.enter()
				if got := statusFor(tc.state); !strings.Contains(got, tc.want) {
					t.Fatalf("%s: the page says %q, want %q", tc.state, got, tc.want)
				}
				tc.leave()
			}
		})
	}
}

// countTickets counts the QR tickets in the backend's SQLite database.
func countTickets(t *testing.T, db string) int {
	t.Helper()
	d, err := sql.Open("sqlite", "file:"+db+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var n int
	if err := d.QueryRow(`SELECT count(*) FROM qr_tickets`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
