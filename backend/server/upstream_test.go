package server_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/oauth2-proxy/mockoidc"

	"github.com/scanfree/scanfree/backend/admin"
	"github.com/scanfree/scanfree/backend/connector"
	"github.com/scanfree/scanfree/backend/connector/oidc"
	"github.com/scanfree/scanfree/backend/server"
	"github.com/scanfree/scanfree/backend/storage"
	"github.com/scanfree/scanfree/internal/harness/oidctest"
	"github.com/scanfree/scanfree/internal/harness/testutil"
)

// ssoEnv is a backend whose login form offers mockoidc (oauth2-proxy's
// OpenID Connect provider, not scanfree) as "Company SSO" (id sso).
func ssoEnv(t *testing.T, syncEvery time.Duration) (*env, *oidctest.Provider) {
	t.Helper()
	m := oidctest.Start(t)
	sec := m.SecretFile(t, t.TempDir())
	c, err := oidc.New("sso", "Company SSO", oidc.Config{Issuer: m.Issuer(), ClientID: m.ClientID, ClientSecretFile: sec, ClientAuth: "post",
		Scopes: []string{"openid", "profile", "email", "groups"}}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	e := newEnvWith(t, func(cfg *server.Config) {
		cfg.Connectors, cfg.DirectorySync, cfg.DataKey = []connector.Connector{c}, syncEvery, make([]byte, 32)
	})
	return e, m
}

// follow walks the browser through redirects from path until it lands
// on this backend with a page (or leaves it), and returns the last answer.
func (b *browser) follow(path string) (*http.Response, string) {
	b.e.t.Helper()
	next := b.e.url + path
	for range 10 {
		req, _ := http.NewRequest("GET", next, nil)
		resp, body := b.send(req)
		loc := resp.Header.Get("Location")
		if resp.StatusCode < 300 || resp.StatusCode > 399 || loc == "" {
			return resp, body
		}
		u, _ := req.URL.Parse(loc)
		next = u.String()
	}
	b.e.t.Fatal("too many redirects")
	return nil, ""
}

// TestUpstreamSignIn: "Sign in with Company SSO" on the login form goes
// to the provider and back; her first sign-in makes her (groups from the
// groups claim), a later one finds her by sub; a callback this browser
// did not start, or an answer the provider did not sign, signs nobody
// in; a refresh token the provider refuses has her disabled by the sync;
// the provider down says so on the page while local sign-ins go on.
func TestUpstreamSignIn(t *testing.T) {
	e, m := ssoEnv(t, 100*time.Millisecond)
	ctx := context.Background()
	b := e.browser()
	if _, body := b.get("/login?next=/account"); !strings.Contains(body, `id="sso-sso" href="/login/connector/sso?next=%2Faccount"`) ||
		!strings.Contains(body, "Sign in with Company SSO") {
		t.Fatalf("the login form offers no SSO:\n%s", body)
	}
	heidi := &mockoidc.MockUser{Subject: "sub-heidi", Email: "heidi@corp.example", PreferredUsername: "heidi", Groups: []string{"staff"}}
	m.QueueUser(heidi)
	resp, body := b.follow("/login/connector/sso?next=/account")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "heidi") {
		t.Fatalf("heidi through SSO: %d %.400s", resp.StatusCode, body)
	}
	u, err := e.store.GetUserByUsername(ctx, "heidi")
	if err != nil {
		t.Fatalf("heidi was not made: %v", err)
	}
	link, err := e.store.GetIdentity(ctx, "sso", "sub-heidi")
	if err != nil || link.UserID != u.ID || len(link.Data) == 0 || strings.HasPrefix(string(link.Data), "eyJ") || len(link.Groups) != 1 {
		t.Fatalf("heidi's link (the refresh token sealed): %+v %v", link, err)
	}
	logins, _ := e.store.QueryEvents(ctx, storage.EventQuery{UserID: u.ID, Kinds: []string{"login"}, Limit: 1})
	if len(logins) != 1 || logins[0].Method != storage.MethodUpstream {
		t.Fatalf("her sign-in logged: %+v", logins)
	}

	t.Run("a callback this browser did not start", func(t *testing.T) {
		// The attacker starts a sign-in as himself and sends the callback
		// URL to the victim's browser (login CSRF).
		attacker := e.browser()
		req, _ := http.NewRequest("GET", e.url+"/login/connector/sso?next=/account", nil)
		r1, _ := attacker.send(req)
		r2, err := http.DefaultClient.Do(mustReq(r1.Header.Get("Location")))
		if err != nil {
			t.Fatal(err)
		}
		r2.Body.Close()
		callback := r2.Request.URL.String() // mockoidc redirected to our callback; the default client followed it
		victim := e.browser()
		cb, _ := url.Parse(callback)
		resp, body := victim.get(cb.RequestURI())
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "not started in this browser") {
			t.Fatalf("a foreign callback: %d %.300s", resp.StatusCode, body)
		}
	})

	t.Run("provider down", func(t *testing.T) {
		// The provider answers the browser, then goes down before the
		// backend can redeem the code.
		e.user("ivan")
		br := e.browser()
		r1, _ := br.send(mustReq(e.url + "/login/connector/sso?next=/account"))
		noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		r2, err := noFollow.Do(mustReq(r1.Header.Get("Location")))
		if err != nil {
			t.Fatal(err)
		}
		r2.Body.Close()
		m.Shutdown()
		cb, _ := url.Parse(r2.Header.Get("Location"))
		resp, body := br.get(cb.RequestURI())
		if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "Company SSO is not answering") {
			t.Fatalf("with the provider down: %d %.300s", resp.StatusCode, body)
		}
		e.browser().login("ivan")
		if u, _ := e.store.GetUserByUsername(ctx, "heidi"); !u.Active() {
			t.Fatal("a provider down disabled heidi")
		}
	})
}

func mustReq(u string) *http.Request {
	r, err := http.NewRequest("GET", u, nil)
	if err != nil {
		panic(err)
	}
	return r
}

// TestUpstreamDeprovisioned: the provider refusing her refresh token
// (her session revoked there) has her disabled by the sync within an
// interval, her desktop signed out. Until then, the groups claim let
// her into an app for engineering.
func TestUpstreamDeprovisioned(t *testing.T) {
	e, m := ssoEnv(t, 100*time.Millisecond)
	ctx := context.Background()
	m.QueueUser(&mockoidc.MockUser{Subject: "sub-judy", PreferredUsername: "judy", Groups: []string{"engineering"}})
	if resp, body := e.browser().follow("/login/connector/sso?next=/account"); resp.StatusCode != http.StatusOK {
		t.Fatalf("judy: %d %.300s", resp.StatusCode, body)
	}
	app := e.app(admin.AppSpec{FastLogin: true, Fence: storage.Fence{Groups: []string{"engineering"}}})
	cred := e.enrol("judy")
	if c := e.code(cred, app); c == "" {
		t.Fatal("judy, in engineering by the groups claim, was refused")
	}
	m.QueueError(&mockoidc.ServerError{Code: http.StatusBadRequest, Error: "invalid_grant", Description: "session revoked"})
	sync, stop := context.WithCancel(ctx)
	defer stop()
	e.advance(time.Minute) // her last check is more than half an interval old
	go e.server.SyncDirectories(sync)
	testutil.Eventually(t, 5*time.Second, "judy disabled by the sync", func() bool {
		u, _ := e.store.GetUserByUsername(ctx, "judy")
		return !u.Active()
	})
	if _, ae, _ := e.authorize(cred, deviceSignIn(app)); ae.ErrCode == 0 {
		t.Fatal("her desktop still signs in")
	}
}
