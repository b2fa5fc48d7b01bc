package ncryptkey

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// blob is the BCRYPT_ECCPUBLIC_BLOB NCryptExportKey gives for pub.
func blob(pub *ecdsa.PublicKey) []byte {
	b := binary.LittleEndian.AppendUint32(nil, eccPublicP256Magic)
	b = binary.LittleEndian.AppendUint32(b, 32)
	b = append(b, pub.X.FillBytes(make([]byte, 32))...)
	return append(b, pub.Y.FillBytes(make([]byte, 32))...)
}

func TestParseECCPublicBlob(t *testing.T) {
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	got, err := parseECCPublicBlob(blob(&priv.PublicKey))
	if err != nil || !got.Equal(&priv.PublicKey) {
		t.Fatalf("parse: %v %v", got, err)
	}
	good := blob(&priv.PublicKey)
	for name, b := range map[string][]byte{
		"short":         good[:7],
		"private magic": append(binary.LittleEndian.AppendUint32(nil, 0x32534345), good[4:]...),
		"P-384 size":    append(append(good[:4:4], 48, 0, 0, 0), good[8:]...),
		"truncated":     good[:70],
		"off the curve": append(good[:71:71], good[71]^1),
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := parseECCPublicBlob(b); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

// TestRawSignature: NCrypt's r||s becomes an ASN.1 signature that
// verifies, and only 64 bytes are taken.
func TestRawSignature(t *testing.T) {
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	digest := sha256.Sum256([]byte("proof"))
	r, s, err := ecdsa.Sign(rand.Reader, priv, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	raw := append(r.FillBytes(make([]byte, 32)), s.FillBytes(make([]byte, 32))...)
	der, err := rawToDER(raw)
	if err != nil || !ecdsa.VerifyASN1(&priv.PublicKey, digest[:], der) {
		t.Fatalf("the converted signature does not verify: %v", err)
	}
	if _, err := rawToDER(raw[:63]); err == nil {
		t.Fatal("63 bytes taken as a signature")
	}
}

func TestKeyFile(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "dpop-key.ncrypt")
	os.WriteFile(bad, []byte(`{"provider":"Microsoft Software Key Storage Provider","name":"x"}`), 0o600)
	if _, err := Load(bad); err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Errorf("a key file naming another provider: %v", err)
	}
	if runtime.GOOS != "windows" {
		if _, err := Create(filepath.Join(dir, "new.ncrypt")); !errors.Is(err, ErrUnsupported) {
			t.Errorf("Create on %s: %v", runtime.GOOS, err)
		}
		if Exists(filepath.Join(dir, "new.ncrypt")) {
			t.Error("a failed Create left a key file")
		}
	}
}
