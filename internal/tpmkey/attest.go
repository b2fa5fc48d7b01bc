package tpmkey

import (
	"errors"
	"fmt"
	"sync"

	"github.com/google/go-tpm/tpm2"
	"github.com/google/go-tpm/tpm2/transport"
)

// Attestor is a key loaded in a TPM that credential activation can show
// to a verifier (MakeChallenge): a Key, or one another API made (Loaded).
type Attestor interface {
	// PublicArea is the key's TPMT_PUBLIC, whose hash is its name.
	PublicArea() []byte
	// EKCertificate is the DER of the TPM's endorsement key certificate.
	EKCertificate() ([]byte, error)
	// Activate opens a challenge made for the key and the EK it names.
	Activate(idObject, encSecret []byte, ek EK) ([]byte, error)
}

var _ Attestor = (*Key)(nil)

// EKCertificate reads an endorsement key's certificate (DER) that the
// TPM's maker stored in the TPM, the first of the TCG profile's indices
// that holds one (RSA 2048, ECC P-256, ECC P-384).
func (k *Key) EKCertificate() ([]byte, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.tpm == nil {
		return nil, errors.New("read the EK certificate: closed")
	}
	return readEKCertificate(k.tpm)
}

func readEKCertificate(t transport.TPM) ([]byte, error) {
	var errs []error
	for _, e := range ekNV {
		der, err := readNV(t, e.nv)
		if err == nil {
			return der, nil
		}
		errs = append(errs, err)
	}
	return nil, fmt.Errorf("read the EK certificate: this TPM holds none (%w)", errors.Join(errs...))
}

// readNV reads NV index idx whole, in chunks the TPM takes.
func readNV(t transport.TPM, idx tpm2.TPMHandle) ([]byte, error) {
	pub, err := tpm2.NVReadPublic{NVIndex: idx}.Execute(t)
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
		}.Execute(t)
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
// whose endorsement key (ek, named by the challenge) it was encrypted to.
func (k *Key) Activate(idObject, encSecret []byte, ek EK) ([]byte, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.tpm == nil {
		return nil, errors.New("activate credential: closed")
	}
	return activate(k.tpm, k.handle, idObject, encSecret, ek)
}

func activate(t transport.TPM, key tpm2.NamedHandle, idObject, encSecret []byte, ek EK) ([]byte, error) {
	tmpl, err := ek.template()
	if err != nil {
		return nil, fmt.Errorf("activate credential: %w", err)
	}
	made, err := tpm2.CreatePrimary{PrimaryHandle: tpm2.TPMRHEndorsement, InPublic: tpm2.New2B(tmpl)}.Execute(t)
	if err != nil {
		return nil, fmt.Errorf("activate credential: make the endorsement key: %w", err)
	}
	defer flush(t, made.ObjectHandle)
	// The low-range templates leave the user role to their policy; the
	// high range sets userWithAuth, and its empty password does.
	auth := tpm2.Policy(tpm2.TPMAlgSHA256, 16, endorsementPolicy)
	if tmpl.ObjectAttributes.UserWithAuth {
		auth = tpm2.PasswordAuth(nil)
	}
	rsp, err := tpm2.ActivateCredential{
		ActivateHandle: tpm2.AuthHandle{Handle: key.Handle, Name: key.Name, Auth: tpm2.PasswordAuth(nil)},
		KeyHandle:      tpm2.AuthHandle{Handle: made.ObjectHandle, Name: made.Name, Auth: auth},
		CredentialBlob: tpm2.TPM2BIDObject{Buffer: idObject},
		Secret:         tpm2.TPM2BEncryptedSecret{Buffer: encSecret},
	}.Execute(t)
	if err != nil {
		return nil, fmt.Errorf("activate credential: %w", err)
	}
	return rsp.CertInfo.Buffer, nil
}

// Loaded is the key at handle h in TPM t, made and loaded by another API
// (Windows' Platform Crypto Provider tells its keys' TPM handles), as an
// Attestor. t is used as it is: the caller keeps it open, and the key
// loaded, while the Attestor is in use. Commands the TPM asks to be
// retried are.
func Loaded(t transport.TPM, h tpm2.TPMHandle) (Attestor, error) {
	t = retrying{tpm: t}
	rp, err := tpm2.ReadPublic{ObjectHandle: h}.Execute(t)
	if err != nil {
		return nil, fmt.Errorf("read the key's public area from the TPM: %w", err)
	}
	pub, err := rp.OutPublic.Contents()
	if err != nil {
		return nil, fmt.Errorf("read the key's public area from the TPM: %w", err)
	}
	return &loaded{t: t, key: tpm2.NamedHandle{Handle: h, Name: rp.Name}, area: tpm2.Marshal(*pub)}, nil
}

type loaded struct {
	mu   sync.Mutex
	t    transport.TPM
	key  tpm2.NamedHandle
	area []byte
}

func (l *loaded) PublicArea() []byte { return l.area }

func (l *loaded) EKCertificate() ([]byte, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return readEKCertificate(l.t)
}

func (l *loaded) Activate(idObject, encSecret []byte, ek EK) ([]byte, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return activate(l.t, l.key, idObject, encSecret, ek)
}

// endorsementPolicy satisfies the TCG EK template's policy:
// PolicySecret(TPM_RH_ENDORSEMENT), with the endorsement hierarchy's
// (empty) password.
func endorsementPolicy(t transport.TPM, h tpm2.TPMISHPolicy, nonce tpm2.TPM2BNonce) error {
	_, err := tpm2.PolicySecret{AuthHandle: tpm2.TPMRHEndorsement, PolicySession: h, NonceTPM: nonce}.Execute(t)
	return err
}
