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
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
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
	priv   *ecdsa.PrivateKey
	signer jose.Signer
	jkt    string
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
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: priv},
		(&jose.SignerOptions{EmbedJWK: true}).WithType(proofType))
	if err != nil {
		return nil, fmt.Errorf("proof key: %w", err)
	}
	jkt, err := Thumbprint(&jose.JSONWebKey{Key: priv.Public()})
	if err != nil {
		return nil, err
	}
	return &Key{priv: priv, signer: s, jkt: jkt}, nil
}

// LoadOrCreate reads the key at path (PKCS #8 PEM), creating it owner-only
// (0600) when there is none. This is the software fallback: whoever can
// read the file can copy the key.
func LoadOrCreate(path string) (*Key, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		k, err := NewKey()
		if err != nil {
			return nil, err
		}
		der, err := x509.MarshalPKCS8PrivateKey(k.priv)
		if err != nil {
			return nil, fmt.Errorf("save proof key: %w", err)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("save proof key: %w", err)
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, os.ErrExist) { // another process made it first
			return LoadOrCreate(path)
		}
		if err != nil {
			return nil, fmt.Errorf("save proof key: %w", err)
		}
		_, err = f.Write(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(path)
			return nil, fmt.Errorf("save proof key %s: %w", path, err)
		}
		return k, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read proof key: %w", err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, fmt.Errorf("read proof key %s: not PEM; delete it and run `scanfreed login` again", path)
	}
	priv, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	ec, ok := priv.(*ecdsa.PrivateKey)
	if err != nil || !ok || ec.Curve != elliptic.P256() {
		return nil, fmt.Errorf("read proof key %s: not a P-256 key; delete it and run `scanfreed login` again", path)
	}
	return fromPrivate(ec)
}

// Thumbprint is the key's RFC 7638 SHA-256 thumbprint, base64url: the
// credential's binding (cnf.jkt).
func (k *Key) Thumbprint() string { return k.jkt }

// Protection says where the key lives: "software" for this package's.
func (k *Key) Protection() string { return "software" }

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
