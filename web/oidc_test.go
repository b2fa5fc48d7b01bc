package web_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/scanfree/scanfree/internal/harness/e2e"
)

// TestOIDCScanFree: Demo Shop's "Sign in with OpenID Connect" (go-oidc and
// x/oauth2, PKCE and nonce) → the hosted page at /oauth2/authorize in
// Debian's chromium → "Continue as Alice" → approved through the control
// API → the shop verifies the id_token, reads userinfo and signs in.
func TestOIDCScanFree(t *testing.T) {
	w := newWorld(t, e2e.BackendOptions{}, e2e.DaemonOptions{Args: []string{"--no-dialog"}})
	br := e2e.NewBrowser(t, w.home)
	e2e.Run(br, br.Ctx, "open Demo Shop", chromedp.Navigate(w.shop.URL))
	e2e.Run(br, br.Ctx, "click Sign in with OpenID Connect", chromedp.Click(chromedp.CSS("#signin-oidc")))
	e2e.Run(br, br.Ctx, "hosted page", chromedp.WaitVisible(chromedp.CSS("#continue")))
	loc := e2e.Run(br, br.Ctx, "location", chromedp.Location())
	if !strings.HasPrefix(loc, w.b.PublicURL+"/oauth2/authorize?") || !strings.Contains(loc, "code_challenge_method=S256") || !strings.Contains(loc, "nonce=") {
		t.Fatalf("the shop sent the browser to %s, want /oauth2/authorize with PKCE and a nonce", loc)
	}
	if e2e.Run(br, br.Ctx, "password link", chromedp.Text(chromedp.CSS("#password"))) == "" {
		t.Fatal("no password sign-in offered")
	}
	continueAs(t, br, br.Ctx, nil)
	p := w.d.AwaitPending()
	if !strings.HasPrefix(w.shop.URL, "http://"+p.RedirectHost) {
		t.Fatalf("the dialog would show redirect host %q, want the shop's", p.RedirectHost)
	}
	if err := w.d.Control.Approve(t.Context(), p.ID); err != nil {
		t.Fatal(err)
	}
	if nick := signedInAs(t, br, w.shop.URL); nick != "Alice" {
		t.Fatalf("signed in as %q", nick)
	}
	if via := e2e.Run(br, br.Ctx, "via", chromedp.Text(chromedp.CSS("#via"))); via != "via OpenID Connect" {
		t.Fatalf("signed in %q", via)
	}
}

// TestOIDCPasswordInChromium: "Sign in with your password instead" on the
// hosted page of an OpenID Connect request, in Debian's chromium, whose
// CSP form-action covers the redirect after the form post: a wrong
// password keeps the person on the form and records nothing; the right
// one lands on Demo Shop signed in, with exactly one sign-in recorded.
func TestOIDCPasswordInChromium(t *testing.T) {
	w := newWorld(t, e2e.BackendOptions{}, e2e.DaemonOptions{Args: []string{"--no-dialog"}})
	w.d.Scanfreed("pause")
	br := e2e.NewBrowser(t, w.home)
	openPasswordForm(br, w)
	e2e.Run(br, br.Ctx, "password form", chromedp.WaitVisible(chromedp.CSS("#username")))
	br.Screenshot("oidc-password-form")

	e2e.Run(br, br.Ctx, "username", chromedp.SetValue(chromedp.CSS("#username"), "alice"))
	e2e.Run(br, br.Ctx, "wrong password", chromedp.SendKeys(chromedp.CSS("input[name=password]"), "not-her-password"))
	e2e.Run(br, br.Ctx, "submit", chromedp.Click(chromedp.CSS("button[type=submit]")))
	e2e.Run(br, br.Ctx, "the error", chromedp.WaitVisible(chromedp.CSS("[role=alert]")))
	if loc := e2e.Run(br, br.Ctx, "location", chromedp.Location()); !strings.HasPrefix(loc, w.b.PublicURL+"/login") {
		t.Fatalf("after a wrong password the browser is at %s", loc)
	}

	e2e.Run(br, br.Ctx, "right password", chromedp.SendKeys(chromedp.CSS("input[name=password]"), "alice-password"))
	e2e.Run(br, br.Ctx, "submit", chromedp.Click(chromedp.CSS("button[type=submit]")))
	if nick := signedInAs(t, br, w.shop.URL); nick != "Alice" {
		t.Fatalf("signed in as %q (screenshot %s)", nick, br.Screenshot("oidc-password"))
	}
	if via := e2e.Run(br, br.Ctx, "via", chromedp.Text(chromedp.CSS("#via"))); via != "via OpenID Connect" {
		t.Fatalf("signed in %q", via)
	}
	br.Screenshot("oidc-password-signed-in")

	// The browser is signed in at the backend now: its account page lists
	// the one sign-in the password made, and no phantom from the failure.
	e2e.Run(br, br.Ctx, "account page", chromedp.Navigate(w.b.PublicURL+"/account"))
	recent := e2e.Run(br, br.Ctx, "recent sign-ins", chromedp.Text(chromedp.CSS("section[aria-labelledby=recent]")))
	if n := strings.Count(recent, "Demo Shop"); n != 1 || !strings.Contains(recent, "Password") {
		t.Fatalf("recent sign-ins list %d sign-ins to Demo Shop, want 1: %q", n, recent)
	}

	// Her "Sign out everywhere" button, clicked in the browser (the page's
	// CSP form-action and the cross-site check both in play): she lands on
	// the sign-in page, and the account page no longer knows this browser.
	e2e.Run(br, br.Ctx, "click Sign out everywhere", chromedp.Click(chromedp.CSS(`form[action="/account/signout-everywhere"] button`)))
	e2e.Run(br, br.Ctx, "the sign-in page", chromedp.WaitVisible(chromedp.CSS("#username")))
	if loc := e2e.Run(br, br.Ctx, "location", chromedp.Location()); !strings.HasPrefix(loc, w.b.PublicURL+"/login") {
		t.Fatalf("after signing out everywhere the browser is at %s (screenshot %s)", loc, br.Screenshot("signout-everywhere"))
	}
	e2e.Run(br, br.Ctx, "account page again", chromedp.Navigate(w.b.PublicURL+"/account"))
	if loc := e2e.Run(br, br.Ctx, "location", chromedp.Location()); !strings.HasPrefix(loc, w.b.PublicURL+"/login") {
		t.Fatalf("the account page still opens after signing out everywhere: %s", loc)
	}
}
