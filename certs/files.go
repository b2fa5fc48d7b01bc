package certs

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// ErrNoCA reports a state dir without a root CA.
var ErrNoCA = errors.New("no local CA yet")

// writeFileAtomic writes data to path through a synced temporary file in
// the same directory and a rename, so a crash leaves the old file or the
// new one, never half of one.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
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

func writeCert(path string, c *x509.Certificate) error {
	return writeFileAtomic(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}), 0o644)
}

func writeKey(path string, k *ecdsa.PrivateKey) error {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return writeFileAtomic(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
}

// fileError names a damaged or foreign file and the way out.
func fileError(path, problem, fix string) error {
	return fmt.Errorf("%s: %s; %s", path, problem, fix)
}

func readPEM(path, wantType string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, rest := pem.Decode(b)
	if block == nil || block.Type != wantType || len(bytes.TrimSpace(rest)) != 0 {
		return nil, fmt.Errorf("not a single PEM %q block", wantType)
	}
	return block.Bytes, nil
}

func readCert(path string) (*x509.Certificate, error) {
	der, err := readPEM(path, "CERTIFICATE")
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

func readKey(path string) (*ecdsa.PrivateKey, error) {
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("mode %v lets other users read the private key", fi.Mode().Perm())
	}
	der, err := readPEM(path, "PRIVATE KEY")
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

// CA is a loaded per-install root.
type CA struct {
	Cert *x509.Certificate
	Key  *ecdsa.PrivateKey
}

// LoadCA reads the root CA of state dir dir. It returns ErrNoCA when there
// is none, and an error naming the file and the fix when a file is
// damaged, foreign or too readable.
func LoadCA(dir string) (*CA, error) {
	p := PathsIn(dir)
	cert, err := readCert(p.RootCert)
	if errors.Is(err, fs.ErrNotExist) {
		if _, kerr := os.Stat(p.RootKey); kerr == nil {
			return nil, fileError(p.RootCert, "missing while its key exists", "remove "+p.RootKey+" and run `scanfreed certs install` to make a new CA")
		}
		return nil, ErrNoCA
	}
	const redo = "run `scanfreed certs uninstall`, then `scanfreed certs install` to make a new CA"
	if err != nil {
		return nil, fileError(p.RootCert, "damaged ("+err.Error()+")", redo)
	}
	if err := checkRoot(cert); err != nil {
		return nil, fileError(p.RootCert, "not a scanfree root: "+err.Error(), "move it away and "+redo)
	}
	key, err := readKey(p.RootKey)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fileError(p.RootKey, "missing", redo)
	}
	if err != nil {
		if fi, serr := os.Stat(p.RootKey); serr == nil && fi.Mode().Perm()&0o077 != 0 {
			return nil, fileError(p.RootKey, err.Error(), "run `chmod 600 "+p.RootKey+"` if only you had access, else "+redo)
		}
		return nil, fileError(p.RootKey, "damaged ("+err.Error()+")", redo)
	}
	if !key.PublicKey.Equal(cert.PublicKey) {
		return nil, fileError(p.RootKey, "does not belong to "+p.RootCert, redo)
	}
	return &CA{Cert: cert, Key: key}, nil
}

// saveCA writes a new root's files.
func saveCA(dir string, ca *CA) error {
	p := PathsIn(dir)
	if err := writeKey(p.RootKey, ca.Key); err != nil {
		return err
	}
	return writeCert(p.RootCert, ca.Cert)
}

// ReadCertificate reads a PEM certificate file.
func ReadCertificate(path string) (*x509.Certificate, error) {
	c, err := readCert(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}
