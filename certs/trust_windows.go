package certs

import (
	"crypto/sha1"
	"crypto/x509"
	"errors"
	"fmt"
	"unsafe"

	"golang.org/x/sys/windows"
)

const (
	certutilHelp    = "NSS tools for Firefox"
	systemStoreName = "Windows current-user Root store"
)

// sharedNSSDB: Chrome and Edge use the Windows store; only Firefox profiles
// have NSS databases, and those are found by glob.
func sharedNSSDB() string { return "" }

func ensureNSSDB(string) error { return nil }

// systemAllowed: the current user's Root store needs no administrator;
// Windows shows its own confirmation.
func systemAllowed() (bool, string) { return true, "" }

// uninstallSystem removes root from the current user's Root store, found
// by its SHA-1 hash. (truststore's removal enumerates the store, which
// under Wine never ends once a certificate is deleted.)
func uninstallSystem(root *x509.Certificate) error {
	// The registry store itself, where the root was added: deleting
	// through the system store's collection does not reach it under Wine.
	store, err := windows.CertOpenStore(windows.CERT_STORE_PROV_SYSTEM_REGISTRY_W, 0, 0, windows.CERT_SYSTEM_STORE_CURRENT_USER,
		uintptr(unsafe.Pointer(windows.StringToUTF16Ptr("Root"))))
	if err != nil {
		return fmt.Errorf("open the Root store: %w", err)
	}
	defer windows.CertCloseStore(store, 0)
	sum := sha1.Sum(root.Raw)
	hash := windows.CryptHashBlob{Size: uint32(len(sum)), Data: &sum[0]}
	for range 16 { // one copy per physical store of the collection, at most
		c, err := windows.CertFindCertificateInStore(store, windows.X509_ASN_ENCODING|windows.PKCS_7_ASN_ENCODING, 0,
			windows.CERT_FIND_SHA1_HASH, unsafe.Pointer(&hash), nil)
		if c == nil {
			if errors.Is(err, windows.Errno(windows.CRYPT_E_NOT_FOUND)) || err == nil {
				return nil
			}
			return fmt.Errorf("find the root in the Root store: %w", err)
		}
		if err := windows.CertDeleteCertificateFromStore(c); err != nil { // frees c
			return fmt.Errorf("delete the root from the Root store: %w", err)
		}
	}
	return errors.New("the root is still in the Root store after 16 deletions")
}
