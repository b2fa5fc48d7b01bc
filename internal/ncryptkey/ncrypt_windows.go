package ncryptkey

import (
	"crypto/ecdsa"
	"errors"
	"fmt"
	"sync"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/scanfree/scanfree/internal/tpmkey"
)

var (
	ncrypt                  = windows.NewLazySystemDLL("ncrypt.dll")
	procOpenStorageProvider = ncrypt.NewProc("NCryptOpenStorageProvider")
	procCreatePersistedKey  = ncrypt.NewProc("NCryptCreatePersistedKey")
	procFinalizeKey         = ncrypt.NewProc("NCryptFinalizeKey")
	procOpenKey             = ncrypt.NewProc("NCryptOpenKey")
	procExportKey           = ncrypt.NewProc("NCryptExportKey")
	procSignHash            = ncrypt.NewProc("NCryptSignHash")
	procDeleteKey           = ncrypt.NewProc("NCryptDeleteKey")
	procFreeObject          = ncrypt.NewProc("NCryptFreeObject")
	errProviderMissing      = errors.New("no " + Provider + " here (no TPM, or not Windows 8 or later)")
)

const ncryptSilentFlag = 0x40 // NCRYPT_SILENT_FLAG: never show UI

// Supported reports whether this OS has the Platform Crypto Provider
// (whether this computer's can be opened, open tells).
func Supported() bool { return true }

// status turns a SECURITY_STATUS into an error.
func status(op string, r uintptr) error {
	if r == 0 {
		return nil
	}
	return fmt.Errorf("%s: SECURITY_STATUS %#x", op, uint32(r))
}

func utf16(s string) *uint16 {
	p, _ := windows.UTF16PtrFromString(s)
	return p
}

// provider opens the Platform Crypto Provider.
func provider() (uintptr, error) {
	if err := procOpenStorageProvider.Find(); err != nil {
		return 0, fmt.Errorf("%w: %v", errProviderMissing, err)
	}
	var h uintptr
	r, _, _ := procOpenStorageProvider.Call(uintptr(unsafe.Pointer(&h)), uintptr(unsafe.Pointer(utf16(Provider))), 0)
	if err := status("open the "+Provider, r); err != nil {
		return 0, fmt.Errorf("%w: %v", errProviderMissing, err)
	}
	return h, nil
}

// open opens key name in the provider, or creates it (P-256, finalized
// with the provider's default: not exportable).
func open(name string, create bool) (*Key, error) {
	prov, err := provider()
	if err != nil {
		return nil, err
	}
	defer procFreeObject.Call(prov)
	var h uintptr
	if create {
		r, _, _ := procCreatePersistedKey.Call(prov, uintptr(unsafe.Pointer(&h)), uintptr(unsafe.Pointer(utf16("ECDSA_P256"))), uintptr(unsafe.Pointer(utf16(name))), 0, 0)
		if err := status("create a key in the "+Provider, r); err != nil {
			return nil, err
		}
		if r, _, _ := procFinalizeKey.Call(h, ncryptSilentFlag); r != 0 {
			procDeleteKey.Call(h, 0)
			return nil, status("finalize the key", r)
		}
	} else if h, err = openKey(prov, name); err != nil {
		return nil, fmt.Errorf("%w (was the state directory copied from another computer? run `scanfreed login` to sign this one in)", err)
	}
	pub, err := exportPublic(h)
	if err != nil {
		procFreeObject.Call(h)
		return nil, err
	}
	var mu sync.Mutex
	return &Key{
		pub:    pub,
		attest: func() (tpmkey.Attestor, func(), error) { return attestor(name) },
		sign: func(digest []byte) ([]byte, error) {
			mu.Lock()
			defer mu.Unlock()
			sig := make([]byte, 64)
			var n uint32
			r, _, _ := procSignHash.Call(h, 0, uintptr(unsafe.Pointer(&digest[0])), uintptr(len(digest)),
				uintptr(unsafe.Pointer(&sig[0])), uintptr(len(sig)), uintptr(unsafe.Pointer(&n)), ncryptSilentFlag)
			if err := status("NCryptSignHash", r); err != nil {
				return nil, err
			}
			return sig[:n], nil
		},
		close: func() error {
			r, _, _ := procFreeObject.Call(h)
			return status("NCryptFreeObject", r)
		},
	}, nil
}

// openKey opens key name in provider prov, never showing UI.
func openKey(prov uintptr, name string) (uintptr, error) {
	var h uintptr
	r, _, _ := procOpenKey.Call(prov, uintptr(unsafe.Pointer(&h)), uintptr(unsafe.Pointer(utf16(name))), 0, ncryptSilentFlag)
	return h, status("open key "+name+" in the "+Provider, r)
}

// exportPublic reads the key's public half as an ECCPUBLICBLOB.
func exportPublic(h uintptr) (*ecdsa.PublicKey, error) {
	buf := make([]byte, 8+64)
	var n uint32
	r, _, _ := procExportKey.Call(h, 0, uintptr(unsafe.Pointer(utf16("ECCPUBLICBLOB"))), 0,
		uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)), uintptr(unsafe.Pointer(&n)), 0)
	if err := status("export the public key", r); err != nil {
		return nil, err
	}
	return parseECCPublicBlob(buf[:n])
}

// deleteKey removes key name from the provider.
func deleteKey(name string) error {
	prov, err := provider()
	if err != nil {
		return err
	}
	defer procFreeObject.Call(prov)
	h, err := openKey(prov, name)
	if err != nil {
		return err
	}
	r, _, _ := procDeleteKey.Call(h, ncryptSilentFlag)
	return status("delete key "+name, r)
}
