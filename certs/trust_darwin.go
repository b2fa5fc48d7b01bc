package certs

import (
	"crypto/x509"

	"github.com/smallstep/truststore"
)

const (
	certutilHelp    = "brew install nss, for Firefox"
	systemStoreName = "macOS keychain (admin trust settings)"
)

// sharedNSSDB: Chrome and Safari use the keychain on macOS; only Firefox
// profiles have NSS databases, and those are found by glob.
func sharedNSSDB() string { return "" }

func ensureNSSDB(string) error { return nil }

// systemAllowed: trusting a root in the keychain asks for an administrator
// password, which a background install must not do unasked.
func systemAllowed() (bool, string) {
	return false, "the keychain asks for an administrator password; run `scanfreed certs install --system=yes` in a terminal"
}

// uninstallSystem removes root from the system store.
func uninstallSystem(root *x509.Certificate) error { return truststore.Uninstall(root) }
