package rules

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/scanfree/scanfree/backend/storage"
)

// The OpenID Connect face's rules. They are stricter than the WeChat
// face's where OIDC says so: a redirect_uri matches a registered one
// exactly (OIDC Core 3.1.2.1), except for the port of a loopback IP
// literal, which a native app picks at run time (RFC 8252 section 7.3).

// OIDCRedirectURI checks an OpenID Connect redirect_uri against app.
func OIDCRedirectURI(app storage.App, raw string) error {
	if raw == "" {
		return errors.New("redirect_uri missing")
	}
	if len(raw) > MaxRedirectURILen {
		return fmt.Errorf("redirect_uri longer than %d bytes", MaxRedirectURILen)
	}
	if slices.Contains(app.RedirectURIs, raw) {
		return nil
	}
	u, err := url.Parse(raw)
	if err == nil && u.Scheme == "http" && isLoopbackIP(u.Hostname()) {
		for _, reg := range app.RedirectURIs {
			r, err := url.Parse(reg)
			if err == nil && r.Scheme == "http" && r.Hostname() == u.Hostname() && r.EscapedPath() == u.EscapedPath() &&
				r.RawQuery == u.RawQuery && u.Fragment == "" && u.User == nil {
				return nil
			}
		}
	}
	return errors.New("redirect_uri does not exactly match a redirect URI registered for this client")
}

func isLoopbackIP(host string) bool { return host == "127.0.0.1" || host == "::1" }

// OIDCScopes are the scopes the OpenID Connect face grants.
var OIDCScopes = []string{"openid", "profile", "offline_access"}

// OIDCScope returns the granted part of a space-separated scope request:
// the scopes this server knows, in their request order, without repeats.
// Others (email, phone, …) are dropped rather than refused, as RFC 6749
// section 3.3 allows, so that clients asking for them by default still
// sign in; the token response says what was granted. The request must
// include openid.
func OIDCScope(scope string) (string, error) {
	asked := strings.Fields(scope)
	if !slices.Contains(asked, "openid") {
		return "", errors.New("scope must include openid")
	}
	var granted []string
	for _, s := range asked {
		if slices.Contains(OIDCScopes, s) && !slices.Contains(granted, s) {
			granted = append(granted, s)
		}
	}
	return strings.Join(granted, " "), nil
}

// pkceRE is RFC 7636's code_verifier alphabet and length; an S256
// code_challenge is 43 characters of base64url.
var (
	pkceVerifierRE  = regexp.MustCompile(`^[A-Za-z0-9._~-]{43,128}$`)
	pkceChallengeRE = regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)
)

// PKCEChallenge checks a code_challenge and its method. Only S256 is
// accepted: "plain" (also the default when the method is absent, RFC 7636
// section 4.3) protects nothing once the authorization request is seen.
func PKCEChallenge(challenge, method string) error {
	if challenge == "" {
		if method != "" {
			return errors.New("code_challenge_method without code_challenge")
		}
		return nil
	}
	if method != "S256" {
		return errors.New("code_challenge_method must be S256; plain is refused")
	}
	if !pkceChallengeRE.MatchString(challenge) {
		return errors.New("code_challenge is not a base64url SHA-256 (43 characters)")
	}
	return nil
}

// PKCEVerifier checks a code_verifier's form (RFC 7636 section 4.1).
func PKCEVerifier(v string) error {
	if !pkceVerifierRE.MatchString(v) {
		return errors.New("code_verifier must be 43 to 128 characters of [A-Za-z0-9-._~]")
	}
	return nil
}

// Prompt checks a space-separated prompt: none must stand alone
// (OIDC Core 3.1.2.1).
func Prompt(prompt string) ([]string, error) {
	p := strings.Fields(prompt)
	for _, v := range p {
		switch v {
		case "none", "login", "consent", "select_account":
		default:
			return nil, fmt.Errorf("prompt %q is not supported; use none, login or consent", v)
		}
	}
	if slices.Contains(p, "none") && len(p) > 1 {
		return nil, errors.New("prompt=none cannot be combined with other values")
	}
	return p, nil
}
