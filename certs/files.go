package certs

import (
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/scanfree/scanfree/internal/keyfile"
)

// ErrNoCA reports a state dir without a root CA.
var ErrNoCA = errors.New("no local CA yet")

func writeCert(path string, c *x509.Certificate) error {
	return keyfile.WriteAtomic(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}), 0o644)
}

// fileError names a damaged or foreign file and the way out.
func fileError(path, problem, fix string) error {
	return fmt.Errorf("%s: %s; %s", path, problem, fix)
}

func readCert(path string) (*x509.Certificate, error) {
	der, err := keyfile.ReadPEM(path, "CERTIFICATE")
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
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
	key, err := keyfile.ReadECKey(p.RootKey)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fileError(p.RootKey, "missing", redo)
	}
	if err != nil {
		if fi, serr := os.Stat(p.RootKey); serr == nil && keyfile.OthersMayRead(fi) {
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
	if err := keyfile.WriteECKey(p.RootKey, ca.Key); err != nil {
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
