package server

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/scanfree/scanfree/backend/rules"
	"github.com/scanfree/scanfree/backend/storage"
)

// An OpenID Connect sign-in runs through the same hosted page, desktop
// daemon and QR tickets as a WeChat one. They carry four fields (appid,
// redirect_uri, scope, state), so the OIDC request's other parameters
// (nonce, PKCE challenge, the relying party's own state) stay in the
// store, and the page, the daemon and the ticket carry a handle to them
// in state: "oidc~" and the request's id. Any scanfreed works unchanged,
// and its dialog still shows the relying party's own redirect host.
// A WeChat relying party cannot use a state that begins with "oidc~".
const oidcStatePrefix = "oidc~"

// oidcRequestID returns the request id a state names, if it names one.
func oidcRequestID(state string) (string, bool) {
	id, ok := strings.CutPrefix(state, oidcStatePrefix)
	return id, ok && id != ""
}

// errOIDCRequestGone is the refusal of a handle whose request is unknown
// or expired.
var errOIDCRequestGone = apiErr(errBackendRefused, "this sign-in request expired or is unknown; go back to the site and sign in again")

// errOIDCRequestUsed refuses a second sign-in for a request that already
// gave its one code.
var errOIDCRequestUsed = apiErr(errBackendRefused, "this sign-in request was completed already; go back to the site and sign in again")

// oidcRedirect is where the browser goes with an answer to ar: the
// relying party's redirect_uri with kv, its own state and this server as
// iss (RFC 9207), so that a client talking to several providers can tell
// which one answered.
func (s *Server) oidcRedirect(ar *storage.AuthRequest, kv ...string) string {
	if ar.State != "" {
		kv = append(kv, "state", ar.State)
	}
	kv = append(kv, "iss", s.issuer())
	return rules.RedirectWith(ar.RedirectURI, kv...)
}

// redirectFor is the URL that delivers code for a sign-in of appID to
// redirectURI with state, which may be an OIDC handle.
func (s *Server) redirectFor(ctx context.Context, appID, redirectURI, code, state string) (string, error) {
	id, ok := oidcRequestID(state)
	if !ok {
		return rules.RedirectURL(redirectURI, code, state), nil
	}
	ar, err := s.store.GetAuthRequest(ctx, id)
	if err != nil {
		return "", fmt.Errorf("sign-in request of a confirmed ticket: %w", err)
	}
	if ar.ClientID != appID {
		return "", errors.New("sign-in request of a confirmed ticket is for another app")
	}
	return s.oidcRedirect(&ar, "code", code), nil
}

// issuer is the OpenID Provider's issuer identifier: the public origin.
func (s *Server) issuer() string { return s.public.String() }
