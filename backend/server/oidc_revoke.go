package server

import (
	"net/http"

	"github.com/scanfree/scanfree/backend/storage"
)

// handleOIDCRevoke serves RFC 7009 token revocation. Revoking a refresh
// token revokes its whole family, access tokens included; an unknown
// token, or another client's, is answered 200 and left alone.
func (s *Server) handleOIDCRevoke(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if err := r.ParseForm(); err != nil {
		writeOAuthErr(w, http.StatusBadRequest, "invalid_request", "malformed form body")
		return
	}
	app, oerr := s.oidcClient(ctx, r)
	if oerr != nil {
		writeOAuth(w, oerr)
		return
	}
	tok := r.PostForm.Get("token")
	if tok == "" {
		writeOAuthErr(w, http.StatusBadRequest, "invalid_request", "token missing")
		return
	}
	if err := s.signin.RevokeToken(ctx, storage.FaceOIDC, app.AppID, tok); err != nil {
		writeOAuth(w, oauthErr(http.StatusServiceUnavailable, "temporarily_unavailable", "retry later"))
		s.log.ErrorContext(ctx, "oidc revoke", "err", err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
}
