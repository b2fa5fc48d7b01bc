package web_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/scanfree/scanfree/certs"
	"github.com/scanfree/scanfree/daemon/control"
	"github.com/scanfree/scanfree/internal/harness/e2e"
	"github.com/scanfree/scanfree/internal/harness/testutil"
	"github.com/scanfree/scanfree/internal/harness/winetest"
)

// windowsDaemon is scanfreed.exe running in a Wine prefix, and its CLI.
type windowsDaemon struct {
	w     *winetest.Prefix
	exe   string
	state string // the state dir as Linux sees it
	port  int
}

// cli runs a scanfreed.exe command against the daemon, over its named pipe.
func (d *windowsDaemon) cli(args ...string) (string, error) {
	out, errOut, err := d.w.Run(time.Minute, d.exe, append(args, "--state-dir", winetest.Path(d.state))...)
	if err != nil {
		return out, &cliError{err, errOut}
	}
	return out, nil
}

type cliError struct {
	err    error
	stderr string
}

func (e *cliError) Error() string { return e.err.Error() + ": " + e.stderr }

// status is `scanfreed.exe status --json`.
func (d *windowsDaemon) status() (control.Status, error) {
	var st control.Status
	out, err := d.cli("status", "--json")
	if err == nil {
		err = json.Unmarshal([]byte(out), &st)
	}
	return st, err
}

// dialog waits for the MessageBoxW asking to sign in to Demo Shop and
// returns its X window.
func dialogWindow(t *testing.T, display string) string {
	t.Helper()
	var win string
	testutil.Eventually(t, 30*time.Second, "the MessageBoxW dialog", func() bool {
		out, err := e2e.XDo(display, "search", "--onlyvisible", "--name", "scanfree: sign in to Demo Shop")
		win = strings.TrimSpace(out)
		return err == nil && win != ""
	})
	return strings.Fields(win)[0]
}

// TestWindowsDaemonUnderWine: the Windows build of scanfreed, run in Wine
// against the Linux backend, signs Demo Shop in from Debian's chromium:
// its native MessageBoxW dialog under Xvfb denies on a fresh Return and
// allows after the input delay; `scanfreed.exe status`, `pending` and
// `approve` work over its named pipe; a second daemon cannot take the
// pipe; its proof key falls back to software for want of the Platform
// Crypto Provider, and status says so. What Wine cannot show: another user (every Wine process runs as
// one SID, so the pipe's DACL and the client check admit everyone here),
// and a Linux program as a local API client (Wine's TCP table names only
// Wine's processes; the daemon refuses the unknown, asserted below), so
// chromium reaches it through a relay inside the prefix.
func TestWindowsDaemonUnderWine(t *testing.T) {
	testutil.NeedTools(t, "chromium", "certutil", "xdotool", "xwd")
	display := testutil.StartXvfb(t)
	w := winetest.New(t, display)
	bin := t.TempDir()
	d := &windowsDaemon{w: w, exe: winetest.Build(t, "./cmd/scanfreed", bin), state: filepath.Join(t.TempDir(), "st")}
	b := e2e.StartBackendWith(t, e2e.BackendOptions{})
	d.port = b.DaemonPort
	shop := e2e.StartShop(t, b)
	w.Start(d.exe, "run", "--state-dir", winetest.Path(d.state), "--backend", b.URL, "--trusted-origin", b.PublicURL,
		"--port", strconv.Itoa(d.port), "--no-notify", "--log-level", "debug", "--cooldown", "1s")
	testutil.Eventually(t, time.Minute, "scanfreed.exe to serve (status over the pipe)", func() bool {
		st, err := d.status()
		return err == nil && st.Port == d.port
	})

	t.Run("sign in over the pipe", func(t *testing.T) {
		out, err := d.cli("login", "--no-wait", "--json")
		var l struct {
			UserCode string `json:"user_code"`
		}
		if err != nil || json.Unmarshal([]byte(out), &l) != nil || l.UserCode == "" {
			t.Fatalf("scanfreed.exe login: %q %v", out, err)
		}
		b.CLI("", "device", "approve", "--user", "alice", "--code", l.UserCode)
		var st control.Status
		testutil.Eventually(t, 30*time.Second, "scanfreed.exe to be signed in", func() bool {
			var err error
			st, err = d.status()
			return err == nil && st.SignedIn && st.Account != nil && st.Account.Nickname == "Alice"
		})
		// Wine has no Platform Crypto Provider: the key is made in
		// software, and status says why.
		if st.KeyProtection != "software" || !strings.Contains(st.TPMSkipped, "Platform Crypto Provider") {
			t.Errorf("key %q, TPM skipped because %q; want software, for want of the Platform Crypto Provider", st.KeyProtection, st.TPMSkipped)
		}
	})
	t.Run("a second daemon cannot take the pipe", func(t *testing.T) {
		_, errOut, err := w.Run(time.Minute, d.exe, "run", "--state-dir", winetest.Path(d.state), "--backend", b.URL, "--port", strconv.Itoa(testutil.FreePort(t)))
		if err == nil || !strings.Contains(errOut, "another scanfreed is running with control pipe") {
			t.Fatalf("a second scanfreed.exe on the same state dir: %v %s", err, errOut)
		}
	})

	rootPEM, err := os.ReadFile(certs.PathsIn(d.state).RootCert)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("a client Wine cannot name is refused", func(t *testing.T) {
		roots := x509.NewCertPool()
		roots.AppendCertsFromPEM(rootPEM)
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(d.port)),
			&tls.Config{RootCAs: roots, ServerName: certs.DefaultDomain})
		if err == nil {
			c.Close()
			t.Fatal("a Linux process's TLS handshake with scanfreed.exe succeeded; its owner is unknown to Wine and must be refused")
		}
	})

	relay := testutil.FreePort(t)
	w.Relay(bin, relay, d.port)
	// chromium connects to the relay for scanfree.localhost:<daemon port>;
	// the URL, the Host header and the TLS name stay the daemon's.
	toRelay := chromedp.Flag("host-resolver-rules", fmt.Sprintf("MAP %s:%d 127.0.0.1:%d", certs.DefaultDomain, d.port, relay))
	home := t.TempDir()
	trustRoot(t, home, rootPEM)

	t.Run("Return on a fresh dialog denies", func(t *testing.T) {
		br := e2e.NewBrowser(t, home, toRelay)
		fctx, opts := offeredThroughWine(t, &world{b: b, shop: shop}, br)
		continueAs(t, br, fctx, opts)
		win := dialogWindow(t, display)
		shootX(t, display, win, "messagebox")
		if _, err := e2e.XDo(display, "windowfocus", "--sync", win); err != nil {
			t.Fatal(err)
		}
		if _, err := e2e.XDo(display, "key", "Return"); err != nil {
			t.Fatal(err)
		}
		status(t, br, fctx, opts, "You declined the sign-in on your desktop")
	})
	t.Run("Allow after the input delay signs in", func(t *testing.T) {
		br := e2e.NewBrowser(t, home, toRelay)
		fctx, opts := offeredThroughWine(t, &world{b: b, shop: shop}, br)
		continueAs(t, br, fctx, opts)
		e2e.AllowInDialog(t, display, dialogWindow(t, display))
		if nick := signedInAs(t, br, shop.URL); nick != "Alice" {
			t.Fatalf("signed in as %q", nick)
		}
	})
	t.Run("pending and approve over the pipe", func(t *testing.T) {
		br := e2e.NewBrowser(t, home, toRelay)
		fctx, opts := offeredThroughWine(t, &world{b: b, shop: shop}, br)
		continueAs(t, br, fctx, opts)
		dialogWindow(t, display)
		var reqs []control.Request
		testutil.Eventually(t, 30*time.Second, "scanfreed.exe pending to list the sign-in", func() bool {
			out, err := d.cli("pending", "--json")
			return err == nil && json.Unmarshal([]byte(out), &reqs) == nil && len(reqs) == 1
		})
		if reqs[0].AppName != "Demo Shop" || reqs[0].Account != "Alice" {
			t.Fatalf("pending: %+v", reqs[0])
		}
		if out, err := d.cli("approve", reqs[0].ID); err != nil || !strings.Contains(out, "approved") {
			t.Fatalf("scanfreed.exe approve: %q %v", out, err)
		}
		if nick := signedInAs(t, br, shop.URL); nick != "Alice" {
			t.Fatalf("signed in as %q", nick)
		}
		testutil.Eventually(t, 30*time.Second, "the dialog to close once answered over the pipe", func() bool {
			out, err := e2e.XDo(display, "search", "--onlyvisible", "--name", "scanfree: sign in to Demo Shop")
			return err != nil && strings.TrimSpace(out) == ""
		})
	})
	t.Run("the tray shows in Wine's tray and its menu pauses the daemon", func(t *testing.T) {
		w.Start(winetest.Build(t, "./cmd/scanfree-tray", bin), "--state-dir", winetest.Path(d.state))
		var tray string
		testutil.Eventually(t, 30*time.Second, "Wine's system tray window", func() bool {
			out, err := e2e.XDo(display, "search", "--onlyvisible", "--name", "^Wine System Tray$")
			tray = strings.TrimSpace(out)
			return err == nil && tray != ""
		})
		tray = strings.Fields(tray)[0]
		testutil.Eventually(t, 30*time.Second, "the tray icon drawn in it", func() bool {
			return drawn(shootX(t, display, tray, "tray")) > 20
		})
		// A person whose click went nowhere (the menu not yet taking input
		// on a busy machine) opens the menu again: at most three times.
		paused := func() bool {
			st, err := d.status()
			return err == nil && st.Paused
		}
		for try := 1; ; try++ {
			pauseFromMenu(t, display, tray, try)
			if testutil.Within(5*time.Second, paused) {
				break
			}
			if try == 3 {
				t.Fatal("the daemon was not paused after three clicks on the tray menu's \"Pause for 1 hour\"")
			}
			t.Logf("try %d: the click on the tray's menu did not pause the daemon; opening the menu again", try)
			e2e.XDo(display, "key", "Escape")
		}
		if _, err := d.cli("resume"); err != nil {
			t.Fatal(err)
		}
	})
}

// pauseFromMenu right-clicks the tray icon in Wine's tray window, waits
// for the menu to be drawn, and clicks its "Pause for 1 hour".
func pauseFromMenu(t *testing.T, display, tray string, try int) {
	t.Helper()
	before := visibleWindows(display)
	if _, err := e2e.XDo(display, "mousemove", "--window", tray, "10", "10", "click", "3"); err != nil {
		t.Fatal(err)
	}
	var menu string
	testutil.Eventually(t, 15*time.Second, "the tray's menu, drawn", func() bool {
		for win := range visibleWindows(display) {
			if !before[win] {
				menu = win
			}
		}
		// Its items' text is dark: about 1100 pixels, a blank menu's
		// shadow edge about 300.
		return menu != "" && dark(shootX(t, display, menu, fmt.Sprintf("tray-menu-%d", try))) > 600
	})
	// "Pause for 1 hour" is the second item, below the account and a
	// separator, in Wine's default menu font.
	if _, err := e2e.XDo(display, "mousemove", "--window", menu, "40", "41", "click", "1"); err != nil {
		t.Fatal(err)
	}
}

// offeredThroughWine opens Demo Shop's sign-in until the hosted page
// offers "Continue as …". The page gives the daemon 1.5 s to answer
// check-login; on a busy CI machine Wine's first answer on a new
// connection can take longer (its TCP table lookup for the peer check
// walks every process), and the page then shows the QR code. A person
// would sign in again; so does the test, at most three times, saying so.
func offeredThroughWine(t *testing.T, w *world, br *e2e.Browser) (context.Context, []chromedp.QueryOption) {
	t.Helper()
	for attempt := 1; ; attempt++ {
		fctx, opts := openLogin(t, w, br)
		ctx, cancel := context.WithTimeout(fctx, 15*time.Second)
		_, err := chromedp.Run(ctx, chromedp.WaitVisible(chromedp.CSS("#continue"), opts...))
		cancel()
		if err == nil || attempt == 3 {
			return fctx, opts
		}
		t.Logf("attempt %d: the hosted page did not offer Continue (%v; screenshot %s); signing in again", attempt, err, br.Screenshot("not-offered"))
	}
}

// trustRoot makes the NSS database in home (chromium's) trust the PEM
// root, as `scanfreed certs install` does on Linux.
func trustRoot(t *testing.T, home string, rootPEM []byte) {
	t.Helper()
	db := filepath.Join(home, ".pki", "nssdb")
	root := filepath.Join(t.TempDir(), "root.pem")
	if err := os.MkdirAll(db, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(root, rootPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"-N", "-d", "sql:" + db, "--empty-password"},
		{"-A", "-d", "sql:" + db, "-n", "scanfree (Wine)", "-t", "C,,", "-i", root},
	} {
		if _, errOut, err := testutil.Run(context.Background(), nil, "", "certutil", args...); err != nil {
			t.Fatalf("certutil %v: %v %s", args, err, errOut)
		}
	}
}

// visibleWindows lists the visible X windows of display.
func visibleWindows(display string) map[string]bool {
	out, _ := e2e.XDo(display, "search", "--onlyvisible", "--name", ".*")
	wins := map[string]bool{}
	for _, w := range strings.Fields(out) {
		wins[w] = true
	}
	return wins
}

// shootX saves a screenshot of X window win (the native tray and menu
// are in no browser's screenshot) where the browser's go, and returns it.
func shootX(t *testing.T, display, win, name string) image.Image {
	t.Helper()
	img, err := testutil.ScreenshotX(display, win)
	if err != nil {
		t.Fatal(err)
	}
	dir := os.Getenv("SCANFREE_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	}
	dir = filepath.Join(dir, strings.ReplaceAll(t.Name(), "/", "_"))
	if err := os.MkdirAll(dir, 0o755); err == nil {
		testutil.SavePNG(img, filepath.Join(dir, name+".png"))
	}
	return img
}

// drawn counts the pixels of img that differ from its top-left corner's,
// the window's background.
func drawn(img image.Image) int {
	bg := img.At(img.Bounds().Min.X, img.Bounds().Min.Y)
	return count(img, func(c color.Color) bool { return c != bg })
}

// dark counts img's near-black pixels (text).
func dark(img image.Image) int {
	return count(img, func(c color.Color) bool {
		r, g, b, _ := c.RGBA()
		return r < 0x4000 && g < 0x4000 && b < 0x4000
	})
}

// count counts img's pixels that match.
func count(img image.Image, match func(color.Color) bool) int {
	n := 0
	for y := img.Bounds().Min.Y; y < img.Bounds().Max.Y; y++ {
		for x := img.Bounds().Min.X; x < img.Bounds().Max.X; x++ {
			if match(img.At(x, y)) {
				n++
			}
		}
	}
	return n
}
