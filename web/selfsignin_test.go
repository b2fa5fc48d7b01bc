package web_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/scanfree/scanfree/internal/harness/e2e"
)

// TestSelfSignInInChromium: an operator signed out of the backend opens
// the console, picks "Sign in with your desktop or phone instead" on the
// password form, continues as Alice on the hosted page, her desktop's
// dialog (approved through the control API) names the backend's own
// sign-in, and chromium lands on the console page she asked for.
func TestSelfSignInInChromium(t *testing.T) {
	w := newWorld(t, e2e.BackendOptions{}, e2e.DaemonOptions{Args: []string{"--no-dialog"}})
	w.b.CLI("", "user", "role", "alice", "admin")
	br := e2e.NewBrowser(t, w.home)
	e2e.Run(br, br.Ctx, "open the console", chromedp.Navigate(w.b.PublicURL+"/admin/log"))
	e2e.Run(br, br.Ctx, "the password form", chromedp.WaitVisible(chromedp.CSS("#password")))
	br.Screenshot("login")
	e2e.Run(br, br.Ctx, "sign in with the desktop instead", chromedp.Click(chromedp.CSS("#self-signin")))
	continueAs(t, br, br.Ctx, nil)
	p := w.d.AwaitPending()
	if p.AppName != "scanfree account and console" || !strings.HasPrefix(w.b.PublicURL, "http://"+p.RedirectHost) {
		t.Fatalf("the dialog would show %q going to %q, want the backend's own sign-in", p.AppName, p.RedirectHost)
	}
	if err := w.d.Control.Approve(t.Context(), p.ID); err != nil {
		t.Fatal(err)
	}
	e2e.Run(br, br.Ctx, "the console", chromedp.WaitVisible(chromedp.CSS("nav.console")))
	if loc := e2e.Run(br, br.Ctx, "location", chromedp.Location()); loc != w.b.PublicURL+"/admin/log" {
		t.Fatalf("landed on %s, want the sign-in log", loc)
	}
	br.Screenshot("console")
	rows := e2e.Run(br, br.Ctx, "the log", chromedp.Text(chromedp.CSS("#log tbody")))
	if !strings.Contains(rows, "confirmed on the desktop") {
		t.Fatalf("the log does not show the desktop-confirmed sign-in: %.500s", rows)
	}
}
