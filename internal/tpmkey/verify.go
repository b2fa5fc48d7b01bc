package tpmkey

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/google/go-tpm/tpm2"
)

// This half is the verifier's (the backend): it needs no TPM.

// ErrNotTPMKey reports a public area that is not a non-exportable P-256
// signing key made inside a TPM.
var ErrNotTPMKey = errors.New("not a non-exportable TPM signing key")

// ParsePublicArea reads a proof key's public area (Key.PublicArea) and
// checks that the TPM made it (sensitiveDataOrigin) and will never let it
// out (fixedTPM, fixedParent): a TPM refuses to load a key with those
// attributes from outside, so once credential activation shows the key
// is loaded in a TPM, it was made there. It returns the key and its name,
// which the challenge binds.
func ParsePublicArea(area []byte) (*ecdsa.PublicKey, []byte, error) {
	p, err := tpm2.Unmarshal[tpm2.TPMTPublic](area)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrNotTPMKey, err)
	}
	a := p.ObjectAttributes
	if !a.FixedTPM || !a.FixedParent || !a.SensitiveDataOrigin || !a.SignEncrypt || a.Decrypt || p.NameAlg != tpm2.TPMAlgSHA256 {
		return nil, nil, fmt.Errorf("%w: its attributes let it leave the TPM or do more than sign", ErrNotTPMKey)
	}
	pub, err := ecdsaPublic(p)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrNotTPMKey, err)
	}
	name, err := tpm2.ObjectName(p)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrNotTPMKey, err)
	}
	return pub, name.Buffer, nil
}

// Roots are the endorsement key certificates' issuers a verifier trusts.
type Roots struct {
	roots, intermediates *x509.CertPool
}

// LoadRoots reads a PEM bundle of EK certificate issuers (the TPM makers'
// CAs): the self-signed ones are roots, the others intermediates.
func LoadRoots(path string) (*Roots, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read TPM EK roots: %w", err)
	}
	r := &Roots{roots: x509.NewCertPool(), intermediates: x509.NewCertPool()}
	n := 0
	for block, rest := pem.Decode(b); block != nil; block, rest = pem.Decode(rest) {
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("read TPM EK roots %s: %w", path, err)
		}
		if c.CheckSignatureFrom(c) == nil {
			r.roots.AddCert(c)
		} else {
			r.intermediates.AddCert(c)
		}
		n++
	}
	if n == 0 {
		return nil, fmt.Errorf("read TPM EK roots %s: no PEM CERTIFICATE in it", path)
	}
	return r, nil
}

var oidSubjectAltName = asn1.ObjectIdentifier{2, 5, 29, 17}

// VerifyEK parses an endorsement key certificate and checks that one of
// the roots issued it, returning its key (RSA or ECDSA).
func (r *Roots) VerifyEK(der []byte) (crypto.PublicKey, error) {
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("EK certificate: %w", err)
	}
	// EK certificates name the TPM in a critical subjectAltName that holds
	// only a directoryName (TCG EK Credential Profile), which crypto/x509
	// does not interpret; the name is not what is checked here.
	c.UnhandledCriticalExtensions = slices.DeleteFunc(c.UnhandledCriticalExtensions, oidSubjectAltName.Equal)
	if _, err := c.Verify(x509.VerifyOptions{Roots: r.roots, Intermediates: r.intermediates,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		return nil, fmt.Errorf("EK certificate: %w", err)
	}
	switch k := c.PublicKey.(type) {
	case *rsa.PublicKey:
		return k, nil
	case *ecdsa.PublicKey:
		return k, nil
	}
	return nil, errors.New("EK certificate: neither an RSA nor an ECDSA key")
}

// Challenge is a credential challenge for a key in a TPM.
type Challenge struct {
	IDObject  []byte
	EncSecret []byte
	EK        EK // the endorsement key that opens it
}

// MakeChallenge encrypts secret to the endorsement key ek for the key of
// name (TPM2_MakeCredential, done in software): only that TPM can
// decrypt it, and only while the named key is loaded in it.
func MakeChallenge(rand io.Reader, ek crypto.PublicKey, name, secret []byte) (Challenge, error) {
	which, err := ekOf(ek)
	if err != nil {
		return Challenge{}, fmt.Errorf("make credential challenge: %w", err)
	}
	pub, err := ekPublic(which, ek)
	if err != nil {
		return Challenge{}, fmt.Errorf("make credential challenge: %w", err)
	}
	kem, err := tpm2.ImportEncapsulationKey(&pub)
	if err != nil {
		return Challenge{}, fmt.Errorf("make credential challenge: %w", err)
	}
	id, enc, err := tpm2.CreateCredential(rand, kem, name, secret)
	if err != nil {
		return Challenge{}, fmt.Errorf("make credential challenge: %w", err)
	}
	return Challenge{IDObject: id, EncSecret: enc, EK: which}, nil
}
