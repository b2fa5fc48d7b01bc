package tpmkey_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"path/filepath"
	"testing"

	"github.com/google/go-tpm/tpm2"

	"github.com/scanfree/scanfree/internal/harness/swtpmtest"
	"github.com/scanfree/scanfree/internal/tpmkey"
)

// TestKeyStaysInItsTPM makes a key in one swtpm, signs with it, loads its
// blob again there, and shows that another TPM (of the same maker, as a
// copied state directory on a second computer would meet) cannot load it.
func TestKeyStaysInItsTPM(t *testing.T) {
	maker := swtpmtest.NewMaker(t)
	one, two := maker.Start(t), maker.Start(t)
	blob := filepath.Join(t.TempDir(), "dpop-key.tpm")

	c, err := tpmkey.Open(one.Addr)
	if err != nil {
		t.Fatal(err)
	}
	k, err := tpmkey.Create(c, blob)
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256([]byte("a proof"))
	sig, err := k.Sign(rand.Reader, digest[:], nil)
	if err != nil {
		t.Fatal(err)
	}
	pub := k.Public().(*ecdsa.PublicKey)
	if pub.Curve != elliptic.P256() || !ecdsa.VerifyASN1(pub, digest[:], sig) {
		t.Fatal("the TPM's signature does not verify with the key's public part")
	}
	k.Close()

	c, _ = tpmkey.Open(one.Addr)
	again, err := tpmkey.Load(c, blob)
	if err != nil {
		t.Fatalf("the same TPM loads its own blob: %v", err)
	}
	if !again.Public().(*ecdsa.PublicKey).Equal(pub) {
		t.Fatal("the blob loaded another key")
	}
	again.Close()

	c, _ = tpmkey.Open(two.Addr)
	if k, err := tpmkey.Load(c, blob); !errors.Is(err, tpmkey.ErrOtherTPM) {
		if k != nil {
			k.Close()
		}
		t.Fatalf("another TPM loaded the blob: %v; want ErrOtherTPM", err)
	}
	c.Close()
}

// TestCredentialActivation runs both halves: the verifier trusts the
// maker's EK certificate and the TPM opens the challenge for its own key;
// a challenge for a key that is not in the TPM (a software key dressed
// as a TPM key) cannot be opened; another maker's TPM is not trusted.
// It runs with the RSA endorsement key, which swtpm_setup certifies first,
// and with the P-384 one of the profile's high range, alone in a TPM
// whose RSA certificate was removed.
func TestCredentialActivation(t *testing.T) {
	for _, tc := range []struct {
		name    string
		ek      tpmkey.EK
		eccOnly bool
	}{
		{"RSA 2048 EK", tpmkey.EKRSA2048, false},
		{"ECC P-384 EK", tpmkey.EKP384, true},
	} {
		t.Run(tc.name, func(t *testing.T) { testActivation(t, tc.ek, tc.eccOnly) })
	}
}

func testActivation(t *testing.T, want tpmkey.EK, eccOnly bool) {
	maker := swtpmtest.NewMaker(t)
	tp := maker.Start(t)
	stranger := swtpmtest.NewMaker(t)
	theirs := stranger.Start(t)
	if eccOnly {
		tp.DropRSAEK(t)
		theirs.DropRSAEK(t)
	}

	key := func(tp *swtpmtest.TPM) *tpmkey.Key {
		c, err := tpmkey.Open(tp.Addr)
		if err != nil {
			t.Fatal(err)
		}
		k, err := tpmkey.Create(c, filepath.Join(t.TempDir(), "k.tpm"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { k.Close() })
		return k
	}
	k := key(tp)
	roots, err := tpmkey.LoadRoots(maker.Roots)
	if err != nil {
		t.Fatal(err)
	}
	ekDER, err := k.EKCertificate()
	if err != nil {
		t.Fatal(err)
	}
	ek, err := roots.VerifyEK(ekDER)
	if err != nil {
		t.Fatalf("the maker's own EK certificate: %v", err)
	}
	_, name, err := tpmkey.ParsePublicArea(k.PublicArea())
	if err != nil {
		t.Fatal(err)
	}

	t.Run("its own key opens the challenge", func(t *testing.T) {
		ch, err := tpmkey.MakeChallenge(rand.Reader, ek, name, []byte("the secret"))
		if err != nil {
			t.Fatal(err)
		}
		if ch.EK != want {
			t.Fatalf("challenge for EK %q, want %q", ch.EK, want)
		}
		got, err := k.Activate(ch.IDObject, ch.EncSecret, ch.EK)
		if err != nil || string(got) != "the secret" {
			t.Fatalf("Activate = %q, %v", got, err)
		}
	})
	t.Run("a software key dressed as a TPM key", func(t *testing.T) {
		soft, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		point, _ := soft.PublicKey.Bytes()
		fake, _ := tpm2.Unmarshal[tpm2.TPMTPublic](k.PublicArea())
		fake.Unique = tpm2.NewTPMUPublicID(tpm2.TPMAlgECC, &tpm2.TPMSECCPoint{
			X: tpm2.TPM2BECCParameter{Buffer: point[1:33]}, Y: tpm2.TPM2BECCParameter{Buffer: point[33:]}})
		_, fakeName, err := tpmkey.ParsePublicArea(tpm2.Marshal(*fake))
		if err != nil {
			t.Fatal(err) // its attributes say TPM: only activation can tell
		}
		ch, _ := tpmkey.MakeChallenge(rand.Reader, ek, fakeName, []byte("the secret"))
		got, err := k.Activate(ch.IDObject, ch.EncSecret, ch.EK)
		if err == nil {
			t.Fatalf("the TPM opened a challenge for a key it does not hold: %q", got)
		}
		if !errors.Is(err, tpm2.TPMRCIntegrity) { // not a TPM too busy to look
			t.Fatalf("Activate = %v; want the TPM's integrity check to fail", err)
		}
	})
	other := key(theirs) // swtpm serves one connection at a time
	t.Run("a key of another TPM", func(t *testing.T) {
		ch, _ := tpmkey.MakeChallenge(rand.Reader, ek, name, []byte("the secret"))
		got, err := other.Activate(ch.IDObject, ch.EncSecret, ch.EK)
		if err == nil {
			t.Fatalf("another TPM opened the challenge: %q", got)
		}
		t.Logf("refused: %v", err) // swtpm fails RSA decryption with another key as TPM_RC_FAILURE
	})
	t.Run("another maker's EK certificate", func(t *testing.T) {
		der, err := other.EKCertificate()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := roots.VerifyEK(der); err == nil {
			t.Fatal("an EK certificate of a maker not in the roots was trusted")
		}
	})
}

func TestParsePublicArea(t *testing.T) {
	base := tpm2.TPMTPublic{Type: tpm2.TPMAlgECC, NameAlg: tpm2.TPMAlgSHA256,
		ObjectAttributes: tpm2.TPMAObject{FixedTPM: true, FixedParent: true, SensitiveDataOrigin: true, UserWithAuth: true, SignEncrypt: true},
		Parameters: tpm2.NewTPMUPublicParms(tpm2.TPMAlgECC, &tpm2.TPMSECCParms{
			Symmetric: tpm2.TPMTSymDefObject{Algorithm: tpm2.TPMAlgNull},
			Scheme: tpm2.TPMTECCScheme{Scheme: tpm2.TPMAlgECDSA,
				Details: tpm2.NewTPMUAsymScheme(tpm2.TPMAlgECDSA, &tpm2.TPMSSigSchemeECDSA{HashAlg: tpm2.TPMAlgSHA256})},
			CurveID: tpm2.TPMECCNistP256, KDF: tpm2.TPMTKDFScheme{Scheme: tpm2.TPMAlgNull}})}
	soft, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	point, _ := soft.PublicKey.Bytes()
	base.Unique = tpm2.NewTPMUPublicID(tpm2.TPMAlgECC, &tpm2.TPMSECCPoint{
		X: tpm2.TPM2BECCParameter{Buffer: point[1:33]}, Y: tpm2.TPM2BECCParameter{Buffer: point[33:]}})
	with := func(f func(*tpm2.TPMTPublic)) []byte {
		p := base
		f(&p)
		return tpm2.Marshal(p)
	}
	for _, tc := range []struct {
		name string
		area []byte
		ok   bool
	}{
		{"non-exportable signing key", with(func(*tpm2.TPMTPublic) {}), true},
		{"exportable (not fixedTPM)", with(func(p *tpm2.TPMTPublic) { p.ObjectAttributes.FixedTPM = false }), false},
		{"may move to another parent", with(func(p *tpm2.TPMTPublic) { p.ObjectAttributes.FixedParent = false }), false},
		{"imported (not made in the TPM)", with(func(p *tpm2.TPMTPublic) { p.ObjectAttributes.SensitiveDataOrigin = false }), false},
		{"also decrypts", with(func(p *tpm2.TPMTPublic) { p.ObjectAttributes.Decrypt = true }), false},
		{"garbage", []byte("not a public area"), false},
		{"empty", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pub, name, err := tpmkey.ParsePublicArea(tc.area)
			if tc.ok != (err == nil) {
				t.Fatalf("ParsePublicArea: %v; want ok=%v", err, tc.ok)
			}
			if tc.ok && (!pub.Equal(&soft.PublicKey) || len(name) != 34) {
				t.Fatalf("key %v name %x", pub, name)
			}
			if !tc.ok && !errors.Is(err, tpmkey.ErrNotTPMKey) {
				t.Fatalf("error %v is not ErrNotTPMKey", err)
			}
		})
	}
}

// TestLoadedKey: a key another API made and loaded (as Windows' Platform
// Crypto Provider does, which tells its keys' TPM handles) is shown to a
// verifier through Loaded with the same credential activation. Here the
// other API is go-tpm on swtpm: a signing key made under the owner
// hierarchy with attributes of the provider's non-exportable keys.
func TestLoadedKey(t *testing.T) {
	maker := swtpmtest.NewMaker(t)
	tp := maker.Start(t)
	c, err := tpmkey.Open(tp.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	made, err := tpm2.CreatePrimary{PrimaryHandle: tpm2.TPMRHOwner, InPublic: tpm2.New2B(tpm2.TPMTPublic{
		Type: tpm2.TPMAlgECC, NameAlg: tpm2.TPMAlgSHA256,
		ObjectAttributes: tpm2.TPMAObject{FixedTPM: true, FixedParent: true, SensitiveDataOrigin: true, UserWithAuth: true, NoDA: true, SignEncrypt: true},
		Parameters: tpm2.NewTPMUPublicParms(tpm2.TPMAlgECC, &tpm2.TPMSECCParms{
			Symmetric: tpm2.TPMTSymDefObject{Algorithm: tpm2.TPMAlgNull},
			Scheme:    tpm2.TPMTECCScheme{Scheme: tpm2.TPMAlgNull},
			CurveID:   tpm2.TPMECCNistP256,
			KDF:       tpm2.TPMTKDFScheme{Scheme: tpm2.TPMAlgNull},
		}),
		Unique: tpm2.NewTPMUPublicID(tpm2.TPMAlgECC, &tpm2.TPMSECCPoint{}),
	})}.Execute(c)
	if err != nil {
		t.Fatal(err)
	}
	a, err := tpmkey.Loaded(c, made.ObjectHandle)
	if err != nil {
		t.Fatal(err)
	}
	roots, err := tpmkey.LoadRoots(maker.Roots)
	if err != nil {
		t.Fatal(err)
	}
	der, err := a.EKCertificate()
	if err != nil {
		t.Fatal(err)
	}
	ek, err := roots.VerifyEK(der)
	if err != nil {
		t.Fatal(err)
	}
	_, name, err := tpmkey.ParsePublicArea(a.PublicArea())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(name, made.Name.Buffer) {
		t.Fatal("the name of the public area Loaded read is not the key's")
	}
	ch, err := tpmkey.MakeChallenge(rand.Reader, ek, name, []byte("the secret"))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := a.Activate(ch.IDObject, ch.EncSecret, ch.EK); err != nil || string(got) != "the secret" {
		t.Fatalf("Activate = %q, %v", got, err)
	}
}
