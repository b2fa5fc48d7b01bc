package web_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/scanfree/scanfree/internal/e2e"
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
