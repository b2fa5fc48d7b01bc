package server

import (
	"context"
	"crypto/hmac"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/scanfree/scanfree/backend/storage"
	"github.com/scanfree/scanfree/internal/dpop"
	"github.com/scanfree/scanfree/internal/secret"
)

// A proof is fresh for proofMaxAge after its iat (and may be dated up to
// proofSkew ahead, for a desktop clock a little fast); the server's
// nonces change every nonceStep and each is taken for two steps, so a
// proof also shows it was made after the nonce it carries.
const (
	proofMaxAge = 2 * time.Minute
	proofSkew   = time.Minute
	nonceStep   = 2 * time.Minute
)

// proofNonce is the nonce of step: the step and a MAC over it with the
// server's key, which every replica shares, so any replica takes a nonce
// another one gave out and none has to remember them.
func (s *Server) proofNonce(ctx context.Context, step int64) (string, error) {
	k, err := s.signin.Key(ctx)
	if err != nil {
		return "", err
	}
	b := binary.BigEndian.AppendUint64(nil, uint64(step))
	b = append(b, secret.MAC(k, "dpop-nonce", string(b))[:16]...)
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// currentNonce is the nonce to hand out now.
func (s *Server) currentNonce(ctx context.Context) (string, error) {
	return s.proofNonce(ctx, s.now().Unix()/int64(nonceStep.Seconds()))
}

// nonceValid reports whether n is this step's nonce or the one before.
func (s *Server) nonceValid(ctx context.Context, n string) bool {
	b, err := base64.RawURLEncoding.DecodeString(n)
	if err != nil || len(b) != 24 {
		return false
	}
	step := int64(binary.BigEndian.Uint64(b))
	now := s.now().Unix() / int64(nonceStep.Seconds())
	if step != now && step != now-1 {
		return false
	}
	want, err := s.proofNonce(ctx, step)
	return err == nil && hmac.Equal([]byte(want), []byte(n))
}

// proofURLs are the names a proof's htu may give this request's target:
// the server's public URL, or the address the request arrived at.
func (s *Server) proofURLs(r *http.Request) []string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return []string{strings.TrimSuffix(s.cfg.PublicURL, "/") + r.URL.Path, scheme + "://" + r.Host + r.URL.Path}
}

// errProofReplayed reports a proof presented a second time.
var errProofReplayed = errors.New("invalid DPoP proof: replayed")

// checkProof verifies the request's DPoP proof for accessToken ("" at
// the token endpoint) and spends its jti in the store, so that no replica
// takes it twice. Every answer carries a fresh nonce.
func (s *Server) checkProof(w http.ResponseWriter, r *http.Request, accessToken string) (dpop.Verified, error) {
	ctx := r.Context()
	if n, err := s.currentNonce(ctx); err == nil {
		w.Header().Set(dpop.NonceHeader, n)
	}
	v, err := dpop.Verify(r.Header.Values(dpop.Header), dpop.Check{Method: r.Method, URLs: s.proofURLs(r), AccessToken: accessToken,
		Now: s.now(), MaxAge: proofMaxAge, Skew: proofSkew, Nonce: func(n string) bool { return s.nonceValid(ctx, n) }})
	if err != nil {
		return v, err
	}
	err = s.store.SpendChallenge(ctx, secret.Hash("dpop-jti\x00"+v.JKT+"\x00"+v.JTI), v.IssuedAt.Add(proofMaxAge+proofSkew))
	if errors.Is(err, storage.ErrAlreadyUsed) {
		return v, errProofReplayed
	}
	return v, err
}

// proofRefused answers a device-API call whose proof failed: 401 with the
// nonce to sign with (use_dpop_nonce, which a desktop answers by signing
// again) or invalid_dpop_proof (which does not sign the desktop out: a
// wrong clock makes stale proofs too). A store failure is a 500.
func (s *Server) proofRefused(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, dpop.ErrNonce):
		w.Header().Set("WWW-Authenticate", `DPoP error="use_dpop_nonce", error_description="sign the proof with the DPoP-Nonce of this answer"`)
		writeJSON(w, http.StatusUnauthorized, apiErr(errNotSignedIn, "use the DPoP-Nonce of this answer"))
	case errors.Is(err, dpop.ErrInvalid) || errors.Is(err, errProofReplayed):
		w.Header().Set("WWW-Authenticate", `DPoP error="invalid_dpop_proof", error_description="`+strings.ReplaceAll(err.Error(), `"`, `'`)+`"`)
		writeJSON(w, http.StatusUnauthorized, apiErr(errNotSignedIn, err.Error()+"; if this computer's clock is wrong, set it right"))
	default:
		s.internalError(w, r, "device proof", err)
	}
}
