package ncryptkey

import (
	"errors"
	"fmt"
	"unsafe"

	"github.com/google/go-tpm/tpm2"
	"github.com/google/go-tpm/tpmutil/tbs"
	"golang.org/x/sys/windows"

	"github.com/scanfree/scanfree/internal/tpmkey"
)

var procGetProperty = ncrypt.NewProc("NCryptGetProperty")

// attestor opens key name with a provider handle of its own: the
// provider's PCP_PLATFORMHANDLE is its TBS context, in which the key's
// PCP_PLATFORMHANDLE is the key's TPM handle. Through them the TPM runs
// the same credential activation as a key of package tpmkey.
func attestor(name string) (tpmkey.Attestor, func(), error) {
	prov, err := provider()
	if err != nil {
		return nil, nil, err
	}
	h, err := openKey(prov, name)
	if err != nil {
		procFreeObject.Call(prov)
		return nil, nil, err
	}
	done := func() {
		procFreeObject.Call(h)
		procFreeObject.Call(prov)
	}
	var ctx tbs.Context
	if err := getProperty(prov, "PCP_PLATFORMHANDLE", unsafe.Pointer(&ctx), unsafe.Sizeof(ctx)); err != nil {
		done()
		return nil, nil, fmt.Errorf("the provider's TPM context: %w", err)
	}
	var kh uint32
	if err := getProperty(h, "PCP_PLATFORMHANDLE", unsafe.Pointer(&kh), unsafe.Sizeof(kh)); err != nil {
		done()
		return nil, nil, fmt.Errorf("the key's TPM handle: %w", err)
	}
	a, err := tpmkey.Loaded(tbsTPM{ctx}, tpm2.TPMHandle(kh))
	if err != nil {
		done()
		return nil, nil, err
	}
	return pcpAttestor{Attestor: a, prov: prov}, done, nil
}

// getProperty reads NCrypt property prop of obj into the size bytes at v.
func getProperty(obj uintptr, prop string, v unsafe.Pointer, size uintptr) error {
	var n uint32
	r, _, _ := procGetProperty.Call(obj, uintptr(unsafe.Pointer(utf16(prop))), uintptr(v), size, uintptr(unsafe.Pointer(&n)), 0)
	return status("NCryptGetProperty "+prop, r)
}

// tbsTPM sends TPM commands through a TBS context.
type tbsTPM struct{ ctx tbs.Context }

func (t tbsTPM) Send(cmd []byte) ([]byte, error) {
	buf := make([]byte, 4096) // TPM 2.0's largest response
	n, err := t.ctx.SubmitCommand(tbs.NormalPriority, cmd, buf)
	if err != nil {
		return nil, fmt.Errorf("TBS: %w", err)
	}
	return buf[:n], nil
}

// pcpAttestor reads the endorsement key's certificate from the provider
// when the TPM's NV storage cannot be read through TBS: the provider
// keeps the certificates it read, or fetched from the TPM's maker (as for
// firmware TPMs, which store none).
type pcpAttestor struct {
	tpmkey.Attestor
	prov uintptr
}

func (p pcpAttestor) EKCertificate() ([]byte, error) {
	der, err := p.Attestor.EKCertificate()
	if err == nil {
		return der, nil
	}
	errs := []error{err}
	for _, prop := range []string{"PCP_RSA_EKNVCERT", "PCP_ECC_EKNVCERT", "PCP_EKNVCERT", "PCP_EKCERT"} {
		certs, err := storeCerts(p.prov, prop)
		if err == nil && len(certs) > 0 {
			return certs[0], nil
		}
		errs = append(errs, fmt.Errorf("%s: %d certificates, %v", prop, len(certs), err))
	}
	return nil, errors.Join(errs...)
}

// storeCerts reads the certificates of the store provider property prop
// names.
func storeCerts(prov uintptr, prop string) ([][]byte, error) {
	var store windows.Handle
	if err := getProperty(prov, prop, unsafe.Pointer(&store), unsafe.Sizeof(store)); err != nil {
		return nil, err
	}
	defer windows.CertCloseStore(store, 0)
	var out [][]byte
	var c *windows.CertContext
	for {
		next, err := windows.CertEnumCertificatesInStore(store, c)
		if next == nil { // the end (CRYPT_E_NOT_FOUND), or a failure after what was read
			if len(out) > 0 || errors.Is(err, windows.Errno(windows.CRYPT_E_NOT_FOUND)) {
				return out, nil
			}
			return nil, err
		}
		c = next
		out = append(out, append([]byte(nil), unsafe.Slice(c.EncodedCert, c.Length)...))
	}
}
