package web_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/scanfree/scanfree/internal/harness/e2e"
	"github.com/scanfree/scanfree/internal/harness/testutil"
)

// TestAccountFormsInChromium drives the account page's own forms in
// Debian's chromium, under the page's CSP and cross-origin check: alice
// renames her desktop, then changes her password, which signs this
// browser out; only the new password signs her back in.
func TestAccountFormsInChromium(t *testing.T) {
	w := newWorld(t, e2e.BackendOptions{}, e2e.DaemonOptions{Args: []string{"--no-dialog"}})
	br := e2e.NewBrowser(t, t.TempDir())
	signIn := func(password string) {
		e2e.Run(br, br.Ctx, "the sign-in page", chromedp.Navigate(w.b.PublicURL+"/login"))
		e2e.Run(br, br.Ctx, "username", chromedp.SetValue(chromedp.CSS("#username"), "alice"))
		e2e.Run(br, br.Ctx, "password", chromedp.SendKeys(chromedp.CSS("#password"), password))
		e2e.Run(br, br.Ctx, "sign in", chromedp.Click(chromedp.CSS("button[type=submit]")))
	}
	signIn("alice-password")
	e2e.Run(br, br.Ctx, "her account", chromedp.WaitVisible(chromedp.CSS(`form[action$="/rename"][action^="/account/devices/"] input`)))

	// Rename her desktop.
	rename := `form[action^="/account/devices/"][action$="/rename"]`
	e2e.Run(br, br.Ctx, "the new name", chromedp.SetValue(chromedp.CSS(rename+" input"), "Work laptop"))
	e2e.Run(br, br.Ctx, "click Rename", chromedp.Click(chromedp.CSS(rename+" button")))
	// The value typed is on the page until it reloads: the server's list says whether it took.
	testutil.Eventually(t, 10*time.Second, "the desktop renamed", func() bool {
		return strings.Contains(w.b.CLI("", "device", "list"), "Work laptop")
	})
	e2e.Run(br, br.Ctx, "her account reloaded", chromedp.Navigate(w.b.PublicURL+"/account"))
	if got := e2e.Run(br, br.Ctx, "the name", chromedp.Evaluate[string](`document.querySelector(`+"`"+rename+" input`"+`).value`)); got != "Work laptop" {
		t.Fatalf("the account page calls the desktop %q (screenshot %s)", got, br.Screenshot("rename"))
	}
	br.Screenshot("renamed")

	// Change her password.
	e2e.Run(br, br.Ctx, "click Change your password", chromedp.Click(chromedp.CSS("#password-change")))
	e2e.Run(br, br.Ctx, "current", chromedp.SendKeys(chromedp.CSS("#current"), "alice-password"))
	e2e.Run(br, br.Ctx, "new", chromedp.SendKeys(chromedp.CSS("#password"), "alice-new-password"))
	e2e.Run(br, br.Ctx, "again", chromedp.SendKeys(chromedp.CSS("#again"), "alice-new-password"))
	e2e.Run(br, br.Ctx, "click Change the password", chromedp.Click(chromedp.CSS("button.primary")))
	shows(t, br, "the change's answer", "main", "Password changed")
	br.Screenshot("password-changed")
	e2e.Run(br, br.Ctx, "the account page", chromedp.Navigate(w.b.PublicURL+"/account"))
	e2e.Run(br, br.Ctx, "signed out: the sign-in page", chromedp.WaitVisible(chromedp.CSS("#username")))

	signIn("alice-password")
	e2e.Run(br, br.Ctx, "the old password refused", chromedp.WaitVisible(chromedp.CSS("[role=alert]")))
	signIn("alice-new-password")
	e2e.Run(br, br.Ctx, "her account again", chromedp.WaitVisible(chromedp.CSS("#passkey-add")))
	if loc := e2e.Run(br, br.Ctx, "location", chromedp.Location()); !strings.HasSuffix(loc, "/account") {
		t.Fatalf("the new password landed on %s", loc)
	}
}
