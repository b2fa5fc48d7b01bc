package server

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	"github.com/scanfree/scanfree/backend/storage"
	"github.com/scanfree/scanfree/internal/secret"
)

// oauthError is a token-endpoint failure (RFC 6749 section 5.2).
type oauthError struct {
	status         int
	code, desc     string
	basicChallenge bool // answer WWW-Authenticate: Basic (a client that tried Basic, or no authentication)
}

func oauthErr(status int, code, desc string) *oauthError {
	return &oauthError{status: status, code: code, desc: desc}
}

func writeOAuth(w http.ResponseWriter, e *oauthError) {
	if e.basicChallenge {
		w.Header().Set("WWW-Authenticate", `Basic realm="scanfree", charset="UTF-8"`)
	}
	writeOAuthErr(w, e.status, e.code, e.desc)
}

// errOIDCOff answers every OIDC request of a server without a data key.
var errOIDCOff = oauthErr(http.StatusServiceUnavailable, "server_error",
	"OpenID Connect is off on this server: it was started without --data-key-file")

func (s *Server) serverError(ctx context.Context, op string, err error) *oauthError {
	s.log.ErrorContext(ctx, op, "err", err)
	return oauthErr(http.StatusInternalServerError, "server_error", "retry later")
}

// oidcClient authenticates the client of a token or revocation request:
// client_secret_basic or client_secret_post for confidential apps, the
// client_id alone for public ones (which prove themselves with PKCE).
func (s *Server) oidcClient(ctx context.Context, r *http.Request) (storage.App, *oauthError) {
	app, oerr := s.authenticateClient(ctx, r)
	// RFC 6749 section 5.2: a client that tried Basic is answered with
	// the Basic challenge on every 401.
	if _, _, basic := r.BasicAuth(); basic && oerr != nil && oerr.status == http.StatusUnauthorized {
		challenged := *oerr
		challenged.basicChallenge = true
		oerr = &challenged
	}
	return app, oerr
}

func (s *Server) authenticateClient(ctx context.Context, r *http.Request) (storage.App, *oauthError) {
	id, sec, basic := r.BasicAuth()
	if basic {
		// RFC 6749 section 2.3.1: both are form-encoded before Basic.
		var err1, err2 error
		id, err1 = url.QueryUnescape(id)
		sec, err2 = url.QueryUnescape(sec)
		if err1 != nil || err2 != nil {
			return storage.App{}, oauthErr(http.StatusBadRequest, "invalid_request", "malformed Basic credentials")
		}
		if r.PostForm.Has("client_secret") {
			return storage.App{}, oauthErr(http.StatusBadRequest, "invalid_request", "use one client authentication method, not Basic and client_secret both")
		}
		if cid := r.PostForm.Get("client_id"); cid != "" && cid != id {
			return storage.App{}, oauthErr(http.StatusBadRequest, "invalid_request", "client_id differs from the Basic credentials")
		}
	} else {
		id, sec = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id == "" {
		e := oauthErr(http.StatusUnauthorized, "invalid_client", "client authentication missing: send client_id (and the secret, with Basic or client_secret)")
		e.basicChallenge = true
		return storage.App{}, e
	}
	app, err := s.store.GetApp(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return app, oauthErr(http.StatusUnauthorized, "invalid_client", "unknown client")
	} else if err != nil {
		return app, s.serverError(ctx, "oidc client", err)
	}
	if !app.Active() {
		return app, oauthErr(http.StatusUnauthorized, "invalid_client", "this client was disabled by an operator")
	}
	if app.Public {
		if sec != "" {
			return app, oauthErr(http.StatusUnauthorized, "invalid_client", "this client is public and has no secret")
		}
		return app, nil
	}
	if sec == "" {
		e := oauthErr(http.StatusUnauthorized, "invalid_client", "client secret missing")
		e.basicChallenge = true
		return app, e
	}
	if !app.SecretMatches(secret.Hash(sec), s.now(), secret.Equal) {
		return app, oauthErr(http.StatusUnauthorized, "invalid_client", "wrong client secret")
	}
	return app, nil
}
