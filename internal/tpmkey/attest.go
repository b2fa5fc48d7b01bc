package tpmkey

import (
	"errors"
	"fmt"

	"github.com/google/go-tpm/tpm2"
	"github.com/google/go-tpm/tpm2/transport"
)

// The NV indices where a TPM's maker stores the endorsement key's
// certificate (TCG EK Credential Profile): the RSA 2048 EK's, then the
// ECC P-256 EK's.
const (
	nvRSAEKCert = 0x01c00002
	nvECCEKCert = 0x01c0000a
)

// EKCertificate reads the endorsement key's certificate (DER) that the
// TPM's maker stored in the TPM, RSA first.
func (k *Key) EKCertificate() ([]byte, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.tpm == nil {
		return nil, errors.New("read the EK certificate: closed")
	}
	var errs []error
	for _, idx := range []tpm2.TPMHandle{nvRSAEKCert, nvECCEKCert} {
		der, err := k.readNV(idx)
		if err == nil {
			return der, nil
		}
		errs = append(errs, err)
	}
	return nil, fmt.Errorf("read the EK certificate: this TPM holds none (%w)", errors.Join(errs...))
}

// readNV reads NV index idx whole, in chunks the TPM takes.
func (k *Key) readNV(idx tpm2.TPMHandle) ([]byte, error) {
	pub, err := tpm2.NVReadPublic{NVIndex: idx}.Execute(k.tpm)
	if err != nil {
		return nil, fmt.Errorf("NV index %#x: %w", uint32(idx), err)
	}
	nv, err := pub.NVPublic.Contents()
	if err != nil {
		return nil, err
	}
	const chunk = 512 // below every TPM's MAX_NV_BUFFER_SIZE
	var out []byte
	for off := 0; off < int(nv.DataSize); off += chunk {
		n := min(chunk, int(nv.DataSize)-off)
		rsp, err := tpm2.NVRead{
			AuthHandle: tpm2.AuthHandle{Handle: idx, Name: pub.NVName, Auth: tpm2.PasswordAuth(nil)},
			NVIndex:    tpm2.NamedHandle{Handle: idx, Name: pub.NVName},
			Size:       uint16(n), Offset: uint16(off),
		}.Execute(k.tpm)
		if err != nil {
			return nil, fmt.Errorf("NV index %#x: %w", uint32(idx), err)
		}
		out = append(out, rsp.Data.Buffer...)
	}
	return out, nil
}

// Activate answers a verifier's credential challenge (made by
// MakeChallenge for this key and the TPM's endorsement key): the TPM
// gives the secret back only if the key it names is loaded in the TPM
// whose endorsement key the challenge was encrypted to.
func (k *Key) Activate(idObject, encSecret []byte, ekRSA bool) ([]byte, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.tpm == nil {
		return nil, errors.New("activate credential: closed")
	}
	tmpl := tpm2.ECCEKTemplate
	if ekRSA {
		tmpl = tpm2.RSAEKTemplate
	}
	ek, err := tpm2.CreatePrimary{PrimaryHandle: tpm2.TPMRHEndorsement, InPublic: tpm2.New2B(tmpl)}.Execute(k.tpm)
	if err != nil {
		return nil, fmt.Errorf("activate credential: make the endorsement key: %w", err)
	}
	defer flush(k.tpm, ek.ObjectHandle)
	rsp, err := tpm2.ActivateCredential{
		ActivateHandle: tpm2.AuthHandle{Handle: k.handle.Handle, Name: k.handle.Name, Auth: tpm2.PasswordAuth(nil)},
		KeyHandle: tpm2.AuthHandle{Handle: ek.ObjectHandle, Name: ek.Name,
			Auth: tpm2.Policy(tpm2.TPMAlgSHA256, 16, endorsementPolicy)},
		CredentialBlob: tpm2.TPM2BIDObject{Buffer: idObject},
		Secret:         tpm2.TPM2BEncryptedSecret{Buffer: encSecret},
	}.Execute(k.tpm)
	if err != nil {
		return nil, fmt.Errorf("activate credential: %w", err)
	}
	return rsp.CertInfo.Buffer, nil
}

// endorsementPolicy satisfies the TCG EK template's policy:
// PolicySecret(TPM_RH_ENDORSEMENT), with the endorsement hierarchy's
// (empty) password.
func endorsementPolicy(t transport.TPM, h tpm2.TPMISHPolicy, nonce tpm2.TPM2BNonce) error {
	_, err := tpm2.PolicySecret{AuthHandle: tpm2.TPMRHEndorsement, PolicySession: h, NonceTPM: nonce}.Execute(t)
	return err
}
