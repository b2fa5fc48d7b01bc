package web_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/scanfree/scanfree/internal/harness/e2e"
	"github.com/scanfree/scanfree/internal/harness/ldaptest"
)

// TestDirectoryInChromium: with a real slapd named in the server's
// config file, a person the backend has never seen picks the OIDC face's
// password form in chromium, keeps "Corp directory" chosen, signs in with
// her directory password, and lands at Demo Shop under her directory
// name: made at that first sign-in.
func TestDirectoryInChromium(t *testing.T) {
	dir := ldaptest.Start(t)
	dir.AddPerson("erin", "Erin Directory", "erin-dir-pw")
	cfg := dir.WriteConfig(t.TempDir())

	w := newWorld(t, e2e.BackendOptions{Args: []string{"--config", cfg}}, e2e.DaemonOptions{Args: []string{"--no-dialog"}})
	w.d.Scanfreed("pause")
	br := e2e.NewBrowser(t, w.home)
	e2e.Run(br, br.Ctx, "open Demo Shop", chromedp.Navigate(w.shop.URL))
	e2e.Run(br, br.Ctx, "click Sign in with OpenID Connect", chromedp.Click(chromedp.CSS("#signin-oidc")))
	e2e.Run(br, br.Ctx, "the QR code (the page has its answer)", chromedp.WaitVisible(chromedp.CSS("#qrimg")))
	e2e.Run(br, br.Ctx, "click the password link", chromedp.Click(chromedp.CSS("#password")))
	e2e.Run(br, br.Ctx, "password form", chromedp.WaitVisible(chromedp.CSS("#connector")))
	if chosen := e2e.Run(br, br.Ctx, "the chosen directory", chromedp.Value(chromedp.CSS("#connector"))); chosen != "corp" {
		t.Fatalf("the form chose %q, want corp", chosen)
	}
	br.Screenshot("directory-form")
	e2e.Run(br, br.Ctx, "username", chromedp.SetValue(chromedp.CSS("#username"), "erin"))
	e2e.Run(br, br.Ctx, "password", chromedp.SendKeys(chromedp.CSS("input[name=password]"), "erin-dir-pw"))
	e2e.Run(br, br.Ctx, "submit", chromedp.Click(chromedp.CSS("button[type=submit]")))
	if nick := signedInAs(t, br, w.shop.URL); nick != "Erin Directory" {
		t.Fatalf("signed in as %q (screenshot %s)", nick, br.Screenshot("directory-signed-in"))
	}
	if out := w.b.CLI("", "user", "list"); !strings.Contains(out, "erin") {
		t.Fatalf("erin was not made at her first sign-in:\n%s", out)
	}
}
