// Package ncryptkey keeps the desktop's proof key in Windows' Microsoft
// Platform Crypto Provider (NCrypt over the TPM): a P-256 key created in
// it cannot be exported, and the state directory keeps only its name. On
// other OSes every call fails with ErrUnsupported. The blob and signature
// conversions are portable and tested everywhere; the NCrypt calls run
// only on Windows (under Wine the provider is missing, which is the
// fallback path the daemon takes there).
package ncryptkey

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"

	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"

	"github.com/scanfree/scanfree/internal/keyfile"
	"github.com/scanfree/scanfree/internal/tpmkey"
)

// Provider is the NCrypt key storage provider the key lives in.
const Provider = "Microsoft Platform Crypto Provider"

// ErrUnsupported reports that this OS has no Platform Crypto Provider.
var ErrUnsupported = errors.New("the Platform Crypto Provider exists only on Windows")

// Key is a P-256 key held by the Platform Crypto Provider; it is a
// crypto.Signer.
type Key struct {
	pub    *ecdsa.PublicKey
	sign   func(digest []byte) ([]byte, error) // r||s
	close  func() error
	attest func() (tpmkey.Attestor, func(), error)
}

// Attestor reaches the key in the TPM under the provider, for credential
// activation (tpmkey.MakeChallenge): the provider tells its TPM context
// and the key's TPM handle. done releases them.
func (k *Key) Attestor() (a tpmkey.Attestor, done func(), err error) {
	if k.attest == nil {
		return nil, nil, ErrUnsupported
	}
	a, done, err = k.attest()
	if err != nil {
		return nil, nil, fmt.Errorf("reach the platform key in the TPM: %w", err)
	}
	return a, done, nil
}

// Public is the key's public half.
func (k *Key) Public() crypto.PublicKey { return k.pub }

// Sign signs digest (SHA-256) inside the provider and returns an ASN.1
// signature, as crypto.Signer wants.
func (k *Key) Sign(_ io.Reader, digest []byte, _ crypto.SignerOpts) ([]byte, error) {
	raw, err := k.sign(digest)
	if err != nil {
		return nil, fmt.Errorf("sign in the platform crypto provider: %w", err)
	}
	return rawToDER(raw)
}

// Close releases the key's handle; the key stays in the provider.
func (k *Key) Close() error { return k.close() }

// file is what the state directory keeps: which key, not the key.
type file struct {
	Provider string `json:"provider"`
	Name     string `json:"name"`
}

// Exists reports whether path names a key file.
func Exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// Create makes a new non-exportable key in the provider and records its
// name in path.
func Create(path string) (*Key, error) {
	b := make([]byte, 12)
	rand.Read(b)
	name := "scanfree-dpop-" + hex.EncodeToString(b)
	k, err := open(name, true)
	if err != nil {
		return nil, err
	}
	rec, _ := json.Marshal(file{Provider: Provider, Name: name})
	if err := keyfile.WriteAtomic(path, rec, 0o600); err != nil {
		k.Close()
		deleteKey(name)
		return nil, fmt.Errorf("record the platform key: %w", err)
	}
	return k, nil
}

// Load opens the key path names.
func Load(path string) (*Key, error) {
	f, err := read(path)
	if err != nil {
		return nil, err
	}
	return open(f.Name, false)
}

// Delete removes the key path names from the provider, and path.
func Delete(path string) error {
	f, err := read(path)
	if err != nil {
		return err
	}
	if err := deleteKey(f.Name); err != nil {
		return err
	}
	return os.Remove(path)
}

func read(path string) (file, error) {
	var f file
	b, err := os.ReadFile(path)
	if err != nil {
		return f, fmt.Errorf("read platform key file: %w", err)
	}
	if err := json.Unmarshal(b, &f); err != nil || f.Name == "" || f.Provider != Provider {
		return f, fmt.Errorf("platform key file %s is damaged; run `scanfreed logout` and `scanfreed login`", path)
	}
	return f, nil
}

// eccPublicP256Magic is BCRYPT_ECDSA_PUBLIC_P256_MAGIC ("ECS1").
const eccPublicP256Magic = 0x31534345

// parseECCPublicBlob reads a BCRYPT_ECCPUBLIC_BLOB of a P-256 key:
// magic and key size (little-endian), then X and Y.
func parseECCPublicBlob(b []byte) (*ecdsa.PublicKey, error) {
	if len(b) < 8 {
		return nil, errors.New("ECC public blob: too short")
	}
	magic, size := binary.LittleEndian.Uint32(b), binary.LittleEndian.Uint32(b[4:])
	if magic != eccPublicP256Magic || size != 32 || len(b) != 8+64 {
		return nil, fmt.Errorf("ECC public blob: magic %#x, %d-byte coordinates, %d bytes; want a P-256 public key", magic, size, len(b))
	}
	x, y := new(big.Int).SetBytes(b[8:40]), new(big.Int).SetBytes(b[40:72])
	pub := &ecdsa.PublicKey{Curve: elliptic.P256(), X: x, Y: y}
	if !pub.Curve.IsOnCurve(x, y) {
		return nil, errors.New("ECC public blob: the point is not on P-256")
	}
	return pub, nil
}

// rawToDER turns NCrypt's r||s ECDSA signature into ASN.1.
func rawToDER(raw []byte) ([]byte, error) {
	if len(raw) != 64 {
		return nil, fmt.Errorf("signature of %d bytes; want 64 (P-256 r||s)", len(raw))
	}
	var b cryptobyte.Builder
	b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1BigInt(new(big.Int).SetBytes(raw[:32]))
		b.AddASN1BigInt(new(big.Int).SetBytes(raw[32:]))
	})
	return b.Bytes()
}
