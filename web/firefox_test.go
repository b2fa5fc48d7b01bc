package web_test

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/scanfree/scanfree/internal/harness/e2e"
	"github.com/scanfree/scanfree/internal/harness/testutil"
)

// TestFirefox runs the scan-free path, the QR path and a denial in
// Debian's firefox-esr, headless, driven over WebDriver BiDi. Firefox
// trusts the per-install root only through `scanfreed certs install` into
// its profile's cert9.db (no certificate flags, no enterprise roots), and
// resolves scan-free.localhost and the other *.localhost names itself.
func TestFirefox(t *testing.T) {
	testutil.NeedTools(t, "firefox-esr", "certutil", "chromium")
	w := newWorld(t, e2e.BackendOptions{}, e2e.DaemonOptions{Args: []string{"--no-dialog"}})
	profile := e2e.FirefoxProfile(t, w.home)
	if _, errOut, err := testutil.Run(t.Context(), []string{"HOME=" + w.home}, "", w.d.Bin, "certs", "install", "--system=no", "--state-dir", w.d.StateDir); err != nil {
		t.Fatalf("certs install: %v %s", err, errOut)
	}
	if out, err := exec.Command("certutil", "-L", "-d", "sql:"+profile).CombinedOutput(); err != nil || !strings.Contains(string(out), "scanfree") {
		t.Fatalf("the root is not in the Firefox profile: %v %s", err, out)
	}
	ff := e2e.StartFirefox(t, w.home, profile)

	// openLogin opens Demo Shop signed out, clicks Sign in and returns the
	// login frame.
	openLogin := func() string {
		ff.Call("storage.deleteCookies", map[string]any{}, nil) // signed out of Demo Shop
		ff.Navigate(w.shop.URL)
		ff.Eval("", `document.getElementById("signin").click()`)
		return ff.Frame("/connect/qrconnect")
	}
	signedIn := func() {
		ff.Until("", "Demo Shop signed in as Alice", `(document.getElementById("nickname")||{}).textContent === "Alice"`, 30*time.Second)
		ff.Screenshot("signed-in")
	}

	t.Run("scan-free", func(t *testing.T) {
		frame := openLogin()
		ff.Until(frame, "Continue as Alice", `!document.getElementById("fast").hidden && document.getElementById("continue").textContent === "Continue as Alice"`, 20*time.Second)
		ff.Screenshot("continue-as-alice")
		ff.Eval(frame, `document.getElementById("continue").click()`)
		if err := w.d.Control.Approve(t.Context(), w.d.AwaitPending().ID); err != nil {
			t.Fatal(err)
		}
		signedIn()
	})

	t.Run("QR code", func(t *testing.T) {
		w.d.Scanfreed("pause")
		defer w.d.Scanfreed("resume")
		frame := openLogin()
		ff.Until(frame, "the QR code", `document.getElementById("qrimg").naturalWidth > 0 && !document.getElementById("qrimg").hidden`, 20*time.Second)
		ff.Screenshot("qr-code")
		var qrURL string
		testutil.Eventually(t, 30*time.Second, "the QR code decoded from Firefox's screenshot", func() bool {
			text, ok := decodeQRPNG(ff.PNG())
			qrURL = text
			return ok && strings.Contains(text, "/x/")
		})
		ph := phone(t, w, qrURL) // the phone is chromium
		claim(ph)
		e2e.Run(ph, ph.Ctx, "Allow", chromedp.Click(chromedp.CSS("button[value=allow]")))
		signedIn()
	})

	t.Run("denied", func(t *testing.T) {
		frame := openLogin()
		ff.Until(frame, "Continue as Alice", `!document.getElementById("fast").hidden`, 20*time.Second)
		ff.Eval(frame, `document.getElementById("continue").click()`)
		w.d.Control.Deny(context.Background(), w.d.AwaitPending().ID)
		ff.Until(frame, "the denial said", `document.getElementById("status").textContent.includes("You declined the sign-in on your desktop")`, 20*time.Second)
		ff.Screenshot("denied")
	})
}
