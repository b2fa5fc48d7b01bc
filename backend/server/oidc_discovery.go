package server

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/scanfree/scanfree/backend/keys"
	"github.com/scanfree/scanfree/backend/rules"
	"github.com/scanfree/scanfree/backend/signin"
	"github.com/scanfree/scanfree/internal/deviceapi"
)

// Paths of the OpenID Connect face beside /oauth2/authorize and
// deviceapi.PathToken.
const (
	pathJWKS     = "/oauth2/jwks"
	pathUserinfo = "/oauth2/userinfo"
	pathRevoke   = "/oauth2/revoke"
)

// discovery is the OpenID Provider Metadata (OpenID Connect Discovery 1.0
// section 3), with RFC 8414's and RFC 9207's additions.
type discovery struct {
	Issuer                            string   `json:"issuer"`
	AuthorizationEndpoint             string   `json:"authorization_endpoint"`
	TokenEndpoint                     string   `json:"token_endpoint"`
	UserinfoEndpoint                  string   `json:"userinfo_endpoint"`
	JWKSURI                           string   `json:"jwks_uri"`
	RevocationEndpoint                string   `json:"revocation_endpoint"`
	DeviceAuthorizationEndpoint       string   `json:"device_authorization_endpoint"`
	ScopesSupported                   []string `json:"scopes_supported"`
	ResponseTypesSupported            []string `json:"response_types_supported"`
	ResponseModesSupported            []string `json:"response_modes_supported"`
	GrantTypesSupported               []string `json:"grant_types_supported"`
	SubjectTypesSupported             []string `json:"subject_types_supported"`
	IDTokenSigningAlgValuesSupported  []string `json:"id_token_signing_alg_values_supported"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported"`
	RevocationAuthMethodsSupported    []string `json:"revocation_endpoint_auth_methods_supported"`
	CodeChallengeMethodsSupported     []string `json:"code_challenge_methods_supported"`
	ClaimsSupported                   []string `json:"claims_supported"`
	ACRValuesSupported                []string `json:"acr_values_supported"`
	PromptValuesSupported             []string `json:"prompt_values_supported"`
	UILocalesSupported                []string `json:"ui_locales_supported"`
	ClaimsParameterSupported          bool     `json:"claims_parameter_supported"`
	RequestParameterSupported         bool     `json:"request_parameter_supported"`
	RequestURIParameterSupported      bool     `json:"request_uri_parameter_supported"`
	AuthorizationResponseIssParameter bool     `json:"authorization_response_iss_parameter_supported"`
}

func (s *Server) handleDiscovery(w http.ResponseWriter, r *http.Request) {
	u := func(p string) string { return s.public.JoinPath(p).String() }
	auth := []string{"client_secret_basic", "client_secret_post", "none"}
	writeCached(w, discovery{
		Issuer:                            s.issuer(),
		AuthorizationEndpoint:             u("/oauth2/authorize"),
		TokenEndpoint:                     u(deviceapi.PathToken),
		UserinfoEndpoint:                  u(pathUserinfo),
		JWKSURI:                           u(pathJWKS),
		RevocationEndpoint:                u(pathRevoke),
		DeviceAuthorizationEndpoint:       u(deviceapi.PathDeviceAuthorization),
		ScopesSupported:                   rules.OIDCScopes,
		ResponseTypesSupported:            []string{"code"},
		ResponseModesSupported:            []string{"query"},
		GrantTypesSupported:               []string{"authorization_code", "refresh_token", deviceapi.GrantTypeDeviceCode},
		SubjectTypesSupported:             []string{"pairwise"},
		IDTokenSigningAlgValuesSupported:  keys.Algorithms,
		TokenEndpointAuthMethodsSupported: auth,
		RevocationAuthMethodsSupported:    auth,
		CodeChallengeMethodsSupported:     []string{"S256"},
		ClaimsSupported:                   []string{"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "azp", "amr", "acr", "name", "picture", "unionid"},
		ACRValuesSupported:                []string{signin.ACRKeyTPM, signin.ACRKeySoftware, signin.ACRNone},
		PromptValuesSupported:             []string{"none", "login", "consent"},
		UILocalesSupported:                []string{"en", "zh-CN"},
		AuthorizationResponseIssParameter: true,
	}, 3600)
}

// handleJWKS publishes the signing keys, read from the store on every
// request so that a key another replica just made is in it. Clients may
// cache it for 5 minutes; `keys rotate` waits longer than that by default
// before the new key signs.
func (s *Server) handleJWKS(w http.ResponseWriter, r *http.Request) {
	if !s.dataKeyLoaded() {
		writeOAuth(w, errOIDCOff)
		return
	}
	set, err := s.keys.JWKS(r.Context())
	if err == nil && len(set.Keys) < len(keys.Algorithms) {
		// A server started by Run made its keys before it was ready; one
		// built otherwise (or a store emptied behind it) makes them now,
		// rather than publish a set that lacks keys it will sign with.
		if err = s.keys.Ensure(r.Context()); err == nil {
			set, err = s.keys.JWKS(r.Context())
		}
	}
	if err != nil {
		s.log.ErrorContext(r.Context(), "jwks", "err", err)
		writeOAuth(w, oauthErr(http.StatusServiceUnavailable, "temporarily_unavailable", "retry later"))
		return
	}
	writeCached(w, set, 300)
}

// writeCached answers v as JSON that clients may cache for maxAge seconds.
func writeCached(w http.ResponseWriter, v any, maxAge int) {
	w.Header().Set("Access-Control-Allow-Origin", "*") // public metadata, fetched by browser-based clients too
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age="+strconv.Itoa(maxAge))
	json.NewEncoder(w).Encode(v)
}

// cors lets browser-based clients (a single-page app with PKCE) call an
// OAuth endpoint from any origin and read the answer. No cookie is ever
// sent or honoured there, so no origin gains anything it could not get
// with curl.
func cors(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Origin") != "" {
			w.Header().Set("Access-Control-Allow-Origin", "*")
			w.Header().Set("Access-Control-Allow-Methods", "GET, POST")
			w.Header().Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
			w.Header().Set("Access-Control-Max-Age", "600")
		}
		h(w, r)
	}
}
