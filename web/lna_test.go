package web_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/chromedp"

	"github.com/scanfree/scanfree/internal/harness/e2e"
	"github.com/scanfree/scanfree/internal/harness/testutil"
)

// publicBackend starts chromium with the backend's address treated as a
// public one (--ip-address-space-overrides, honoured by Debian's chromium
// 156), as in production, where the hosted page is on the internet and
// the daemon on loopback: Chrome's Local Network Access then asks the
// person before the page may reach the daemon.
func publicBackend(t *testing.T, w *world) *e2e.Browser {
	_, port, _ := net.SplitHostPort(w.b.Addr)
	return e2e.NewBrowser(t, w.home, chromedp.Flag("ip-address-space-overrides", "127.0.0.1:"+port+"=public"))
}

// setLocalAccess answers Chrome's Local Network Access permission for
// every origin, as the person would in its prompt ("prompt" leaves it
// unanswered).
func setLocalAccess(t *testing.T, br *e2e.Browser, setting browser.PermissionSetting) {
	t.Helper()
	for _, name := range []string{"loopback-network", "local-network-access"} {
		e2e.Run(br, br.Ctx, "permission "+name+" "+string(setting), chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, browser.SetPermission, browser.SetPermissionParams{
				Permission: &browser.PermissionDescriptor{Name: name}, Setting: setting})
			return err
		}))
	}
}

// lnaLogin starts the system, a chromium that treats the backend as
// public with the permission answered as setting, and opens the login
// frame on Demo Shop.
func lnaLogin(t *testing.T, setting browser.PermissionSetting) (*world, *e2e.Browser, context.Context, []chromedp.QueryOption) {
	t.Helper()
	w := newWorld(t, e2e.BackendOptions{}, e2e.DaemonOptions{Args: []string{"--no-dialog"}})
	br := publicBackend(t, w)
	setLocalAccess(t, br, setting)
	fctx, opts := openLogin(t, w, br)
	return w, br, fctx, opts
}

// qrWithin1s waits for the QR code and checks that the page showed it
// within 1 s of starting to load (the page records when, in ms).
func qrWithin1s(t *testing.T, br *e2e.Browser, fctx context.Context, opts []chromedp.QueryOption) {
	t.Helper()
	e2e.Run(br, fctx, "QR code", chromedp.WaitVisible(chromedp.CSS("#qrimg"), opts...))
	v := e2e.Run(br, fctx, "when the QR code showed", chromedp.AttributeValue(chromedp.CSS("body"), "data-qr-at", opts...))
	at, err := strconv.Atoi(v.Value)
	if err != nil {
		at = -1
	}
	if at < 0 || at > 1000 {
		t.Fatalf("the QR code showed %d ms into the page, want within 1000", at)
	}
}

func TestLocalNetworkAccess(t *testing.T) {
	testutil.NeedTools(t, "chromium")
	t.Run("granted: scan-free sign-in", func(t *testing.T) {
		w, br, fctx, opts := lnaLogin(t, browser.PermissionSettingGranted)
		continueAs(t, br, fctx, opts)
		approveAndLand(t, w, br)
	})
	t.Run("denied: the QR code within 1 s", func(t *testing.T) {
		w, br, fctx, opts := lnaLogin(t, browser.PermissionSettingDenied)
		qrWithin1s(t, br, fctx, opts)
		br.Screenshot("denied-qr")
		if p, _ := w.d.Control.Pending(t.Context()); len(p) != 0 {
			t.Fatal("a sign-in was asked for although the browser refused the connection")
		}
	})
	t.Run("pending: the QR code at once, Continue once allowed", func(t *testing.T) {
		// Headless chromium shows no prompt: it refuses the held request at
		// once and leaves the permission "prompt", which is what a loopback
		// page sees too, so the page cannot blame the permission here (a
		// real Chrome holds the request while its prompt is up, and the page
		// says so after 700 ms). What must hold: the QR code at once, no
		// error, and Continue the moment the person allows.
		w, br, fctx, opts := lnaLogin(t, browser.PermissionSettingPrompt)
		qrWithin1s(t, br, fctx, opts)
		if txt := e2e.Run(br, fctx, "status", chromedp.Text(chromedp.CSS("#status"), opts...)); strings.Contains(txt, "wrong") {
			t.Fatalf("the page shows an error: %q", txt)
		}
		br.Screenshot("waiting-for-permission")
		setLocalAccess(t, br, browser.PermissionSettingGranted) // the person allows
		continueAs(t, br, fctx, opts)
		approveAndLand(t, w, br)
	})
	t.Run("a frame without the allow attribute: QR, no error", func(t *testing.T) {
		w := newWorld(t, e2e.BackendOptions{}, e2e.DaemonOptions{Args: []string{"--no-dialog"}})
		page := w.b.PublicURL + "/connect/qrconnect?" + url.Values{"appid": {w.b.App.AppID}, "redirect_uri": {e2e.RedirectURI},
			"response_type": {"code"}, "scope": {"snsapi_login"}, "state": {"s"}}.Encode()
		embed := fmt.Sprintf(`<!doctype html><title>Embed</title><iframe src="%s" width="400" height="500"></iframe>`, page)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{Handler: http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			rw.Header().Set("Content-Type", "text/html; charset=utf-8")
			rw.Write([]byte(embed))
		}), ReadHeaderTimeout: 5 * time.Second}
		go srv.Serve(ln)
		t.Cleanup(func() { srv.Close() })
		br := publicBackend(t, w)
		// The person has not answered (nor been asked: the frame cannot ask
		// for a permission its embedder did not delegate). Note: with the
		// permission granted to the embedding origin, chromium 156 let the
		// undelegated frame through in our runs, so the page never relies
		// on the attribute to be safe: it only falls back.
		embedder := "http://embed.localhost:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
		e2e.Run(br, br.Ctx, "open the embedding page", chromedp.Navigate(embedder+"/"))
		fctx, opts := br.LoginFrame()
		e2e.Run(br, fctx, "QR code", chromedp.WaitVisible(chromedp.CSS("#qrimg"), opts...))
		br.Screenshot("no-allow-qr")
		if txt := e2e.Run(br, fctx, "status", chromedp.Text(chromedp.CSS("#status"), opts...)); strings.Contains(txt, "wrong") {
			t.Fatalf("the page shows an error: %q", txt)
		}
		if p, _ := w.d.Control.Pending(t.Context()); len(p) != 0 {
			t.Fatal("a sign-in was asked for from a frame the browser does not let reach the daemon")
		}
	})
}
