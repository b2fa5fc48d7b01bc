// Package tpmkey keeps a desktop's DPoP proof key in a TPM 2.0: a P-256
// signing key made inside the TPM under its storage root key, marked
// fixedTPM and fixedParent, so the TPM never gives its private part out.
// The daemon keeps only the key's blob (its public part, and its private
// part wrapped by the storage root key, which is derived from the TPM's
// own seed): another TPM cannot load it, so a copied state directory
// proves nothing.
//
// The package also holds both halves of credential activation (TPM 2.0
// Part 1, "Credential Protection"), by which the backend learns that the
// key is in the same TPM as an endorsement key its maker certified.
package tpmkey

import (
	"crypto"
	"crypto/ecdsa"
	"encoding/asn1"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"strings"
	"sync"

	"github.com/google/go-tpm/tpm2"
	"github.com/google/go-tpm/tpm2/transport"

	"github.com/scanfree/scanfree/internal/keyfile"
)

// DefaultDevice is the kernel's TPM resource manager, which lets several
// programs use the TPM at once and flushes what each leaves loaded.
const DefaultDevice = "/dev/tpmrm0"

// simulatorPrefix starts a simulator address: simulator:HOST:PORT.
const simulatorPrefix = "simulator:"

// Simulator reports whether addr names a TPM simulator rather than a
// device: a key there is held by a program, not by hardware.
func Simulator(addr string) bool { return strings.HasPrefix(addr, simulatorPrefix) }

// Open opens the TPM at addr: a device path, or simulator:HOST:PORT for
// a simulator speaking the TCG reference implementation's TCP protocol
// (Debian's swtpm socket --tpm2 --server type=tcp,port=PORT --flags
// not-need-init,startup-clear), for tests and development only.
func Open(addr string) (transport.TPMCloser, error) {
	if !Simulator(addr) {
		t, err := openDevice(addr)
		if err != nil {
			return nil, fmt.Errorf("open TPM %s: %w", addr, err)
		}
		return retryingCloser{retrying{t}, t}, nil
	}
	hostPort := strings.TrimPrefix(addr, simulatorPrefix)
	if _, port, err := net.SplitHostPort(hostPort); err != nil || port == "" {
		return nil, fmt.Errorf("TPM simulator address %q: want simulator:HOST:PORT", addr)
	}
	t, err := dialSimulator(hostPort)
	if err != nil {
		return nil, fmt.Errorf("open TPM simulator %s: %w", addr, err)
	}
	// A simulator may not be started yet; one that is answers
	// TPM_RC_INITIALIZE, which is what we want anyway.
	if _, err := (tpm2.Startup{StartupType: tpm2.TPMSUClear}).Execute(t); err != nil && !errors.Is(err, tpm2.TPMRCInitialize) {
		t.Close()
		return nil, fmt.Errorf("start TPM simulator %s: %w", addr, err)
	}
	return retryingCloser{retrying{t}, t}, nil
}

// template is the proof key: P-256 ECDSA with SHA-256, made in the TPM
// (sensitiveDataOrigin) and never leaving it (fixedTPM, fixedParent), used
// with no password (the key file's owner-only access guards its use;
// noDA, so a wrong guess cannot lock the TPM out for everyone).
var template = tpm2.TPMTPublic{
	Type:    tpm2.TPMAlgECC,
	NameAlg: tpm2.TPMAlgSHA256,
	ObjectAttributes: tpm2.TPMAObject{
		FixedTPM: true, FixedParent: true, SensitiveDataOrigin: true, UserWithAuth: true, NoDA: true, SignEncrypt: true,
	},
	Parameters: tpm2.NewTPMUPublicParms(tpm2.TPMAlgECC, &tpm2.TPMSECCParms{
		Symmetric: tpm2.TPMTSymDefObject{Algorithm: tpm2.TPMAlgNull},
		Scheme: tpm2.TPMTECCScheme{Scheme: tpm2.TPMAlgECDSA,
			Details: tpm2.NewTPMUAsymScheme(tpm2.TPMAlgECDSA, &tpm2.TPMSSigSchemeECDSA{HashAlg: tpm2.TPMAlgSHA256})},
		CurveID: tpm2.TPMECCNistP256,
		KDF:     tpm2.TPMTKDFScheme{Scheme: tpm2.TPMAlgNull},
	}),
	Unique: tpm2.NewTPMUPublicID(tpm2.TPMAlgECC, &tpm2.TPMSECCPoint{}),
}

// blob is the key file: the key's public area and its private area as
// the TPM wrapped it, each in the TPM's own encoding.
type blob struct {
	Kind    string `json:"kind"` // "tpm2-p256"
	Public  []byte `json:"public"`
	Private []byte `json:"private"`
}

const blobKind = "tpm2-p256"

// Key is a proof key held by a TPM; it is a crypto.Signer. Its methods
// are safe for concurrent use (the TPM connection is one at a time).
type Key struct {
	mu     sync.Mutex
	tpm    transport.TPMCloser
	handle tpm2.NamedHandle
	public tpm2.TPMTPublic
	pub    *ecdsa.PublicKey
}

// Create makes a new key in t and writes its blob to path (owner-only);
// the Key owns t from then on.
func Create(t transport.TPMCloser, path string) (*Key, error) {
	srk, err := storageRoot(t)
	if err != nil {
		return nil, err
	}
	defer flush(t, srk.Handle)
	made, err := tpm2.Create{ParentHandle: srk, InPublic: tpm2.New2B(template)}.Execute(t)
	if err != nil {
		return nil, fmt.Errorf("make proof key in the TPM: %w", err)
	}
	b, _ := json.Marshal(blob{Kind: blobKind, Public: tpm2.Marshal(made.OutPublic), Private: tpm2.Marshal(made.OutPrivate)})
	if err := keyfile.WriteAtomic(path, b, 0o600); err != nil {
		return nil, fmt.Errorf("save proof key blob: %w", err)
	}
	return load(t, srk, made.OutPublic, made.OutPrivate)
}

// ErrOtherTPM reports a key blob that this TPM cannot load: it was made
// by another TPM (a state directory copied from another computer), or
// this TPM was cleared since.
var ErrOtherTPM = errors.New("the proof key was made by another TPM, or this TPM was cleared since")

// Load loads the key whose blob is at path into t; the Key owns t from
// then on.
func Load(t transport.TPMCloser, path string) (*Key, error) {
	raw, err := keyfile.ReadPrivate(path)
	if err != nil {
		return nil, err
	}
	var b blob
	if err := json.Unmarshal(raw, &b); err != nil || b.Kind != blobKind {
		return nil, fmt.Errorf("read proof key blob %s: not a TPM key blob", path)
	}
	pub, err := tpm2.Unmarshal[tpm2.TPM2BPublic](b.Public)
	if err != nil {
		return nil, fmt.Errorf("read proof key blob %s: %w", path, err)
	}
	priv, err := tpm2.Unmarshal[tpm2.TPM2BPrivate](b.Private)
	if err != nil {
		return nil, fmt.Errorf("read proof key blob %s: %w", path, err)
	}
	srk, err := storageRoot(t)
	if err != nil {
		return nil, err
	}
	defer flush(t, srk.Handle)
	return load(t, srk, *pub, *priv)
}

func load(t transport.TPMCloser, srk tpm2.AuthHandle, pub tpm2.TPM2BPublic, priv tpm2.TPM2BPrivate) (*Key, error) {
	loaded, err := tpm2.Load{ParentHandle: srk, InPublic: pub, InPrivate: priv}.Execute(t)
	if err != nil {
		// The TPM checks the wrapped private part's integrity with its
		// storage root key: another TPM's blob fails that check.
		var rc tpm2.TPMFmt1Error
		if errors.As(err, &rc) {
			return nil, fmt.Errorf("%w (%v)", ErrOtherTPM, err)
		}
		return nil, fmt.Errorf("load proof key into the TPM: %w", err)
	}
	public, err := pub.Contents()
	if err != nil {
		flush(t, loaded.ObjectHandle)
		return nil, fmt.Errorf("proof key public area: %w", err)
	}
	ecc, err := ecdsaPublic(public)
	if err != nil {
		flush(t, loaded.ObjectHandle)
		return nil, err
	}
	return &Key{tpm: t, handle: tpm2.NamedHandle{Handle: loaded.ObjectHandle, Name: loaded.Name}, public: *public, pub: ecc}, nil
}

// storageRoot makes the TCG reference ECC storage root key in the owner
// hierarchy. It is derived from the TPM's storage seed, so it is the same
// key every time on this TPM and no other's.
func storageRoot(t transport.TPM) (tpm2.AuthHandle, error) {
	srk, err := tpm2.CreatePrimary{PrimaryHandle: tpm2.TPMRHOwner, InPublic: tpm2.New2B(tpm2.ECCSRKTemplate)}.Execute(t)
	if err != nil {
		return tpm2.AuthHandle{}, fmt.Errorf("make the TPM's storage root key: %w", err)
	}
	return tpm2.AuthHandle{Handle: srk.ObjectHandle, Name: srk.Name, Auth: tpm2.PasswordAuth(nil)}, nil
}

func flush(t transport.TPM, h tpm2.TPMHandle) { tpm2.FlushContext{FlushHandle: h}.Execute(t) }

// Public implements crypto.Signer.
func (k *Key) Public() crypto.PublicKey { return k.pub }

// Sign implements crypto.Signer for a SHA-256 digest, answering ASN.1 DER
// as crypto/ecdsa does.
func (k *Key) Sign(_ io.Reader, digest []byte, _ crypto.SignerOpts) ([]byte, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.tpm == nil {
		return nil, errors.New("sign with the TPM key: closed")
	}
	rsp, err := tpm2.Sign{
		KeyHandle:  tpm2.AuthHandle{Handle: k.handle.Handle, Name: k.handle.Name, Auth: tpm2.PasswordAuth(nil)},
		Digest:     tpm2.TPM2BDigest{Buffer: digest},
		Validation: tpm2.TPMTTKHashCheck{Tag: tpm2.TPMSTHashCheck, Hierarchy: tpm2.TPMRHNull},
	}.Execute(k.tpm)
	if err != nil {
		return nil, fmt.Errorf("sign with the TPM key: %w", err)
	}
	sig, err := rsp.Signature.Signature.ECDSA()
	if err != nil {
		return nil, fmt.Errorf("sign with the TPM key: %w", err)
	}
	return asn1.Marshal(struct{ R, S *big.Int }{new(big.Int).SetBytes(sig.SignatureR.Buffer), new(big.Int).SetBytes(sig.SignatureS.Buffer)})
}

// PublicArea is the key's public area (TPMT_PUBLIC) in the TPM's
// encoding: what its name is the hash of, which the verifier checks.
func (k *Key) PublicArea() []byte { return tpm2.Marshal(k.public) }

// Close unloads the key and closes the TPM.
func (k *Key) Close() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.tpm == nil {
		return nil
	}
	flush(k.tpm, k.handle.Handle)
	err := k.tpm.Close()
	k.tpm = nil
	return err
}

// ecdsaPublic is a public area's P-256 key.
func ecdsaPublic(p *tpm2.TPMTPublic) (*ecdsa.PublicKey, error) {
	parms, err := p.Parameters.ECCDetail()
	if err != nil || p.Type != tpm2.TPMAlgECC || parms.CurveID != tpm2.TPMECCNistP256 {
		return nil, errors.New("proof key public area: not a P-256 key")
	}
	point, err := p.Unique.ECC()
	if err != nil {
		return nil, fmt.Errorf("proof key public area: %w", err)
	}
	pub, err := tpm2.ECDSAPub(parms, point)
	if err != nil {
		return nil, fmt.Errorf("proof key public area: %w", err)
	}
	return pub, nil
}

// Exists reports whether a key blob is at path.
func Exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
