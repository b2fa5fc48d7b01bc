package server

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/scanfree/scanfree/backend/rules"
	"github.com/scanfree/scanfree/backend/signin"
	"github.com/scanfree/scanfree/backend/storage"
	"github.com/scanfree/scanfree/internal/secret"
)

func (e *oauthError) Error() string { return e.code + ": " + e.desc }

// oidcTokenResponse is RFC 6749 section 5.1 with OIDC's id_token.
type oidcTokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
	IDToken      string `json:"id_token,omitempty"`
	Scope        string `json:"scope"`
}

// handleOIDCToken serves the authorization_code and refresh_token grants.
func (s *Server) handleOIDCToken(w http.ResponseWriter, r *http.Request, grant string) {
	ctx := r.Context()
	w.Header().Set("Pragma", "no-cache")
	if !s.dataKeyLoaded() {
		writeOAuth(w, errOIDCOff)
		return
	}
	for name, vs := range r.PostForm {
		if len(vs) > 1 {
			writeOAuthErr(w, http.StatusBadRequest, "invalid_request", name+" given more than once")
			return
		}
	}
	app, oerr := s.oidcClient(ctx, r)
	if oerr != nil {
		writeOAuth(w, oerr)
		return
	}
	var resp oidcTokenResponse
	if grant == "authorization_code" {
		resp, oerr = s.oidcCodeGrant(ctx, r, app)
	} else {
		resp, oerr = s.oidcRefreshGrant(ctx, r, app)
	}
	if oerr != nil {
		writeOAuth(w, oerr)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

func invalidGrant(desc string) *oauthError {
	return oauthErr(http.StatusBadRequest, "invalid_grant", desc)
}

func (s *Server) oidcCodeGrant(ctx context.Context, r *http.Request, app storage.App) (oidcTokenResponse, *oauthError) {
	code := r.PostForm.Get("code")
	if code == "" {
		return oidcTokenResponse{}, oauthErr(http.StatusBadRequest, "invalid_request", "code missing")
	}
	now := s.now()
	access, refresh := secret.Token(), secret.Token()
	c, err := s.signin.Redeem(ctx, signin.Redemption{Face: storage.FaceOIDC, AppID: app.AppID, Code: code,
		Check: func(c storage.Code) error {
			if r.PostForm.Get("redirect_uri") != c.RedirectURI {
				return invalidGrant("redirect_uri differs from the one the code was issued to")
			}
			if oerr := checkPKCE(c.CodeChallenge, r.PostForm.Get("code_verifier")); oerr != nil {
				return oerr
			}
			return nil
		},
		Issue: func(c storage.Code) []storage.Token {
			return s.oidcTokens(app.AppID, c.UserID, c.Hash, c.Scope, access, refresh, now)
		}})
	if oerr := s.oauthRefusal(ctx, err); oerr != nil {
		return oidcTokenResponse{}, oerr
	}
	idt, err := s.idToken(ctx, app, c, c.Nonce, now)
	if err != nil {
		return oidcTokenResponse{}, s.serverError(ctx, "oidc id_token", err)
	}
	return oidcTokenResponse{AccessToken: access, TokenType: "Bearer", ExpiresIn: int(s.cfg.AccessTTL.Seconds()), RefreshToken: refresh,
		IDToken: idt, Scope: c.Scope}, nil
}

// oauthRefusal maps the core's answer to a redemption to RFC 6749
// errors; nil when it succeeded. A replay whose revocation failed is a
// server_error, never "revoked".
func (s *Server) oauthRefusal(ctx context.Context, err error) *oauthError {
	var ref *signin.Refusal
	var oerr *oauthError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &oerr):
		return oerr // the face's own check
	case !errors.As(err, &ref):
		return s.serverError(ctx, "oidc code", err)
	case ref.Reason == signin.CodeReused:
		return invalidGrant("code already used; the tokens issued for it are revoked")
	}
	return invalidGrant(ref.Msg) // the core's words: expired, revoked, already used …
}

// checkPKCE verifies the code_verifier against the code's S256 challenge
// (RFC 7636 section 4.6). A verifier for a code issued without a
// challenge is refused too: it means the request was altered on the way.
func checkPKCE(challenge, verifier string) *oauthError {
	switch {
	case challenge == "" && verifier == "":
		return nil
	case challenge == "":
		return invalidGrant("code_verifier sent, but the authorization request had no code_challenge")
	case verifier == "":
		return invalidGrant("code_verifier missing: this code was issued with PKCE")
	}
	if err := rules.PKCEVerifier(verifier); err != nil {
		return invalidGrant(err.Error())
	}
	sum := sha256.Sum256([]byte(verifier))
	if !secret.Equal([]byte(b64(sum[:])), []byte(challenge)) {
		return invalidGrant("code_verifier does not match the code_challenge")
	}
	return nil
}

// oidcTokens are an access and a refresh token of the family that
// descends from code hash.
func (s *Server) oidcTokens(appID, userID string, code []byte, scope, access, refresh string, now time.Time) []storage.Token {
	return []storage.Token{
		{Hash: secret.Hash(access), Kind: storage.AccessToken, AppID: appID, UserID: userID, CodeHash: code,
			Scope: scope, CreatedAt: now, ExpiresAt: now.Add(s.cfg.AccessTTL), Face: storage.FaceOIDC},
		{Hash: secret.Hash(refresh), Kind: storage.RefreshToken, AppID: appID, UserID: userID, CodeHash: code,
			Scope: scope, CreatedAt: now, ExpiresAt: now.Add(s.cfg.RefreshTTL), Face: storage.FaceOIDC},
	}
}

// oidcRefreshGrant rotates a refresh token: every refresh answers a new
// one and retires the old. A retired one presented again means two
// parties hold the family, so the whole family is revoked (RFC 9700
// section 4.14.2).
func (s *Server) oidcRefreshGrant(ctx context.Context, r *http.Request, app storage.App) (oidcTokenResponse, *oauthError) {
	presented := r.PostForm.Get("refresh_token")
	if presented == "" {
		return oidcTokenResponse{}, oauthErr(http.StatusBadRequest, "invalid_request", "refresh_token missing")
	}
	now := s.now()
	access, refresh := secret.Token(), secret.Token()
	scope := ""
	rt, err := s.signin.Refresh(ctx, signin.Refresh{Face: storage.FaceOIDC, AppID: app.AppID, Token: presented, Rotate: true,
		Check: func(rt storage.Token) error {
			scope = rt.Scope
			if asked := r.PostForm.Get("scope"); asked != "" {
				for _, sc := range strings.Fields(asked) {
					if !slices.Contains(strings.Fields(rt.Scope), sc) {
						return oauthErr(http.StatusBadRequest, "invalid_scope", "scope "+sc+" was not granted")
					}
				}
				scope = strings.Join(strings.Fields(asked), " ")
			}
			return nil
		},
		Issue: func(rt storage.Token) []storage.Token {
			return s.oidcTokens(app.AppID, rt.UserID, rt.CodeHash, scope, access, refresh, now)
		}})
	if oerr := s.oauthRefusal(ctx, err); oerr != nil {
		return oidcTokenResponse{}, oerr
	}
	resp := oidcTokenResponse{AccessToken: access, TokenType: "Bearer", ExpiresIn: int(s.cfg.AccessTTL.Seconds()), RefreshToken: refresh, Scope: scope}
	// A new id_token when the sign-in it renews is still known (its code
	// is kept as long as a refresh token lives); without a nonce, as
	// OIDC Core 12.2 allows.
	if c, err := s.store.GetCode(ctx, rt.CodeHash); err == nil {
		c.Scope = scope
		if resp.IDToken, err = s.idToken(ctx, app, c, "", now); err != nil {
			return oidcTokenResponse{}, s.serverError(ctx, "oidc id_token", err)
		}
	}
	return resp, nil
}

// idClaims are the id_token's claims (OIDC Core 2).
type idClaims struct {
	Issuer   string   `json:"iss"`
	Subject  string   `json:"sub"`
	Audience string   `json:"aud"`
	Expiry   int64    `json:"exp"`
	IssuedAt int64    `json:"iat"`
	AuthTime int64    `json:"auth_time"`
	Nonce    string   `json:"nonce,omitempty"`
	AZP      string   `json:"azp"`
	AMR      []string `json:"amr,omitempty"`
	ACR      string   `json:"acr,omitempty"`
	UnionID  string   `json:"unionid,omitempty"`
	Name     string   `json:"name,omitempty"`
	Picture  string   `json:"picture,omitempty"`
}

// idToken signs the id_token of code c for app, with the app's algorithm.
func (s *Server) idToken(ctx context.Context, app storage.App, c storage.Code, nonce string, now time.Time) (string, error) {
	cl, err := s.claims(ctx, app, c.UserID, c.Scope)
	if err != nil {
		return "", err
	}
	cl.Audience, cl.AZP, cl.Nonce, cl.AMR, cl.ACR = app.AppID, app.AppID, nonce, c.AMR, c.ACR
	cl.IssuedAt, cl.Expiry, cl.AuthTime = now.Unix(), now.Add(s.cfg.IDTokenTTL).Unix(), c.AuthTime.Unix()
	alg := app.IDTokenAlg
	if alg == "" {
		alg = "RS256"
	}
	signer, err := s.keys.Signer(ctx, alg)
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(cl)
	if err != nil {
		return "", err
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("sign id_token: %w", err)
	}
	return jws.CompactSerialize()
}

// claims are the user's claims for app: sub (the app's openid, pairwise),
// unionid when the app's owner groups it with others (an app that is its
// own owner gets none: it would only repeat sub), and with the profile
// scope name and picture.
func (s *Server) claims(ctx context.Context, app storage.App, userID, scope string) (idClaims, error) {
	u := storage.User{ID: userID}
	if slices.Contains(strings.Fields(scope), "profile") {
		var err error
		if u, err = s.store.GetUser(ctx, userID); err != nil {
			return idClaims{}, err
		}
	}
	return s.claimsOf(ctx, app, u, scope)
}

// claimsOf is claims for a user already read (profile claims come from u).
func (s *Server) claimsOf(ctx context.Context, app storage.App, u storage.User, scope string) (idClaims, error) {
	sub, union, err := s.signin.IDs(ctx, u.ID, app)
	if err != nil {
		return idClaims{}, err
	}
	if !app.SharedOwner() {
		union = ""
	}
	cl := idClaims{Issuer: s.issuer(), Subject: sub, UnionID: union}
	if slices.Contains(strings.Fields(scope), "profile") {
		cl.Name, cl.Picture = u.Nickname, u.AvatarURL
	}
	return cl, nil
}
