package certs

import (
	"crypto/x509"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/smallstep/truststore"
)

const (
	certutilHelp    = "apt install libnss3-tools, or dnf install nss-tools"
	systemStoreName = "system CA certificates (update-ca-certificates)"
)

// sharedNSSDB is the per-user NSS database Chromium reads on Linux.
func sharedNSSDB() string {
	return filepath.Join(os.Getenv("HOME"), ".pki", "nssdb")
}

// ensureNSSDB creates the shared NSS database when it does not exist, so a
// desktop where Chromium never ran still trusts the root from its first start.
func ensureNSSDB(certutil string) error {
	db := sharedNSSDB()
	if _, err := os.Stat(filepath.Join(db, "cert9.db")); err == nil {
		return nil
	}
	if err := os.MkdirAll(db, 0o700); err != nil {
		return fmt.Errorf("create NSS database %s: %w", db, err)
	}
	if out, err := exec.Command(certutil, "-N", "-d", "sql:"+db, "--empty-password").CombinedOutput(); err != nil {
		return fmt.Errorf("create NSS database %s: %v: %s", db, err, out)
	}
	return nil
}

// systemAllowed reports whether the system store can be written without
// asking for a password: only when running as root.
func systemAllowed() (bool, string) {
	if os.Geteuid() == 0 {
		return true, ""
	}
	return false, "needs root; run `sudo scanfreed certs install --system=yes --state-dir DIR` if curl and other system programs should trust it too (browsers use NSS)"
}

// uninstallSystem removes root from the system store.
func uninstallSystem(root *x509.Certificate) error { return truststore.Uninstall(root) }
