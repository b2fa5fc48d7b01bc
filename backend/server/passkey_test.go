package server_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/scanfree/scanfree/backend/admin"
	"github.com/scanfree/scanfree/backend/server"
	"github.com/scanfree/scanfree/backend/storage"
	"github.com/scanfree/scanfree/internal/harness/softkey"
	"github.com/scanfree/scanfree/internal/secret"
)

// passkeyEnv is a server whose public host can be a WebAuthn RP ID
// (idp.localhost; requests still go to its loopback address).
func passkeyEnv(t *testing.T, mod func(*server.Config)) (*env, string) {
	t.Helper()
	e := newEnvWith(t, func(c *server.Config) {
		c.PublicURL = strings.Replace(c.PublicURL, "127.0.0.1", "idp.localhost", 1)
		c.DataKey = testDataKey
		if mod != nil {
			mod(c)
		}
	})
	return e, strings.Replace(e.url, "127.0.0.1", "idp.localhost", 1)
}

// sessionAs signs b in as username the way how names (a session as
// startSession makes it), as of now.
func (b *browser) sessionAs(username, how string) {
	b.e.t.Helper()
	u := mustUser(b.e.t, b.e, username)
	tok := secret.Token()
	now := b.e.clock()
	if err := b.e.store.CreateSession(context.Background(), storage.Session{Hash: secret.Hash(tok), UserID: u.ID, CreatedAt: now,
		ExpiresAt: now.Add(time.Hour), LastSeenAt: now, Method: how}); err != nil {
		b.e.t.Fatal(err)
	}
	base, _ := url.Parse(b.e.url)
	b.c.Jar.SetCookies(base, []*http.Cookie{{Name: "scanfree_session", Value: tok, Path: "/"}})
}

var optionsAttr = regexp.MustCompile(`data-options="([^"]*)"`)

// dataOptions is the WebAuthn options a page gives its script.
func dataOptions(t *testing.T, page string) string {
	t.Helper()
	m := optionsAttr.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("the page offers no passkey: %.600s", page)
	}
	return html.UnescapeString(m[1])
}

// registerPasskey adds a passkey called name for b's person, who must be
// signed in with more than a password.
func registerPasskey(t *testing.T, b *browser, origin, name string) *softkey.Key {
	t.Helper()
	resp, page := b.get("/account/passkeys/new")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("Add a passkey: %d %s", resp.StatusCode, page)
	}
	key, answer, err := softkey.Register(dataOptions(t, page), origin)
	if err != nil {
		t.Fatal(err)
	}
	resp, body := b.post("/account/passkeys", url.Values{"name": {name}, "credential": {answer}}, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/account" {
		t.Fatalf("register: %d %s", resp.StatusCode, body)
	}
	return key
}

// passkeyLogin answers a fresh login page's challenge with key (as
// changed by tamper, if any) and posts it, going on to next.
func passkeyLogin(t *testing.T, b *browser, key *softkey.Key, next string, tamper func(answer string) string) (*http.Response, string) {
	t.Helper()
	_, page := b.get("/login")
	answer, err := key.Assert(dataOptions(t, page))
	if err != nil {
		t.Fatal(err)
	}
	if tamper != nil {
		answer = tamper(answer)
	}
	return b.post("/login/passkey", url.Values{"credential": {answer}, "next": {next}}, nil)
}

// TestPasskeyRegistration: only a recent sign-in with more than a
// password adds a passkey; the page's challenge is good once, for this
// person, and only answered by a verified user at this origin.
func TestPasskeyRegistration(t *testing.T) {
	e, origin := passkeyEnv(t, nil)
	e.user("alice")
	e.user("bob")

	pw := e.browser()
	pw.login("alice")
	if resp, body := pw.get("/account/passkeys/new"); resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "A password alone cannot add a passkey") {
		t.Fatalf("a password session adding a passkey: %d %s", resp.StatusCode, body)
	}
	e.advance(16 * time.Minute)
	if resp, _ := pw.get("/account/passkeys/new"); resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), "confirm=passkey") {
		t.Fatalf("an old session adding a passkey: %d → %s", resp.StatusCode, resp.Header.Get("Location"))
	}

	b := e.browser()
	b.sessionAs("alice", "desktop")
	_, page := b.get("/account/passkeys/new")
	opts := dataOptions(t, page)
	var o struct {
		PublicKey struct {
			RP                     struct{ ID string }
			AuthenticatorSelection struct{ ResidentKey, UserVerification string }
		}
	}
	json.Unmarshal([]byte(opts), &o)
	if o.PublicKey.RP.ID != "idp.localhost" || o.PublicKey.AuthenticatorSelection.ResidentKey != "required" || o.PublicKey.AuthenticatorSelection.UserVerification != "required" {
		t.Fatalf("creation options: %s", opts)
	}
	refused := func(name, options string, change func(k *softkey.Key)) {
		t.Helper()
		k, answer, err := softkey.Register(options, origin)
		if err != nil {
			t.Fatal(err)
		}
		if change != nil {
			change(k)
			_, answer, _ = softkey.Register(options, k.Origin)
		}
		if resp, body := b.post("/account/passkeys", url.Values{"name": {name}, "credential": {answer}}, nil); resp.StatusCode < 400 {
			t.Fatalf("%s: %d %s", name, resp.StatusCode, body)
		}
	}
	refused("another origin", opts, func(k *softkey.Key) { k.Origin = "http://evil.localhost:8080" })

	// A good one, then its answer again.
	_, page = b.get("/account/passkeys/new")
	_, answer, _ := softkey.Register(dataOptions(t, page), origin)
	if resp, body := b.post("/account/passkeys", url.Values{"name": {"Laptop"}, "credential": {answer}}, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("register: %d %s", resp.StatusCode, body)
	}
	if resp, body := b.post("/account/passkeys", url.Values{"name": {"Again"}, "credential": {answer}}, nil); resp.StatusCode < 400 {
		t.Fatalf("the same registration twice: %d %s", resp.StatusCode, body)
	}
	// Bob's challenge (bound to him) does not register for alice.
	bob := e.browser()
	bob.sessionAs("bob", "passkey")
	_, bobPage := bob.get("/account/passkeys/new")
	refused("bob's challenge", dataOptions(t, bobPage), nil)
	list, _ := e.store.ListPasskeys(context.Background(), mustUser(t, e, "alice").ID)
	if len(list) != 1 || list[0].Name != "Laptop" {
		t.Fatalf("her passkeys: %+v", list)
	}
	if _, body := b.get("/account"); !strings.Contains(body, `value="Laptop"`) {
		t.Fatalf("the account page does not list it: %s", body)
	}
}

// TestPasskeySignInAttacks: a passkey signs in once per challenge;
// replays, expired or forged challenges, another RP ID or origin, no user
// verification, a counter going back, an unknown credential or a user
// handle that is not its owner's are each refused and logged, and none
// leaves a session.
func TestPasskeySignInAttacks(t *testing.T) {
	e, origin := passkeyEnv(t, nil)
	e.user("alice")
	e.user("bob")
	b := e.browser()
	b.sessionAs("alice", "desktop")
	key := registerPasskey(t, b, origin, "Laptop")

	in := e.browser()
	resp, _ := passkeyLogin(t, in, key, "/account", nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/account" {
		t.Fatalf("passkey sign-in: %d → %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, _ := in.get("/account"); resp.StatusCode != http.StatusOK {
		t.Fatalf("no session after a passkey sign-in: %d", resp.StatusCode)
	}

	// The same answer again: its challenge was spent.
	_, page := e.browser().get("/login")
	opts := dataOptions(t, page)
	answer, _ := key.Assert(opts)
	first := e.browser()
	if resp, _ := first.post("/login/passkey", url.Values{"credential": {answer}}, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("first use: %d", resp.StatusCode)
	}
	cases := []struct {
		name, reason, want string
		answer             func() string
	}{
		{"replayed", "passkey_stale", "already used", func() string { return answer }},
		{"expired", "passkey_stale", "took too long", func() string {
			_, page := e.browser().get("/login")
			a, _ := key.Assert(dataOptions(t, page))
			e.advance(6 * time.Minute)
			return a
		}},
		{"forged challenge", "passkey_stale", "took too long", func() string {
			forged := strings.Replace(opts, `"challenge":"`, `"challenge":"`+base64.RawURLEncoding.EncodeToString(make([]byte, 30)), 1)
			a, _ := key.Assert(forged)
			return a
		}},
		{"another RP ID", "passkey_invalid", "did not verify", func() string { return withKey(t, e, key, func(k *softkey.Key) { k.RPID = "other.localhost" }) }},
		{"another origin", "passkey_invalid", "did not verify", func() string {
			return withKey(t, e, key, func(k *softkey.Key) { k.Origin = "http://idp.localhost.evil.example" })
		}},
		{"no user verification", "passkey_invalid", "did not verify", func() string { return withKey(t, e, key, func(k *softkey.Key) { k.NoUV = true }) }},
		{"unknown credential", "passkey_invalid", "did not verify", func() string { return withKey(t, e, key, func(k *softkey.Key) { k.ID = []byte("nobody-made-me") }) }},
		{"bob's user handle", "passkey_invalid", "did not verify", func() string {
			return withKey(t, e, key, func(k *softkey.Key) { k.UserHandle = []byte(mustUser(t, e, "bob").ID) })
		}},
		{"counter went back", "passkey_cloned", "looks copied", func() string { return withKey(t, e, key, func(k *softkey.Key) { k.Count = 0 }) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			br := e.browser()
			resp, body := br.post("/login/passkey", url.Values{"credential": {c.answer()}}, nil)
			if resp.StatusCode < 400 || !strings.Contains(body, c.want) {
				t.Fatalf("%d %.300s, want a refusal saying %q", resp.StatusCode, body, c.want)
			}
			if resp, _ := br.get("/account"); resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("a session after a refused passkey: %d", resp.StatusCode)
			}
			evs, _ := e.store.QueryEvents(context.Background(), storage.EventQuery{Kinds: []string{"signin_refused"}, Limit: 1})
			if len(evs) == 0 || evs[0].Reason != c.reason || evs[0].Method != storage.MethodPasskey {
				t.Fatalf("logged %+v, want reason %s", evs, c.reason)
			}
		})
	}
	alerts, _ := e.store.QueryEvents(context.Background(), storage.EventQuery{UserID: mustUser(t, e, "alice").ID, Kinds: []string{"alert"}})
	if len(alerts) != 1 || !strings.Contains(alerts[0].Detail, "signature counter") {
		t.Fatalf("the clone raised %+v, want one alert", alerts)
	}

	// A disabled person's passkey signs nobody in.
	if err := e.store.DisableUser(context.Background(), mustUser(t, e, "alice").ID, e.clock()); err != nil {
		t.Fatal(err)
	}
	if resp, body := passkeyLogin(t, e.browser(), key, "/account", nil); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a disabled person's passkey: %d %.200s", resp.StatusCode, body)
	}
}

// withKey answers a fresh challenge with a changed copy of key (whose
// counter still moves on, so that only the change is refused).
func withKey(t *testing.T, e *env, key *softkey.Key, change func(k *softkey.Key)) string {
	t.Helper()
	_, page := e.browser().get("/login")
	k := *key
	k.Count = key.Count + 10
	change(&k)
	a, err := k.Assert(dataOptions(t, page))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestPasskeyRemove: a passkey is renamed and removed by its person only;
// once removed it signs nobody in.
func TestPasskeyRemove(t *testing.T) {
	e, origin := passkeyEnv(t, nil)
	e.user("alice")
	e.user("bob")
	b := e.browser()
	b.sessionAs("alice", "desktop")
	key := registerPasskey(t, b, origin, "Laptop")
	ref := base64.RawURLEncoding.EncodeToString(key.ID)
	bob := e.browser()
	bob.login("bob")
	for _, path := range []string{"/account/passkeys/" + ref + "/rename", "/account/passkeys/" + ref + "/remove"} {
		if resp, _ := bob.post(path, url.Values{"name": {"Mine"}}, nil); resp.StatusCode != http.StatusNotFound {
			t.Fatalf("bob on %s: %d", path, resp.StatusCode)
		}
	}
	if resp, _ := b.post("/account/passkeys/"+ref+"/rename", url.Values{"name": {"Work laptop"}}, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("rename: %d", resp.StatusCode)
	}
	if resp, _ := b.post("/account/passkeys/"+ref+"/remove", nil, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("remove: %d", resp.StatusCode)
	}
	evs, _ := e.store.QueryEvents(context.Background(), storage.EventQuery{Kinds: []string{"passkey_removed"}})
	if len(evs) != 1 || !strings.Contains(evs[0].Detail, `"Work laptop"`) {
		t.Fatalf("removal logged as %+v", evs)
	}
	if resp, _ := passkeyLogin(t, e.browser(), key, "/account", nil); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a removed passkey: %d", resp.StatusCode)
	}
}

// TestPasskeyOIDC: on the OpenID Connect face's password page, a passkey
// completes the request: the id_token's amr says what kind of key it was
// ("hwk" bound to its device, "swk" synced), that the person was
// verified ("user") and that it was two factors ("mfa"); the sign-in log
// records the method.
func TestPasskeyOIDC(t *testing.T) {
	for _, c := range []struct {
		name   string
		synced bool
		amr    string
	}{{"device-bound", false, "hwk mfa user"}, {"synced", true, "mfa swk user"}} {
		t.Run(c.name, func(t *testing.T) {
			e, origin := passkeyEnv(t, nil)
			e.user("alice")
			app := e.app(admin.AppSpec{RedirectURIs: []string{oidcRedirect}})
			b := e.browser()
			b.sessionAs("alice", "desktop")
			key := registerPasskey(t, b, origin, "Laptop")
			key.BackupEligible = c.synced
			if c.synced { // what the authenticator said when it was made
				pk, _ := e.store.GetPasskey(context.Background(), key.ID)
				e.store.DeletePasskey(context.Background(), pk.UserID, pk.ID)
				var cred map[string]any
				json.Unmarshal(pk.Credential, &cred)
				cred["flags"].(map[string]any)["backupEligible"] = true
				pk.Credential, _ = json.Marshal(cred)
				pk.BackupEligible = true
				if err := e.store.AddPasskey(context.Background(), pk); err != nil {
					t.Fatal(err)
				}
			}
			verifier := "v-0123456789012345678901234567890123456789abc"
			digest := sha256.Sum256([]byte(verifier))
			sum := base64.RawURLEncoding.EncodeToString(digest[:])
			br := e.browser()
			_, hosted := br.get("/oauth2/authorize?" + url.Values{"client_id": {app.AppID}, "redirect_uri": {oidcRedirect}, "response_type": {"code"},
				"scope": {"openid"}, "state": {"st"}, "nonce": {"n"}, "code_challenge": {sum}, "code_challenge_method": {"S256"}}.Encode())
			lu, _ := url.Parse(passwordLink(t, hosted))
			resp, body := passkeyLogin(t, br, key, lu.Query().Get("next"), nil)
			q := query(t, resp.Header.Get("Location"), oidcRedirect)
			if q.Get("code") == "" {
				t.Fatalf("no code: %d %s %.300s", resp.StatusCode, resp.Header.Get("Location"), body)
			}
			var tok struct {
				IDToken string `json:"id_token"`
			}
			e.postForm("/oauth2/token", url.Values{"grant_type": {"authorization_code"}, "code": {q.Get("code")}, "redirect_uri": {oidcRedirect},
				"client_id": {app.AppID}, "client_secret": {app.Secret}, "code_verifier": {verifier}}, &tok)
			parts := strings.Split(tok.IDToken, ".")
			if len(parts) != 3 {
				t.Fatalf("id_token %q", tok.IDToken)
			}
			payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
			var cl struct {
				AMR []string `json:"amr"`
			}
			json.Unmarshal(payload, &cl)
			if got := strings.Join(cl.AMR, " "); got != c.amr {
				t.Fatalf("amr %q, want %q", got, c.amr)
			}
			evs, _ := e.store.QueryEvents(context.Background(), storage.EventQuery{Kinds: []string{"signin"}, Method: storage.MethodPasskey})
			if len(evs) != 1 || evs[0].AppID != app.AppID {
				t.Fatalf("the sign-in log has %+v", evs)
			}
		})
	}
}

// TestPasskeyConsole: an operator sees a person's passkeys on her
// console page and removes one (a lost laptop); an auditor sees them and
// cannot; the removal is in her log, naming the operator.
func TestPasskeyConsole(t *testing.T) {
	e, origin := passkeyEnv(t, nil)
	e.user("alice")
	e.user("boss")
	e.user("audrey")
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(e.store.SetRole(ctx, mustUser(t, e, "boss").ID, storage.RoleAdmin))
	must(e.store.SetRole(ctx, mustUser(t, e, "audrey").ID, storage.RoleAuditor))
	b := e.browser()
	b.sessionAs("alice", "desktop")
	key := registerPasskey(t, b, origin, "Lost laptop")
	ref := base64.RawURLEncoding.EncodeToString(key.ID)

	auditor := e.browser()
	auditor.sessionAs("audrey", "desktop")
	if _, page := auditor.get("/admin/people/alice"); !strings.Contains(page, "Lost laptop") || strings.Contains(page, "remove-passkey") {
		t.Fatalf("the auditor's view of alice: %s", page)
	}
	if resp, _ := auditor.post("/admin/people/alice/remove-passkey", url.Values{"id": {ref}}, nil); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("an auditor removing a passkey: %d", resp.StatusCode)
	}
	admin := e.browser()
	admin.sessionAs("boss", "desktop")
	if resp, body := admin.post("/admin/people/alice/remove-passkey", url.Values{"id": {ref}}, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("removing it: %d %.300s", resp.StatusCode, body)
	}
	if list, _ := e.store.ListPasskeys(ctx, mustUser(t, e, "alice").ID); len(list) != 0 {
		t.Fatalf("after removal: %+v", list)
	}
	evs, _ := e.store.QueryEvents(ctx, storage.EventQuery{Kinds: []string{"passkey_removed"}})
	if len(evs) != 1 || !strings.Contains(evs[0].Detail, "Lost laptop") || !strings.Contains(evs[0].Detail, "boss") {
		t.Fatalf("logged %+v", evs)
	}
	if resp, _ := passkeyLogin(t, e.browser(), key, "/account", nil); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("the removed passkey: %d", resp.StatusCode)
	}
}

// TestPasskeyWeChatFace: the WeChat face's hosted page links to a passkey
// sign-in; that page takes no password, names the app, and its passkey
// post gives one code to the registered redirect_uri with the state,
// which redeems at /sns/oauth2/access_token; the same answer again gives
// nothing, and a request for a redirect_uri the app did not register
// gets no passkey page at all.
func TestPasskeyWeChatFace(t *testing.T) {
	e, origin := passkeyEnv(t, nil)
	e.user("alice")
	app := e.app(admin.AppSpec{FastLogin: true})
	b := e.browser()
	b.sessionAs("alice", "desktop")
	key := registerPasskey(t, b, origin, "Laptop")

	br := e.browser()
	_, hosted := br.get("/connect/qrconnect?" + url.Values{"appid": {app.AppID}, "redirect_uri": {"http://shop.localhost:8081/callback"},
		"response_type": {"code"}, "scope": {"snsapi_login"}, "state": {"xyz"}}.Encode())
	m := regexp.MustCompile(`id="passkey" href="([^"]+)"`).FindStringSubmatch(hosted)
	if m == nil {
		t.Fatalf("no passkey link on the WeChat hosted page: %s", hosted)
	}
	link := html.UnescapeString(m[1])
	resp, page := br.get(link)
	if resp.StatusCode != http.StatusOK || strings.Contains(page, `id="password"`) || !strings.Contains(page, "Demo Shop") ||
		!strings.Contains(resp.Header.Get("Content-Security-Policy"), "form-action 'self' http://shop.localhost:8081") {
		t.Fatalf("the passkey page: %d %s %s", resp.StatusCode, resp.Header.Get("Content-Security-Policy"), page)
	}
	lu, _ := url.Parse(link)
	next := lu.Query().Get("next")
	answer, _ := key.Assert(dataOptions(t, page))
	resp, body := br.post("/login/passkey", url.Values{"credential": {answer}, "next": {next}}, nil)
	q := query(t, resp.Header.Get("Location"), "http://shop.localhost:8081/callback")
	if q.Get("code") == "" || q.Get("state") != "xyz" {
		t.Fatalf("the passkey post: %d %s %.300s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	if tok := e.exchange(app, q.Get("code")); tok.OpenID == "" {
		t.Fatalf("the code does not redeem: %+v", tok)
	}
	if resp, _ := e.browser().post("/login/passkey", url.Values{"credential": {answer}, "next": {next}}, nil); strings.Contains(resp.Header.Get("Location"), "code=") {
		t.Fatalf("the same answer gave a second code: %s", resp.Header.Get("Location"))
	}
	evil := strings.Replace(next, url.QueryEscape("http://shop.localhost:8081/callback"), url.QueryEscape("http://evil.localhost/cb"), 1)
	_, page = br.get("/login?" + url.Values{"next": {evil}}.Encode())
	a2, _ := key.Assert(dataOptions(t, page))
	if resp, _ := br.post("/login/passkey", url.Values{"credential": {a2}, "next": {evil}}, nil); !strings.HasPrefix(resp.Header.Get("Location"), "/") ||
		strings.Contains(resp.Header.Get("Location"), "code=") {
		t.Fatalf("a passkey sign-in for an unregistered redirect_uri went to %s", resp.Header.Get("Location"))
	}
}
