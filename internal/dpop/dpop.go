// Package dpop implements the parts of RFC 9449 (OAuth 2.0 Demonstrating
// Proof of Possession) that scanfree's device API uses: a desktop signs a
// short-lived proof for every request with a P-256 key, and the backend
// binds the desktop's credential to that key's thumbprint, so the
// credential alone (copied from a keyring, a backup or a home folder) is
// useless without the key.
package dpop

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/cryptosigner"

	"github.com/scanfree/scanfree/internal/keyfile"
)

// Header is the request header that carries a proof; Scheme is the
// Authorization scheme of a bound credential; NonceHeader carries the
// server's nonce.
const (
	Header      = "DPoP"
	Scheme      = "DPoP"
	NonceHeader = "DPoP-Nonce"
	proofType   = "dpop+jwt"
)

// Key is a desktop's proof key.
type Key struct {
	priv       *ecdsa.PrivateKey // nil when the key is elsewhere (a TPM)
	material   any               // what jose signs with: priv, or an opaque signer
	signer     jose.Signer
	jkt        string
	protection string
}

// NewKey makes a fresh P-256 key.
func NewKey() (*Key, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("make proof key: %w", err)
	}
	return fromPrivate(priv)
}

func fromPrivate(priv *ecdsa.PrivateKey) (*Key, error) {
	k, err := newKey(priv, priv.Public(), "software")
	if err != nil {
		return nil, err
	}
	k.priv = priv
	return k, nil
}

// FromSigner makes a proof key of a P-256 signer that holds its private
// key elsewhere (a TPM); protection says where ("tpm").
func FromSigner(s crypto.Signer, protection string) (*Key, error) {
	pub, ok := s.Public().(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		return nil, errors.New("proof key: not a P-256 key")
	}
	return newKey(cryptosigner.Opaque(s), pub, protection)
}

func newKey(key any, pub crypto.PublicKey, protection string) (*Key, error) {
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key},
		(&jose.SignerOptions{EmbedJWK: true}).WithType(proofType))
	if err != nil {
		return nil, fmt.Errorf("proof key: %w", err)
	}
	jkt, err := Thumbprint(&jose.JSONWebKey{Key: pub})
	if err != nil {
		return nil, err
	}
	return &Key{material: key, signer: s, jkt: jkt, protection: protection}, nil
}

// LoadOrCreate reads the key at path (PKCS #8 PEM), creating it owner-only
// (0600) when there is none. This is the software fallback: whoever can
// read the file can copy the key.
func LoadOrCreate(path string) (*Key, error) {
	priv, err := keyfile.ReadECKey(path)
	if errors.Is(err, os.ErrNotExist) {
		k, kerr := NewKey()
		if kerr != nil {
			return nil, kerr
		}
		if werr := keyfile.WriteECKey(path, k.priv); werr != nil {
			return nil, fmt.Errorf("save proof key: %w", werr)
		}
		// Read back what is on disk: of two processes making the key at
		// once, the last rename wins, and both must prove with that one.
		priv, err = keyfile.ReadECKey(path)
	}
	if err == nil && priv.Curve != elliptic.P256() {
		err = errors.New("not a P-256 key")
	}
	if err != nil {
		return nil, fmt.Errorf("read proof key %s: %v; delete it and run `scanfreed login` again", path, err)
	}
	return fromPrivate(priv)
}

// MarshalPEM is a software key as PKCS #8 PEM, for a store other than a
// key file (macOS's keychain); ParsePEM reads it back.
func (k *Key) MarshalPEM() ([]byte, error) {
	if k.priv == nil {
		return nil, errors.New("proof key: held elsewhere, nothing to marshal")
	}
	return keyfile.EncodeECKey(k.priv)
}

// ParsePEM reads a software key written by MarshalPEM.
func ParsePEM(b []byte) (*Key, error) {
	priv, err := keyfile.DecodeECKey(b)
	if err == nil && priv.Curve != elliptic.P256() {
		err = errors.New("not a P-256 key")
	}
	if err != nil {
		return nil, fmt.Errorf("read proof key: %w", err)
	}
	return fromPrivate(priv)
}

// Thumbprint is the key's RFC 7638 SHA-256 thumbprint, base64url: the
// credential's binding (cnf.jkt).
func (k *Key) Thumbprint() string { return k.jkt }

// Protection says where the key lives: "software" for a key of this
// package's, else what FromSigner was told.
func (k *Key) Protection() string { return k.protection }

type claims struct {
	JTI   string `json:"jti"`
	HTM   string `json:"htm"`
	HTU   string `json:"htu"`
	IAT   int64  `json:"iat"`
	ATH   string `json:"ath,omitempty"`
	Nonce string `json:"nonce,omitempty"`
}

// Proof signs a proof for one request: method and url (its query and
// fragment are left out, as RFC 9449 says), the access token it carries
// ("" for the token request itself) and the server's latest nonce.
func (k *Key) Proof(method, url, accessToken, nonce string, now time.Time) (string, error) {
	jti := make([]byte, 16)
	rand.Read(jti)
	c := claims{JTI: base64.RawURLEncoding.EncodeToString(jti), HTM: method, HTU: trimURL(url), IAT: now.Unix(), Nonce: nonce}
	if accessToken != "" {
		c.ATH = TokenHash(accessToken)
	}
	payload, _ := json.Marshal(c)
	jws, err := k.signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("sign proof: %w", err)
	}
	return jws.CompactSerialize()
}

// Sign signs payload as a statement of type typ by this key (a compact
// ES256 JWS carrying the public key), which VerifyStatement checks: what
// the desktop says about itself, signed by the key its credential is
// bound to. typ must not be a proof's.
func (k *Key) Sign(typ string, payload []byte) (string, error) {
	if typ == proofType {
		return "", errors.New("sign statement: that is a proof's type")
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: k.material},
		(&jose.SignerOptions{EmbedJWK: true}).WithType(jose.ContentType(typ)))
	if err != nil {
		return "", fmt.Errorf("sign statement: %w", err)
	}
	jws, err := s.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("sign statement: %w", err)
	}
	return jws.CompactSerialize()
}

// TokenHash is a proof's ath for accessToken.
func TokenHash(accessToken string) string {
	sum := sha256.Sum256([]byte(accessToken))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// Thumbprint computes a public key's RFC 7638 SHA-256 thumbprint.
func Thumbprint(k *jose.JSONWebKey) (string, error) {
	t, err := k.Thumbprint(crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("key thumbprint: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(t), nil
}

// trimURL drops a URL's query and fragment.
func trimURL(u string) string {
	u, _, _ = strings.Cut(u, "#")
	u, _, _ = strings.Cut(u, "?")
	return u
}
