package server_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/pquerna/otp/totp"

	"github.com/scanfree/scanfree/backend/admin"
	"github.com/scanfree/scanfree/backend/server"
	"github.com/scanfree/scanfree/backend/storage"
	"github.com/scanfree/scanfree/internal/secret"
)

// withTOTP gives username an authenticator app with secret sec.
func withTOTP(t *testing.T, e *env, username, sec string) {
	t.Helper()
	u := mustUser(t, e, username)
	if err := e.store.SetTOTP(context.Background(), storage.TOTP{UserID: u.ID, CreatedAt: e.clock(),
		SecretSealed: secret.Seal(testDataKey, secret.PurposeTOTP, []byte(sec), []byte(u.ID))}, nil); err != nil {
		t.Fatal(err)
	}
}

// signedIn reports whether b's session opens the account page.
func signedIn(b *browser) bool {
	resp, _ := b.get("/account")
	return resp.StatusCode == http.StatusOK
}

// TestPasswordPolicySecondFactor: with --password-signin=second-factor a
// right password alone yields no session and no code on any path that
// takes one (the login form, the OIDC face's password page, the phone
// page behind a QR code, the /device page), and a password-only session
// from before the change no longer counts; after the password, an
// authenticator code or the person's own passkey signs in.
func TestPasswordPolicySecondFactor(t *testing.T) {
	e, origin := passkeyEnv(t, func(c *server.Config) { c.PasswordSignin = storage.PasswordSecondFactor })
	e.user("alice")
	e.user("tess")
	e.user("bob")
	app := e.app(admin.AppSpec{RedirectURIs: []string{oidcRedirect}, FastLogin: true})
	const sec = "JBSWY3DPEHPK3PXP"
	withTOTP(t, e, "tess", sec)

	// A session made with a password alone before the policy changed.
	old := e.browser()
	old.sessionAs("alice", "password")
	if signedIn(old) {
		t.Fatal("a password-only session counts under second-factor")
	}

	// Every path: a right password and nothing else.
	tk := e.ticket(app)
	hosted := oidcPasswordNext(t, e, app)
	for _, next := range []string{"/account", "/device", "/x/" + tk, hosted} {
		t.Run("password alone to "+strings.SplitN(next, "?", 2)[0], func(t *testing.T) {
			b := e.browser()
			resp, body := b.post("/login", url.Values{"username": {"alice"}, "password": {"alice-password"}, "next": {next}}, nil)
			if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "also needs a passkey or an authenticator code") {
				t.Fatalf("%d %s %.300s", resp.StatusCode, resp.Header.Get("Location"), body)
			}
			if signedIn(b) {
				t.Fatal("a session from a password alone")
			}
		})
	}
	evs, _ := e.store.QueryEvents(context.Background(), storage.EventQuery{Kinds: []string{"signin_refused"}, Limit: 1})
	if len(evs) != 1 || evs[0].Reason != "no_second_factor" {
		t.Fatalf("the refusal logged as %+v", evs)
	}
	if st, _ := e.store.GetTicket(context.Background(), tk); st.Status != storage.TicketWaiting {
		t.Fatalf("the QR code after a password alone: %v", st.Status)
	}

	// With an authenticator app: the password asks for its code.
	b := e.browser()
	resp, body := b.post("/login", url.Values{"username": {"tess"}, "password": {"tess-password"}, "next": {"/account"}}, nil)
	m := stepRE.FindStringSubmatch(body)
	if resp.StatusCode != http.StatusOK || m == nil || signedIn(b) {
		t.Fatalf("tess's password: %d %.300s", resp.StatusCode, body)
	}
	code, _ := totp.GenerateCode(sec, e.clock())
	if resp, _ := b.post("/login/code", url.Values{"step": {html.UnescapeString(m[1])}, "code": {code}}, nil); resp.StatusCode != http.StatusSeeOther || !signedIn(b) {
		t.Fatalf("password and code: %d", resp.StatusCode)
	}

	// With a passkey: the password asks for it, and only hers will do.
	reg := e.browser()
	reg.sessionAs("alice", "desktop")
	key := registerPasskey(t, reg, origin, "Laptop")
	bobReg := e.browser()
	bobReg.sessionAs("bob", "desktop")
	bobKey := registerPasskey(t, bobReg, origin, "Bob's")
	step := func(b *browser) (string, string) {
		resp, body := b.post("/login", url.Values{"username": {"alice"}, "password": {"alice-password"}, "next": {"/account"}}, nil)
		m := stepRE.FindStringSubmatch(body)
		if resp.StatusCode != http.StatusOK || m == nil || strings.Contains(body, `name="code"`) {
			t.Fatalf("alice's password with a passkey: %d %.400s", resp.StatusCode, body)
		}
		return html.UnescapeString(m[1]), dataOptions(t, body)
	}
	b = e.browser()
	st, opts := step(b)
	answer, _ := bobKey.Assert(opts)
	if resp, body := b.post("/login/passkey", url.Values{"step": {st}, "credential": {answer}}, nil); resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "someone else") || signedIn(b) {
		t.Fatalf("bob's passkey after alice's password: %d %.300s", resp.StatusCode, body)
	}
	st, opts = step(b)
	answer, _ = key.Assert(opts)
	if resp, _ := b.post("/login/passkey", url.Values{"step": {st}, "credential": {answer}}, nil); resp.StatusCode != http.StatusSeeOther || !signedIn(b) {
		t.Fatalf("her passkey after her password: %d", resp.StatusCode)
	}
}

// TestPasswordPolicyOff: with --password-signin=off the form is gone,
// a direct post of a right password is refused and logged, and a passkey
// still signs in.
func TestPasswordPolicyOff(t *testing.T) {
	e, origin := passkeyEnv(t, func(c *server.Config) { c.PasswordSignin = storage.PasswordOff })
	e.user("alice")
	b := e.browser()
	_, page := b.get("/login")
	if strings.Contains(page, `action="/login"`) || strings.Contains(page, `id="password"`) || !strings.Contains(page, `id="no-password"`) || !strings.Contains(page, "passkey-signin") {
		t.Fatalf("the login page under off: %s", page)
	}
	resp, body := b.post("/login", url.Values{"username": {"alice"}, "password": {"alice-password"}, "next": {"/account"}}, nil)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "turned off") || signedIn(b) {
		t.Fatalf("a password posted under off: %d %.300s", resp.StatusCode, body)
	}
	evs, _ := e.store.QueryEvents(context.Background(), storage.EventQuery{Kinds: []string{"signin_refused"}, Limit: 1})
	if len(evs) != 1 || evs[0].Reason != "password_off" {
		t.Fatalf("logged %+v", evs)
	}
	reg := e.browser()
	reg.sessionAs("alice", "phone")
	key := registerPasskey(t, reg, origin, "Phone")
	in := e.browser()
	if resp, _ := passkeyLogin(t, in, key, "/account", nil); resp.StatusCode != http.StatusSeeOther || !signedIn(in) {
		t.Fatalf("a passkey under off: %d", resp.StatusCode)
	}
}

// TestPasswordPolicyPerApp: the server takes a password alone, one app
// does not: its OIDC password form wants a second factor, a password
// session does not sign in to it silently, and a phone signed in with a
// password alone cannot approve its QR code; another app is unchanged.
func TestPasswordPolicyPerApp(t *testing.T) {
	e, _ := passkeyEnv(t, nil)
	e.user("alice")
	strict := e.app(admin.AppSpec{Name: "Payroll", RedirectURIs: []string{oidcRedirect}, FastLogin: true,
		Fence: storage.Fence{PasswordSignin: storage.PasswordSecondFactor}})
	lax := e.app(admin.AppSpec{Name: "Canteen", RedirectURIs: []string{oidcRedirect}, FastLogin: true})

	b := e.browser()
	resp, body := b.post("/login", url.Values{"username": {"alice"}, "password": {"alice-password"}, "next": {oidcPasswordNext(t, e, strict)}}, nil)
	if resp.StatusCode != http.StatusForbidden || strings.HasPrefix(resp.Header.Get("Location"), oidcRedirect) {
		t.Fatalf("Payroll by password alone: %d %s %.200s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	resp, _ = b.post("/login", url.Values{"username": {"alice"}, "password": {"alice-password"}, "next": {oidcPasswordNext(t, e, lax)}}, nil)
	if q := query(t, resp.Header.Get("Location"), oidcRedirect); q.Get("code") == "" {
		t.Fatalf("Canteen by password: %v", q)
	}
	// Her password session now exists; it signs in to neither app silently
	// where that app wants more.
	for _, c := range []struct {
		app  admin.NewApp
		want string
	}{{strict, "login_required"}, {lax, ""}} { // Canteen was allowed just now
		resp, _ := b.get("/oauth2/authorize?" + url.Values{"client_id": {c.app.AppID}, "redirect_uri": {oidcRedirect}, "response_type": {"code"},
			"scope": {"openid"}, "state": {"s"}, "prompt": {"none"}, "code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"},
			"code_challenge_method": {"S256"}}.Encode())
		q := query(t, resp.Header.Get("Location"), oidcRedirect)
		if q.Get("error") != c.want || (c.want == "" && q.Get("code") == "") {
			t.Fatalf("prompt=none to %s with a password session: %v", c.app.Name, q)
		}
	}
	// Her phone, signed in with a password alone, scans Payroll's QR code.
	tk := e.ticket(strict)
	resp, body = b.get("/x/" + tk)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "Payroll needs more than a password") || !strings.Contains(body, "passkey") {
		t.Fatalf("the phone page for Payroll: %d %.400s", resp.StatusCode, body)
	}
	if resp, _ := b.post("/x/"+tk, url.Values{"decision": {"allow"}}, nil); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("allow Payroll from a password session: %d", resp.StatusCode)
	}
	if st, _ := e.store.GetTicket(context.Background(), tk); st.Status != storage.TicketWaiting {
		t.Fatalf("Payroll's QR code after a password phone: %v", st.Status)
	}
	if resp, body := b.get("/x/" + e.ticket(lax)); resp.StatusCode != http.StatusOK || !strings.Contains(body, "Canteen") {
		t.Fatalf("the phone page for Canteen: %d", resp.StatusCode)
	}
}

// ticket makes a QR ticket for app, as its hosted page does.
func (e *env) ticket(app admin.NewApp) string {
	e.t.Helper()
	var tk struct{ UUID string }
	resp := e.do("POST", "/connect/qrticket", http.Header{"Content-Type": {"application/json"}},
		strings.NewReader(`{"appid":"`+app.AppID+`","redirect_uri":"`+oidcRedirect+`","scope":"snsapi_login","state":"st"}`), &tk)
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("qrticket: %d", resp.StatusCode)
	}
	return tk.UUID
}

// oidcPasswordNext is where the password form of a fresh OpenID Connect
// request of app goes on to (its hosted page's password link's next).
func oidcPasswordNext(t *testing.T, e *env, app admin.NewApp) string {
	t.Helper()
	_, hosted := e.browser().get("/oauth2/authorize?" + url.Values{"client_id": {app.AppID}, "redirect_uri": {oidcRedirect}, "response_type": {"code"},
		"scope": {"openid"}, "state": {"st"}, "code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"}, "code_challenge_method": {"S256"}}.Encode())
	lu, err := url.Parse(passwordLink(t, hosted))
	if err != nil {
		t.Fatal(err)
	}
	return lu.Query().Get("next")
}

// TestPasswordPolicyConsole: an operator sets an app's password policy
// on its console page; a value that is no policy is refused.
func TestPasswordPolicyConsole(t *testing.T) {
	e, _ := passkeyEnv(t, nil)
	e.user("boss")
	if err := e.store.SetRole(context.Background(), mustUser(t, e, "boss").ID, storage.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	app := e.app(admin.AppSpec{Name: "Payroll", RedirectURIs: []string{oidcRedirect}, FastLogin: true})
	op := e.browser()
	op.sessionAs("boss", "passkey")
	_, page := op.get("/admin/apps/" + app.AppID)
	if !strings.Contains(page, `id="password-signin"`) || !strings.Contains(page, "as the server (on)") {
		t.Fatalf("the app page has no password policy: %s", page)
	}
	edit := func(policy string) int {
		resp, _ := op.post("/admin/apps/"+app.AppID+"/edit", url.Values{"name": {"Payroll"}, "redirect_uris": {oidcRedirect}, "alg": {"RS256"},
			"fast_login": {"on"}, "password_signin": {policy}}, nil)
		return resp.StatusCode
	}
	if status := edit("second-factor"); status != http.StatusSeeOther {
		t.Fatalf("saving second-factor: %d", status)
	}
	if a, _ := e.store.GetApp(context.Background(), app.AppID); a.Fence.PasswordSignin != storage.PasswordSecondFactor {
		t.Fatalf("stored %q", a.Fence.PasswordSignin)
	}
	if status := edit("sometimes"); status < 400 {
		t.Fatalf("saving a policy that is none: %d", status)
	}
	if a, _ := e.store.GetApp(context.Background(), app.AppID); a.Fence.PasswordSignin != storage.PasswordSecondFactor {
		t.Fatalf("after a refused edit: %q", a.Fence.PasswordSignin)
	}
}
