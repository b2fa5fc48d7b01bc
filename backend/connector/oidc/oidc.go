// Package oidc is the connector for any OpenID Connect provider (Entra
// ID, Google Workspace, Okta, Keycloak, …): discovery, the code flow with
// PKCE, state and nonce, the id_token verified against the provider's
// JWKS (github.com/coreos/go-oidc), claims mapped to a person, and the
// refresh token kept (sealed by the server) so that the sync can ask the
// provider later whether she is still there.
package oidc

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/scanfree/scanfree/backend/connector"
)

// Config is an OIDC connector's settings (the config file's `config:`
// under a connector of type oidc). The client secret comes from a file or
// the environment, never the file itself.
type Config struct {
	Issuer           string   `yaml:"issuer"` // https://login.example.com (discovery at /.well-known/openid-configuration)
	ClientID         string   `yaml:"client_id"`
	ClientSecretFile string   `yaml:"client_secret_file"`
	ClientSecretEnv  string   `yaml:"client_secret_env"`
	Scopes           []string `yaml:"scopes"`  // default openid profile email, plus offline_access when the provider has it
	RootCA           string   `yaml:"root_ca"` // PEM file of the provider's CA; empty: the system's roots
	// Claims: which claim is what (defaults: preferred_username, name,
	// picture, email, phone_number, groups). The username falls back to
	// the email's local part, then the sub.
	UsernameClaim string `yaml:"username_claim"`
	NameClaim     string `yaml:"name_claim"`
	PictureClaim  string `yaml:"picture_claim"`
	EmailClaim    string `yaml:"email_claim"`
	PhoneClaim    string `yaml:"phone_claim"`
	GroupsClaim   string `yaml:"groups_claim"`
	// UserInfo also asks the userinfo endpoint for claims the id_token
	// does not carry (groups, at some providers).
	UserInfo bool `yaml:"userinfo"`
	// ClientAuth is how the client secret is sent: basic (the
	// specification's default) or post; empty: basic unless the
	// provider's discovery lists only client_secret_post. Said once, so
	// a refused request is never silently retried the other way.
	ClientAuth string        `yaml:"client_auth"`
	Timeout    time.Duration `yaml:"timeout"` // each request to the provider (10s)
}

// Connector is an OpenID Connect provider.
type Connector struct {
	id, name, secret string
	cfg              Config
	client           *http.Client
	log              *slog.Logger

	mu       sync.Mutex
	provider *gooidc.Provider // discovered at first use
}

var (
	_ connector.CallbackConnector = (*Connector)(nil)
	_ connector.Refresher         = (*Connector)(nil)
)

// New checks cfg and returns the connector. It does not contact the
// provider (one down at start must not stop the server): discovery
// happens at the first sign-in and is retried until it succeeds.
func New(id, name string, cfg Config, log *slog.Logger) (*Connector, error) {
	iss, err := url.Parse(cfg.Issuer)
	if err != nil || iss.Host == "" || (iss.Scheme != "https" && !(iss.Scheme == "http" && connector.Loopback(iss.Hostname()))) {
		return nil, fmt.Errorf("issuer %q: want the provider's https:// URL (http only to this machine)", cfg.Issuer)
	}
	if cfg.ClientID == "" {
		return nil, errors.New("client_id: set the client id the provider gave this server")
	}
	secret, err := clientSecret(cfg)
	if err != nil {
		return nil, err
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.ClientAuth != "" && cfg.ClientAuth != "basic" && cfg.ClientAuth != "post" {
		return nil, fmt.Errorf("client_auth %q: use basic or post", cfg.ClientAuth)
	}
	if len(cfg.Scopes) == 0 {
		cfg.Scopes = []string{gooidc.ScopeOpenID, "profile", "email"}
	}
	cfg.UsernameClaim, cfg.NameClaim = cmp.Or(cfg.UsernameClaim, "preferred_username"), cmp.Or(cfg.NameClaim, "name")
	cfg.PictureClaim, cfg.EmailClaim = cmp.Or(cfg.PictureClaim, "picture"), cmp.Or(cfg.EmailClaim, "email")
	cfg.PhoneClaim, cfg.GroupsClaim = cmp.Or(cfg.PhoneClaim, "phone_number"), cmp.Or(cfg.GroupsClaim, "groups")
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if cfg.RootCA != "" {
		pem, err := os.ReadFile(cfg.RootCA)
		if err != nil {
			return nil, fmt.Errorf("root_ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("root_ca %s: no PEM certificate in it", cfg.RootCA)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &Connector{id: id, name: name, secret: secret, cfg: cfg, log: log,
		client: &http.Client{Transport: tr, Timeout: cfg.Timeout}}, nil
}

func clientSecret(cfg Config) (string, error) {
	switch {
	case cfg.ClientSecretFile != "" && cfg.ClientSecretEnv != "":
		return "", errors.New("client_secret_file and client_secret_env: choose one")
	case cfg.ClientSecretFile != "":
		b, err := os.ReadFile(cfg.ClientSecretFile)
		if err != nil {
			return "", fmt.Errorf("client_secret_file: %w", err)
		}
		return strings.TrimSpace(string(b)), nil
	case cfg.ClientSecretEnv != "":
		v, ok := os.LookupEnv(cfg.ClientSecretEnv)
		if !ok {
			return "", fmt.Errorf("client_secret_env: %s is not set", cfg.ClientSecretEnv)
		}
		return v, nil
	}
	return "", errors.New("client_secret_file or client_secret_env: set where the client secret is")
}

// ID implements connector.Connector.
func (c *Connector) ID() string { return c.id }

// Name implements connector.Connector.
func (c *Connector) Name() string { return c.name }

// discover returns the provider, asking its discovery document once.
func (c *Connector) discover(ctx context.Context) (*gooidc.Provider, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.provider != nil {
		return c.provider, nil
	}
	p, err := gooidc.NewProvider(gooidc.ClientContext(ctx, c.client), c.cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("%w: oidc: discovery at %s: %v", connector.ErrUnavailable, c.cfg.Issuer, err)
	}
	c.provider = p
	return p, nil
}

func (c *Connector) oauth2(p *gooidc.Provider, callback string) *oauth2.Config {
	e := p.Endpoint()
	e.AuthStyle = oauth2.AuthStyleInHeader
	switch c.cfg.ClientAuth {
	case "post":
		e.AuthStyle = oauth2.AuthStyleInParams
	case "":
		var d struct {
			Methods []string `json:"token_endpoint_auth_methods_supported"`
		}
		if p.Claims(&d) == nil && len(d.Methods) > 0 && !slices.Contains(d.Methods, "client_secret_basic") && slices.Contains(d.Methods, "client_secret_post") {
			e.AuthStyle = oauth2.AuthStyleInParams
		}
	}
	return &oauth2.Config{ClientID: c.cfg.ClientID, ClientSecret: c.secret, Endpoint: e, RedirectURL: callback, Scopes: c.cfg.Scopes}
}

// LoginURL implements connector.CallbackConnector.
func (c *Connector) LoginURL(ctx context.Context, a connector.Attempt) (string, error) {
	p, err := c.discover(ctx)
	if err != nil {
		return "", err
	}
	return c.oauth2(p, a.Callback).AuthCodeURL(a.State, gooidc.Nonce(a.Nonce), oauth2.S256ChallengeOption(a.Verifier)), nil
}

// HandleCallback implements connector.CallbackConnector: the code
// exchanged with the PKCE verifier, the id_token verified (signature by
// the provider's JWKS, issuer, audience, expiry, nonce).
func (c *Connector) HandleCallback(ctx context.Context, a connector.Attempt, code string) (connector.Identity, error) {
	p, err := c.discover(ctx)
	if err != nil {
		return connector.Identity{}, err
	}
	ctx = gooidc.ClientContext(ctx, c.client)
	tok, err := c.oauth2(p, a.Callback).Exchange(ctx, code, oauth2.VerifierOption(a.Verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			return connector.Identity{}, fmt.Errorf("oidc: the provider refused the code: %v", err)
		}
		return connector.Identity{}, fmt.Errorf("%w: oidc: exchange the code: %v", connector.ErrUnavailable, err)
	}
	claims, err := c.verified(ctx, p, tok, a.Nonce)
	if err != nil {
		return connector.Identity{}, err
	}
	return c.identity(ctx, p, tok, claims)
}

// Refresh implements connector.Refresher: the refresh token the server
// kept, spent; a provider that refuses it (invalid_grant: the session
// was revoked, or the person removed) has her gone.
func (c *Connector) Refresh(ctx context.Context, old connector.Identity) (connector.Identity, error) {
	if len(old.Data) == 0 {
		return old, nil // nothing to ask with: she is checked at her next sign-in
	}
	p, err := c.discover(ctx)
	if err != nil {
		return old, err
	}
	ctx = gooidc.ClientContext(ctx, c.client)
	tok, err := c.oauth2(p, "").TokenSource(ctx, &oauth2.Token{RefreshToken: string(old.Data), Expiry: time.Unix(1, 0)}).Token()
	if err != nil {
		var re *oauth2.RetrieveError
		// Only invalid_grant says she is gone: invalid_client (this
		// server's secret rotated) or a 5xx must not disable anyone.
		if errors.As(err, &re) && re.ErrorCode == "invalid_grant" {
			return old, fmt.Errorf("%w: oidc: the provider refused her refresh token: %s", connector.ErrGone, re.ErrorCode)
		}
		return old, fmt.Errorf("%w: oidc: refresh: %v", connector.ErrUnavailable, err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		if tok.RefreshToken != "" {
			old.Data = []byte(tok.RefreshToken)
		}
		return old, nil // the provider still knows her; nothing new about her
	}
	claims, err := c.verified(ctx, p, tok, "")
	if err != nil {
		return old, err
	}
	id, err := c.identity(ctx, p, tok, claims)
	if err == nil && id.Subject != old.Subject {
		return old, fmt.Errorf("oidc: the refreshed id_token is for %q, not %q", id.Subject, old.Subject)
	}
	if len(id.Data) == 0 {
		id.Data = old.Data
	}
	return id, err
}

// verified checks tok's id_token and returns its claims.
func (c *Connector) verified(ctx context.Context, p *gooidc.Provider, tok *oauth2.Token, nonce string) (map[string]any, error) {
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return nil, errors.New("oidc: the provider sent no id_token; add the openid scope")
	}
	idt, err := p.Verifier(&gooidc.Config{ClientID: c.cfg.ClientID}).Verify(ctx, raw)
	if err != nil {
		return nil, fmt.Errorf("oidc: id_token refused: %w", err)
	}
	if nonce != "" && idt.Nonce != nonce {
		return nil, errors.New("oidc: id_token refused: its nonce is not this sign-in's")
	}
	claims := map[string]any{}
	if err := idt.Claims(&claims); err != nil {
		return nil, fmt.Errorf("oidc: id_token claims: %w", err)
	}
	return claims, nil
}

// identity maps claims (and, with Config.UserInfo, the userinfo answer
// for the same subject) to who she is.
func (c *Connector) identity(ctx context.Context, p *gooidc.Provider, tok *oauth2.Token, claims map[string]any) (connector.Identity, error) {
	if c.cfg.UserInfo {
		ui, err := p.UserInfo(ctx, oauth2.StaticTokenSource(tok))
		if err != nil {
			return connector.Identity{}, fmt.Errorf("%w: oidc: userinfo: %v", connector.ErrUnavailable, err)
		}
		more := map[string]any{}
		if err := ui.Claims(&more); err == nil && more["sub"] == claims["sub"] {
			for k, v := range more {
				if _, ok := claims[k]; !ok {
					claims[k] = v
				}
			}
		}
	}
	str := func(k string) string { s, _ := claims[k].(string); return s }
	id := connector.Identity{Connector: c.id, Subject: str("sub"), Username: strings.ToLower(str(c.cfg.UsernameClaim)), Name: str(c.cfg.NameClaim),
		Picture: str(c.cfg.PictureClaim), Email: str(c.cfg.EmailClaim), Phone: str(c.cfg.PhoneClaim)}
	if id.Subject == "" {
		return id, errors.New("oidc: the id_token has no sub")
	}
	if id.Username == "" {
		id.Username, _, _ = strings.Cut(strings.ToLower(id.Email), "@")
	}
	if id.Username == "" {
		id.Username = strings.ToLower(id.Subject)
	}
	switch g := claims[c.cfg.GroupsClaim].(type) {
	case []any:
		for _, v := range g {
			if s, ok := v.(string); ok {
				id.Groups = append(id.Groups, s)
			}
		}
	case string:
		id.Groups = strings.Fields(g)
	}
	if tok.RefreshToken != "" {
		id.Data = []byte(tok.RefreshToken)
	}
	return id, nil
}
