package dpop

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Errors of Verify; every one wraps ErrInvalid but ErrNonce, which asks
// the client to sign again with the nonce the server sends.
var (
	ErrInvalid = errors.New("invalid DPoP proof")
	ErrMissing = fmt.Errorf("%w: none sent", ErrInvalid)
	ErrNonce   = errors.New("DPoP proof without the server's current nonce")
)

// maxProof bounds a proof's size: a P-256 proof is about 600 bytes.
const maxProof = 4096

// Check is what a proof must match.
type Check struct {
	Method string
	// URLs are the names the request's target may be given (the server's
	// public URL and the URL the request arrived at), without query.
	URLs []string
	// AccessToken is the credential the request carries, "" for the
	// token request that has none yet.
	AccessToken string
	Now         time.Time
	MaxAge      time.Duration     // an older iat is stale
	Skew        time.Duration     // an iat further ahead is refused
	Nonce       func(string) bool // reports whether a nonce is current; nil takes any
}

// Verified is a proof that passed Verify.
type Verified struct {
	JKT      string // the key's thumbprint
	JTI      string // the proof's id, for its single use
	IssuedAt time.Time
}

// Verify checks the DPoP header values of one request against c: one
// proof, typed dpop+jwt, signed ES256 by the public P-256 key in its own
// header, for this method and URL, fresh, for this access token, with a
// current nonce. It does not check the jti's single use (the caller's
// store does) nor which key it is (the caller compares JKT).
func Verify(values []string, c Check) (Verified, error) {
	var v Verified
	switch {
	case len(values) == 0:
		return v, ErrMissing
	case len(values) > 1:
		return v, fmt.Errorf("%w: more than one", ErrInvalid)
	case len(values[0]) > maxProof:
		return v, fmt.Errorf("%w: too long", ErrInvalid)
	}
	payload, jwk, err := verifySelfSigned(values[0], proofType)
	if err != nil {
		return v, err
	}
	var cl claims
	dec := json.NewDecoder(bytes.NewReader(payload))
	if err := dec.Decode(&cl); err != nil {
		return v, fmt.Errorf("%w: claims are not JSON", ErrInvalid)
	}
	iat := time.Unix(cl.IAT, 0)
	switch {
	case cl.JTI == "" || len(cl.JTI) > 256:
		return v, fmt.Errorf("%w: jti missing", ErrInvalid)
	case cl.HTM != c.Method:
		return v, fmt.Errorf("%w: made for %s, not %s", ErrInvalid, cl.HTM, c.Method)
	case !sameTarget(cl.HTU, c.URLs):
		return v, fmt.Errorf("%w: made for another URL (%s)", ErrInvalid, cl.HTU)
	case cl.IAT == 0 || iat.Before(c.Now.Add(-c.MaxAge)):
		return v, fmt.Errorf("%w: stale (iat %s)", ErrInvalid, iat.UTC().Format(time.RFC3339))
	case iat.After(c.Now.Add(c.Skew)):
		return v, fmt.Errorf("%w: iat in the future; check this computer's clock", ErrInvalid)
	case c.AccessToken != "" && cl.ATH != TokenHash(c.AccessToken):
		return v, fmt.Errorf("%w: ath does not match the access token", ErrInvalid)
	case c.AccessToken == "" && cl.ATH != "":
		return v, fmt.Errorf("%w: ath without an access token", ErrInvalid)
	}
	jkt, err := Thumbprint(jwk)
	if err != nil {
		return v, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if c.Nonce != nil && !c.Nonce(cl.Nonce) {
		return v, ErrNonce
	}
	return Verified{JKT: jkt, JTI: cl.JTI, IssuedAt: iat}, nil
}

// verifySelfSigned checks a compact ES256 JWS of type typ signed by the
// P-256 key in its own header, and returns its payload and that key.
func verifySelfSigned(compact, typ string) ([]byte, *jose.JSONWebKey, error) {
	jws, err := jose.ParseSigned(compact, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil || len(jws.Signatures) != 1 {
		return nil, nil, fmt.Errorf("%w: not a compact ES256 JWS", ErrInvalid)
	}
	h := jws.Signatures[0].Protected
	if t, _ := h.ExtraHeaders[jose.HeaderType].(string); t != typ {
		return nil, nil, fmt.Errorf("%w: typ is not %s", ErrInvalid, typ)
	}
	pub, ok := publicKey(h.JSONWebKey)
	if !ok {
		return nil, nil, fmt.Errorf("%w: header jwk is not a public P-256 key", ErrInvalid)
	}
	payload, err := jws.Verify(pub)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: signature does not verify", ErrInvalid)
	}
	return payload, h.JSONWebKey, nil
}

// VerifyStatement checks a statement Key.Sign made: a compact JWS of type
// typ signed by the key of thumbprint jkt. It returns the payload.
func VerifyStatement(compact, typ, jkt string) ([]byte, error) {
	if len(compact) > 16<<10 {
		return nil, fmt.Errorf("%w: too long", ErrInvalid)
	}
	payload, jwk, err := verifySelfSigned(compact, typ)
	if err != nil {
		return nil, err
	}
	if got, err := Thumbprint(jwk); err != nil || got != jkt {
		return nil, fmt.Errorf("%w: signed by another key", ErrInvalid)
	}
	return payload, nil
}

// publicKey returns k's key when it is a public P-256 key.
func publicKey(k *jose.JSONWebKey) (*ecdsa.PublicKey, bool) {
	if k == nil || !k.IsPublic() || !k.Valid() {
		return nil, false
	}
	pub, ok := k.Key.(*ecdsa.PublicKey)
	return pub, ok && pub.Curve == elliptic.P256()
}

// sameTarget reports whether htu names one of urls: scheme and host
// compared without case, the path exactly, query and fragment ignored.
func sameTarget(htu string, urls []string) bool {
	a, err := url.Parse(htu)
	if err != nil || a.Host == "" {
		return false
	}
	for _, raw := range urls {
		b, err := url.Parse(raw)
		if err == nil && strings.EqualFold(a.Scheme, b.Scheme) && strings.EqualFold(a.Host, b.Host) && a.EscapedPath() == b.EscapedPath() {
			return true
		}
	}
	return false
}
