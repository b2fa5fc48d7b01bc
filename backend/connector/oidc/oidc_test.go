package oidc_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/oauth2-proxy/mockoidc"

	"github.com/scanfree/scanfree/backend/connector"
	"github.com/scanfree/scanfree/backend/connector/oidc"
	"github.com/scanfree/scanfree/internal/harness/oidctest"
	"github.com/scanfree/scanfree/internal/secret"
)

func newConnector(t *testing.T, m *oidctest.Provider) *oidc.Connector {
	t.Helper()
	sec := m.SecretFile(t, t.TempDir())
	c, err := oidc.New("sso", "Company SSO", oidc.Config{Issuer: m.Issuer(), ClientID: m.ClientID, ClientSecretFile: sec,
		Scopes: []string{"openid", "profile", "email", "groups"}, ClientAuth: "post"}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// signIn runs the browser's part: the provider's authorization endpoint
// (which signs in whoever it has queued) and its redirect back.
func signIn(t *testing.T, ctx context.Context, c *oidc.Connector, a connector.Attempt) (connector.Identity, error) {
	t.Helper()
	to, err := c.LoginURL(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(to)
	if q := u.Query(); q.Get("code_challenge_method") != "S256" || q.Get("nonce") != a.Nonce || q.Get("state") != a.State {
		t.Fatalf("the authorization request lacks PKCE, nonce or state: %s", to)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(to)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	back, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || back.Query().Get("state") != a.State {
		t.Fatalf("the provider's answer: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	return c.HandleCallback(ctx, a, back.Query().Get("code"))
}

func attempt() connector.Attempt {
	return connector.Attempt{Callback: "http://idp.localhost:8080/login/connector/sso/callback", State: secret.Token(), Nonce: secret.Token(),
		Verifier: secret.Token()}
}

// TestOIDC signs in through an independent provider: the code flow with
// PKCE, state and nonce; the id_token verified with the provider's JWKS;
// claims mapped, groups included. A tampered id_token, a code redeemed
// with another verifier or an id_token for another nonce is refused; a
// refresh token the provider refuses has her gone; a provider that does
// not answer is unavailable.
func TestOIDC(t *testing.T) {
	m := oidctest.Start(t)
	tamper := &m.Tamper
	c := newConnector(t, m)
	ctx := context.Background()
	m.QueueUser(&mockoidc.MockUser{Subject: "sub-grace", Email: "grace@corp.example", PreferredUsername: "Grace", Groups: []string{"engineering", "ops"}})
	id, err := signIn(t, ctx, c, attempt())
	if err != nil {
		t.Fatal(err)
	}
	if id.Subject != "sub-grace" || id.Username != "grace" || id.Email != "grace@corp.example" || !slices.Equal(id.Groups, []string{"engineering", "ops"}) ||
		len(id.Data) == 0 || id.Connector != "sso" {
		t.Fatalf("identity: %+v", id)
	}
	t.Run("refresh", func(t *testing.T) {
		again, err := c.Refresh(ctx, id)
		if err != nil || again.Subject != id.Subject {
			t.Fatalf("refresh: %+v %v", again, err)
		}
	})
	t.Run("tampered id_token", func(t *testing.T) {
		tamper.Store(true)
		defer tamper.Store(false)
		if got, err := signIn(t, ctx, c, attempt()); err == nil || errors.Is(err, connector.ErrUnavailable) || !strings.Contains(err.Error(), "id_token refused") {
			t.Fatalf("a tampered id_token: %+v %v", got, err)
		}
	})
	t.Run("another verifier", func(t *testing.T) {
		a := attempt()
		to, _ := c.LoginURL(ctx, a)
		client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := client.Get(to)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		back, _ := url.Parse(resp.Header.Get("Location"))
		a.Verifier = secret.Token() // the code was asked for with another challenge
		if _, err := c.HandleCallback(ctx, a, back.Query().Get("code")); err == nil {
			t.Fatal("a code redeemed without its PKCE verifier")
		}
	})
	t.Run("another nonce", func(t *testing.T) {
		a := attempt()
		to, _ := c.LoginURL(ctx, a)
		client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, _ := client.Get(to)
		resp.Body.Close()
		back, _ := url.Parse(resp.Header.Get("Location"))
		a.Nonce = secret.Token()
		if _, err := c.HandleCallback(ctx, a, back.Query().Get("code")); err == nil || !strings.Contains(err.Error(), "nonce") {
			t.Fatalf("an id_token for another sign-in: %v", err)
		}
	})
	t.Run("refresh token revoked", func(t *testing.T) {
		m.QueueError(&mockoidc.ServerError{Code: http.StatusBadRequest, Error: "invalid_grant", Description: "session revoked"})
		if _, err := c.Refresh(ctx, id); !errors.Is(err, connector.ErrGone) {
			t.Fatalf("a refused refresh token: %v", err)
		}
	})
	t.Run("provider error is not gone", func(t *testing.T) {
		m.QueueError(&mockoidc.ServerError{Code: http.StatusUnauthorized, Error: "invalid_client", Description: "secret rotated"})
		if _, err := c.Refresh(ctx, id); err == nil || errors.Is(err, connector.ErrGone) {
			t.Fatalf("invalid_client must not disable her: %v", err)
		}
	})
	t.Run("down", func(t *testing.T) {
		m.Shutdown()
		if _, err := c.Refresh(ctx, id); !errors.Is(err, connector.ErrUnavailable) {
			t.Fatalf("refresh with the provider down: %v", err)
		}
		fresh := newConnector(t, m) // never discovered
		if _, err := fresh.LoginURL(ctx, attempt()); !errors.Is(err, connector.ErrUnavailable) {
			t.Fatalf("discovery with the provider down: %v", err)
		}
	})
}

// TestOIDCConfig: settings that cannot work are refused with the fix.
func TestOIDCConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  oidc.Config
		want string
	}{
		{"plain http issuer", oidc.Config{Issuer: "http://sso.example.org", ClientID: "c", ClientSecretEnv: "HOME"}, "https://"},
		{"a name that only starts like this machine", oidc.Config{Issuer: "http://localhost.evil.example", ClientID: "c", ClientSecretEnv: "HOME"}, "https://"},
		{"no client id", oidc.Config{Issuer: "https://sso.example.org", ClientSecretEnv: "HOME"}, "client_id"},
		{"no secret", oidc.Config{Issuer: "https://sso.example.org", ClientID: "c"}, "client_secret_file"},
		{"unset variable", oidc.Config{Issuer: "https://sso.example.org", ClientID: "c", ClientSecretEnv: "SCANFREE_NO_SUCH_VARIABLE"}, "is not set"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := oidc.New("sso", "SSO", tc.cfg, slog.Default()); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error about %s", err, tc.want)
			}
		})
	}
}
