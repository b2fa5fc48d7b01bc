package web_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/scanfree/scanfree/internal/harness/e2e"
	"github.com/scanfree/scanfree/internal/harness/testutil"
)

// addAuthenticator gives br's tab a virtual platform authenticator as
// DevTools makes one: CTAP2, internal transport, resident keys, user
// verification that succeeds.
func addAuthenticator(t *testing.T, br *e2e.Browser) webauthn.AuthenticatorID {
	t.Helper()
	var id webauthn.AuthenticatorID
	e2e.Run(br, br.Ctx, "a virtual authenticator", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		if _, err := cdp.Call(ctx, tg, webauthn.Enable, webauthn.EnableParams{}); err != nil {
			return err
		}
		res, err := cdp.Call(ctx, tg, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{Options: &webauthn.VirtualAuthenticatorOptions{
			Protocol: webauthn.AuthenticatorProtocolCtap2, Transport: webauthn.AuthenticatorTransportInternal, HasResidentKey: true,
			HasUserVerification: true, IsUserVerified: true, AutomaticPresenceSimulation: true}})
		id = res.AuthenticatorID
		return err
	}))
	return id
}

// credentials returns the credentials authenticator id holds.
func credentials(t *testing.T, br *e2e.Browser, id webauthn.AuthenticatorID) []*webauthn.Credential {
	t.Helper()
	var creds []*webauthn.Credential
	e2e.Run(br, br.Ctx, "the authenticator's credentials", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		res, err := cdp.Call(ctx, tg, webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: id})
		creds = res.Credentials
		return err
	}))
	return creds
}

// copyCredential puts c, with signature counter count, into a new
// authenticator of br: the same passkey on another device.
func copyCredential(t *testing.T, br *e2e.Browser, c *webauthn.Credential, count float64) {
	t.Helper()
	id := addAuthenticator(t, br)
	cp := plainCredential{CredentialID: c.CredentialID, IsResidentCredential: true, RpID: c.RpID, PrivateKey: c.PrivateKey,
		UserHandle: c.UserHandle, SignCount: count}
	e2e.Run(br, br.Ctx, "copy the passkey", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, addCredential, addCredentialParams{AuthenticatorID: id, Credential: cp})
		return err
	}))
}

// noAutofill makes br's pages see a browser without conditional
// mediation: a virtual authenticator would answer the autofill request
// at once, before the button could be clicked.
func noAutofill(t *testing.T, br *e2e.Browser) {
	t.Helper()
	e2e.Run(br, br.Ctx, "no passkey autofill", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
			Source: `if (window.PublicKeyCredential) PublicKeyCredential.isConditionalMediationAvailable = () => Promise.resolve(false);`})
		return err
	}))
}

// plainCredential is webauthn.Credential without the fields this
// chromium refuses when they are sent at all (the CMTG extension's).
type plainCredential struct {
	CredentialID         []byte  `json:"credentialId"`
	IsResidentCredential bool    `json:"isResidentCredential"`
	RpID                 string  `json:"rpId"`
	PrivateKey           []byte  `json:"privateKey"`
	UserHandle           []byte  `json:"userHandle"`
	SignCount            float64 `json:"signCount"`
}

type addCredentialParams struct {
	AuthenticatorID webauthn.AuthenticatorID `json:"authenticatorId"`
	Credential      plainCredential          `json:"credential"`
}

var addCredential = cdp.Command[addCredentialParams, cdp.Empty]{Method: webauthn.CommandAddCredential}

// passkeySignIn clicks "Sign in with a passkey" on the page br shows.
func passkeySignIn(br *e2e.Browser) {
	e2e.Run(br, br.Ctx, "the passkey button", chromedp.WaitVisible(chromedp.CSS("#passkey-signin")))
	e2e.Run(br, br.Ctx, "click Sign in with a passkey", chromedp.Click(chromedp.CSS("#passkey-signin")))
}

// registerPasskey has alice, in br, confirm with her desktop and add a
// passkey named name from her account page, which then lists it.
func registerPasskey(t *testing.T, w *world, br *e2e.Browser, name string) {
	t.Helper()
	// Registering needs a fresh confirmation beyond a password: her desktop.
	e2e.Run(br, br.Ctx, "open Add a passkey", chromedp.Navigate(w.b.PublicURL+"/account/passkeys/new"))
	e2e.Run(br, br.Ctx, "sign in with the desktop", chromedp.Click(chromedp.CSS("#self-signin")))
	continueAs(t, br, br.Ctx, nil)
	if err := w.d.Control.Approve(t.Context(), w.d.AwaitPending().ID); err != nil {
		t.Fatal(err)
	}
	e2e.Run(br, br.Ctx, "the passkey form", chromedp.WaitVisible(chromedp.CSS("#passkey-create")))
	br.Screenshot("passkey-new")
	e2e.Run(br, br.Ctx, "name it", chromedp.SetValue(chromedp.CSS("#passkey-name"), name))
	e2e.Run(br, br.Ctx, "click Create the passkey", chromedp.Click(chromedp.CSS("#passkey-create")))
	e2e.Run(br, br.Ctx, "her passkeys", chromedp.WaitVisible(chromedp.CSS("#passkey-list")))
	br.Screenshot("passkey-list")
	if list := e2e.Run(br, br.Ctx, "the list", chromedp.Evaluate[string](`document.querySelector("#passkey-list input[name=name]").value`)); list != name {
		t.Fatalf("the account page lists %q", list)
	}
}

// TestPasskeyInChromium: in Debian's chromium with a virtual
// authenticator, alice confirms with her desktop and registers a passkey
// from her account page; signs in with it (no username) to Demo Shop on
// the OIDC face and on the WeChat face (framed: the link goes to the
// top); a phone, signed out, offers the passkey first and names the app
// and the computer; the phone holding the same passkey signs in on the page
// behind a QR code and approves the desktop's sign-in; an authenticator
// holding a copy whose counter went back is refused and logged; and a
// backend on another host cannot use the passkey at all (its RP ID).
func TestPasskeyInChromium(t *testing.T) {
	w := newWorld(t, e2e.BackendOptions{}, e2e.DaemonOptions{Args: []string{"--no-dialog"}})
	br := e2e.NewBrowser(t, w.home)
	auth := addAuthenticator(t, br)

	registerPasskey(t, w, br, "Test laptop")
	creds := credentials(t, br, auth)
	if len(creds) != 1 || !creds[0].IsResidentCredential || string(creds[0].UserHandle) == "" {
		t.Fatalf("the authenticator holds %+v, want one discoverable passkey", creds)
	}

	// Signed out, she signs in to Demo Shop on the OIDC face with it.
	// Signed out, the login page's autofill (conditional mediation) offers
	// her passkey; the virtual authenticator picks it at once, as she
	// would from the list, and she is back on her account page.
	e2e.Run(br, br.Ctx, "sign out", chromedp.Click(chromedp.CSS(`form[action="/logout"] button`)))
	testutil.Eventually(t, 20*time.Second, "the autofill sign-in in the log", func() bool {
		return strings.Count(w.b.CLI("", "events", "--user", "alice", "--method", "passkey", "--csv"), `with passkey ""Test laptop""`) == 1
	})
	// Polled from here: the page navigates under a poll inside it.
	testutil.Eventually(t, 20*time.Second, "back on her account page", func() bool {
		ctx, cancel := context.WithTimeout(br.Ctx, 2*time.Second)
		defer cancel()
		there, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`location.pathname == "/account" && document.getElementById("passkey-list") !== null`))
		return err == nil && there
	})

	// From here the browsers offer no autofill, so the button is what signs in.
	noAutofill(t, br)
	e2e.Run(br, br.Ctx, "sign out", chromedp.Click(chromedp.CSS(`form[action="/logout"] button`)))
	e2e.Run(br, br.Ctx, "signed out", chromedp.WaitVisible(chromedp.CSS("#password")))
	w.d.Scanfreed("pause") // the hosted page shows the QR code and the password link
	openPasswordForm(br, w)
	passkeySignIn(br)
	if nick := signedInAs(t, br, w.shop.URL); nick != "Alice" {
		t.Fatalf("signed in to Demo Shop as %q", nick)
	}
	if out := w.b.CLI("", "events", "--user", "alice", "--method", "passkey", "--csv"); !strings.Contains(out, "Demo Shop") {
		t.Fatalf("the sign-in log does not show the passkey sign-in to Demo Shop:\n%s", out)
	}

	// On the WeChat face (the hosted page framed in Demo Shop), the
	// passkey link opens the sign-in at the top and lands on the shop.
	e2e.Run(br, br.Ctx, "sign out of Demo Shop", chromedp.Click(chromedp.CSS(`form[action="/logout"] button`)))
	e2e.Run(br, br.Ctx, "signed out of Demo Shop", chromedp.WaitVisible(chromedp.CSS("#signin")))
	fctx, opts := openLogin(t, w, br)
	// The QR code first: the link moves down when it appears, and a click
	// aimed before that would land on the code.
	e2e.Run(br, fctx, "the QR code (the page has its answer)", chromedp.WaitVisible(chromedp.CSS("#qrimg"), opts...))
	e2e.Run(br, fctx, "the passkey link", chromedp.WaitVisible(chromedp.CSS("#passkey"), opts...))
	e2e.Run(br, fctx, "click Sign in with a passkey instead", chromedp.Click(chromedp.CSS("#passkey"), opts...))
	passkeySignIn(br)
	if nick := signedInAs(t, br, w.shop.URL); nick != "Alice" {
		t.Fatalf("signed in on the WeChat face as %q", nick)
	}

	// A phone with the same (synced) passkey signs in behind the QR code.
	e2e.Run(br, br.Ctx, "sign out of Demo Shop", chromedp.Click(chromedp.CSS(`form[action="/logout"] button`)))
	e2e.Run(br, br.Ctx, "signed out of Demo Shop", chromedp.WaitVisible(chromedp.CSS("#signin")))
	fctx, opts = openLogin(t, w, br)
	qrURL := decodeQR(t, br, fctx, opts)
	ph := e2e.NewBrowser(t, t.TempDir())
	noAutofill(t, ph)
	copyCredential(t, ph, credentials(t, br, auth)[0], credentials(t, br, auth)[0].SignCount)
	e2e.Run(ph, ph.Ctx, "open the QR URL", chromedp.Navigate(qrURL))
	// Not signed in, the phone offers the passkey first and says what it approves.
	first := e2e.Run(ph, ph.Ctx, "the first control", chromedp.Evaluate[string](`document.querySelector("main button, main input:not([type=hidden])").id`))
	approving := e2e.Run(ph, ph.Ctx, "what it approves", chromedp.Text(chromedp.CSS("#approving")))
	if first != "passkey-signin" || !strings.Contains(approving, "Demo Shop") || !strings.Contains(approving, "Chrome on Linux, 127.0.0.1") {
		t.Fatalf("the phone's sign-in page starts with #%s and says %q", first, approving)
	}
	ph.Screenshot("phone-first-signin")
	passkeySignIn(ph)
	e2e.Run(ph, ph.Ctx, "the question", chromedp.WaitVisible(chromedp.CSS("button[value=scan]")))
	if q := e2e.Run(ph, ph.Ctx, "question text", chromedp.Text(chromedp.CSS("main"))); !strings.Contains(q, "Sign in to Demo Shop on your computer") {
		t.Fatalf("phone page says %q", q)
	}
	claim(ph)
	e2e.Run(ph, ph.Ctx, "Allow", chromedp.Click(chromedp.CSS("button[value=allow]")))
	if nick := signedInAs(t, br, w.shop.URL); nick != "Alice" {
		t.Fatalf("signed in by QR as %q", nick)
	}

	// A copy whose counter went back (a cloned authenticator) is refused.
	cl := e2e.NewBrowser(t, t.TempDir())
	noAutofill(t, cl)
	copyCredential(t, cl, creds[0], 0)
	e2e.Run(cl, cl.Ctx, "open the login page", chromedp.Navigate(w.b.PublicURL+"/login"))
	passkeySignIn(cl)
	e2e.Run(cl, cl.Ctx, "the refusal", chromedp.WaitVisible(chromedp.CSS("p.error")))
	if msg := e2e.Run(cl, cl.Ctx, "refusal text", chromedp.Text(chromedp.CSS("p.error"))); !strings.Contains(msg, "looks copied") {
		t.Fatalf("a cloned passkey got %q", msg)
	}
	cl.Screenshot("passkey-cloned")
	if out := w.b.CLI("", "events", "--user", "alice", "--csv"); !strings.Contains(out, "passkey_cloned") || !strings.Contains(out, "signature counter") {
		t.Fatalf("the clone is not in her log:\n%s", out)
	}

	// Another backend (another host, so another RP ID) cannot use it.
	other := e2e.StartBackendWith(t, e2e.BackendOptions{PublicHost: "other.localhost"})
	e2e.Run(br, br.Ctx, "the other backend's login page", chromedp.Navigate(other.PublicURL+"/login"))
	passkeySignIn(br)
	e2e.Run(br, br.Ctx, "no passkey for this site", chromedp.WaitVisible(chromedp.CSS(".passkey-error")))
	br.Screenshot("passkey-other-site")
	if loc := e2e.Run(br, br.Ctx, "still on its login page", chromedp.Location()); !strings.HasPrefix(loc, other.PublicURL+"/login") {
		t.Fatalf("the other backend went on to %s", loc)
	}
}
