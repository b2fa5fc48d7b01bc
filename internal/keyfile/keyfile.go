// Package keyfile reads and writes the PEM files of the daemon's own keys
// and certificates: written through a synced temporary file and a rename,
// private keys owner-only (0600), and refused when other users could read
// them.
package keyfile

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// WriteAtomic writes data to path through a synced temporary file in
// the same directory and a rename, so a crash leaves the old file or the
// new one, never half of one.
func WriteAtomic(path string, data []byte, mode os.FileMode) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after the rename
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// WriteECKey writes k to path as PKCS #8 PEM, owner-only.
func WriteECKey(path string, k *ecdsa.PrivateKey) error {
	b, err := EncodeECKey(k)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return WriteAtomic(path, b, 0o600)
}

// EncodeECKey is k as PKCS #8 PEM, what WriteECKey writes.
func EncodeECKey(k *ecdsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// ReadPEM reads the one PEM block of type wantType that path holds.
func ReadPEM(path, wantType string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return decodePEM(b, wantType)
}

func decodePEM(b []byte, wantType string) ([]byte, error) {
	block, rest := pem.Decode(b)
	if block == nil || block.Type != wantType || len(bytes.TrimSpace(rest)) != 0 {
		return nil, fmt.Errorf("not a single PEM %q block", wantType)
	}
	return block.Bytes, nil
}

// ReadECKey reads an ECDSA private key written by WriteECKey, refusing a
// file other users could read.
func ReadECKey(path string) (*ecdsa.PrivateKey, error) {
	b, err := ReadPrivate(path)
	if err != nil {
		return nil, err
	}
	return DecodeECKey(b)
}

// DecodeECKey reads an ECDSA private key encoded by EncodeECKey.
func DecodeECKey(b []byte) (*ecdsa.PrivateKey, error) {
	der, err := decodePEM(b, "PRIVATE KEY")
	if err != nil {
		return nil, err
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, err
	}
	ek, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return nil, errors.New("not an ECDSA key")
	}
	return ek, nil
}

// ReadPrivate reads a file of private key material, refusing one other
// users could read.
func ReadPrivate(path string) ([]byte, error) {
	if fi, err := os.Stat(path); err == nil && OthersMayRead(fi) {
		return nil, fmt.Errorf("mode %v lets other users read the private key", fi.Mode().Perm())
	}
	return os.ReadFile(path)
}
