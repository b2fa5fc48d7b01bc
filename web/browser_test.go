package web_test

import (
	"bytes"
	"context"
	"image/png"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/makiuchi-d/gozxing"
	gzqr "github.com/makiuchi-d/gozxing/qrcode"

	"github.com/scanfree/scanfree/internal/harness/e2e"
	"github.com/scanfree/scanfree/internal/harness/testutil"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testutil.Cleanup()
	os.Exit(code)
}

// world is the whole system on one machine, as `make demo` runs it: the
// backend, a daemon signed in as alice whose CA the browser's NSS database
// trusts (through `scanfreed certs install`), and Demo Shop.
type world struct {
	b    *e2e.Backend
	d    *e2e.Daemon
	shop *e2e.Shop
	home string
}

func newWorld(t *testing.T, backend e2e.BackendOptions, daemon e2e.DaemonOptions) *world {
	testutil.NeedTools(t, "chromium", "certutil")
	return newWorldOn(t, e2e.StartBackendWith(t, backend), daemon)
}

// newWorldOn is newWorld on a backend the test started.
func newWorldOn(t *testing.T, b *e2e.Backend, daemon e2e.DaemonOptions) *world {
	w := &world{home: t.TempDir(), b: b}
	w.d = e2e.StartDaemon(t, w.b, daemon)
	w.d.SignIn(w.b, "alice")
	_, errOut, err := testutil.Run(t.Context(), []string{"HOME=" + w.home}, "", w.d.Bin, "certs", "install", "--system=no", "--state-dir", w.d.StateDir)
	if err != nil {
		t.Fatalf("certs install: %v %s", err, errOut)
	}
	w.shop = e2e.StartShop(t, w.b)
	return w
}

// openLogin opens Demo Shop, clicks Sign in and returns the login frame.
func openLogin(t *testing.T, w *world, br *e2e.Browser) (context.Context, []chromedp.QueryOption) {
	e2e.Run(br, br.Ctx, "open Demo Shop", chromedp.Navigate(w.shop.URL))
	br.Screenshot("shop")
	e2e.Run(br, br.Ctx, "click Sign in", chromedp.Click(chromedp.CSS("#signin")))
	return br.LoginFrame()
}

// signedInAs waits for Demo Shop to show the signed-in user.
func signedInAs(t *testing.T, br *e2e.Browser, shop string) string {
	t.Helper()
	e2e.Run(br, br.Ctx, "land on Demo Shop signed in", chromedp.WaitVisible(chromedp.CSS("#signed-in")))
	loc := e2e.Run(br, br.Ctx, "location", chromedp.Location())
	if !strings.HasPrefix(loc, shop+"/") {
		t.Fatalf("landed on %s, want Demo Shop", loc)
	}
	br.Screenshot("signed-in")
	return e2e.Run(br, br.Ctx, "nickname", chromedp.Text(chromedp.CSS("#nickname")))
}

// openPasswordForm goes from Demo Shop's OpenID Connect sign-in, once
// the hosted page has its answer (the QR code), to the password form.
func openPasswordForm(br *e2e.Browser, w *world) {
	e2e.Run(br, br.Ctx, "open Demo Shop", chromedp.Navigate(w.shop.URL))
	e2e.Run(br, br.Ctx, "click Sign in with OpenID Connect", chromedp.Click(chromedp.CSS("#signin-oidc")))
	e2e.Run(br, br.Ctx, "the QR code (the page has its answer)", chromedp.WaitVisible(chromedp.CSS("#qrimg")))
	e2e.Run(br, br.Ctx, "click the password link", chromedp.Click(chromedp.CSS("#password")))
}

// continueAs waits for "Continue as Alice" and clicks it.
func continueAs(t *testing.T, br *e2e.Browser, fctx context.Context, opts []chromedp.QueryOption) {
	t.Helper()
	e2e.Run(br, fctx, "Continue as Alice", chromedp.WaitVisible(chromedp.CSS("#continue"), opts...))
	if txt := e2e.Run(br, fctx, "button text", chromedp.Text(chromedp.CSS("#continue"), opts...)); txt != "Continue as Alice" {
		t.Fatalf("button says %q", txt)
	}
	br.Screenshot("continue-as-alice")
	e2e.Run(br, fctx, "click Continue", chromedp.Click(chromedp.CSS("#continue"), opts...))
}

// TestScanFreeApprovedByControlAPI: Demo Shop → Sign in → "Continue as
// Alice" → click → approved through the control API → signed in.
func TestScanFreeApprovedByControlAPI(t *testing.T) {
	w := newWorld(t, e2e.BackendOptions{}, e2e.DaemonOptions{Args: []string{"--no-dialog"}})
	br := e2e.NewBrowser(t, w.home)
	fctx, opts := openLogin(t, w, br)
	continueAs(t, br, fctx, opts)
	p := w.d.AwaitPending()
	br.Screenshot("confirm-on-desktop")
	if err := w.d.Control.Approve(t.Context(), p.ID); err != nil {
		t.Fatal(err)
	}
	if nick := signedInAs(t, br, w.shop.URL); nick != "Alice" {
		t.Fatalf("signed in as %q", nick)
	}
}

// TestScanFreeApprovedInZenity: the same, confirmed in the real zenity
// dialog under Xvfb: Tab to Allow (Deny has the focus) and Return.
func TestScanFreeApprovedInZenity(t *testing.T) {
	testutil.NeedTools(t, "zenity", "xdotool")
	display := testutil.StartXvfb(t)
	w := newWorld(t, e2e.BackendOptions{}, e2e.DaemonOptions{Env: []string{"DISPLAY=" + display, "DBUS_SESSION_BUS_ADDRESS=" + testutil.StartSessionBus(t)}})
	br := e2e.NewBrowser(t, w.home)
	fctx, opts := openLogin(t, w, br)
	continueAs(t, br, fctx, opts)
	var win string
	testutil.Eventually(t, 15*time.Second, "the zenity dialog", func() bool {
		out, err := e2e.XDo(display, "search", "--onlyvisible", "--name", "scanfree: sign in to Demo Shop")
		win = strings.TrimSpace(out)
		return err == nil && win != ""
	})
	e2e.AllowInDialog(t, display, strings.Fields(win)[0])
	if nick := signedInAs(t, br, w.shop.URL); nick != "Alice" {
		t.Fatalf("signed in as %q", nick)
	}
}

// decodeQR reads the QR code the page shows, from a screenshot of the
// whole window (an out-of-process frame cannot be captured on its own).
func decodeQR(t *testing.T, br *e2e.Browser, fctx context.Context, opts []chromedp.QueryOption) string {
	t.Helper()
	return decodeQRWhere(t, br, fctx, opts, func(string) bool { return true })
}

// decodeQRWhere waits until the page shows a QR code whose text passes ok:
// a new image is painted some time after the page asked for it.
func decodeQRWhere(t *testing.T, br *e2e.Browser, fctx context.Context, opts []chromedp.QueryOption, ok func(string) bool) string {
	t.Helper()
	e2e.Run(br, fctx, "QR code visible", chromedp.WaitVisible(chromedp.CSS("#qrimg"), opts...))
	var text string
	testutil.Eventually(t, 30*time.Second, "the expected QR code", func() bool { // decoding is slow when the suite loads both cores
		shot, err := chromedp.Run(br.Ctx, chromedp.CaptureScreenshot())
		if err != nil {
			return false
		}
		var found bool
		text, found = decodeQRPNG(shot)
		return found && ok(text)
	})
	return text
}

// decodeQRPNG reads the QR code in a screenshot, as a phone's camera would.
func decodeQRPNG(shot []byte) (string, bool) {
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		return "", false
	}
	bmp, _ := gozxing.NewBinaryBitmapFromImage(img)
	res, err := gzqr.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_TRY_HARDER: true})
	if err != nil {
		return "", false
	}
	return res.GetText(), true
}

// approveAndLand approves the pending sign-in through the control API and
// checks that br lands on Demo Shop signed in as Alice.
func approveAndLand(t *testing.T, w *world, br *e2e.Browser) {
	t.Helper()
	if err := w.d.Control.Approve(t.Context(), w.d.AwaitPending().ID); err != nil {
		t.Fatal(err)
	}
	if nick := signedInAs(t, br, w.shop.URL); nick != "Alice" {
		t.Fatalf("signed in as %q", nick)
	}
}

// phone is a second browser, signed in to the backend as alice, that
// opens the URL from the QR code.
func phone(t *testing.T, w *world, qrURL string) *e2e.Browser {
	t.Helper()
	ph := e2e.NewBrowser(t, t.TempDir())
	u, err := url.Parse(qrURL)
	if err != nil || !strings.HasPrefix(qrURL, w.b.PublicURL+"/x/") {
		t.Fatalf("QR code holds %q, want %s/x/…", qrURL, w.b.PublicURL)
	}
	e2e.Run(ph, ph.Ctx, "open the QR URL", chromedp.Navigate(u.String()))
	e2e.Run(ph, ph.Ctx, "login form", chromedp.WaitVisible(chromedp.CSS("#username")))
	e2e.Run(ph, ph.Ctx, "username", chromedp.SendKeys(chromedp.CSS("#username"), "alice"))
	e2e.Run(ph, ph.Ctx, "password", chromedp.SendKeys(chromedp.CSS("#password"), "alice-password"))
	e2e.Run(ph, ph.Ctx, "sign in", chromedp.Click(chromedp.CSS("button[type=submit]")))
	e2e.Run(ph, ph.Ctx, "the question", chromedp.WaitVisible(chromedp.CSS("button[value=scan]")))
	if q := e2e.Run(ph, ph.Ctx, "question text", chromedp.Text(chromedp.CSS("main"))); !strings.Contains(q, "Sign in to Demo Shop on your computer") {
		t.Fatalf("phone page says %q", q)
	}
	ph.Screenshot("phone-question")
	return ph
}

// claim clicks Continue on the phone's page: the ticket is scanned, and
// the phone offers Allow and Cancel.
func claim(ph *e2e.Browser) {
	e2e.Run(ph, ph.Ctx, "Continue", chromedp.Click(chromedp.CSS("button[value=scan]")))
	e2e.Run(ph, ph.Ctx, "Allow and Cancel", chromedp.WaitVisible(chromedp.CSS("button[value=allow]")))
}

// TestQRFallback: with the daemon paused, the page shows the QR code; a
// phone signed in as alice scans (decodes) it and allows; the desktop
// browser lands on Demo Shop signed in.
func TestQRFallback(t *testing.T) {
	signInByQR(t, newWorld(t, e2e.BackendOptions{}, e2e.DaemonOptions{Args: []string{"--no-dialog"}}))
}

// signInByQR pauses w's daemon, opens the login page, scans its QR code
// with a phone signed in as alice, allows, and checks that the page lands
// signed in.
func signInByQR(t *testing.T, w *world) {
	t.Helper()
	w.d.Scanfreed("pause")
	br := e2e.NewBrowser(t, w.home)
	fctx, opts := openLogin(t, w, br)
	qrURL := decodeQR(t, br, fctx, opts)
	br.Screenshot("qr-code")
	ph := phone(t, w, qrURL)
	// The phone has opened the page; the desktop still shows the QR code
	// and learns nothing of who is looking at it.
	if txt := e2e.Run(br, fctx, "status", chromedp.Text(chromedp.CSS("#status"), opts...)); strings.Contains(txt, "Alice") || strings.Contains(txt, "Scanned") {
		t.Fatalf("the page changed on the phone's GET: %q", txt)
	}
	claim(ph)
	status(t, br, fctx, opts, "Scanned")
	if txt := e2e.Run(br, fctx, "status", chromedp.Text(chromedp.CSS("#status"), opts...)); strings.Contains(txt, "Alice") {
		t.Fatalf("the page learned who scanned: %q", txt)
	}
	e2e.Run(ph, ph.Ctx, "Allow", chromedp.Click(chromedp.CSS("button[value=allow]")))
	ph.Screenshot("phone-allowed")
	if nick := signedInAs(t, br, w.shop.URL); nick != "Alice" {
		t.Fatalf("signed in as %q", nick)
	}
}

func status(t *testing.T, br *e2e.Browser, fctx context.Context, opts []chromedp.QueryOption, want string) {
	t.Helper()
	testutil.Eventually(t, 20*time.Second, "status "+want, func() bool {
		c, cancel := context.WithTimeout(fctx, 2*time.Second)
		defer cancel()
		txt, err := chromedp.Run(c, chromedp.Text(chromedp.CSS("#status"), opts...))
		return err == nil && strings.Contains(txt, want)
	})
}

// TestCancelExpiryDeny: the paths that do not sign in say what happened.
func TestCancelExpiryDeny(t *testing.T) {
	t.Run("cancel on the phone", func(t *testing.T) {
		w := newWorld(t, e2e.BackendOptions{}, e2e.DaemonOptions{Args: []string{"--no-dialog"}})
		w.d.Scanfreed("pause")
		br := e2e.NewBrowser(t, w.home)
		fctx, opts := openLogin(t, w, br)
		ph := phone(t, w, decodeQR(t, br, fctx, opts))
		claim(ph)
		e2e.Run(ph, ph.Ctx, "Cancel", chromedp.Click(chromedp.CSS("button[value=cancel]")))
		status(t, br, fctx, opts, "cancelled on the phone")
		e2e.Run(br, fctx, "offer a new QR code", chromedp.WaitVisible(chromedp.CSS("#again"), opts...))
		br.Screenshot("cancelled")
		e2e.Run(br, fctx, "new QR code", chromedp.Click(chromedp.CSS("#again"), opts...))
		if again := decodeQR(t, br, fctx, opts); !strings.Contains(again, "/x/") {
			t.Fatalf("no new QR code after cancel: %q", again)
		}
	})
	t.Run("expiry refreshes the code", func(t *testing.T) {
		w := newWorld(t, e2e.BackendOptions{Args: []string{"--qr-ttl", "3s"}}, e2e.DaemonOptions{Args: []string{"--no-dialog"}})
		w.d.Scanfreed("pause")
		br := e2e.NewBrowser(t, w.home)
		fctx, opts := openLogin(t, w, br)
		first := decodeQR(t, br, fctx, opts)
		status(t, br, fctx, opts, "expired; here is a new one")
		second := decodeQRWhere(t, br, fctx, opts, func(s string) bool { return s != first })
		br.Screenshot("refreshed")
		if !strings.Contains(second, "/x/") {
			t.Fatalf("the new QR code holds %q", second)
		}
		// The expired code no longer works on the phone.
		ph := e2e.NewBrowser(t, t.TempDir())
		e2e.Run(ph, ph.Ctx, "open the old QR URL", chromedp.Navigate(first))
		e2e.Run(ph, ph.Ctx, "username", chromedp.SendKeys(chromedp.CSS("#username"), "alice"))
		e2e.Run(ph, ph.Ctx, "password", chromedp.SendKeys(chromedp.CSS("#password"), "alice-password"))
		e2e.Run(ph, ph.Ctx, "sign in", chromedp.Click(chromedp.CSS("button[type=submit]")))
		e2e.Run(ph, ph.Ctx, "the message page", chromedp.WaitVisible(chromedp.CSS("p[role=status]")))
		if txt := e2e.Run(ph, ph.Ctx, "message", chromedp.Text(chromedp.CSS("main"))); !strings.Contains(txt, "expired") {
			t.Fatalf("old QR code on the phone: %q", txt)
		}
	})
	t.Run("deny on the desktop", func(t *testing.T) {
		w := newWorld(t, e2e.BackendOptions{}, e2e.DaemonOptions{Args: []string{"--no-dialog"}})
		br := e2e.NewBrowser(t, w.home)
		fctx, opts := openLogin(t, w, br)
		continueAs(t, br, fctx, opts)
		w.d.Control.Deny(t.Context(), w.d.AwaitPending().ID)
		status(t, br, fctx, opts, "You declined the sign-in on your desktop")
		e2e.Run(br, fctx, "QR code offered", chromedp.WaitVisible(chromedp.CSS("#qrimg"), opts...))
		br.Screenshot("denied")
	})
}
