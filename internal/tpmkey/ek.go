package tpmkey

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/google/go-tpm/tpm2"
)

// An EK names one of the endorsement keys of the TCG EK Credential
// Profile for TPM 2.0 that this package can use: the key a TPM's maker
// certifies, which credential activation encrypts to. A TPM derives it
// from its endorsement seed and the EK's template, so both halves make
// the same key from the name alone.
type EK string

// The endorsement keys, in the order a desktop looks for their
// certificates. Most TPMs carry the RSA one; swtpm carries a P-384 one
// too, in the profile's high range.
const (
	EKRSA2048 EK = "rsa2048"  // template L-1, certificate at NV 0x01c00002
	EKP256    EK = "ecc-p256" // template L-2, certificate at NV 0x01c0000a
	EKP384    EK = "ecc-p384" // template H-3, certificate at NV 0x01c00016
)

// ekNV is where a TPM's maker stores each EK's certificate.
var ekNV = []struct {
	ek EK
	nv tpm2.TPMHandle
}{{EKRSA2048, 0x01c00002}, {EKP256, 0x01c0000a}, {EKP384, 0x01c00016}}

// policyBSHA384 is the high-range templates' authPolicy for SHA-384 (the
// profile's PolicyB, the one swtpm_setup uses). Only the admin role needs
// it: those templates set userWithAuth, so ActivateCredential (a
// user-role command) authorizes with the EK's empty password.
var policyBSHA384 = mustHex("b26e7d28d11a50bc53d882bcf5fd3a1a074148bb35d3b4e4cb1c0ad9bde419cacb47ba09699646150f9fc000f3f80e12")

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// template is the EK's public template, as the TPM is asked to make it.
func (ek EK) template() (tpm2.TPMTPublic, error) {
	switch ek {
	case EKRSA2048:
		return tpm2.RSAEKTemplate, nil
	case EKP256:
		return tpm2.ECCEKTemplate, nil
	case EKP384:
		return tpm2.TPMTPublic{
			Type:    tpm2.TPMAlgECC,
			NameAlg: tpm2.TPMAlgSHA384,
			ObjectAttributes: tpm2.TPMAObject{FixedTPM: true, FixedParent: true, SensitiveDataOrigin: true,
				UserWithAuth: true, AdminWithPolicy: true, Restricted: true, Decrypt: true},
			AuthPolicy: tpm2.TPM2BDigest{Buffer: policyBSHA384},
			Parameters: tpm2.NewTPMUPublicParms(tpm2.TPMAlgECC, &tpm2.TPMSECCParms{
				Symmetric: tpm2.TPMTSymDefObject{
					Algorithm: tpm2.TPMAlgAES,
					KeyBits:   tpm2.NewTPMUSymKeyBits(tpm2.TPMAlgAES, tpm2.TPMKeyBits(256)),
					Mode:      tpm2.NewTPMUSymMode(tpm2.TPMAlgAES, tpm2.TPMAlgCFB),
				},
				CurveID: tpm2.TPMECCNistP384,
			}),
			// The high range leaves unique empty (the low range pads it
			// with zeros).
			Unique: tpm2.NewTPMUPublicID(tpm2.TPMAlgECC, &tpm2.TPMSECCPoint{}),
		}, nil
	}
	return tpm2.TPMTPublic{}, fmt.Errorf("unknown endorsement key %q", string(ek))
}

// ekOf names the EK whose public key k is, as read from its certificate.
func ekOf(k crypto.PublicKey) (EK, error) {
	switch k := k.(type) {
	case *rsa.PublicKey:
		if k.E == 65537 && k.N.BitLen() == 2048 {
			return EKRSA2048, nil
		}
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return EKP256, nil
		case elliptic.P384():
			return EKP384, nil
		}
	}
	return "", errors.New("the EK is none of the TCG templates' keys (RSA 2048, ECC P-256, ECC P-384)")
}

// ekPublic is the public area of EK ek whose public key is k, as the TPM
// that holds it would report it: what credential activation encrypts to.
func ekPublic(ek EK, k crypto.PublicKey) (tpm2.TPMTPublic, error) {
	pub, err := ek.template()
	if err != nil {
		return pub, err
	}
	switch k := k.(type) {
	case *rsa.PublicKey:
		pub.Unique = tpm2.NewTPMUPublicID(tpm2.TPMAlgRSA, &tpm2.TPM2BPublicKeyRSA{Buffer: k.N.FillBytes(make([]byte, 256))})
	case *ecdsa.PublicKey:
		point, err := k.Bytes() // 0x04 || X || Y
		if err != nil {
			return pub, err
		}
		n := (len(point) - 1) / 2
		pub.Unique = tpm2.NewTPMUPublicID(tpm2.TPMAlgECC, &tpm2.TPMSECCPoint{
			X: tpm2.TPM2BECCParameter{Buffer: point[1 : 1+n]}, Y: tpm2.TPM2BECCParameter{Buffer: point[1+n:]}})
	}
	return pub, nil
}
