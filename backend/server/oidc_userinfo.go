package server

import (
	"errors"
	"net/http"
	"strings"

	"github.com/scanfree/scanfree/backend/storage"
	"github.com/scanfree/scanfree/internal/secret"
)

// userinfoClaims is /oauth2/userinfo's answer (OIDC Core 5.3.2).
type userinfoClaims struct {
	Subject string `json:"sub"`
	Name    string `json:"name,omitempty"`
	Picture string `json:"picture,omitempty"`
	UnionID string `json:"unionid,omitempty"`
}

// handleOIDCUserinfo serves GET and POST /oauth2/userinfo with a Bearer
// access token of the OIDC face, in the header or (POST) the form body.
func (s *Server) handleOIDCUserinfo(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	unauthorized := func(desc string) {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token", error_description="`+desc+`"`)
		writeOAuthErr(w, http.StatusUnauthorized, "invalid_token", desc)
	}
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok && r.Method == http.MethodPost {
		tok = r.PostFormValue("access_token")
	}
	if tok == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="scanfree"`)
		writeOAuthErr(w, http.StatusUnauthorized, "invalid_request", "access token missing")
		return
	}
	a, err := s.store.GetAccess(ctx, secret.Hash(tok))
	t, app := a.Token, a.App
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		writeOAuth(w, s.serverError(ctx, "oidc userinfo", err))
		return
	}
	if err != nil || t.Kind != storage.AccessToken || t.Face != storage.FaceOIDC || !t.RevokedAt.IsZero() {
		unauthorized("invalid access token")
		return
	}
	if !s.now().Before(t.ExpiresAt) {
		unauthorized("access token expired")
		return
	}
	if !app.Active() {
		unauthorized("the client was disabled by an operator")
		return
	}
	cl, err := s.claimsOf(ctx, app, a.User, t.Scope)
	if err != nil {
		writeOAuth(w, s.serverError(ctx, "oidc userinfo", err))
		return
	}
	writeJSON(w, http.StatusOK, userinfoClaims{Subject: cl.Subject, Name: cl.Name, Picture: cl.Picture, UnionID: cl.UnionID})
}
