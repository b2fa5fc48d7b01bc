package web_test

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/scanfree/scanfree/internal/harness/e2e"
	"github.com/scanfree/scanfree/internal/harness/testutil"
)

// TestWaitingPage: after "Continue as Alice" the page counts down the
// desktop window's time limit and says what to do if no window showed;
// its Cancel withdraws the window on the desktop and says so; "Continue
// as Alice" comes back, counting down the daemon's cooldown, and works
// again after it; a Deny says so and offers it again too; and a click
// inside the cooldown (a page opened anew) says why it shows the QR code.
func TestWaitingPage(t *testing.T) {
	w := newWorld(t, e2e.BackendOptions{}, e2e.DaemonOptions{Args: []string{"--no-dialog", "--cooldown", "4s", "--confirm-timeout", "90s"}})
	br := e2e.NewBrowser(t, w.home)
	fctx, opts := openLogin(t, w, br)
	text := func(what, sel string) string {
		return e2e.Run(br, fctx, what, chromedp.Text(chromedp.CSS(sel), opts...))
	}
	// enabled reports whether the page's "Continue as Alice" is back.
	enabled := func() bool {
		c, cancel := context.WithTimeout(fctx, 2*time.Second)
		defer cancel()
		disabled, err := chromedp.Run(c, chromedp.JavascriptAttribute[bool](chromedp.CSS("#retry"), "disabled", opts...))
		return err == nil && !disabled
	}

	continueAs(t, br, fctx, opts)
	w.d.AwaitPending()
	e2e.Run(br, fctx, "the countdown", chromedp.WaitVisible(chromedp.CSS("#countdown"), opts...))
	if cd := text("countdown", "#countdown"); !regexp.MustCompile(`The window closes in 1:[23]\d\.`).MatchString(cd) {
		t.Fatalf("the countdown says %q, want about 1:30 left", cd)
	}
	if help := text("help", "#nowindow"); !strings.Contains(help, "taskbar") {
		t.Fatalf("no help for a window that did not show: %q", help)
	}
	br.Screenshot("waiting")

	// Cancel withdraws the window on the desktop.
	e2e.Run(br, fctx, "click Cancel", chromedp.Click(chromedp.CSS("#cancel"), opts...))
	testutil.Eventually(t, 5*time.Second, "the desktop's window withdrawn", func() bool {
		p, err := w.d.Control.Pending(t.Context())
		return err == nil && len(p) == 0
	})
	status(t, br, fctx, opts, "You cancelled the sign-in")
	e2e.Run(br, fctx, "the QR code", chromedp.WaitVisible(chromedp.CSS("#qrimg"), opts...))
	if r := text("retry", "#retry"); !regexp.MustCompile(`Continue as Alice \(in [1-4] s\)`).MatchString(r) || enabled() {
		t.Fatalf("during the cooldown the button says %q (enabled %v)", r, enabled())
	}
	br.Screenshot("cancelled")
	testutil.Eventually(t, 10*time.Second, "Continue as Alice back", enabled)
	if r := text("retry", "#retry"); r != "Continue as Alice" {
		t.Fatalf("after the cooldown the button says %q", r)
	}

	// It works again; a Deny says so and offers it once more.
	e2e.Run(br, fctx, "click Continue as Alice", chromedp.Click(chromedp.CSS("#retry"), opts...))
	continueAs(t, br, fctx, opts)
	w.d.Control.Deny(t.Context(), w.d.AwaitPending().ID)
	status(t, br, fctx, opts, "You declined the sign-in on your desktop")
	e2e.Run(br, fctx, "offered again", chromedp.WaitVisible(chromedp.CSS("#retry"), opts...))

	// Inside the cooldown a page opened anew says why it shows the QR code.
	fctx, opts = openLogin(t, w, br)
	continueAs(t, br, fctx, opts)
	status(t, br, fctx, opts, "You said no moments ago")
	e2e.Run(br, fctx, "offered after the cooldown", chromedp.WaitVisible(chromedp.CSS("#retry"), opts...))
	br.Screenshot("cooldown")
	testutil.Eventually(t, 10*time.Second, "Continue as Alice back", enabled)
	e2e.Run(br, fctx, "click Continue as Alice", chromedp.Click(chromedp.CSS("#retry"), opts...))
	continueAs(t, br, fctx, opts)
	approveAndLand(t, w, br)
}
