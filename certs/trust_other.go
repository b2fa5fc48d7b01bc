//go:build !linux && !darwin && !windows

package certs

import (
	"crypto/x509"

	"github.com/smallstep/truststore"
)

const (
	certutilHelp    = "the NSS tools package"
	systemStoreName = "system CA certificates"
)

func sharedNSSDB() string { return "" }

func ensureNSSDB(string) error { return nil }

func systemAllowed() (bool, string) {
	return false, "not supported on this OS; pass --system=yes to try"
}

// uninstallSystem removes root from the system store.
func uninstallSystem(root *x509.Certificate) error { return truststore.Uninstall(root) }
